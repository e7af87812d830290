import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AppendLog, type AppendLogOptions, StoreError } from '../store';

const KIND = 'm2m-ev-session-journal';
const LOG: AppendLogOptions = { kind: KIND, version: 2 };
/** Delta records after which the log is compacted into one snapshot. */
const COMPACT_AFTER = 256;

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

type Fields = Record<string, unknown>;

/**
 * One record: a whole snapshot, or what changed since the record before it: fields replaced whole (`set`), and
 * lists that lost `drop` entries at their start and gained `append` at their end (`grow`: the outbox, say).
 */
type JournalRecord = { snapshot: Fields } | { set: Fields; grow: Record<string, { drop: number; append: unknown[] }> };

/** A field as last written: its JSON, or for a list the JSON of each entry. */
type Written = string | string[];

/**
 * The durable copy of one party's session, kept before any message that depends on it is sent.
 *
 * An append-only log (`AppendLog`: a checksum per record, one fsync per append): each save appends one record
 * that holds only the top-level fields that changed, and the new entries of lists that grew, so that a payment
 * writes its new channel state and the message it sends, not the whole session again. Every 256 records the
 * log is compacted into one snapshot (atomically). A crash during an append leaves a torn last record, which was
 * never acknowledged: the session before it is used. Damage anywhere else, or a foreign file, is reported and
 * never used. The file is readable by its owner only. It holds no seed.
 */
export class SessionJournal<T extends object> {
  private log: AppendLog<JournalRecord> | null = null;
  private written = new Map<string, Written>();
  private deltas = 0;

  constructor(readonly file: string) {}

  async save(snapshot: T): Promise<void> {
    const fields = snapshot as Fields;
    const encoded = new Map(Object.entries(fields).map(([key, value]) => [key, encode(value)]));
    if (!this.log) this.log = (await this.open()).log;
    if (this.written.size === 0 || this.deltas >= COMPACT_AFTER || [...this.written.keys()].some((k) => !encoded.has(k))) {
      await this.log.rewrite(LOG, [{ snapshot: fields }]);
      this.deltas = 0;
    } else {
      const change = delta(this.written, encoded, fields);
      // A step that changed nothing (a heartbeat, say) leaves the file as it is.
      if (Object.keys(change.set).length === 0 && Object.keys(change.grow).length === 0) return;
      await this.log.append([change]);
      this.deltas++;
    }
    this.written = encoded;
  }

  /** The latest snapshot, or null when there is none yet. */
  async load(): Promise<T | null> {
    const { log, records } = await this.open();
    this.log = log;
    let fields: Fields | null = null;
    for (const record of records) fields = apply(fields, record);
    this.written = new Map(Object.entries(fields ?? {}).map(([key, value]) => [key, encode(value)]));
    this.deltas = records.length;
    return fields as T | null;
  }

  private async open(): Promise<{ log: AppendLog<JournalRecord>; records: JournalRecord[] }> {
    await this.close();
    const legacy = readVersion1(this.file);
    try {
      if (legacy === undefined) return await AppendLog.open<JournalRecord>(this.file, LOG);
      const records: JournalRecord[] = [{ snapshot: legacy as Fields }];
      return { log: await AppendLog.create(this.file, LOG, records), records };
    } catch (err) {
      if (err instanceof StoreError) throw new JournalError(`session journal ${this.file}: ${err.message}; it was not used`);
      throw err;
    }
  }

  async close(): Promise<void> {
    const log = this.log;
    this.log = null;
    await log?.close();
  }
}

function encode(value: unknown): Written {
  return Array.isArray(value) ? value.map((entry) => JSON.stringify(entry)) : JSON.stringify(value);
}

function delta(before: Map<string, Written>, after: Map<string, Written>, fields: Fields): { set: Fields; grow: Record<string, { drop: number; append: unknown[] }> } {
  const set: Fields = {};
  const grow: Record<string, { drop: number; append: unknown[] }> = {};
  for (const [key, now] of after) {
    const was = before.get(key);
    if (typeof now === 'string' || typeof was === 'string' || was === undefined) {
      if (now !== was) set[key] = fields[key];
      continue;
    }
    // The longest end of the old list that starts the new one: what stayed; the rest is appended.
    let drop = 0;
    while (drop < was.length && !was.slice(drop).every((entry, i) => entry === now[i])) drop++;
    const kept = was.length - drop;
    if (drop === 0 && kept === now.length) continue;
    if (kept === 0) set[key] = fields[key];
    else grow[key] = { drop, append: (fields[key] as unknown[]).slice(kept) };
  }
  return { set, grow };
}

function apply(fields: Fields | null, record: JournalRecord): Fields {
  if ('snapshot' in record) return record.snapshot;
  if (!fields) throw new StoreError('a change record comes before any snapshot');
  const next = { ...fields, ...record.set };
  for (const [key, { drop, append }] of Object.entries(record.grow)) next[key] = [...(fields[key] as unknown[]).slice(drop), ...append];
  return next;
}

/**
 * A journal of version 1 (one JSON snapshot, replaced atomically), to carry over into the log; undefined when the
 * file is not one.
 */
function readVersion1(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text.startsWith('{')) return undefined;
  let parsed: { kind?: unknown; version?: unknown; checksum?: unknown; snapshot?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JournalError(`session journal ${file} is damaged (not JSON); it was not used`);
  }
  if (parsed?.kind !== KIND || parsed.version !== 1) throw new JournalError(`${file} is not a session journal; it was not used`);
  const checksum = createHash('sha256').update(JSON.stringify(parsed.snapshot)).digest('hex');
  if (checksum !== parsed.checksum) throw new JournalError(`session journal ${file} fails its checksum; it was not used`);
  return parsed.snapshot;
}
