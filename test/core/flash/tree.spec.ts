import assert from 'node:assert/strict';
import type { ChannelState } from '../../../nodes/core/flash';
import {
  depthForPayments,
  levelOf,
  MAX_USES,
  mustSettle,
  paymentCapacity,
  planNext,
  remainingCapacity,
  upcomingBranch,
} from '../../../nodes/core/flash/tree';

/** The tree bookkeeping alone, without crypto: a state skeleton whose bundles are fake hashes. */
function skeleton(depth: number): ChannelState {
  return {
    version: 1,
    channelId: 'tree',
    self: 0,
    security: 1,
    depth,
    deposits: [10, 10],
    settlementAddresses: ['S', 'T'],
    nodes: {},
    seq: 0,
    balances: [10, 10],
    timestamp: 0,
    chain: [],
    closed: false,
    pending: null,
  };
}

/** Applies the planned next state; returns the nodes it created. */
function step(state: ChannelState, close: boolean): number[] {
  const plan = planNext(state, close);
  assert.ok(plan, 'a next state exists');
  state.seq++;
  const created: number[] = [];
  for (const { node } of plan.steps) {
    if (!state.nodes[node]) {
      state.nodes[node] = { digests: [null, null], keyIndex: node, address: `A${node}`, signedBundles: [] };
      created.push(node);
    }
    state.nodes[node].signedBundles.push(`H${state.seq}`);
  }
  state.chain = [...state.chain.slice(0, plan.reuse), ...plan.steps.map((s) => ({ node: s.node, hash: `H${state.seq}`, trytes: [] }))];
  state.closed = close;
  return created;
}

describe('flash tree', () => {
  it('has capacity 2^(depth+1) - 1 payments plus the close', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 10].map(paymentCapacity), [1, 3, 7, 15, 31, 2047]);
    assert.equal(depthForPayments(30), 4);
    assert.equal(depthForPayments(31), 4);
    assert.equal(depthForPayments(32), 5);
    assert.equal(depthForPayments(1), 0);
  });

  for (const depth of [0, 1, 2, 3, 5]) {
    it(`depth ${depth}: runs every payment with no address signing more than ${MAX_USES} bundles, then closes`, () => {
      const state = skeleton(depth);
      let announced = upcomingBranch(state);
      let payments = 0;
      while (!mustSettle(state)) {
        assert.equal(remainingCapacity(state), paymentCapacity(depth) - payments);
        const created = step(state, false);
        payments++;
        // Creating nodes is only allowed on the very first state (root branch) or for the announced branch.
        if (payments > 1) assert.deepEqual(created, created.length ? announced : []);
        // Each chain goes from the root to a leaf, parent to child, without skipping a level.
        const nodes = state.chain.map((b) => b.node);
        assert.equal(nodes[0], 1);
        nodes.slice(1).forEach((n, i) => assert.equal(n >> 1, nodes[i]));
        assert.equal(levelOf(nodes[nodes.length - 1]), depth);
        announced = upcomingBranch(state);
      }
      assert.equal(payments, paymentCapacity(depth));
      assert.equal(remainingCapacity(state), 0);
      step(state, true);
      assert.equal(Object.keys(state.nodes).length, 2 ** (depth + 1) - 1, 'the whole tree was used');
      for (const node of Object.values(state.nodes)) assert.ok(node.signedBundles.length <= MAX_USES);
      assert.equal(planNext(state, false), null, 'no payment is left after the close');
    });
  }

  it('closes from the root while the root still has a use left', () => {
    const state = skeleton(3);
    step(state, false);
    step(state, false);
    assert.equal(state.chain.length, 4);
    step(state, true);
    assert.deepEqual(
      state.chain.map((b) => b.node),
      [1],
    );
  });

  it('closes from the highest node with a use left once the root is spent twice', () => {
    const state = skeleton(2);
    // 4 payments fill the left half (leaves 4 and 5); the 5th moves the root to node 3.
    for (let i = 0; i < 5; i++) step(state, false);
    assert.deepEqual(
      state.chain.map((b) => b.node),
      [1, 3, 6],
    );
    step(state, true);
    assert.deepEqual(
      state.chain.map((b) => b.node),
      [1, 3],
    );
  });
});
