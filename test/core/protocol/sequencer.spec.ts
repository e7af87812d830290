import assert from 'node:assert/strict';
import { ProtocolError } from '../../../nodes/core/protocol/errors';
import { RECENT_WINDOW, classify, commit, initialSequencer } from '../../../nodes/core/protocol/sequencer';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError);
    return err.code;
  }
  assert.fail('expected a refusal');
}

describe('protocol: sequencer', function () {
  it('accepts 1, 2, 3 in order and recognises a redelivery as a duplicate', function () {
    let state = initialSequencer();
    for (let seq = 1; seq <= 3; seq++) {
      const msg = { seq, body: { n: seq } };
      assert.deepEqual(classify(state, seq, msg), { kind: 'next' });
      state = commit(state, seq, msg);
    }
    assert.deepEqual(classify(state, 2, { seq: 2, body: { n: 2 } }), { kind: 'duplicate' });
    assert.equal(state.lastSeq, 3);
  });

  it('refuses a reused seq with other content, a gap, and a seq older than the window', function () {
    let state = initialSequencer();
    for (let seq = 1; seq <= RECENT_WINDOW + 5; seq++) state = commit(state, seq, { seq });
    assert.equal(codeOf(() => classify(state, RECENT_WINDOW + 5, { seq: 'other' })), 'DUPLICATE_CONFLICT');
    assert.equal(codeOf(() => classify(state, RECENT_WINDOW + 7, {})), 'SEQ_GAP');
    assert.equal(codeOf(() => classify(state, 1, { seq: 1 })), 'STALE_SEQ');
    assert.equal(Object.keys(state.recent).length, RECENT_WINDOW);
  });

  it('changes nothing until a message is committed, and survives a JSON round trip', function () {
    const state = commit(initialSequencer(), 1, { a: 1 });
    const before = JSON.stringify(state);
    classify(state, 2, { a: 2 });
    assert.equal(JSON.stringify(state), before);
    const restored = JSON.parse(before);
    assert.deepEqual(classify(restored, 1, { a: 1 }), { kind: 'duplicate' });
    assert.throws(() => commit(restored, 3, {}), /out of order/);
  });
});
