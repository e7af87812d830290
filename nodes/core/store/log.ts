import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from './atomic';
import { StoreError } from './errors';

/**
 * Append-only log of JSON records.
 *
 * File layout: the 8-byte magic `M2MEVLOG`, then records. The first record is the header `{kind, version}`.
 * A record is `u32 big-endian payload length | first 8 bytes of sha256(payload) | payload (UTF-8 JSON)`.
 *
 * `append` returns once the records are on disk (O_DSYNC, or fsync), so whatever a caller reports after it survives a crash.
 * A crash during an append can leave a torn last record. On open it is detected (short, bad checksum or zeros
 * up to the end of the file) and cut off: it was never acknowledged. A bad record followed by more data is not
 * a torn write but damage, and opening fails with a StoreError instead of silently dropping data.
 */
const MAGIC = Buffer.from('M2MEVLOG', 'latin1');
const RECORD_HEAD = 12;
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** A scratch buffer up to this size is kept whatever the appends; above it, only while appends need it. */
const SCRATCH_KEEP_BYTES = 64 * 1024;
/** Appends after which the scratch is fitted to the largest of them. */
const SCRATCH_WINDOW = 32;
/**
 * How appends are made durable: where the platform has O_DSYNC, the file is opened with it, so that a write returns
 * once its bytes are on disk (what write and fdatasync do, in one call to the thread pool instead of two); elsewhere
 * (Windows) each write is followed by fdatasync.
 */
const DSYNC = fs.constants.O_DSYNC as number | undefined;
const OPEN_FOR_APPENDS = DSYNC === undefined ? 'r+' : fs.constants.O_RDWR | DSYNC;

export interface AppendLogOptions {
  /** What the file holds, e.g. 'tangle-ledger'. Opening a file of another kind fails. */
  kind: string;
  /** Format version written into new files; files of a higher version are refused. */
  version: number;
}

export interface OpenedLog<T> {
  log: AppendLog<T>;
  /** The records in append order, without the header. */
  records: T[];
  /** Whether the file was created by this open. */
  created: boolean;
  /** Bytes of an unacknowledged torn tail that were cut off. */
  droppedBytes: number;
  /** The format version in the file's header (new files get the version asked for). */
  version: number;
}

export class AppendLog<T> {
  private queue: Promise<void> = Promise.resolve();
  private broken: Error | null = null;
  /**
   * Where appends are encoded, reused: a fresh buffer of some tens of kilobytes a payment is external memory that
   * the garbage collector must account for, and allocating it cost more than encoding the record.
   */
  private scratch: Buffer = Buffer.alloc(0);
  /** The largest append of the current window, and the appends in it (see fitScratch). */
  private windowPeak = 0;
  private windowAppends = 0;

  private constructor(
    readonly file: string,
    private handle: fs.promises.FileHandle,
    private size: number,
  ) {}

  /** Creates the file anew (atomically, replacing whatever was there) with just `records`, and opens it. */
  static async create<T>(file: string, options: AppendLogOptions, records: readonly T[]): Promise<AppendLog<T>> {
    await ensurePrivateDir(path.dirname(file));
    const size = await writeLog(file, options, records);
    return new AppendLog<T>(file, await fs.promises.open(file, OPEN_FOR_APPENDS), size);
  }

  static async open<T>(file: string, options: AppendLogOptions): Promise<OpenedLog<T>> {
    await ensurePrivateDir(path.dirname(file));
    let created = false;
    if (!fs.existsSync(file)) {
      await writeLog(file, options, []);
      created = true;
    }
    const data = await fs.promises.readFile(file);
    const { records, validLength, version } = parse(file, data, options);
    const handle = await fs.promises.open(file, OPEN_FOR_APPENDS);
    if (validLength < data.length) {
      await handle.truncate(validLength);
      await handle.sync();
    }
    return {
      log: new AppendLog<T>(file, handle, validLength),
      records: records as T[],
      created,
      droppedBytes: data.length - validLength,
      version,
    };
  }

  /** Appends the records in one write and resolves after fsync. Appends run one after the other. */
  append(records: readonly T[]): Promise<void> {
    return this.appendJson(records.map((record) => JSON.stringify(record)));
  }

  /** `append` for records the caller has already encoded as JSON (each must parse to a T). */
  appendJson(payloads: readonly string[]): Promise<void> {
    const run = this.queue.then(() => this.write(payloads));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }

