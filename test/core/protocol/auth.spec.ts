import assert from 'node:assert/strict';
import { newKeyPair, ProtocolError, signEnvelope, verifyEnvelope } from '../../../nodes/core/protocol';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every other text of the same length that Node's base64url decoder reads as the same bytes as `text`. */
function otherSpellings(text: string): string[] {
  const bytes = Buffer.from(text, 'base64url');
  return [...BASE64URL]
    .map((last) => text.slice(0, -1) + last)
    .filter((spelling) => spelling !== text && Buffer.from(spelling, 'base64url').equals(bytes));
}

const refused = (run: () => void) => assert.throws(run, (err: unknown) => err instanceof ProtocolError && err.code === 'BAD_SIGNATURE');

describe('protocol: message signatures', function () {
  const keys = newKeyPair();
  const envelope = signEnvelope({ v: 1, type: 'claim', from: 'station', session: 'S1', seq: 3, ts: 1_700_000_000_000, body: { increments: 2 } }, keys);

  it('verifies a signed envelope with its key, in any key order, and refuses it with another key', function () {
    verifyEnvelope(envelope, keys.publicKey);
    const { sig, ...rest } = envelope;
    verifyEnvelope({ sig, ...Object.fromEntries(Object.entries(rest).reverse()) }, keys.publicKey);
    refused(() => verifyEnvelope(envelope, newKeyPair().publicKey));
  });

  it('refuses a change to any signed field, and a missing or malformed signature', function () {
    const changed = (fields: Record<string, unknown>) => () => verifyEnvelope({ ...envelope, ...fields }, keys.publicKey);
    refused(changed({ seq: 4 }));
    refused(changed({ body: { increments: 3 } }));
    refused(changed({ extra: true }));
    refused(changed({ sig: undefined }));
    refused(changed({ sig: 'not base64' }));
  });

  it('takes a signature and a key only in their one canonical spelling (the decoder ignores the last character’s spare bits)', function () {
    // 64 bytes leave 4 spare bits in the 86th character, 32 bytes leave 2 in the 43rd.
    const signatures = otherSpellings(envelope.sig);
    assert.equal(signatures.length, 15);
    for (const sig of signatures) refused(() => verifyEnvelope({ ...envelope, sig }, keys.publicKey));
    const publicKeys = otherSpellings(keys.publicKey);
    assert.equal(publicKeys.length, 3);
    for (const publicKey of publicKeys) refused(() => verifyEnvelope(envelope, publicKey));
    verifyEnvelope(envelope, keys.publicKey);
  });
});
