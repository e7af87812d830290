import { parentPort } from 'node:worker_threads';
import { FlashError } from './errors';
import { ENGINE_CALLS, type EngineReply, type EngineRequest } from './off-thread';
import { deriveDigestAhead } from './signing';
import type { ChannelState, KeyHolder, SecurityLevel } from './types';

/**
 * The worker side of `OffThreadEngine`: runs one channel-engine call at a time, synchronously, as it would run on
 * the main thread. Its key holder hands out only the key indices that the main thread reserved for this call.
 */

/** How many of a call's unused reserved indices to derive digests for while idle: a growing tree needs one or two. */
const DERIVE_AHEAD = 4;

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
  const security = securityOf(reply.result);
  if (request.seed && security) deriveAhead(request.seed, request.reserved.slice(keys.consumed, keys.consumed + DERIVE_AHEAD), security);
});

/** The security level of a call's resulting state: every call returns a state, alone or with a message. */
function securityOf(result: unknown): SecurityLevel | undefined {
  const state = (result as { state?: ChannelState } | undefined)?.state ?? (result as ChannelState | undefined);
  return state?.security;
}

/** One digest per turn of the event loop, so that a call that arrives meanwhile waits for one digest at most. */
function deriveAhead(seed: string, indices: number[], security: SecurityLevel): void {
  const [first, ...rest] = indices;
  if (first === undefined) return;
  setImmediate(() => {
    deriveDigestAhead(seed, first, security);
    deriveAhead(seed, rest, security);
  });
}
