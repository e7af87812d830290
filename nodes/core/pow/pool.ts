import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MAX_PARTITIONS, type PowBackend } from './search';
import type { WorkerReply, WorkerRequest } from './worker';

/** The compiled worker sits next to this module (dist/nodes/core/pow/worker.js). */
const WORKER_FILE = path.join(__dirname, 'worker.js');

export class PowCancelledError extends Error {
  constructor() {
    super('proof of work cancelled');
    this.name = 'PowCancelledError';
  }
}

export interface PowResult {
  nonce: Int8Array;
  /** Nonce candidates tried by all workers together. */
  tried: number;
  /** The transform the workers ran (see powBackend). */
  backend: PowBackend;
}

/**
 * A fixed set of worker threads doing proof of work. Each search is split over all workers (each one takes its own
 * part of the nonce space); searches run one at a time, in call order. Idle workers do not keep the process alive.
 */
export class PowPool {
  private workers: Worker[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private current: Int32Array | null = null;
  private closed = false;

  /** `backend` forces one transform (e.g. 'js' as a baseline); by default each worker runs the fastest it has. */
  constructor(
    readonly size = 1,
    readonly backend?: PowBackend,
  ) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_PARTITIONS) throw new RangeError(`PoW workers must be 1..${MAX_PARTITIONS}`);
  }

  /** Finds a nonce for the transaction trits (8019, nonce field ignored). Rejects with PowCancelledError on cancel. */
  search(trits: Int8Array, minWeightMagnitude: number, signal?: AbortSignal): Promise<PowResult> {
    const run = this.queue.then(() => this.run(trits, minWeightMagnitude, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the search in progress, if any (it rejects with PowCancelledError); queued searches still run. */
  cancelCurrent(): void {
    if (this.current) Atomics.store(this.current, 0, 2);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelCurrent();
    await this.queue;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }

  private async run(trits: Int8Array, minWeightMagnitude: number, signal?: AbortSignal): Promise<PowResult> {
    if (this.closed || signal?.aborted) throw new PowCancelledError();
    this.startWorkers();
    const stop = new SharedArrayBuffer(4);
    const flag = new Int32Array(stop);
    const onAbort = (): void => {
      Atomics.store(flag, 0, 2);
    };
    signal?.addEventListener('abort', onAbort);
    this.current = flag;
    try {
      const replies = await Promise.all(
        this.workers.map((worker, partition) => {
          const request: WorkerRequest = { trits, minWeightMagnitude, partition, stop, backend: this.backend };
          return ask(worker, request);
        }),
      );
      const tried = replies.reduce((sum, r) => sum + r.tried, 0);
      const found = replies.find((r) => r.nonce !== null);
      if (!found?.nonce) throw new PowCancelledError();
      return { nonce: found.nonce, tried, backend: found.backend };
    } catch (err) {
      if (!(err instanceof PowCancelledError)) await this.discardWorkers(flag);
      throw err;
    } finally {
      this.current = null;
      signal?.removeEventListener('abort', onAbort);
      for (const worker of this.workers) worker.unref();
    }
  }

  /** After a worker failed: stop the others and start afresh on the next search. */
  private async discardWorkers(flag: Int32Array): Promise<void> {
    Atomics.store(flag, 0, 2);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private startWorkers(): void {
    while (this.workers.length < this.size) this.workers.push(new Worker(WORKER_FILE));
    for (const worker of this.workers) worker.ref();
  }
}

function ask(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: WorkerReply): void => {
      cleanup();
      resolve(reply);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`PoW worker stopped (exit code ${code})`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(request);
  });
}
