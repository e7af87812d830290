import assert from 'node:assert/strict';
import isBundle from '@iota/bundle-validator';
import {
  applyCompletion,
  type ChannelState,
  completeProposal,
  cosignProposal,
  type Proposal,
  proposeTransfer,
} from '../../../nodes/core/flash';
import { addSignature, buildBundle, parseBundle } from '../../../nodes/core/flash/bundles';
import { signFragments } from '../../../nodes/core/flash/signing';
import { assertRejected, Pair, parse, reshape, valueAddress, viaJson, withInsecureHash } from './helpers';

type FullProposal = Proposal & { bundles: string[][] };

/**
 * A cheating or broken peer. Party 0 (A) proposes to party 1 (B), who must refuse anything but the exact next
 * state. Security 1: none of these rules depends on the security level.
 */
describe('flash: adversarial proposals are refused and leave the state untouched', function () {
  this.timeout(300000);
  const TOTAL = 1500;
  let pair: Pair;

  /**
   * An honest proposal from A paying B `amount` in the full form, with its bundles instead of their hashes (as
   * vehicles before the hashes sent it, and the form that gives a cheat the most to tamper with), and B's state.
   */
  const honest = (amount = 10): { proposal: FullProposal; b: ChannelState } => {
    const { proposal, b, bundles } = honestByHashes(amount);
    const { bundleHashes, ...rest } = proposal;
    assert.equal(bundleHashes?.length, bundles.length, 'the engine proposes by hashes');
    return { proposal: { ...rest, bundles }, b };
  };
  /** The proposal as the engine sends it, with the hashes of the new bundles; and those bundles. */
  const honestByHashes = (amount = 10): { proposal: Proposal; b: ChannelState; bundles: string[][] } => {
    const proposed = proposeTransfer(pair.states[0], pair.keys[0], { amount });
    return { proposal: viaJson(proposed.message), b: pair.states[1], bundles: proposed.state.pending!.bundles.map((b) => b.trytes) };
  };
  const cosignBy = (proposal: Proposal) => (b: ChannelState) => cosignProposal(b, pair.keys[1], proposal);
  /** The leaf bundle of a proposal (the last one: it pays the settlement addresses). */
  const withLeaf = (proposal: FullProposal, leaf: string[]): Proposal => ({ ...proposal, bundles: [...proposal.bundles.slice(0, -1), leaf] });
  const lastOf = <T>(list: T[]) => list[list.length - 1];

  before(() => {
    pair = new Pair(2, 1, [1000, 500]);
  });

  describe('by hashes, as the engine proposes', () => {
    it('refuses hashes that are not those of its own rebuild of the transfer', () => {
      const { proposal, b } = honestByHashes();
      const hashes = proposal.bundleHashes as string[];
      assertRejected(b, cosignBy({ ...proposal, bundleHashes: [...hashes.slice(0, -1), 'A'.repeat(81)] }), 'BUNDLE_MISMATCH');
      assertRejected(b, cosignBy({ ...proposal, transfer: { from: 0, amount: 11 } }), 'BUNDLE_MISMATCH');
      assertRejected(b, cosignBy({ ...proposal, bundleHashes: hashes.slice(1) }), 'PATH_MISMATCH');
    });

    it('refuses a proposal with both forms, or neither', () => {
      const { proposal, b } = honestByHashes();
      const full = honest().proposal;
      assertRejected(b, cosignBy({ ...proposal, bundles: full.bundles }), 'MALFORMED_MESSAGE');
      assertRejected(b, cosignBy({ ...proposal, bundleHashes: undefined }), 'MALFORMED_MESSAGE');
      assertRejected(b, cosignBy({ ...proposal, bundleHashes: ['not a hash'] }), 'MALFORMED_MESSAGE');
    });

    it('co-signs the same state as from the full form, and answers a repeat in either form with the same co-signature', () => {
      const { proposal, b, bundles } = honestByHashes();
      const { bundleHashes, ...rest } = proposal;
      const full: Proposal = { ...rest, bundles };
      const [fromHashes, fromBundles] = [cosignBy(proposal)(b), cosignBy(full)(b)];
      // The states differ only in the key indices of the digests each call derived ahead.
      assert.deepEqual(fromHashes.state.pending, fromBundles.state.pending);
      assert.deepEqual(fromHashes.message.bundleHashes, bundleHashes);
      assert.deepEqual(cosignProposal(fromHashes.state, pair.keys[1], proposal).message, fromHashes.message);
      assert.deepEqual(cosignProposal(fromHashes.state, pair.keys[1], full).message, fromHashes.message);
    });
  });

  it('refuses a path that skips a tree node (root straight to the leaf)', () => {
    const { proposal, b } = honest();
    assert.equal(proposal.bundles.length, 3, 'the first state funds root → 2 → 4');
    const leafAddress = b.nodes[4].address as string;
    const rootToLeaf = buildBundle(b.nodes[1].address as string, TOTAL, [{ address: leafAddress, value: TOTAL }], 1, proposal.timestamp);
    assertRejected(b, cosignBy({ ...proposal, bundles: [rootToLeaf, proposal.bundles[2]] }), 'PATH_MISMATCH');
  });

  it('refuses a funding bundle that pays another address than the next node', () => {
    const { proposal, b } = honest();
    const diverted = reshape(proposal.bundles[0], (txs) => [{ ...txs[0], address: valueAddress('X') }, ...txs.slice(1)]);
    assertRejected(b, cosignBy({ ...proposal, bundles: [diverted, ...proposal.bundles.slice(1)] }), 'UNEXPECTED_OUTPUT');
  });

  it('refuses a bundle hash with an M in a signed fragment', () => {
    const { proposal, b } = honest();
    const insecure = withInsecureHash(lastOf(proposal.bundles), 1);
    assertRejected(b, cosignBy(withLeaf(proposal, insecure)), 'INSECURE_BUNDLE_HASH');
  });

  describe('on the leaf bundle (A 990 → B 510)', () => {
    const outputs = (txs: ReturnType<typeof parse>) => txs.filter((tx) => tx.value > 0);
    const settleA = () => pair.states[1].settlementAddresses[0];
    const settleB = () => pair.states[1].settlementAddresses[1];

    it('refuses a dropped output (B paid nothing, A takes all)', () => {
      const { proposal, b } = honest();
      const leaf = reshape(lastOf(proposal.bundles), (txs) =>
        txs.filter((tx) => tx.address !== settleB()).map((tx) => (tx.address === settleA() ? { ...tx, value: TOTAL } : tx)),
      );
      assert.equal(outputs(parse(leaf)).length, 1);
      assertRejected(b, cosignBy(withLeaf(proposal, leaf)), 'OUTPUT_DROPPED');
    });

    it('refuses a reduced output', () => {
      const { proposal, b } = honest();
      const leaf = reshape(lastOf(proposal.bundles), (txs) =>
        txs.map((tx) => (tx.address === settleB() ? { ...tx, value: tx.value - 5 } : tx.address === settleA() ? { ...tx, value: tx.value + 5 } : tx)),
      );
      assertRejected(b, cosignBy(withLeaf(proposal, leaf)), 'OUTPUT_VALUE_MISMATCH');
    });

    it('refuses values that do not conserve the total', () => {
      const { proposal, b } = honest();
      const leaf = reshape(lastOf(proposal.bundles), (txs) => txs.map((tx) => (tx.address === settleB() ? { ...tx, value: tx.value + 20 } : tx)));
      assertRejected(b, cosignBy(withLeaf(proposal, leaf)), 'VALUE_NOT_CONSERVED');
    });

    it('refuses a changed settlement address', () => {
      const { proposal, b } = honest();
      const leaf = reshape(lastOf(proposal.bundles), (txs) => txs.map((tx) => (tx.address === settleB() ? { ...tx, address: valueAddress('X') } : tx)));
      assertRejected(b, cosignBy(withLeaf(proposal, leaf)), 'UNEXPECTED_OUTPUT');
    });

    it('refuses an extra (remainder) output', () => {
      const { proposal, b } = honest();
      const leaf = reshape(lastOf(proposal.bundles), (txs) => {
        const a = txs.find((tx) => tx.address === settleA())!;
        return [{ ...a, address: valueAddress('R'), value: 100 }, ...txs.map((tx) => (tx === a ? { ...tx, value: tx.value - 100 } : tx))];
      });
      assertRejected(b, cosignBy(withLeaf(proposal, leaf)), 'UNEXPECTED_OUTPUT');
    });

    it('refuses a timestamp far from our clock', () => {
      const future = proposeTransfer(pair.states[0], pair.keys[0], { amount: 10 }, { now: Date.now() + 3600_000 }).message;
      assertRejected(pair.states[1], cosignBy(viaJson(future)), 'TIMESTAMP_INVALID');
    });

    it('refuses more than the payer holds', () => {
      const { proposal, b } = honest();
      assertRejected(b, cosignBy({ ...proposal, transfer: { from: 0, amount: 1001 } }), 'INSUFFICIENT_BALANCE');
    });

    it('refuses a proposal whose bundles disagree with its declared transfer', () => {
      const { proposal, b } = honest();
      assertRejected(b, cosignBy({ ...proposal, transfer: { from: 0, amount: 11 } }), 'OUTPUT_VALUE_MISMATCH');
    });
  });

  it('refuses a co-signature in the wrong slot before adding a signature of its own', () => {
    const proposed = proposeTransfer(pair.states[0], pair.keys[0], { amount: 10 });
    const [a, proposal] = [proposed.state, viaJson(proposed.message)];
    const cosigned = cosignProposal(pair.states[1], pair.keys[1], proposal).message;
    // B signs with party 0's normalized fragment instead of its own: (signerOffset + j) % 3 with offset 0, not 1.
    const wrong = viaJson(cosigned);
    wrong.signatures = cosigned.bundleHashes.map((hash, i) => {
      const keyIndex = pair.states[1].nodes[a.pending!.bundles[i].node].keyIndex;
      return signFragments(pair.keys[1].seed, keyIndex, 1, 0, hash);
    });
    assertRejected(a, (s) => completeProposal(s, pair.keys[0], wrong), 'SIGNATURE_INVALID');
    // Written into party 0's slot instead, the same fragments still fail the validator: the slot is part of the rule.
    const slotSwapped = addSignature(a.pending!.bundles[0].trytes, wrong.signatures[0], 0, 1);
    assert.equal(isBundle(parseBundle(slotSwapped)), false);
  });

  it('refuses a completion whose fragments are not the proposer\'s', () => {
    const proposed = proposeTransfer(pair.states[0], pair.keys[0], { amount: 10 });
    const cosigned = cosignProposal(pair.states[1], pair.keys[1], viaJson(proposed.message));
    const completed = completeProposal(proposed.state, pair.keys[0], viaJson(cosigned.message));
    const forged = viaJson(completed.message);
    // Fragments from a key that is not A's key for that node (A's key index + 1000, same slot).
    forged.signatures = forged.bundleHashes.map((hash, i) => {
      const node = proposed.state.pending!.bundles[i].node;
      return signFragments(pair.keys[0].seed, proposed.state.nodes[node].keyIndex + 1000, 1, 0, hash);
    });
    assertRejected(cosigned.state, (s) => applyCompletion(s, forged), 'SIGNATURE_INVALID');
  });

  describe('after one payment', () => {
    let first: Proposal;

    before(() => {
      first = pair.pay(0, 10);
    });

    it('refuses an old proposal replayed', () => {
      assertRejected(pair.states[1], cosignBy(viaJson(first)), 'SEQ_REPLAY');
    });

    it('refuses a sequence number that skips a state', () => {
      const { proposal, b } = honest();
      assertRejected(b, cosignBy({ ...proposal, seq: proposal.seq + 1 }), 'SEQ_GAP');
    });

    it('refuses digests that differ from those received before', () => {
      const { proposal, b } = honest();
      assert.equal(b.nodes[5].digests[0], proposal.digests[0].digest, 'the next branch (leaf 5) was announced in round 1');
      const forged = { ...proposal, digests: [{ node: 5, digest: 'X'.repeat(81) }] };
      assertRejected(b, cosignBy(forged), 'DIGEST_MISMATCH');
    });
  });

  describe('after two payments (leaf 4 has signed twice)', () => {
    before(() => {
      pair.pay(0, 10);
      assert.equal(pair.states[1].nodes[4].signedBundles.length, 2);
    });

    it('refuses a third bundle from an address that has signed twice', () => {
      const { proposal, b } = honest();
      const third = buildBundle(
        b.nodes[4].address as string,
        TOTAL,
        [
          { address: b.settlementAddresses[0], value: 970 },
          { address: b.settlementAddresses[1], value: 530 },
        ],
        1,
        proposal.timestamp,
      );
      assertRejected(b, cosignBy({ ...proposal, bundles: [third] }), 'ADDRESS_OVERUSE');
    });

    it('refuses digests sent for other nodes than the next branch', () => {
      const { proposal, b } = honest();
      assert.deepEqual(
        proposal.digests.map((d) => d.node),
        [3, 6],
      );
      const misplaced = { ...proposal, digests: proposal.digests.map((d) => ({ ...d, node: d.node + 1 })) };
      assertRejected(b, cosignBy(misplaced), 'DIGEST_MISMATCH');
    });

    it('refuses a proposal for another channel', () => {
      const { proposal, b } = honest();
      assertRejected(b, cosignBy({ ...proposal, channelId: 'other' }), 'WRONG_CHANNEL');
    });

    it('still accepts the honest proposal afterwards', () => {
      const before = pair.states[1].balances[1];
      pair.pay(0, 10);
      assert.equal(pair.states[1].balances[1], before + 10);
      assert.deepEqual(
        pair.states[1].chain.map((b) => b.node),
        [1, 2, 5],
      );
    });
  });
});
