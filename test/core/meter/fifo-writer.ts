import { Worker } from 'node:worker_threads';

/**
 * The other end of a fake w1_slave FIFO, in its own thread: it opens the FIFO for writing (which completes only
 * once a reader has opened it), reports that, and writes `contents` when released. The FIFO makes a sensor read
 * block for as long as the test wants, without any timing.
 *
 * If the code under test wrongly read on the main thread, the main thread could never release the writer and the
 * test would hang where mocha's timeout cannot fire. So after `fallbackMs` unreleased, the writer sends
 * `fallbackContents` instead, the blocked read returns, and the test fails on that value rather than hanging. A
 * correct implementation never gets near the fallback.
 */
export class FifoWriter {
  /** Resolves once a reader has opened the FIFO. */
  readonly readerOpened: Promise<void>;
  /** Resolves once the writer has written and closed its end. */
  readonly done: Promise<void>;
  private readonly flags = new Int32Array(new SharedArrayBuffer(4));

  constructor(fifo: string, contents: string, fallbackContents: string, fallbackMs = 30_000) {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const fs = require('node:fs');
       const flags = new Int32Array(workerData.shared);
       const fd = fs.openSync(workerData.fifo, 'w');
       parentPort.postMessage('reader-opened');
       const released = Atomics.wait(flags, 0, 0, workerData.fallbackMs) !== 'timed-out';
       fs.writeSync(fd, released ? workerData.contents : workerData.fallbackContents);
       fs.closeSync(fd);`,
      { eval: true, workerData: { fifo, contents, fallbackContents, fallbackMs, shared: this.flags.buffer } },
    );
    this.done = new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', () => resolve());
    });
    this.readerOpened = new Promise((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
  }

  release(): void {
    Atomics.store(this.flags, 0, 1);
    Atomics.notify(this.flags, 0);
  }
}
