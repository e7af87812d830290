import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SessionJournal } from '../../../nodes/core/session';
import { tempDir } from '../../support/parties';

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
});
