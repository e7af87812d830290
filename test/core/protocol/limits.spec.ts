import assert from 'node:assert/strict';
import { ProtocolError } from '../../../nodes/core/protocol/errors';
import { parseEnvelope } from '../../../nodes/core/protocol/envelope';
import { decodePayload, jsonTextDepth, valueDepth } from '../../../nodes/core/protocol/limits';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${err}`);
    return err.code;
  }
  assert.fail('expected a refusal');
}

describe('protocol: message limits', function () {
  it('decodes a Buffer, a string and an already parsed object alike', function () {
    const msg = { v: 1, type: 'claim', body: { wh: 10 } };
    assert.deepEqual(decodePayload(Buffer.from(JSON.stringify(msg))), msg);
    assert.deepEqual(decodePayload(JSON.stringify(msg)), msg);
    assert.deepEqual(decodePayload(msg), msg);
  });

  it('measures nesting depth without being fooled by brackets inside strings', function () {
    assert.equal(jsonTextDepth('{"a":[1,{"b":"[[[{{{\\"]]]"}]}'), 3);
    assert.equal(valueDepth({ a: [1, { b: '[[[' }] }), 3);
    assert.equal(valueDepth(5), 0);
  });

  it('refuses oversized, deeply nested and malformed input with a named reason', function () {
    const limits = { maxBytes: 100, maxDepth: 4 };
    assert.equal(refusal(() => decodePayload('x'.repeat(101), limits)), 'TOO_LARGE');
    assert.equal(refusal(() => decodePayload({ pad: 'x'.repeat(100) }, limits)), 'TOO_LARGE');
    assert.equal(refusal(() => decodePayload('['.repeat(5) + ']'.repeat(5), limits)), 'TOO_DEEP');
    assert.equal(refusal(() => decodePayload({ a: { b: { c: { d: { e: 1 } } } } }, limits)), 'TOO_DEEP');
    assert.equal(refusal(() => decodePayload('{"a":', limits)), 'MALFORMED_JSON');
    assert.equal(refusal(() => decodePayload(42, limits)), 'MALFORMED_JSON');
    assert.equal(refusal(() => decodePayload(null, limits)), 'MALFORMED_JSON');
  });

  it('refuses JSON text that is valid but not an object, such as the text null', function () {
    // An `mqtt in` node set to parse JSON passes the payload "null" (with the quotes) on as the text null.
    for (const text of ['null', '7', '"text"', 'true']) {
      assert.equal(refusal(() => decodePayload(text)), 'MALFORMED_JSON', text);
      assert.equal(refusal(() => parseEnvelope(Buffer.from(text))), 'MALFORMED_JSON', text);
    }
  });

  it('refuses a million-level nesting before parsing it', function () {
    const hostile = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    assert.equal(refusal(() => decodePayload(hostile, { maxBytes: 4_000_000, maxDepth: 8 })), 'TOO_DEEP');
  });
});
