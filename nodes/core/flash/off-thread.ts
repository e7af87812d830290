import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as channel from './channel';
import { MAX_DEPTH } from './channel';
import { FlashError, type FlashErrorCode } from './errors';
import type { ChannelState, KeyHolder, SignedBundle, TreeNode } from './types';

/**
 * The channel engine off the event loop. A payment costs some milliseconds of hashing on a fast machine and many
 * more on a Raspberry Pi; run on the main thread, that time would stall Node-RED (the editor, the dashboard, MQTT
 * keep-alives) and every other session. `OffThreadEngine` runs the same pure engine functions in worker threads and
 * returns promises of the same results: the checks, the errors (as FlashError, with their codes) and the states are
 * exactly those of the synchronous engine.
 *
 * Key indices: the engine draws them from the key holder while it runs, and the worker cannot call back. So each
 * call takes a reserve of fresh indices (enough for a whole branch; the key holder hands them out a block at a time)
 * and the worker hands out only those. What a call leaves unused is kept for the next call on the main thread; what it took counts as used,
 * even when it failed. A reserve lost in a crash is only skipped: an index is never handed out twice.
 */

export const ENGINE_CALLS = {
  openChannel: channel.openChannel,
  acceptChannel: channel.acceptChannel,
  completeSetup: channel.completeSetup,
  proposeTransfer: channel.proposeTransfer,
  proposeClose: channel.proposeClose,
  cosignProposal: channel.cosignProposal,
  completeProposal: channel.completeProposal,
  applyCompletion: channel.applyCompletion,
};

export type EngineCallName = keyof typeof ENGINE_CALLS;

export interface EngineRequest {
  id: number;
  name: EngineCallName;
  args: unknown[];
  /** Where the key holder goes among the arguments, or -1 when the call takes none. */
  keysAt: number;
  seed: string;
  reserved: number[];
}

export interface EngineReply {
  id: number;
  result?: unknown;
  error?: { code?: FlashErrorCode; message: string };
  /** How many of the reserved indices the call took (they count as used even when it failed). */
  consumed: number;
}

/** The compiled worker sits next to this module. */
const WORKER_FILE = path.join(__dirname, 'engine-worker.js');
/** The most indices one call can need: one branch of the deepest tree. */
const RESERVE = MAX_DEPTH + 1;
/**
 * Fresh indices come from the key holder a block at a time: each allocation writes the wallet's counter to disk
 * (with an fsync), and a block that a crash leaves unused is only skipped.
 */
const ALLOCATION_BLOCK = 4 * RESERVE;

type Engine = typeof ENGINE_CALLS;
type Call<K extends EngineCallName> = (...args: Parameters<Engine[K]>) => Promise<ReturnType<Engine[K]>>;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  reserved: number[];
  keys: KeyHolder | null;
  worker: Worker;
}

export class OffThreadEngine {
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly spare = new WeakMap<KeyHolder, number[]>();
  private nextId = 1;

  /** `size` worker threads, started on first use; idle ones do not keep the process alive. */
  constructor(readonly size = Math.max(1, os.availableParallelism() - 1)) {}

