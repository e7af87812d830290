import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AppendLog, DirectoryLock, writeFileAtomic } from '../../../nodes/core/store';
import { writeUntilKilled } from './crash';
import { tempDir } from '../../support/temp';

const KIND = { kind: 'test-log', version: 1 };

describe('store: append-only log', function () {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = path.join(tempDir('m2m-store-'), 'data');
    file = path.join(dir, 'test.log');
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  async function write(records: object[]): Promise<void> {
    const { log } = await AppendLog.open<object>(file, KIND);
    await log.append(records);
    await log.close();
  }

  async function read(): Promise<{ records: unknown[]; droppedBytes: number }> {
    const { log, records, droppedBytes } = await AppendLog.open<unknown>(file, KIND);
    await log.close();
    return { records, droppedBytes };
  }

  it('reads back what it appended, in an owner-only directory and file', async () => {
    await write([{ a: 1 }, { b: 'two' }]);
    await write([{ c: [3] }]);
    assert.deepEqual((await read()).records, [{ a: 1 }, { b: 'two' }, { c: [3] }]);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('drops a torn last record (cut short, or zeros) and appends cleanly after it', async () => {
    await write([{ n: 1 }, { n: 2 }]);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 3);
    const torn = await read();
    assert.deepEqual(torn.records, [{ n: 1 }]);
    assert.ok(torn.droppedBytes > 0);
    assert.equal(fs.statSync(file).size, size - 3 - torn.droppedBytes, 'the torn record is cut off the file');
    await write([{ n: 3 }]);
    fs.appendFileSync(file, Buffer.alloc(40));
    const after = await read();
    assert.deepEqual(after.records, [{ n: 1 }, { n: 3 }]);
    assert.equal(after.droppedBytes, 40);
  });

  it('refuses damage in the middle, a foreign file, another kind and a newer format with clear errors', async () => {
    await write([{ n: 1 }, { n: 2 }]);
    const data = fs.readFileSync(file);
    data[30] ^= 0x20;
    fs.writeFileSync(file, data);
    await assert.rejects(read(), /test\.log is corrupt at byte \d+: a record fails its checksum and more data follows/);
    fs.writeFileSync(file, 'hello, I am a text file');
    await assert.rejects(read(), /test\.log is not a data file of this package/);
    fs.rmSync(file);
    const other = await AppendLog.open(file, { kind: 'other', version: 1 });
    await other.log.close();
    await assert.rejects(read(), /holds "other" data, not "test-log"/);
    fs.rmSync(file);
    const newer = await AppendLog.open(file, { kind: 'test-log', version: 2 });
    await newer.log.close();
    await assert.rejects(read(), /format version 2; this version reads up to 1/);
  });

  it('loses no acknowledged record when the writer is killed with SIGKILL mid-stream', async () => {
    const acknowledged = await writeUntilKilled<number>('log', file, 200);
    const { records } = await read();
    const seqs = (records as { seq: number }[]).map((r) => r.seq);
    assert.deepEqual(seqs.slice(0, acknowledged.length), acknowledged);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'records are whole and in order');
  });
});

describe('store: atomic write and lock', function () {
  let dir: string;
  beforeEach(() => (dir = tempDir('m2m-store-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces a file atomically with mode 0600 and leaves no temporary file', async () => {
    const file = path.join(dir, 'snapshot.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new');
    assert.equal(fs.readFileSync(file, 'utf8'), 'new');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ['snapshot.json']);
  });

  it('lets one holder lock a directory and takes over locks of gone processes and of an earlier boot', async () => {
    const lockFile = path.join(dir, 'lock');
    const lock = await DirectoryLock.acquire(dir);
    await assert.rejects(DirectoryLock.acquire(dir), /already in use by this process/);
    const mine = fs.readFileSync(lockFile, 'utf8');
    await lock.release();
    const boot = (JSON.parse(mine) as { boot: string }).boot;
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, boot }));
    await assert.rejects(DirectoryLock.acquire(dir), new RegExp(`already in use by process ${process.ppid}`));
    for (const stale of [{ pid: 2147483646, boot }, { pid: process.ppid, boot: 'an-earlier-boot' }, { pid: process.pid, boot }]) {
      fs.writeFileSync(lockFile, JSON.stringify(stale));
      const taken = await DirectoryLock.acquire(dir);
      assert.equal(fs.readFileSync(lockFile, 'utf8'), mine);
      await taken.release();
    }
  });
});
