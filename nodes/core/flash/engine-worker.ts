import { parentPort } from 'node:worker_threads';
import { FlashError } from './errors';
import { ENGINE_CALLS, type EngineReply, type EngineRequest } from './off-thread';
import type { KeyHolder } from './types';

/**
 * The worker side of `OffThreadEngine`: runs one channel-engine call at a time, synchronously, as it would run on
 * the main thread. Its key holder hands out only the key indices that the main thread reserved for this call.
 */

function reservedKeys(seed: string, reserved: number[]): KeyHolder & { consumed: number } {
  return {
    seed,
    consumed: 0,
    allocateKeyIndices(count: number) {
      if (this.consumed + count > reserved.length) throw new FlashError('INVALID_ARGUMENT', `the call needs more than ${reserved.length} key indices`);
      this.consumed += count;
      return reserved.slice(this.consumed - count, this.consumed);
    },
  };
}

parentPort?.on('message', (request: EngineRequest) => {
  const keys = reservedKeys(request.seed, request.reserved);
  const args = request.args.slice();
  if (request.keysAt >= 0) args.splice(request.keysAt, 0, keys);
  let reply: EngineReply;
  try {
    const call = ENGINE_CALLS[request.name] as (...a: unknown[]) => unknown;
    reply = { id: request.id, result: call(...args), consumed: keys.consumed };
  } catch (err) {
    const code = err instanceof FlashError ? err.code : undefined;
    reply = { id: request.id, error: { code, message: (err as Error).message }, consumed: keys.consumed };
  }
  parentPort?.postMessage(reply);
});
