import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import isBundle from '@iota/bundle-validator';
import {
  acceptChannel,
  applyCompletion,
  type ChannelState,
  completeProposal,
  cosignProposal,
  depositAddress,
  mustSettle,
  openChannel,
  paymentCapacity,
  proposeTransfer,
  remainingCapacity,
  settlementBundles,
  withdrawProposal,
} from '../../../nodes/core/flash';
import { MAX_USES } from '../../../nodes/core/flash/tree';
import { assertFlashError, assertRejected, Pair, parse, SEEDS, settle, SETTLE, viaJson, wallet } from './helpers';

const TERMS = { channelId: 'c', depth: 1, security: 1 as const, deposits: [100, 100] as [number, number] };

/** The chain's hashes: the two parties must hold the very same state. */
const chainHashes = (state: ChannelState) => state.chain.map((b) => b.hash);

/**
 * Attaches what `settlementBundles` returns (the unilateral close) to a fresh ledger, and checks that it pays exactly
 * the balances, with nothing left locked in a multisig address.
 */
function assertSettlesToBalances(state: ChannelState): void {
  const total = state.deposits[0] + state.deposits[1];
  const inIndexOrder = settlementBundles(state).map((bundle) => [...bundle].reverse());
  const ledger = settle(inIndexOrder, depositAddress(state), total);
  const expected = new Map(
    ([0, 1] as const).filter((p) => state.balances[p] > 0).map((p) => [state.settlementAddresses[p], state.balances[p]]),
  );
  assert.deepEqual(ledger, expected, 'only the settlement addresses hold value, exactly the balances');
}

describe('flash channel setup', () => {
  it('agrees on the deposit address and records the key indices our side used', () => {
    const pair = new Pair(2, 1, [700, 300]);
    const [a, b] = pair.states;
    assert.equal(depositAddress(a), depositAddress(b));
    for (const [party, state] of [a, b].entries()) {
      const used = Object.keys(state.nodes).map((n) => state.nodes[n].keyIndex);
      assert.deepEqual(used.sort((x, y) => x - y), [...pair.keys[party].handedOut].sort((x, y) => x - y));
    }
    // Setup derives only the first branch, root to first leaf: depth + 1 digests per party.
    assert.deepEqual(Object.keys(a.nodes), ['1', '2', '4']);
    assert.deepEqual(a.deposits, [700, 300]);
  });

  it('keeps the seed out of the state and the messages, and survives JSON', () => {
    const keys = wallet(SEEDS[0]);
    const { state, message } = openChannel(TERMS, SETTLE[0], keys);
    const text = JSON.stringify({ state, message });
    assert.ok(!text.includes(SEEDS[0]));
    assert.deepEqual(viaJson(state), state);
  });

  it('validates settlement addresses: 81 trytes, last trit 0, no checksum', () => {
    const keys = wallet(SEEDS[0]);
    const lastTritNotZero = SETTLE[0].slice(0, 80) + 'M'; // M = 13 = trits (1, 1, 1)
    assertFlashError(() => openChannel(TERMS, lastTritNotZero, keys), 'INVALID_ADDRESS');
    assertFlashError(() => openChannel(TERMS, SETTLE[0] + 'ABCDEFGHI', keys), 'INVALID_ADDRESS');
    assertFlashError(() => openChannel(TERMS, SETTLE[0].toLowerCase(), keys), 'INVALID_ADDRESS');
    assertFlashError(() => openChannel(TERMS, SETTLE[0].slice(1), keys), 'INVALID_ADDRESS');
    assert.equal(keys.handedOut.length, 0, 'nothing is derived for a refused channel');
  });

  it('accepts integer deposits only, one side may be zero', () => {
    const keys = wallet(SEEDS[0]);
    for (const deposits of [[10.5, 10], [-1, 10], [0, 0], [Number.MAX_SAFE_INTEGER, 1]]) {
      assertFlashError(() => openChannel({ ...TERMS, deposits: deposits as [number, number] }, SETTLE[0], keys), 'INVALID_ARGUMENT');
    }
    assertFlashError(() => openChannel({ ...TERMS, security: 4 as 1 }, SETTLE[0], keys), 'INVALID_ARGUMENT');
    assertFlashError(() => openChannel(TERMS, SETTLE[0], { ...keys, seed: 'short' }), 'INVALID_ARGUMENT');
    assert.doesNotThrow(() => openChannel({ ...TERMS, deposits: [1000, 0] }, SETTLE[0], keys));
  });

  it('refuses key indices the wallet hands out twice', () => {
    const offer = openChannel(TERMS, SETTLE[0], wallet(SEEDS[0]));
    const stuck = { seed: SEEDS[1], allocateKeyIndices: (n: number) => Array<number>(n).fill(3) };
    assertFlashError(() => acceptChannel(offer.message, SETTLE[1], stuck), 'INVALID_ARGUMENT');
  });
});