  /**
   * Compaction: replaces the whole file, atomically, with a log of just `records` (temporary file, fsync, rename),
   * and appends after them from then on. A crash leaves the old log or the new one.
   */
  rewrite(options: AppendLogOptions, records: readonly T[]): Promise<void> {
    const run = this.queue.then(async () => {
      this.size = await writeLog(this.file, options, records);
      this.broken = null;
      await this.handle.close();
      this.handle = await fs.promises.open(this.file, OPEN_FOR_APPENDS);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(payloads: readonly string[]): Promise<void> {
    if (this.broken) throw new StoreError(`${this.file} cannot be written any more: ${this.broken.message}`);
    const { buffer, length } = encodeRecords(payloads, this.scratch, 0);
    this.scratch = buffer;
    try {
      await this.handle.write(buffer, 0, length, this.size);
      if (DSYNC === undefined) await this.handle.datasync();
      this.size += length;
    } catch (err) {
      // Cut the partial write off so that a later append does not land behind garbage.
      await this.handle.truncate(this.size).catch((truncateError: Error) => {
        this.broken = truncateError;
      });
      throw err;
    } finally {
      this.fitScratch(length);
    }
  }

  /**
   * Every SCRATCH_WINDOW appends, a scratch that grew far beyond the largest of them (one huge record) is
   * replaced by one of twice that size, so that it does not hold the memory for good; one that fits is kept.
   */
  private fitScratch(appended: number): void {
    this.windowPeak = Math.max(this.windowPeak, appended);
    if (++this.windowAppends < SCRATCH_WINDOW) return;
    if (this.scratch.length > Math.max(SCRATCH_KEEP_BYTES, 4 * this.windowPeak)) this.scratch = Buffer.allocUnsafe(2 * this.windowPeak);
    this.windowPeak = 0;
    this.windowAppends = 0;
  }
}

/** Writes a new log file atomically: magic, header, records. Returns its length. */
async function writeLog(file: string, options: AppendLogOptions, records: readonly unknown[]): Promise<number> {
  const payloads = [{ kind: options.kind, version: options.version }, ...records].map((record) => JSON.stringify(record));
  const { buffer, length } = encodeRecords(payloads, Buffer.from(MAGIC), MAGIC.length);
  await writeFileAtomic(file, buffer.subarray(0, length));
  return length;
}

/**
 * The records, one after the other, from byte `from` of `into`, or of a larger copy of its first `from` bytes when
 * they do not fit. Each payload is encoded once, straight into the buffer.
 */
function encodeRecords(payloads: readonly string[], into: Buffer, from: number): { buffer: Buffer; length: number } {
  // JSON is mostly ASCII, whose UTF-8 is as long as the string: room for that is nearly always room enough.
  let buffer = withRoom(into, from, payloads.reduce((sum, payload) => sum + RECORD_HEAD + payload.length, 0));
  let at = from;
  for (const payload of payloads) {
    let bytes = writePayload(buffer, at, payload);
    if (bytes === undefined) {
      buffer = withRoom(buffer, at, RECORD_HEAD + Buffer.byteLength(payload, 'utf8'));
      bytes = buffer.write(payload, at + RECORD_HEAD, 'utf8');
    }
    buffer.writeUInt32BE(bytes, at);
    checksumBytes(buffer.subarray(at + RECORD_HEAD, at + RECORD_HEAD + bytes)).copy(buffer, at + 4);
    at += RECORD_HEAD + bytes;
  }
  return { buffer, length: at };
}

/** The payload's UTF-8 behind the record head at `at`: its length in bytes, or undefined if it did not fit whole. */
function writePayload(buffer: Buffer, at: number, payload: string): number | undefined {
  const start = at + RECORD_HEAD;
  if (start > buffer.length) return undefined;
  const bytes = buffer.write(payload, start, 'utf8');
  // write() stops before a character that does not fit whole, and no character takes more than 4 bytes.
  return start + bytes + 4 <= buffer.length || bytes === Buffer.byteLength(payload, 'utf8') ? bytes : undefined;
}

/**
 * `buffer` if `more` bytes fit after its first `used`, else a larger buffer holding those: at least twice as large,
 * and 4 bytes beyond what is needed, so that writePayload sees a payload that fits as whole without measuring it.
 */
function withRoom(buffer: Buffer, used: number, more: number): Buffer {
  if (used + more <= buffer.length) return buffer;
  const larger = Buffer.allocUnsafe(Math.max(used + more + 4, 2 * buffer.length));
  buffer.copy(larger, 0, 0, used);
  return larger;
}

/** The checksum of this package's data files: the first 8 bytes of the SHA-256. */
export function checksumBytes(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, 8);
}

function parse(file: string, data: Buffer, options: AppendLogOptions): { records: unknown[]; validLength: number; version: number } {
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StoreError(`${file} is not a data file of this package (unknown format); move it away or choose another path`);
  }
  const records: unknown[] = [];
  let offset = MAGIC.length;
  while (offset < data.length) {
    const record = readRecord(data, offset);
    if (record === 'torn') {
      if (records.length === 0) throw new StoreError(`${file} is corrupt: its header record is damaged`);
      break;
    }
    if (record === 'damaged') {
      throw new StoreError(`${file} is corrupt at byte ${offset}: a record fails its checksum and more data follows`);
    }
    records.push(record.value);
    offset = record.end;
  }
  if (records.length === 0) throw new StoreError(`${file} is corrupt: it has no header record`);
  const header = records.shift() as { kind?: unknown; version?: unknown };
  if (header.kind !== options.kind) {
    throw new StoreError(`${file} holds "${String(header.kind)}" data, not "${options.kind}"`);
  }
  if (typeof header.version !== 'number' || header.version > options.version) {
    throw new StoreError(`${file} uses format version ${String(header.version)}; this version reads up to ${options.version}`);
  }
  return { records, validLength: offset, version: header.version };
}

type ReadResult = { value: unknown; end: number } | 'torn' | 'damaged';

function readRecord(data: Buffer, offset: number): ReadResult {
  if (data.length - offset < RECORD_HEAD) return 'torn';
  const length = data.readUInt32BE(offset);
  const end = offset + RECORD_HEAD + length;
  // A length no record of ours can have is damage, not a write cut short.
  if (length > MAX_RECORD_BYTES) return isZeros(data, offset) ? 'torn' : 'damaged';
  if (end > data.length) return 'torn';
  const payload = data.subarray(offset + RECORD_HEAD, end);
  const intact = checksumBytes(payload).equals(data.subarray(offset + 4, offset + RECORD_HEAD));
  if (!intact) return end === data.length || isZeros(data, offset) ? 'torn' : 'damaged';
  try {
    return { value: JSON.parse(payload.toString('utf8')), end };
  } catch {
    return 'damaged';
  }
}

/** A crash can leave a file extended with zeros that were never written: that, too, is a torn tail. */
function isZeros(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}
