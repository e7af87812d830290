import assert from 'node:assert/strict';
import { finalizeBundle } from '@iota/bundle';
import isBundle from '@iota/bundle-validator';
import { trits, trytes } from '@iota/converter';
import { increment } from '@iota/signing';
import { TRANSACTION_LENGTH } from '@iota/transaction';
import { asTransactionObject, asTransactionTrytes } from '@iota/transaction-converter';
import {
  acceptChannel,
  applyCompletion,
  type ChannelState,
  completeProposal,
  completeSetup,
  cosignProposal,
  FlashError,
  type KeyHolder,
  openChannel,
  type Party,
  type Proposal,
  proposeClose,
  proposeTransfer,
  type SecurityLevel,
} from '../../../nodes/core/flash';
import { hasInsecureFragment } from '../../../nodes/core/flash/signing';
import { isValueAddress } from '../../../nodes/core/iota/trytes';

/** Two test seeds; never real ones. */
export const SEEDS = ['ALICE'.padEnd(81, '9'), 'BOB'.padEnd(81, 'B')] as const;

/** A wallet stand-in: hands out consecutive key indices from `start` and remembers them. */
export function wallet(seed: string, start = 0): KeyHolder & { handedOut: number[] } {
  const handedOut: number[] = [];
  return {
    seed,
    handedOut,
    allocateKeyIndices(count: number) {
      const indices = Array.from({ length: count }, (_, i) => start + handedOut.length + i);
      handedOut.push(...indices);
      return indices;
    },
  };
}

/** A valid settlement address: `letter` x 80, then the first tryte that makes the last trit 0. */
export function valueAddress(letter: string): string {
  for (const last of '9ABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    const candidate = letter.repeat(80) + last;
    if (isValueAddress(candidate)) return candidate;
  }
  throw new Error('unreachable');
}

export const SETTLE = [valueAddress('S'), valueAddress('T')] as const;

/** JSON round trip: what a journal on disk or an MQTT hop does to a value. */
export const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Both parties of one channel, driven in memory. Every message crosses a JSON round trip. */
export class Pair {
  states: [ChannelState, ChannelState];
  readonly keys: [KeyHolder & { handedOut: number[] }, KeyHolder & { handedOut: number[] }];

  constructor(depth: number, security: SecurityLevel, deposits: [number, number], channelId = 'test-channel') {
    this.keys = [wallet(SEEDS[0], 100), wallet(SEEDS[1], 7)];
    const offer = openChannel({ channelId, depth, security, deposits }, SETTLE[0], this.keys[0]);
    const accept = acceptChannel(viaJson(offer.message), SETTLE[1], this.keys[1]);
    this.states = [completeSetup(offer.state, viaJson(accept.message)), accept.state];
  }

  /**
   * One full round proposed by `proposer`: proposal, co-signature, completion, each through the engine's function for it as the
   * node layer would. The cosigner approves paying only when `approve` is set. Returns the proposal sent.
   */
  round(
    proposer: Party,
    propose: (state: ChannelState, keys: KeyHolder) => { state: ChannelState; message: Proposal },
    approve = false,
  ): Proposal {
    const cosigner: Party = proposer === 0 ? 1 : 0;
    const proposal = propose(this.states[proposer], this.keys[proposer]);
    this.states[proposer] = proposal.state;
    const cosigned = cosignProposal(this.states[cosigner], this.keys[cosigner], viaJson(proposal.message), { approve: () => approve });
    this.states[cosigner] = cosigned.state;
    const completed = completeProposal(this.states[proposer], this.keys[proposer], viaJson(cosigned.message));
    this.states[proposer] = completed.state;
    this.states[cosigner] = applyCompletion(this.states[cosigner], viaJson(completed.message));
    return proposal.message;
  }

  /** `from` pays `amount`; when the payee proposes, the payer approves. */
  pay(from: Party, amount: number, proposer: Party = from): Proposal {
    return this.round(proposer, (s, k) => proposeTransfer(s, k, { amount, from }), proposer !== from);
  }

  close(proposer: Party): Proposal {
    return this.round(proposer, (s, k) => proposeClose(s, k));
  }
}

/** Asserts that `fn` throws a FlashError with `code`. */
export function assertFlashError(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FlashError, `expected a FlashError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Asserts the call is refused with `code` and that the state it was given is left exactly as it was. */
export function assertRejected(state: ChannelState, fn: (state: ChannelState) => unknown, code: string): void {
  const before = structuredClone(state);
  assertFlashError(() => fn(state), code);
  assert.deepEqual(state, before);
}

export type Tx = ReturnType<typeof asTransactionObject>;

export const parse = (txTrytes: readonly string[]): Tx[] => txTrytes.map((t) => asTransactionObject(t, '9'.repeat(81)));

/**
 * What a cheating proposer does: edit the transactions of a bundle, renumber them, and finalize the hash again.
 * With `secure` the obsoleteTag is bumped until no signed fragment has an M (as an honest library would do).
 */
export function reshape(txTrytes: readonly string[], edit: (txs: Tx[]) => Tx[], secure = true): string[] {
  const txs = edit(parse(txTrytes)).map((tx, i, all) => ({ ...tx, currentIndex: i, lastIndex: all.length - 1 }));
  const finalized = finalizeBundle(trits((asTransactionTrytes(txs) as string[]).join('')), secure ? 3 : 0);
  return split(finalized);
}

function split(bundle: Int8Array): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < bundle.length; offset += TRANSACTION_LENGTH) {
    out.push(trytes(bundle.subarray(offset, offset + TRANSACTION_LENGTH)));
  }
  return out;
}

/** Bumps the first obsoleteTag until the bundle hash DOES normalize to 13 in a fragment the parties sign. */
export function withInsecureHash(txTrytes: readonly string[], security: SecurityLevel): string[] {
  let txs = parse(txTrytes);
  for (;;) {
    txs = [{ ...txs[0], obsoleteTag: trytes(increment(trits(txs[0].obsoleteTag))) }, ...txs.slice(1)];
    const candidate = reshape(asTransactionTrytes(txs) as string[], (t) => t, false);
    if (hasInsecureFragment(parse(candidate)[0].bundle, security)) return candidate;
  }
}

/**
 * Replays a chain of bundles on a ledger that starts with `total` on the root: every bundle must find its input's
 * full balance, and the resulting balances are returned (zero balances left out).
 */
export function settle(chain: readonly (readonly string[])[], rootAddress: string, total: number): Map<string, number> {
  const ledger = new Map<string, number>([[rootAddress, total]]);
  for (const bundle of chain) {
    assert.ok(isBundle(parse(bundle)), 'every bundle of the chain passes isBundle');
    for (const tx of parse(bundle)) {
      const balance = (ledger.get(tx.address) ?? 0) + tx.value;
      assert.ok(balance >= 0, `bundle spends more than ${tx.address.slice(0, 9)} holds`);
      ledger.set(tx.address, balance);
    }
  }
  return new Map([...ledger].filter(([, v]) => v !== 0));
}
