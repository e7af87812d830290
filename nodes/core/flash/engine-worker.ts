import { parentPort } from 'node:worker_threads';
import { FlashError } from './errors';
import { ENGINE_CALLS, type EngineReply, type EngineRequest, isChannelState, stateOf } from './off-thread';
import { deriveDigestAhead } from './signing';
import type { ChannelState, KeyHolder, SecurityLevel } from './types';

/**
 * The worker side of `OffThreadEngine`: runs one channel-engine call at a time, synchronously, as it would run on
 * the main thread. Its key holder hands out only the key indices that the main thread reserved for this call.
 */

/** How many of a call's unused reserved indices to derive digests for while idle: a growing tree needs one or two. */
const DERIVE_AHEAD = 4;
/** How many of the trees it returned a worker keeps for the next calls: a session needs its latest one or two. */
const TREES_KEPT = 512;

/** The trees (states' `nodes`) this worker returned, by reference, least recently used first. */
const trees = new Map<number, ChannelState['nodes']>();
let lastTreeRef = 0;

function keepTree(nodes: ChannelState['nodes']): number {
  trees.set(++lastTreeRef, nodes);
  if (trees.size > TREES_KEPT) trees.delete(trees.keys().next().value as number);
  return lastTreeRef;
}

/** The tree kept under `ref`, now the most recently used; undefined once it was let go. */
function keptTree(ref: number): ChannelState['nodes'] | undefined {
  const nodes = trees.get(ref);
  if (nodes) {
    trees.delete(ref);
    trees.set(ref, nodes);
  }
  return nodes;
}

/** The records of `after` that are not those of `before`: the engine copies a record only to change it. */
function changedNodes(after: ChannelState['nodes'], before: ChannelState['nodes']): ChannelState['nodes'] {
  const changed: ChannelState['nodes'] = {};
  for (const id in after) if (after[id] !== before[id]) changed[id] = after[id];
  return changed;
}

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
  if (request.treeRef !== undefined) {
    const nodes = keptTree(request.treeRef);
    if (!nodes) return parentPort?.postMessage({ id: request.id, consumed: 0, treeGone: true } satisfies EngineReply);
    args[0] = { ...(args[0] as ChannelState), nodes };
  }
  const given = isChannelState(args[0]) ? args[0] : null;
  if (request.keysAt >= 0) args.splice(request.keysAt, 0, keys);
  let reply: EngineReply;
  try {
    const call = ENGINE_CALLS[request.name] as (...a: unknown[]) => unknown;
    reply = { id: request.id, result: call(...args), consumed: keys.consumed };
    const state = stateOf(reply.result);
    if (state) {
      reply.treeRef = keepTree(state.nodes);
      if (given) state.nodes = changedNodes(state.nodes, given.nodes);
    }
  } catch (err) {
    const code = err instanceof FlashError ? err.code : undefined;
    reply = { id: request.id, error: { code, message: (err as Error).message }, consumed: keys.consumed };
  }
  parentPort?.postMessage(reply);
  const security = stateOf(reply.result)?.security;
  if (request.seed && security) deriveAhead(request.seed, request.reserved.slice(keys.consumed, keys.consumed + DERIVE_AHEAD), security);
});

/** One digest per turn of the event loop, so that a call that arrives meanwhile waits for one digest at most. */
function deriveAhead(seed: string, indices: number[], security: SecurityLevel): void {
  const [first, ...rest] = indices;
  if (first === undefined) return;
  setImmediate(() => {
    deriveDigestAhead(seed, first, security);
    deriveAhead(seed, rest, security);
  });
}
