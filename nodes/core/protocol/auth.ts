import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical';
import { ProtocolError } from './errors';

/**
 * Message authentication: every protocol message is signed with Ed25519 over the canonical JSON of its envelope
 * without the `sig` field. Keys travel as the base64url of their raw 32 bytes (the `x` and `d` of a JWK).
 */
export interface KeyPair {
  /** Public key, base64url, 43 characters. */
  publicKey: string;
  /** Private key, base64url, 43 characters. A per-session or identity key, never a wallet seed. */
  privateKey: string;
}

export const KEY_PATTERN = '^[A-Za-z0-9_-]{43}$';
export const SIG_PATTERN = '^[A-Za-z0-9_-]{86}$';

export function newKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { publicKey: jwk.x!, privateKey: jwk.d! };
}

/**
 * The bytes of a key or a signature, and only from their one canonical spelling. Base64url of 32 or 64 bytes has
 * spare bits in its last character, which Node's decoder ignores: without this check, up to 16 spellings of one
 * signature would verify, and a changed copy of a message would pass as authentic though it is not the one sent.
 */
function canonicalBytes(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new ProtocolError('BAD_SIGNATURE', 'a key or signature is not in canonical base64url: refused');
  return bytes;
}

const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(publicKey: string): KeyObject {
  let key = publicKeys.get(publicKey);
  if (!key) {
    canonicalBytes(publicKey);
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
    if (publicKeys.size > 256) publicKeys.clear();
    publicKeys.set(publicKey, key);
  }
  return key;
}

function unsigned(envelope: object): Buffer {
  const rest: Record<string, unknown> = { ...envelope };
  delete rest.sig;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** Importing a key costs more than a signature; a session signs with the same key pair object throughout. */
const privateKeys = new WeakMap<KeyPair, KeyObject>();
function privateKeyObject(keys: KeyPair): KeyObject {
  let key = privateKeys.get(keys);
  if (!key) {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: keys.publicKey, d: keys.privateKey }, format: 'jwk' });
    privateKeys.set(keys, key);
  }
  return key;
}

/** The envelope with its `sig` field set. */
export function signEnvelope<T extends object>(envelope: T, keys: KeyPair): T & { sig: string } {
  const key = privateKeyObject(keys);
  return { ...envelope, sig: sign(null, unsigned(envelope), key).toString('base64url') };
}

/** Throws BAD_SIGNATURE unless `envelope.sig` is a valid signature of the rest of it by `publicKey`. */
export function verifyEnvelope(envelope: { sig?: unknown }, publicKey: string): void {
  let ok = false;
  if (typeof envelope.sig === 'string') {
    try {
      ok = verify(null, unsigned(envelope), publicKeyObject(publicKey), canonicalBytes(envelope.sig));
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new ProtocolError('BAD_SIGNATURE', 'the message signature does not verify with the key bound to this session: refused');
}
