import assert from 'node:assert/strict';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import isBundle from '@iota/bundle-validator';
import * as mainThread from '../../../nodes/core/flash';
import { FlashError, OffThreadEngine, type ChannelState, type KeyHolder } from '../../../nodes/core/flash';
import type { EngineReply, EngineRequest } from '../../../nodes/core/flash/off-thread';
import { deriveDigest, deriveDigestAhead } from '../../../nodes/core/flash/signing';
import { parse, SEEDS, SETTLE, viaJson, wallet } from './helpers';

/** Every key index a channel state used, over all its tree nodes. */
const indicesOf = (state: ChannelState): number[] => Object.values(state.nodes).map((n) => n.keyIndex).filter((i) => i >= 0);

describe('flash: the engine off the event loop (worker threads)', () => {
  const engine = new OffThreadEngine(2);
  after(() => engine.close());

  async function openPair(keys: [KeyHolder, KeyHolder], channelId: string): Promise<[ChannelState, ChannelState]> {
    const offer = await engine.openChannel({ channelId, depth: 2, security: 1, deposits: [100, 100] }, SETTLE[0], keys[0]);
    const accept = await engine.acceptChannel(viaJson(offer.message), SETTLE[1], keys[1]);
    return [await engine.completeSetup(offer.state, viaJson(accept.message)), accept.state];
  }

  it('runs payments with the same checks and results as the engine on the main thread, the chain\'s trytes kept across calls', async () => {
    const keys: [KeyHolder, KeyHolder] = [wallet(SEEDS[0]), wallet(SEEDS[1])];
    let [a, b] = await openPair(keys, 'off-thread');
    // How many unchanged bundles and tree nodes came back as the caller's own objects, over all payments.
    let sharedBundles = 0;
    let sharedNodes = 0;
    // Five payments: leaves are reused and the tree grows, so later chains carry bundles of earlier states.
    for (let i = 1; i <= 5; i++) {
      const proposal = await engine.proposeTransfer(a, keys[0], { amount: 7 });
      const cosigned = await engine.cosignProposal(b, keys[1], viaJson(proposal.message));
      const reuse = cosigned.state.pending?.reuse ?? -1;
      assert.ok(reuse >= 0 && reuse <= b.chain.length, `payment ${i}: the pending state keeps ${reuse} of the chain's ${b.chain.length} bundles, by count`);
      const completed = await engine.completeProposal(proposal.state, keys[0], viaJson(cosigned.message));
      const applied = await engine.applyCompletion(cosigned.state, viaJson(completed.message));
      assert.deepEqual(completed.state.balances, [100 - 7 * i, 100 + 7 * i]);
      assert.deepEqual(applied.chain, completed.state.chain);
      assert.deepEqual(applied.chain.slice(0, reuse), b.chain.slice(0, reuse), `payment ${i}: the kept bundles, trytes and all`);
      // What the worker returned unchanged is the caller's own object again: the states share it, the journal skips it.
      const given = cosigned.state;
      const givenBundles = new Map(given.chain.map((bundle) => [bundle.hash, bundle]));
      for (const bundle of applied.chain.filter((b) => givenBundles.has(b.hash))) {
        assert.equal(bundle, givenBundles.get(bundle.hash), `payment ${i}: bundle of node ${bundle.node}`);
        sharedBundles++;
      }
      for (const id of Object.keys(applied.nodes)) {
        assert.equal(applied.nodes[id] === given.nodes[id], isDeepStrictEqual(applied.nodes[id], given.nodes[id]), `payment ${i}: node ${id} is the given one exactly when unchanged`);
        if (applied.nodes[id] === given.nodes[id]) sharedNodes++;
      }
      for (const bundle of applied.chain) assert.ok(isBundle(parse(bundle.trytes)), `payment ${i}: the bundle of node ${bundle.node} validates`);
      [a, b] = [completed.state, applied];
    }
    assert.ok(sharedBundles > 0 && sharedNodes > 0, `shared ${sharedBundles} bundles and ${sharedNodes} nodes: the checks above ran on some`);
  });

  it('rejects a forged co-signature with the FlashError code of the engine, and the state stays as it was', async () => {
    const keys: [KeyHolder, KeyHolder] = [wallet(SEEDS[0]), wallet(SEEDS[1])];
    const [a, b] = await openPair(keys, 'forged');
    const proposal = await engine.proposeTransfer(a, keys[0], { amount: 1 });
    const cosigned = await engine.cosignProposal(b, keys[1], viaJson(proposal.message));
    const forged = viaJson(cosigned.message);
    forged.signatures[0][0] = 'A'.repeat(forged.signatures[0][0].length);
    const before = viaJson(proposal.state);
    await assert.rejects(engine.completeProposal(proposal.state, keys[0], forged), (err: unknown) => {
      assert.ok(err instanceof FlashError);
      assert.equal(err.code, 'SIGNATURE_INVALID');
      assert.match(err.message, /^SIGNATURE_INVALID: bundle 0/);
      return true;
    });
    assert.deepEqual(proposal.state, before);
  });

  it('keeps the event loop free while it hashes', async () => {
    const keys = wallet(SEEDS[0]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const ticksWhenDone = await engine
      .openChannel({ channelId: 'responsive', depth: 6, security: 2, deposits: [100, 0] }, SETTLE[0], keys)
      .then(() => ticks);
    clearInterval(timer);
    // On the main thread the 7 digests would run in one go: no timer could fire before the result.
    assert.ok(ticksWhenDone > 0, 'timers ran while the digests were derived');
  });

  it('sends a tree its worker keeps by reference and takes back only the changed records; a new worker gets it whole', async () => {
    const requests: EngineRequest[] = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      requests.push(args[0] as EngineRequest);
      return post.apply(this, args);
    };
    const solo = new OffThreadEngine(1);
    try {
      const now = Date.now();
      // The same channel twice, on the main thread and off it: every state must come out the same.
      const [k0, k1, m0, m1] = [wallet(SEEDS[0]), wallet(SEEDS[1]), wallet(SEEDS[0]), wallet(SEEDS[1])];
      const terms = { channelId: 'trees', depth: 4, security: 1 as const, deposits: [100, 100] as [number, number] };
      const offer = await solo.openChannel(terms, SETTLE[0], k0);
      const accept = await solo.acceptChannel(viaJson(offer.message), SETTLE[1], k1);
      let off: [ChannelState, ChannelState] = [await solo.completeSetup(offer.state, viaJson(accept.message)), accept.state];
      const mOffer = mainThread.openChannel(terms, SETTLE[0], m0);
      const mAccept = mainThread.acceptChannel(viaJson(mOffer.message), SETTLE[1], m1);
      let on: [ChannelState, ChannelState] = [mainThread.completeSetup(mOffer.state, viaJson(mAccept.message)), mAccept.state];
      const pay = async (i: number) => {
        const proposal = await solo.proposeTransfer(off[0], k0, { amount: 1 }, { now });
        const cosigned = await solo.cosignProposal(off[1], k1, viaJson(proposal.message), { now });
        const completed = await solo.completeProposal(proposal.state, k0, viaJson(cosigned.message));
        off = [completed.state, await solo.applyCompletion(cosigned.state, viaJson(completed.message))];
        const mProposal = mainThread.proposeTransfer(on[0], m0, { amount: 1 }, { now });
        const mCosigned = mainThread.cosignProposal(on[1], m1, viaJson(mProposal.message), { now });
        const mCompleted = mainThread.completeProposal(mProposal.state, m0, viaJson(mCosigned.message));
        on = [mCompleted.state, mainThread.applyCompletion(mCosigned.state, viaJson(mCompleted.message))];
        assert.deepEqual(off, on, `payment ${i}: the same states off the main thread as on it`);
      };
      for (let i = 1; i <= 12; i++) await pay(i);
      const calls = requests.filter((r) => r.name !== 'openChannel' && r.name !== 'acceptChannel');
      assert.ok(calls.length >= 12 * 4);
      for (const call of calls) {
        const nodes = (call.args[0] as ChannelState).nodes;
        assert.ok(call.treeRef !== undefined && Object.keys(nodes).length === 0, `${call.name}: the tree went by reference (${Object.keys(nodes).length} nodes sent)`);
      }
      // A worker that stopped took its trees along: the next call sends the whole tree, with the same result.
      await solo.close();
      requests.length = 0;
      const tree = on[0].nodes;
      await pay(13);
      assert.equal(requests[0].treeRef, undefined);
      assert.deepEqual((requests[0].args[0] as ChannelState).nodes, tree);
    } finally {
      Worker.prototype.postMessage = post;
      await solo.close();
    }
  });

  it('sends the whole tree again when its worker has let it go, and the call goes through', async () => {
    const requests: EngineRequest[] = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      requests.push(args[0] as EngineRequest);
      return post.apply(this, args);
    };
    const solo = new OffThreadEngine(1);
    try {
      const keys: [KeyHolder, KeyHolder] = [wallet(SEEDS[0]), wallet(SEEDS[1])];
      const offer = await solo.openChannel({ channelId: 'evicted', depth: 2, security: 1, deposits: [100, 100] }, SETTLE[0], keys[0]);
      const accept = await solo.acceptChannel(viaJson(offer.message), SETTLE[1], keys[1]);
      const kept = await solo.completeSetup(offer.state, viaJson(accept.message));
      // Every result is a tree the worker keeps: 600 more push this one out of its 512.
      for (let i = 0; i < 600; i++) await solo.completeSetup(offer.state, viaJson(accept.message));
      requests.length = 0;
      const proposal = await solo.proposeTransfer(kept, keys[0], { amount: 5 });
      assert.deepEqual(
        requests.map((r) => [r.name, r.treeRef !== undefined, Object.keys((r.args[0] as ChannelState).nodes).length > 0]),
        [['proposeTransfer', true, false], ['proposeTransfer', false, true]],
        'by reference first, then the whole tree',
      );
      const cosigned = await solo.cosignProposal(accept.state, keys[1], viaJson(proposal.message));
      const completed = await solo.completeProposal(proposal.state, keys[0], viaJson(cosigned.message));
      assert.deepEqual(completed.state.balances, [95, 105]);
      assert.deepEqual((await solo.applyCompletion(cosigned.state, viaJson(completed.message))).chain, completed.state.chain);
      assert.ok(Object.keys(kept.nodes).every((id) => id in completed.state.nodes), 'no node of the tree was lost');
    } finally {
      Worker.prototype.postMessage = post;
      await solo.close();
    }
  });

  it('answers a call whose tree it no longer keeps with nothing done, so that the caller sends it whole', async () => {
    const worker = new Worker(path.join(__dirname, '../../../nodes/core/flash/engine-worker.js'));
    try {
      const reply = new Promise<EngineReply>((resolve) => worker.once('message', resolve));
      worker.postMessage({ id: 7, name: 'applyCompletion', args: [{ chain: [], pending: null, nodes: {} }, {}], keysAt: -1, seed: '', reserved: [], treeRef: 12345 } satisfies EngineRequest);
      assert.deepEqual(await reply, { id: 7, consumed: 0, treeGone: true });
    } finally {
      await worker.terminate();
    }
  });

  it('never hands out a key index twice, also to calls that run at the same time on one key holder', async () => {
    const keys = wallet(SEEDS[0]);
    const states = await Promise.all(
      Array.from({ length: 6 }, (_, i) => engine.openChannel({ channelId: `c${i}`, depth: 3, security: 1, deposits: [10, 10] }, SETTLE[0], keys)),
    );
    const used = states.flatMap((s) => indicesOf(s.state));
    assert.equal(used.length, 6 * 4);
    assert.equal(new Set(used).size, used.length, 'every index once');
    assert.ok(used.every((i) => keys.handedOut.includes(i)), 'every index came from the key holder');
    // A failed call keeps what it took: the next call does not get those indices again.
    await assert.rejects(engine.openChannel({ channelId: '', depth: 3, security: 1, deposits: [10, 10] }, SETTLE[0], keys), FlashError);
    const next = await engine.openChannel({ channelId: 'after', depth: 3, security: 1, deposits: [10, 10] }, SETTLE[0], keys);
    assert.ok(indicesOf(next.state).every((i) => !used.includes(i)));
  });
});

describe('flash: digests derived ahead', () => {
  it('hands out exactly the digest it would derive, once, and only for the same seed, index and security', () => {
    const fresh = deriveDigest(SEEDS[0], 41, 2);
    const otherSeeds = deriveDigest(SEEDS[1], 41, 2);
    deriveDigestAhead(SEEDS[1], 41, 2);
    deriveDigestAhead(SEEDS[0], 41, 2);
    assert.equal(deriveDigest(SEEDS[0], 41, 2), fresh);
    assert.equal(deriveDigest(SEEDS[0], 41, 2), fresh, 'and again, derived afresh');
    assert.equal(deriveDigest(SEEDS[0], 41, 1), fresh.slice(0, 81), 'security 1 is the first digest of security 2');
    assert.equal(deriveDigest(SEEDS[1], 41, 2), otherSeeds, "the other seed's digest went to the other seed");
  });
});
