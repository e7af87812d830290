import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SessionJournal } from '../../../nodes/core/session';
import { tempDir } from '../../support/parties';
import { RANDOM_SEED, random, randomInt } from '../../support/random';

interface Snapshot {
  phase: string;
  paid: number;
  channel: { chain: string[] };
  outbox: { seq: number; body: string }[];
  note?: string;
}

const bulky = (n: number) => `${n}`.padEnd(2000, 'X');

function session(paid: number): Snapshot {
  return {
    phase: 'charging',
    paid,
    channel: { chain: [bulky(paid), bulky(paid + 1)] },
    outbox: Array.from({ length: Math.min(paid, 16) }, (_, i) => ({ seq: paid - i, body: bulky(paid - i) })).reverse(),
  };
}

/** What a fresh journal on the file reads, as a restarted party would. */
async function readBack(file: string): Promise<Snapshot | null> {
  const journal = new SessionJournal<Snapshot>(file);
  try {
    return await journal.load();
  } finally {
    await journal.close();
  }
}

describe('session: the journal, an append-only log of changes', () => {
  it('reads back the latest of many saves, across compaction, field removal and a reopen', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Snapshot>(file);
    for (let paid = 0; paid < 300; paid++) {
      await journal.save(paid === 150 ? { ...session(paid), note: 'once' } : session(paid));
      if (paid % 97 === 0) assert.deepEqual(await readBack(file), paid === 150 ? { ...session(paid), note: 'once' } : session(paid));
    }
    await journal.close();
    const reopened = new SessionJournal<Snapshot>(file);
    assert.deepEqual(await reopened.load(), session(299));
    await reopened.save(session(300));
    await reopened.close();
    assert.deepEqual(await readBack(file), session(300));
  });

  it('leaves out a field that JSON leaves out (a function), in a change as in a snapshot, and reads back', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Omit<Snapshot, 'note'> & { note?: unknown }>(file);
    await journal.save({ ...session(1), note: 'a value first' });
    await journal.save({ ...session(2), note: () => undefined });
    assert.deepEqual(await readBack(file), session(2));
    await journal.save({ ...session(3), channel: { chain: [bulky(3)], extra: () => undefined } as Snapshot['channel'] });
    await journal.close();
    assert.deepEqual(await readBack(file), { ...session(3), channel: { chain: [bulky(3)] } });
  });

  it('appends only what changed: a payment writes a fraction of the session', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Snapshot>(file);
    await journal.save(session(20));
    const afterSnapshot = fs.statSync(file).size;
    await journal.save(session(21));
    const appended = fs.statSync(file).size - afterSnapshot;
    await journal.close();
    const whole = JSON.stringify(session(21)).length;
    // The new chain (2 entries) and one outbox entry, not the 16 entries of the outbox again.
    assert.ok(appended < whole / 3, `appended ${appended} bytes for a session of ${whole}`);
  });

  it('writes only the bundles of the chain that changed, not the rest of the channel', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Snapshot>(file);
    const channel = (last: string) => ({ chain: [bulky(1), bulky(2), bulky(3), last] });
    await journal.save({ ...session(5), channel: channel(bulky(4)) });
    const before = fs.statSync(file).size;
    await journal.save({ ...session(5), channel: channel(bulky(5)) });
    const appended = fs.statSync(file).size - before;
    await journal.close();
    assert.ok(appended > 2000 && appended < 2 * 2000, `appended ${appended} bytes for one new bundle of 2,000`);
    assert.deepEqual(await readBack(file), { ...session(5), channel: channel(bulky(5)) });
  });

  it(`reads back every save of randomly changing nested sessions (RANDOM_SEED=${RANDOM_SEED})`, async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Record<string, unknown>>(file);
    let session: Record<string, unknown> = {};
    for (let step = 0; step < 400; step++) {
      session = mutate(session, 3);
      await journal.save(session);
      // What JSON keeps of it: undefined fields vanish.
      const expected = JSON.parse(JSON.stringify(session));
      if (step % 23 === 0) assert.deepEqual(await readBack(file), expected, `step ${step}, RANDOM_SEED=${RANDOM_SEED}`);
    }
    await journal.close();
    assert.deepEqual(await readBack(file), JSON.parse(JSON.stringify(session)), `RANDOM_SEED=${RANDOM_SEED}`);
  });

  it('after a crash in the middle of an append, reads the session before it', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Snapshot>(file);
    await journal.save(session(5));
    await journal.save(session(6));
    await journal.close();
    const whole = fs.readFileSync(file);
    const beforeLast = new SessionJournal<Snapshot>(`${file}.copy`);
    await beforeLast.save(session(5));
    await beforeLast.close();
    // Cut the last record anywhere: it was never acknowledged, so the session of the record before it counts.
    const start = fs.statSync(`${file}.copy`).size;
    for (const cut of [start + 1, start + 12, whole.length - 1]) {
      fs.writeFileSync(file, whole.subarray(0, cut));
      assert.deepEqual(await readBack(file), session(5), `cut at ${cut} of ${whole.length}`);
    }
  });

  it('reads a log of version 2 (changes by top-level field) and compacts it into this version on the next save', async () => {
    const file = path.join(tempDir(), 'party.json');
    const head = (payload: object) => {
      const bytes = Buffer.from(JSON.stringify(payload));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, createHash('sha256').update(bytes).digest().subarray(0, 8), bytes]);
    };
    const version2 = [
      { kind: 'm2m-ev-session-journal', version: 2 },
      { snapshot: session(3) },
      { set: { paid: 4, channel: session(4).channel }, grow: { outbox: { drop: 0, append: session(4).outbox.slice(3) } } },
    ];
    fs.writeFileSync(file, Buffer.concat([Buffer.from('M2MEVLOG', 'latin1'), ...version2.map(head)]));
    const journal = new SessionJournal<Snapshot>(file);
    assert.deepEqual(await journal.load(), session(4));
    await journal.save(session(5));
    await journal.close();
    assert.deepEqual(await readBack(file), session(5));
    assert.match(fs.readFileSync(file).toString('latin1'), /"version":3/);
  });

  it('carries a journal of version 1 over into the log', async () => {
    const file = path.join(tempDir(), 'party.json');
    const snapshot = session(3);
    const checksum = createHash('sha256').update(JSON.stringify(snapshot)).digest('hex');
    fs.writeFileSync(file, `{"kind":"m2m-ev-session-journal","version":1,"checksum":"${checksum}","snapshot":${JSON.stringify(snapshot)}}\n`);
    const journal = new SessionJournal<Snapshot>(file);
    assert.deepEqual(await journal.load(), snapshot);
    await journal.save(session(4));
    await journal.close();
    assert.deepEqual(await readBack(file), session(4));
    assert.equal(fs.readFileSync(file).subarray(0, 8).toString('latin1'), 'M2MEVLOG');
  });

  it('writes nothing after close: a late step of a stopped party is refused, and no file stays open', async () => {
    const file = path.join(tempDir(), 'party.json');
    const journal = new SessionJournal<Snapshot>(file);
    await journal.save(session(1));
    const closing = journal.close();
    // A save that was under way as close began, and one after it.
    await assert.rejects(journal.save(session(2)), /is closed; the step was not saved/);
    await closing;
    await assert.rejects(journal.save(session(3)), /is closed; the step was not saved/);
    assert.deepEqual(await readBack(file), session(1));
    const open = fs.readdirSync('/proc/self/fd').map((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    assert.ok(!open.includes(file), `${file} is still open`);
  });
});

