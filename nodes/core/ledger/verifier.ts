import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Transaction } from '@iota/core';

/** The compiled worker sits next to this module. */
const WORKER_FILE = path.join(__dirname, 'verify-worker.js');

/**
 * Runs the bundle validator (bundle hash, values, signatures; `iota/bundle-validator.ts`, which decides exactly as
 * @iota/bundle-validator does) on a worker thread: a bundle with two signed inputs still takes some milliseconds,
 * which would otherwise stall the event loop (Node-RED's, when the ledger is embedded). One bundle at a time; the
 * idle worker does not keep the process alive.
 */
export class BundleVerifier {
  private worker: Worker | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  isBundle(bundle: readonly Transaction[]): Promise<boolean> {
    const run = this.queue.then(() => this.ask(bundle));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.worker?.terminate();
    this.worker = null;
  }

  private ask(bundle: readonly Transaction[]): Promise<boolean> {
    const worker = (this.worker ??= new Worker(WORKER_FILE));
    worker.ref();
    return new Promise<boolean>((resolve, reject) => {
      const done = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onFailure);
        worker.off('exit', onFailure);
        worker.unref();
      };
      const onMessage = (valid: boolean): void => {
        done();
        resolve(valid);
      };
      const onFailure = (err: Error | number): void => {
        done();
        this.worker = null;
        reject(err instanceof Error ? err : new Error(`bundle verifier stopped (exit code ${err})`));
      };
      worker.on('message', onMessage);
      worker.on('error', onFailure);
      worker.on('exit', onFailure);
      worker.postMessage(bundle);
    });
  }
}