describe('flash channel at security 2: 30 increments, a JSON restart, a cooperative close', function () {
  this.timeout(900000);

  it('keeps both parties on the same exact state and settles to the balances', () => {
    const total = 2000;
    let pair = new Pair(4, 2, [1000, 1000], 'e2e');
    const validated = new Set<string>();
    const leaves = new Set<number>();
    let rootLevelAdvance = false;
    for (let i = 1; i <= 30; i++) {
      // The vehicle (party 0) pays the station; every fifth increment the station refunds a little.
      const refund = i % 5 === 0;
      const before = pair.states[0].balances.slice();
      const proposal = refund ? pair.pay(1, 3) : pair.pay(0, 17);
      const [a, b] = pair.states;
      assert.deepEqual(chainHashes(a), chainHashes(b));
      assert.deepEqual(a.balances, b.balances);
      assert.deepEqual(a.balances, refund ? [before[0] + 3, before[1] - 3] : [before[0] - 17, before[1] + 17]);
      assert.ok(a.balances.every(Number.isSafeInteger) && a.balances[0] + a.balances[1] === total);
      for (const bundle of a.chain) {
        if (validated.has(bundle.hash)) continue;
        assert.ok(isBundle(parse(bundle.trytes)), `bundle of node ${bundle.node} validates`);
        validated.add(bundle.hash);
      }
      for (const node of Object.values(a.nodes)) assert.ok(node.signedBundles.length <= MAX_USES);
      leaves.add(a.chain[a.chain.length - 1].node);
      if (proposal.bundleHashes?.length === 5) rootLevelAdvance = true;
      assert.equal(remainingCapacity(a), paymentCapacity(4) - i);

      if (i === 15) {
        // Both devices restart from what they persisted.
        const restored = Object.create(Pair.prototype) as Pair;
        Object.assign(restored, { keys: pair.keys, states: viaJson(pair.states) });
        assert.deepEqual(restored.states, pair.states);
        pair = restored;
        // A unilateral close at this point pays each party its balance.
        assertSettlesToBalances(pair.states[1]);
      }
    }
    assert.ok(leaves.size >= 8, `the tree advanced through ${leaves.size} leaves`);
    assert.ok(rootLevelAdvance, 'one advance went back up to the root');
    assert.equal(mustSettle(pair.states[0]), false);

    const [a] = pair.states;
    const firstFree = a.chain.findIndex((b) => a.nodes[b.node].signedBundles.length < MAX_USES);
    pair.close(1);
    const [closedA, closedB] = pair.states;
    assert.ok(closedA.closed && closedB.closed);
    assert.deepEqual(chainHashes(closedA), chainHashes(closedB));
    assert.equal(closedA.chain.length, firstFree + 1, 'the close uses the shortest chain available');
    assertSettlesToBalances(closedA);
    assert.deepEqual(closedA.balances, [1000 - 24 * 17 + 6 * 3, 1000 + 24 * 17 - 6 * 3]);

    // Ready for composeAPI sendTrytes: parents first, each bundle head (highest currentIndex) first.
    const toAttach = settlementBundles(closedA);
    assert.equal(toAttach.length, closedA.chain.length);
    for (const bundle of toAttach) {
      assert.deepEqual(
        parse(bundle).map((tx) => tx.currentIndex),
        parse(bundle).map((_, k) => bundle.length - 1 - k),
      );
    }
    assertFlashError(() => pair.pay(0, 1), 'CHANNEL_CLOSED');
  });
});