/** A random change to a nested session: fields set, removed, made null, objects and lists that grow and shrink. */
function mutate(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const next = { ...value };
  const keys = ['a', 'b', 'c', 'list', 'nested'];
  for (let changes = randomInt(3) + 1; changes > 0; changes--) {
    const key = keys[randomInt(keys.length)];
    const roll = random();
    if (roll < 0.15) delete next[key];
    else if (roll < 0.25) next[key] = roll < 0.2 ? null : undefined;
    else if (roll < 0.4) next[key] = randomInt(5);
    else if (roll < 0.55) next[key] = depth > 0 ? mutate(isObject(next[key]) ? (next[key] as Record<string, unknown>) : {}, depth - 1) : 'leaf';
    else if (roll < 0.6) next[key] = {};
    else next[key] = changeList(Array.isArray(next[key]) ? (next[key] as unknown[]) : []);
  }
  return next;
}

function changeList(list: unknown[]): unknown[] {
  const entry = () => (random() < 0.5 ? bulky(randomInt(50)) : { n: randomInt(50) });
  const roll = random();
  if (roll < 0.3) return [...list.slice(randomInt(list.length + 1)), entry()];
  if (roll < 0.6) return [...list.slice(0, randomInt(list.length + 1)), entry(), entry()];
  if (roll < 0.7) return [];
  if (roll < 0.8) return list.slice(randomInt(list.length + 1));
  return list.map((e) => (random() < 0.3 ? entry() : e));
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
