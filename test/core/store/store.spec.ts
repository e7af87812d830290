import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppendLog, DirectoryLock, writeFileAtomic } from '../../../nodes/core/store';
import { RANDOM_SEED, randomInt } from '../../support/random';
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

  it('writes each append through to the disk: on Linux its file is open with O_DSYNC, so a write returns once the bytes are there', async function () {
    if (process.platform !== 'linux') this.skip();
    const { log } = await AppendLog.open<object>(file, KIND);
    try {
      await log.append([{ a: 1 }]);
      const target = (fd: string) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return null; // the descriptor that listed the directory, closed since
        }
      };
      const openFlags = fs
        .readdirSync('/proc/self/fd')
        .filter((fd) => target(fd) === file)
        .map((fd) => parseInt(/flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8));
      assert.equal(openFlags.length, 1, 'the log holds its file open once');
      assert.equal(openFlags[0] & fs.constants.O_DSYNC, fs.constants.O_DSYNC);
    } finally {
      await log.close();
    }
    assert.deepEqual((await read()).records, [{ a: 1 }]);
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

  it(`writes the documented format byte for byte: random ASCII and multi-byte records, records ending at the edge of its buffer and one larger than it (RANDOM_SEED=${RANDOM_SEED})`, async () => {
    const { log } = await AppendLog.open<unknown>(file, KIND);
    const scratchOf = (): Buffer => (log as unknown as { scratch: Buffer }).scratch;
    const written: string[] = [];
    const append = async (...payloads: string[]): Promise<void> => {
      await log.appendJson(payloads);
      written.push(...payloads);
    };
    for (let i = 0; i < 60; i++) await append(...Array.from({ length: 1 + randomInt(3) }, () => JSON.stringify({ i, text: randomText(randomInt(4000)) })));
    const usual = scratchOf();
    for (let i = 0; i < 40; i++) await append(JSON.stringify({ same: 'y'.repeat(Math.floor(usual.length / 2)) }));
    assert.equal(scratchOf(), usual, 'the buffer is reused, not replaced, while the records fit');
    // Records whose UTF-8 ends 5 to 0 bytes before the end of the buffer with a character of 1 to 4 bytes last,
    // then one that ends in the same character cut by the end of the buffer.
    for (const last of ['a', 'é', '€', '😀']) {
      for (const spare of [5, 4, 3, 2, 1, 0, 1 - Buffer.byteLength(last)]) {
        const room = scratchOf().length - 12 - spare;
        const fill = 'x'.repeat(room - JSON.stringify({ edge: '' }).length - Buffer.byteLength(last));
        await append(JSON.stringify({ edge: fill + last }));
        assert.equal(Buffer.byteLength(written[written.length - 1]), room);
      }
    }
    const huge = JSON.stringify({ huge: randomText(400_000) });
    await append(JSON.stringify({ before: 1 }), huge, JSON.stringify({ after: '😀' }));
    assert.ok(scratchOf().length >= Buffer.byteLength(huge));
    for (let i = 0; i < 64; i++) await append(JSON.stringify({ i, text: randomText(randomInt(4000)) }));
    assert.ok(scratchOf().length < 64 * 1024, `after the huge record the buffer shrinks back (${scratchOf().length} bytes)`);
    await log.close();
    assert.ok(fs.readFileSync(file).equals(documentedLog(written)), `RANDOM_SEED=${RANDOM_SEED}`);

    const records = written.map((payload) => JSON.parse(payload) as unknown);
    assert.deepEqual((await read()).records, records);
    const created = await AppendLog.create<unknown>(file, KIND, records);
    await created.close();
    assert.ok(fs.readFileSync(file).equals(documentedLog(written)), 'a log created with records is the same file');
  });

  it('loses no acknowledged record when the writer is killed with SIGKILL mid-stream', async () => {
    const acknowledged = await writeUntilKilled<number>('log', file, 200);
    const { records } = await read();
    const seqs = (records as { seq: number }[]).map((r) => r.seq);
    assert.deepEqual(seqs.slice(0, acknowledged.length), acknowledged);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'records are whole and in order');
  });
});

/** Text of ASCII, 2-, 3- and 4-byte UTF-8 characters, and characters JSON escapes. */
function randomText(length: number): string {
  const alphabet = ['a', 'Z', '7', ' ', '"', '\\', '\n', 'é', 'ß', '€', '中', '😀', '𝄞'];
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** The file the log's comment describes: magic, then for the header and each payload its length, checksum, UTF-8. */
function documentedLog(payloads: string[]): Buffer {
  const parts = [Buffer.from('M2MEVLOG', 'latin1')];
  for (const json of [JSON.stringify(KIND), ...payloads]) {
    const payload = Buffer.from(json, 'utf8');
    const head = Buffer.alloc(12);
    head.writeUInt32BE(payload.length, 0);
    createHash('sha256').update(payload).digest().copy(head, 4, 0, 8);
    parts.push(head, payload);
  }
  return Buffer.concat(parts);
}

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
