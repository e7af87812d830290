import { parentPort, Worker } from 'node:worker_threads';

/** What a worker started by `SerialWorker` answers to each request. */
export type SerialReply<T> = { result: T } | { error: string };

/**
 * One worker thread that runs CPU-heavy requests one at a time, off the event loop (Node-RED's, when the code runs
 * in a flow): a ledger checking signatures, a wallet finalizing and signing a bundle. Started on first use; an idle
 * worker does not keep the process alive; a worker that dies fails the request under way and is started again for
 * the next one.
 */
export class SerialWorker<Request, Result> {
  private worker: Worker | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** `file`: the compiled worker script, which calls `serveRequests`; `name`: for error messages. */
  constructor(
    private readonly file: string,
    private readonly name: string,
  ) {}

  run(request: Request): Promise<Result> {
    const run = this.queue.then(() => this.ask(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.worker?.terminate();
    this.worker = null;
  }

  private ask(request: Request): Promise<Result> {
    const worker = (this.worker ??= new Worker(this.file));
    worker.ref();
    return new Promise<Result>((resolve, reject) => {
      const done = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onFailure);
        worker.off('exit', onFailure);
        worker.unref();
      };
      const onMessage = (reply: SerialReply<Result>): void => {
        done();
        if ('error' in reply) reject(new Error(reply.error));
        else resolve(reply.result);
      };
      const onFailure = (err: Error | number): void => {
        done();
        this.worker = null;
        reject(err instanceof Error ? err : new Error(`the ${this.name} stopped (exit code ${err})`));
      };
      worker.on('message', onMessage);
      worker.on('error', onFailure);
      worker.on('exit', onFailure);
      worker.postMessage(request);
    });
  }
}

/** The worker side: answers each request with what `handle` returns, or with the message of what it throws. */
export function serveRequests<Request, Result>(handle: (request: Request) => Result | Promise<Result>): void {
  const port = parentPort;
  if (!port) throw new Error('this module must run as a worker thread');
  port.on('message', async (request: Request) => {
    let reply: SerialReply<Result>;
    try {
      reply = { result: await handle(request) };
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