describe('flash channel accounting with uneven deposits (security 1)', function () {
  this.timeout(300000);

  it('1000/500: exact integers through payments both ways and the close', () => {
    const pair = new Pair(1, 1, [1000, 500]);
    pair.pay(0, 7);
    pair.pay(1, 3);
    pair.pay(0, 333);
    assert.deepEqual(pair.states[0].balances, [663, 837]);
    assert.deepEqual(pair.states[1].balances, [663, 837]);
    assert.equal(depositAddress(pair.states[1]), depositAddress(pair.states[0]));
    assert.equal(mustSettle(pair.states[1]), true, 'depth 1 holds 3 payments');
    assertRejected(pair.states[0], (s) => proposeTransfer(s, pair.keys[0], { amount: 1 }), 'CAPACITY_EXHAUSTED');
    pair.close(0);
    assertSettlesToBalances(pair.states[1]);
    assert.deepEqual(pair.states[1].balances, [663, 837]);
  });

  it('1000/0: a refund state before depositing, zero outputs left out, pay and pay back', () => {
    const pair = new Pair(1, 1, [1000, 0]);
    pair.pay(0, 0); // the opening state: each party can reclaim its deposit before depositing
    let leaf = parse(pair.states[1].chain[pair.states[1].chain.length - 1].trytes);
    assert.deepEqual(
      leaf.filter((tx) => tx.value > 0).map((tx) => [tx.address, tx.value]),
      [[SETTLE[0], 1000]],
    );
    pair.pay(0, 250);
    // The payee may propose too (the vehicle writes the refund it is owed), but the payer must approve paying.
    const refund = proposeTransfer(pair.states[0], pair.keys[0], { amount: 50, from: 1 }).message;
    assertRejected(pair.states[1], (s) => cosignProposal(s, pair.keys[1], viaJson(refund)), 'NOT_APPROVED');
    pair.pay(1, 50, 0);
    assert.deepEqual(pair.states[0].balances, [800, 200]);
    assertRejected(pair.states[1], (s) => proposeTransfer(s, pair.keys[1], { amount: 201 }), 'INSUFFICIENT_BALANCE');
    pair.close(1);
    // The root has funded both children, so the close settles from node 3, which has a use left.
    assert.deepEqual(
      pair.states[0].chain.map((b) => b.node),
      [1, 3],
    );
    leaf = parse(pair.states[0].chain[1].trytes);
    assert.deepEqual(
      leaf.filter((tx) => tx.value > 0).map((tx) => [tx.address, tx.value]),
      [
        [SETTLE[0], 800],
        [SETTLE[1], 200],
      ],
    );
    assertSettlesToBalances(pair.states[0]);
  });
});

