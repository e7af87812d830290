import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as channel from './channel';
import { MAX_DEPTH } from './channel';
import { FlashError, type FlashErrorCode } from './errors';
import type { ChannelState, KeyHolder, SignedBundle } from './types';

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
 *
 * The tree: a channel's node records grow with every advance (thousands in a long session), and copying them to
 * the worker and back at every call made a payment cost more the longer the session ran. So a worker keeps the
 * trees it returned, and a call whose state holds a tree that its worker returned sends a reference instead; the
 * worker returns only the records that changed, and the state the caller gets holds its own records for the rest.
 * This relies on the engine's contract that a state is replaced, never changed in place.
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
  /** The state's tree is the one the worker returned under this reference, and was left out of `args`. */
  treeRef?: number;
}

export interface EngineReply {
  id: number;
  result?: unknown;
  error?: { code?: FlashErrorCode; message: string };
  /** How many of the reserved indices the call took (they count as used even when it failed). */
  consumed: number;
  /**
   * The reference under which the worker keeps the resulting state's tree. When the call was given a state, the
   * resulting state holds only the tree nodes that differ from the given state's.
   */
  treeRef?: number;
  /** The worker no longer holds the tree `treeRef` named (it keeps the recent ones): the call did not run. */
  treeGone?: boolean;
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
  resolve(reply: EngineReply): void;
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
  /** Which worker keeps which tree (a state's `nodes`), and under what reference. */
  private readonly trees = new WeakMap<ChannelState['nodes'], { worker: Worker; ref: number }>();
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
    const given = isChannelState(rest[0]) ? rest[0] : null;
    const kept = given ? this.trees.get(given.nodes) : undefined;
    let { reply, worker } = await this.post(name, rest, keysAt, keys, kept && this.workers.includes(kept.worker) ? kept : undefined);
    if (reply.treeGone) ({ reply, worker } = await this.post(name, rest, keysAt, keys, undefined));
    if (reply.error) {
      const { code, message } = reply.error;
      throw code ? new FlashError(code, message.slice(code.length + 2)) : new Error(message);
    }
    const state = stateOf(reply.result);
    if (state && given) takeBack(state, given);
    if (state && reply.treeRef !== undefined) this.trees.set(state.nodes, { worker, ref: reply.treeRef });
    return reply.result as T;
  }

  /** Runs one call on a worker: the one that keeps the state's tree when `kept` names it (then the tree stays here). */
  private post(
    name: EngineCallName,
    rest: unknown[],
    keysAt: number,
    keys: KeyHolder | null,
    kept: { worker: Worker; ref: number } | undefined,
  ): Promise<{ reply: EngineReply; worker: Worker }> {
    const reserved = keys ? this.reserve(keys) : [];
    const id = this.nextId++;
    const worker = kept?.worker ?? this.leastBusy();
    const args = [...rest];
    if (isChannelState(args[0])) args[0] = { ...withoutChainTrytes(args[0]), ...(kept ? { nodes: {} } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (reply) => resolve({ reply, worker }), reject, reserved, keys, worker });
      this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
      if (this.busy.get(worker) === 1) worker.ref();
      const request: EngineRequest = { id, name, args, keysAt, seed: keys?.seed ?? '', reserved, treeRef: kept?.ref };
      worker.postMessage(request);
    });
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
    call.resolve(reply);
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
 * which did not travel) and the tree nodes, of which the worker sent only those that changed. The very
 * objects, not equal copies, so that the states share their memory and the journal skips what it has written.
 */
function takeBack(state: ChannelState, given: ChannelState): void {
  const known = new Map(given.chain.map((b) => [b.hash, b]));
  state.chain.forEach((bundle, i) => {
    if (bundle.trytes.length > 0) return;
    const original = known.get(bundle.hash);
    if (original?.node !== bundle.node) throw new Error(`the engine's worker returned bundle ${bundle.hash} of node ${bundle.node} without its trytes`);
    state.chain[i] = original;
  });
  state.nodes = Object.keys(state.nodes).length === 0 ? given.nodes : { ...given.nodes, ...state.nodes };
}

/** The state a call returned, alone or with a message. */
export function stateOf(result: unknown): ChannelState | null {
  if (isChannelState(result)) return result;
  const state = (result as { state?: unknown } | undefined)?.state;
  return isChannelState(state) ? state : null;
}

export function isChannelState(value: unknown): value is ChannelState {
  return typeof value === 'object' && value !== null && Array.isArray((value as ChannelState).chain) && 'pending' in value;
}

/** The process's engine: one set of workers shared by every session. */
export const offThreadEngine = new OffThreadEngine();