  readonly openChannel: Call<'openChannel'> = (...args) => this.call('openChannel', args, 2);
  readonly acceptChannel: Call<'acceptChannel'> = (...args) => this.call('acceptChannel', args, 2);
  readonly completeSetup: Call<'completeSetup'> = (...args) => this.call('completeSetup', args, -1);
  readonly proposeTransfer: Call<'proposeTransfer'> = (...args) => this.call('proposeTransfer', args, 1);
  readonly proposeClose: Call<'proposeClose'> = (...args) => this.call('proposeClose', args, 1);
  readonly cosignProposal: Call<'cosignProposal'> = (...args) => this.call('cosignProposal', args, 1);
  readonly completeProposal: Call<'completeProposal'> = (...args) => this.call('completeProposal', args, 1);
  readonly applyCompletion: Call<'applyCompletion'> = (...args) => this.call('applyCompletion', args, -1);

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private async call<T>(name: EngineCallName, args: unknown[], keysAt: number): Promise<T> {
    const keys = keysAt >= 0 ? (args[keysAt] as KeyHolder) : null;
    const rest = keysAt >= 0 ? [...args.slice(0, keysAt), ...args.slice(keysAt + 1)] : args;
    if (keys && typeof keys.allocateKeyIndices !== 'function') throw new FlashError('INVALID_ARGUMENT', 'the key holder must allocate key indices');
    const reserved = keys ? this.reserve(keys) : [];
    const id = this.nextId++;
    const worker = this.leastBusy();
    const given = isChannelState(rest[0]) ? rest[0] : null;
    if (given) rest[0] = withoutChainTrytes(given);
    const result = await new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, reserved, keys, worker });
      this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
      if (this.busy.get(worker) === 1) worker.ref();
      const request: EngineRequest = { id, name, args: rest, keysAt, seed: keys?.seed ?? '', reserved };
      worker.postMessage(request);
    });
    if (given) reuseUnchanged(result, given);
    return result;
  }

  /** Takes at least RESERVE fresh indices for one call: the spares of earlier calls first, then a new block. */
  private reserve(keys: KeyHolder): number[] {
    const spare = this.spare.get(keys) ?? [];
    this.spare.set(keys, []);
    return spare.length >= RESERVE ? spare : [...spare, ...keys.allocateKeyIndices(ALLOCATION_BLOCK - spare.length)];
  }

  private leastBusy(): Worker {
    if (this.workers.length < this.size) {
      const worker = new Worker(WORKER_FILE);
      worker.on('message', (reply: EngineReply) => this.settle(worker, reply));
      worker.on('error', (err) => this.fail(worker, err));
      worker.unref();
      this.workers.push(worker);
      this.busy.set(worker, 0);
      return worker;
    }
    return this.workers.reduce((a, b) => ((this.busy.get(a) ?? 0) <= (this.busy.get(b) ?? 0) ? a : b));
  }

  private settle(worker: Worker, reply: EngineReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    this.release(worker);
    if (call.keys) this.spare.get(call.keys)?.push(...call.reserved.slice(reply.consumed));
    if (!reply.error) return call.resolve(reply.result);
    const { code, message } = reply.error;
    call.reject(code ? new FlashError(code, message.slice(code.length + 2)) : new Error(message));
  }

  /** A worker that died takes its calls with it; their reserved indices are dropped, never reused. */
  private fail(worker: Worker, err: Error): void {
    this.workers.splice(this.workers.indexOf(worker), 1);
    this.busy.delete(worker);
    for (const [id, call] of this.pending) {
      if (call.worker !== worker) continue;
      this.pending.delete(id);
      call.reject(new Error(`the channel engine's worker stopped: ${err.message}`));
    }
  }

  private release(worker: Worker): void {
    const left = (this.busy.get(worker) ?? 1) - 1;
    this.busy.set(worker, left);
    if (left === 0) worker.unref();
  }
}

/**
 * The co-signed bundles of the chain (tens of kilobytes of trytes each) travel to the worker without their trytes:
 * the engine only carries them over into the next state, never reads them. Copying them to the worker and back
 * at every call cost more than many of the checks, and made the garbage collector busy.
 */
function withoutChainTrytes(state: ChannelState): ChannelState {
  const strip = (bundles: SignedBundle[]) => bundles.map((b) => ({ ...b, trytes: [] }));
  return { ...state, chain: strip(state.chain) };
}

/**
 * Puts back into the result's state what came from `given` unchanged: the chain's bundles (with their trytes,
 * which did not travel) and the tree nodes. The very objects, not equal copies from the worker, so that the states
 * share their memory and the journal skips what it has written already.
 */
function reuseUnchanged(result: unknown, given: ChannelState): void {
  const state = isChannelState(result) ? result : (result as { state?: unknown }).state;
  if (!isChannelState(state)) return;
  const known = new Map(given.chain.map((b) => [b.hash, b]));
  state.chain.forEach((bundle, i) => {
    if (bundle.trytes.length > 0) return;
    const original = known.get(bundle.hash);
    if (original?.node !== bundle.node) throw new Error(`the engine's worker returned bundle ${bundle.hash} of node ${bundle.node} without its trytes`);
    state.chain[i] = original;
  });
  const ids = Object.keys(state.nodes);
  for (const id of ids) if (sameNode(state.nodes[id], given.nodes[id])) state.nodes[id] = given.nodes[id];
  if (ids.length === Object.keys(given.nodes).length && ids.every((id) => state.nodes[id] === given.nodes[id])) state.nodes = given.nodes;
}

/** Whether the worker returned a tree node unchanged. It compares every field: a field added to TreeNode fails to compile here. */
function sameNode(a: TreeNode, b: TreeNode | undefined): boolean {
  if (!b) return false;
  const { digests, keyIndex, address, signedBundles, ...others } = a;
  others satisfies Record<string, never>;
  return (
    keyIndex === b.keyIndex &&
    address === b.address &&
    digests[0] === b.digests[0] &&
    digests[1] === b.digests[1] &&
    signedBundles.length === b.signedBundles.length &&
    signedBundles.every((hash, i) => hash === b.signedBundles[i])
  );
}

function isChannelState(value: unknown): value is ChannelState {
  return typeof value === 'object' && value !== null && Array.isArray((value as ChannelState).chain) && 'pending' in value;
}

/** The process's engine: one set of workers shared by every session. */
export const offThreadEngine = new OffThreadEngine();