describe('flash protocol edge cases (security 1)', function () {
  this.timeout(300000);

  it('resolves a collision: party 0 keeps its proposal, party 1 drops its own', () => {
    const pair = new Pair(1, 1, [100, 100]);
    const fromA = proposeTransfer(pair.states[0], pair.keys[0], { amount: 5 });
    const fromB = proposeTransfer(pair.states[1], pair.keys[1], { amount: 9 });
    assertRejected(fromA.state, (s) => cosignProposal(s, pair.keys[0], viaJson(fromB.message)), 'CONCURRENT_PROPOSAL');
    const cosigned = cosignProposal(fromB.state, pair.keys[1], viaJson(fromA.message));
    const completed = completeProposal(fromA.state, pair.keys[0], viaJson(cosigned.message));
    assert.deepEqual(completed.state.balances, [95, 105]);
    pair.states = [completed.state, cosigned.state];
    assert.equal(pair.states[1].pending?.role, 'cosigner');
  });

  it('shares the tree records a payment leaves unchanged, and never changes the states it is given', () => {
    const pair = new Pair(4, 1, [100, 100]);
    let shared = 0;
    for (let i = 1; i <= 8; i++) {
      const old = [...pair.states];
      const asBefore = viaJson(old);
      pair.pay(0, 1);
      assert.deepEqual(old, asBefore, `payment ${i}: the states given are as they were`);
      pair.states.forEach((state, p) => {
        for (const [id, node] of Object.entries(state.nodes)) {
          const was = old[p].nodes[Number(id)];
          assert.equal(node === was, isDeepStrictEqual(node, was), `payment ${i}, party ${p}: node ${id} is shared exactly when unchanged`);
          if (node === was) shared++;
        }
      });
    }
    assert.ok(shared > 0);
  });

  it('completes a state under signature that version 0.1.0 saved, with the kept bundles instead of their count', () => {
    const pair = new Pair(2, 1, [100, 100]);
    pair.pay(0, 5);
    const proposal = proposeTransfer(pair.states[0], pair.keys[0], { amount: 5 });
    const cosigned = cosignProposal(pair.states[1], pair.keys[1], viaJson(proposal.message));
    const { reuse, ...rest } = proposal.state.pending!;
    assert.ok(reuse > 0, 'the next state keeps bundles of this one');
    const saved: ChannelState = viaJson({ ...proposal.state, pending: { ...rest, reused: proposal.state.chain.slice(0, reuse) } } as ChannelState);
    const completed = completeProposal(saved, pair.keys[0], viaJson(cosigned.message));
    assert.deepEqual(completed.state, completeProposal(proposal.state, pair.keys[0], viaJson(cosigned.message)).state);
    assert.deepEqual(chainHashes(applyCompletion(cosigned.state, viaJson(completed.message))), chainHashes(completed.state));
  });

  it('withdraws a stale proposal, after which a fresh one goes through', () => {
    const pair = new Pair(1, 1, [100, 100]);
    const stale = proposeTransfer(pair.states[0], pair.keys[0], { amount: 5 }, { now: Date.now() - 3600_000 });
    assertRejected(pair.states[1], (s) => cosignProposal(s, pair.keys[1], viaJson(stale.message)), 'TIMESTAMP_INVALID');
    assertFlashError(() => proposeTransfer(stale.state, pair.keys[0], { amount: 5 }), 'UNEXPECTED_MESSAGE');
    assertRejected(pair.states[1], (s) => withdrawProposal(s), 'UNEXPECTED_MESSAGE');
    pair.states[0] = withdrawProposal(stale.state);
    pair.pay(0, 5);
    assert.deepEqual(pair.states[1].balances, [95, 105]);
  });

  it('answers a repeated proposal with the same co-signature, and refuses a different one meanwhile', () => {
    const pair = new Pair(1, 1, [100, 100]);
    const proposal = proposeTransfer(pair.states[0], pair.keys[0], { amount: 5 });
    const once = cosignProposal(pair.states[1], pair.keys[1], viaJson(proposal.message));
    const twice = cosignProposal(once.state, pair.keys[1], viaJson(proposal.message));
    assert.deepEqual(twice.message, once.message);
    assert.equal(twice.state, once.state);
    const other = proposeTransfer(pair.states[0], pair.keys[0], { amount: 6 });
    assertRejected(once.state, (s) => cosignProposal(s, pair.keys[1], viaJson(other.message)), 'UNEXPECTED_MESSAGE');
  });
});
