import { KeyPair, makeEnvelope, newKeyPair, signEnvelope } from '../../nodes/core/protocol';

/** A message captured from a real session: its topic, its text and the envelope parsed. */
export interface Genuine {
  topic: string;
  text: string;
  envelope: Record<string, unknown>;
}
export interface FuzzCase {
  kind: string;
  topic: string;
  payload: Buffer | string;
}
type Made = Omit<FuzzCase, 'kind'>;

/**
 * The fuzz: random bytes, text, oversized and deeply nested payloads, random JSON and envelope look-alikes, and
 * genuine messages mutated field by field (signature kept), re-signed by a stranger, with a byte flipped, or
 * replayed as they were, on `allTopics`. Returns a function that makes the next case.
 */
export function fuzzer(random: () => number, genuine: readonly Genuine[], sessionId: string, allTopics: readonly string[]) {
  const stranger: KeyPair = newKeyPair();
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const values: unknown[] = [
    null, 0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, '', 'x'.repeat(300), '\u0000\ud800', [], {}, [1, [2, [3]]], true, false,
    sessionId, 'EV1-000000000000', { a: { b: { c: {} } } }, '9'.repeat(81), 'A'.repeat(86), 'station', 'vehicle', 'claim',
  ];
  const printable = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + int(95))).join('');
  /** A random key somewhere inside a value: the envelope itself, its body, or deeper. */
  const somewhere = (root: Record<string, unknown>): [Record<string, unknown>, string] => {
    let holder = root;
    for (;;) {
      const keys = Object.keys(holder);
      if (keys.length === 0) return [holder, 'extra'];
      const key = pick(keys);
      const inner = holder[key];
      if (inner === null || typeof inner !== 'object' || random() < 0.4) return [holder, key];
      holder = inner as Record<string, unknown>;
    }
  };
  const mutate = (original: Record<string, unknown>): Record<string, unknown> => {
    const copy = structuredClone(original);
    const [holder, key] = somewhere(copy);
    const old = holder[key];
    switch (int(6)) {
      case 0:
        delete holder[key];
        break;
      case 1: // an extra element or field, an own one even when named like something every object inherits
        if (Array.isArray(holder)) holder.push(pick(values));
        else Object.defineProperty(holder, pick([`${key}2`, '__proto__', 'constructor', 'hasOwnProperty']), { value: pick(values), enumerable: true, writable: true, configurable: true });
        break;
      case 2: // the same value as another type
        holder[key] = typeof old === 'number' ? String(old) : typeof old === 'string' && old !== '' && !Number.isNaN(Number(old)) ? Number(old) : JSON.stringify(old ?? null);
        break;
      case 3: // a number one off (a sequence number, a balance, a timestamp)
        holder[key] = typeof old === 'number' ? old + pick([1, -1, 10]) : pick(values);
        break;
      default:
        holder[key] = pick(values);
    }
    return copy;
  };
  const ownTopic = (g: Genuine) => (random() < 0.7 ? g.topic : pick(allTopics));

  const kinds: [string, number, () => Made][] = [
    ['random bytes', 8, () => ({ topic: pick(allTopics), payload: Buffer.from(Array.from({ length: int(2000) }, () => int(256))) })],
    ['text', 6, () => {
      const g = pick(genuine);
      const text = random() < 0.5 ? printable(int(500)) : g.text.slice(0, int(g.text.length)); // a truncated message
      return { topic: pick(allTopics), payload: text };
    }],
    ['deep nesting', 4, () => {
      const n = 9 + int(random() < 0.2 ? 150_000 : 2000);
      const text = pick([`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `${'['.repeat(n)}1`]);
      return { topic: pick(allTopics), payload: text };
    }],
    ['random JSON', 6, () => ({ topic: pick(allTopics), payload: JSON.stringify(pick(values)) })],
    ['envelope look-alike', 14, () => {
      const envelope = {
        v: pick([1, 1, 2, '1', null]), type: pick(['offer', 'open', 'open-accept', 'deposit', 'ready', 'claim', 'proposal', 'cosignature', 'completion', 'stop', 'settled', 'error', 'resend', 'zz', '__proto__', 'toString']),
        session: pick([sessionId, sessionId, ...values]), seq: pick([0, 1, 2, 3, 4, 5, 6, 7, 8, ...values]), from: pick(['station', 'vehicle', 'x']),
        ts: pick([Date.now(), 1, ...values]), body: pick([{}, { increments: 1 }, { reason: 'local-stop' }, { fromSeq: 1 }, ...values]), sig: pick(['A'.repeat(86), ...values]),
      };
      if (random() < 0.2) delete (envelope as Record<string, unknown>)[pick(Object.keys(envelope))];
      return { topic: pick(allTopics), payload: JSON.stringify(envelope) };
    }],
    ['mutated genuine', 26, () => {
      const g = pick(genuine);
      return { topic: ownTopic(g), payload: JSON.stringify(mutate(g.envelope)) };
    }],
    ['signed by a stranger', 14, () => {
      const g = pick(genuine);
      const envelope = random() < 0.5 ? structuredClone(g.envelope) : mutate(g.envelope);
      // Put the stranger's key where a key travels (an offer, an open), and the next sequence numbers.
      const body = envelope.body as Record<string, unknown> | undefined;
      if (body && typeof body === 'object' && 'stationKey' in body) body.stationKey = stranger.publicKey;
      if (body && typeof body === 'object' && 'vehicleKey' in body) body.vehicleKey = stranger.publicKey;
      if (typeof envelope.seq === 'number' && envelope.seq > 0) envelope.seq += int(3);
      return { topic: ownTopic(g), payload: JSON.stringify(signEnvelope({ ...envelope, sig: undefined }, stranger)) };
    }],
    ['stranger’s own session', 3, () => {
      const from = pick(['station', 'vehicle'] as const);
      const envelope = makeEnvelope('stop', from, pick([sessionId, 'EV7-0123456789ab']), 1 + int(20), { reason: 'local-stop' });
      return { topic: pick(allTopics), payload: JSON.stringify(signEnvelope(envelope, stranger)) };
    }],
    ['byte flipped', 10, () => {
      const g = pick(genuine);
      const bytes = Buffer.from(g.text, 'utf8');
      bytes[int(bytes.length)] = random() < 0.5 ? 32 + int(95) : int(256);
      return { topic: ownTopic(g), payload: bytes };
    }],
    ['replay', 9, () => {
      const g = pick(genuine);
      return { topic: ownTopic(g), payload: g.text };
    }],
  ];
  const total = kinds.reduce((sum, [, weight]) => sum + weight, 0);
  const huge = (): FuzzCase => {
    const size = 512 * 1024 + int(512 * 1024);
    const payload = random() < 0.5 ? JSON.stringify({ ...pick(genuine).envelope, pad: 'x'.repeat(size) }) : Buffer.alloc(size, int(256));
    return { kind: 'huge (over 512 KB)', topic: pick(allTopics), payload };
  };
  let n = 0;
  return (): FuzzCase => {
    // One in 250 is oversized: enough to show the limit, few enough to keep the broker quick.
    if (++n % 250 === 0) return huge();
    let roll = random() * total;
    const [kind, , make] = kinds.find(([, weight]) => (roll -= weight) < 0) ?? kinds[0];
    return { kind, ...make() };
  };
}
