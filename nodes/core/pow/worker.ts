/** Worker thread body: runs nonce searches posted by PowPool, so the main event loop never does PoW. */
import { parentPort } from 'node:worker_threads';
import { type PowBackend, searchNonce } from './search';

export interface WorkerRequest {
  trits: Int8Array;
  minWeightMagnitude: number;
  partition: number;
  /** Int32 flag shared by the workers of one job: non-zero = stop. */
  stop: SharedArrayBuffer;
  /** Unset: the fastest this thread runs. */
  backend?: PowBackend;
}

export interface WorkerReply {
  nonce: Int8Array | null;
  tried: number;
  backend: PowBackend;
}

const port = parentPort;
if (!port) throw new Error('pow/worker must run as a worker thread');
port.on('message', (request: WorkerRequest) => {
  const stop = new Int32Array(request.stop);
  const result = searchNonce({
    trits: request.trits,
    minWeightMagnitude: request.minWeightMagnitude,
    partition: request.partition,
    backend: request.backend,
    shouldStop: () => Atomics.load(stop, 0) !== 0,
  });
  if (result.nonce) Atomics.store(stop, 0, 1);
  const reply: WorkerReply = result;
  port.postMessage(reply);
});
