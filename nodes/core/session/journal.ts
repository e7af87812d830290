import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AppendLog, type AppendLogOptions, StoreError } from '../store';

const KIND = 'm2m-ev-session-journal';
/** Version 3 diffs nested fields (the channel's chain, say) entry by entry; version 2 diffed top-level fields. */
const LOG: AppendLogOptions = { kind: KIND, version: 3 };
/** Delta records after which the log is compacted into one snapshot. */
const COMPACT_AFTER = 256;

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

type Fields = Record<string, unknown>;
/** Where a leaf sits in the session: the keys from the top, e.g. ['channel', 'chain']. */
type Path = string[];
/** How a list changed: `drop` entries went from its start, `keep` entries stayed, `append` came after them. */
interface ListChange {
  drop: number;
  keep: number;
  append: unknown[];
}

/**
 * One record: a whole snapshot, or the leaves that changed since the record before it: replaced (`set`), gone
 * (`unset`), or lists that kept a run of their entries (`lists`). Version 2 wrote `{ set, grow }` by top-level key.
 */
type JournalRecord =
  | { snapshot: Fields }
  | { set: [Path, unknown][]; unset: Path[]; lists: [Path, ListChange][] }
  | { set: Fields; grow: Record<string, { drop: number; append: unknown[] }> };

/**
 * What the journal last wrote of a value: for a leaf, its JSON (a list's entry by entry); for an object with keys,
 * the same for each of its fields. Kept as a tree so that a save can skip a part of the session that is the very
 * object it wrote before: sessions are replaced, never changed in place, so an unchanged part is the same object.
 */
type Written = { value: unknown; json: string | string[] } | { value: Fields; fields: Map<string, Written> };

/**
 * The durable copy of one party's session, kept before any message that depends on it is sent.
 *
 * An append-only log (`AppendLog`: a checksum per record, one fsync per append): each save appends one record
 * that holds only the leaves of the session that changed. Nested objects are followed down to their values, and a
 * list is diffed entry by entry, so that a payment writes the bundles that changed and the message it sends, not
 * the whole channel and outbox again. Every 256 records the log is compacted into one snapshot (atomically). A
 * crash during an append leaves a torn last record, which was never acknowledged: the session before it is used.
 * Damage anywhere else, or a foreign file, is reported and never used. The file is readable by its owner only. It
 * holds no seed.
 */
export class SessionJournal<T extends object> {
  private log: AppendLog<JournalRecord> | null = null;
  /** What was written last (see writtenOf); null when the next save must write a whole snapshot. */
  private written: Written | null = null;
  private deltas = 0;
  /** Set by close(): the party has stopped, and a successor may own the file now; nothing more is written. */
  private closed = false;

  constructor(readonly file: string) {}

  /**
   * Appends what changed since the last save. A part of `snapshot` that is the very object saved last time counts
   * as unchanged without being looked at: a session is replaced by a new one, never changed in place after a save.
   */
  async save(snapshot: T): Promise<void> {
    if (this.closed) throw new JournalError(`session journal ${this.file} is closed; the step was not saved`);
    const fields = snapshot as Fields;
    const written = writtenOf(fields, this.written ?? undefined, true);
    if (!this.log) this.log = (await this.open()).log;
    if (this.written === null || this.deltas >= COMPACT_AFTER) {
      await this.log.rewrite(LOG, [{ snapshot: fields }]);
      this.deltas = 0;
    } else {
      const change = delta(this.written, written);
      // A step that changed nothing (a heartbeat, say) leaves the file as it is.
      if (change === null) return;
      await this.log.appendJson([change]);
      this.deltas++;
    }
    this.written = written;
  }

  /** The latest snapshot, or null when there is none yet. */
  async load(): Promise<T | null> {
    const { log, records, version } = await this.open();
    this.log = log;
    let fields: Fields | null = null;
    for (const record of records) fields = apply(fields, record);
    // A log of an earlier version is compacted into this version's format by the next save.
    this.written = fields && version === LOG.version ? writtenOf(fields, undefined, true) : null;
    this.deltas = records.length;
    return fields as T | null;
  }

  private async open(): Promise<{ log: AppendLog<JournalRecord>; records: JournalRecord[]; version: number }> {
    await this.release();
    const opened = await this.openLog();
    // Closed while the file was being opened: the handle must not outlive the journal.
    if (this.closed) {
      await opened.log.close();
      throw new JournalError(`session journal ${this.file} is closed; the step was not saved`);
    }
    return opened;
  }

  private async openLog(): Promise<{ log: AppendLog<JournalRecord>; records: JournalRecord[]; version: number }> {
    const legacy = readVersion1(this.file);
    try {
      if (legacy === undefined) return await AppendLog.open<JournalRecord>(this.file, LOG);
      const records: JournalRecord[] = [{ snapshot: legacy as Fields }];
      return { log: await AppendLog.create(this.file, LOG, records), records, version: LOG.version };
    } catch (err) {
      if (err instanceof StoreError) throw new JournalError(`session journal ${this.file}: ${err.message}; it was not used`);
      throw err;
    }
  }

  /** Closes the file for good: a save after this (late work of a stopped party) is refused, not reopened. */
  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  private async release(): Promise<void> {
    const log = this.log;
    this.log = null;
    await log?.close();
  }
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a save writes of `value`, reusing `was` (what the save before wrote there) for every part that is the same
 * object, and the JSON of leaves that are equal. Leaves are values that are not objects with keys (lists are
 * leaves); `root` keeps the session itself an object even when it has no fields.
 */
function writtenOf(value: unknown, was: Written | undefined, root = false): Written {
  if (was && was.value === value) return was;
  if (isRecord(value)) {
    const wasFields = was && 'fields' in was ? was.fields : undefined;
    const fields = new Map<string, Written>();
    for (const key in value) {
      const inner = value[key];
      // JSON leaves an undefined field out, and a function or a symbol; so does the journal (as in its snapshots).
      if (inner === undefined || typeof inner === 'function' || typeof inner === 'symbol') continue;
      fields.set(key, writtenOf(inner, wasFields?.get(key)));
    }
    if (fields.size > 0 || root) return { value, fields };
  }
  const wasLeaf = was && 'json' in was ? was : undefined;
  return { value, json: encode(value, wasLeaf?.value, wasLeaf?.json) };
}

/**
 * A leaf's JSON, reusing what was written for an equal value: comparing is cheaper than encoding again, and a
 * value may come back equal in a new object (from the engine's worker, or from a restart's load).
 */
function encode(value: unknown, was: unknown, wasJson: string | string[] | undefined): string | string[] {
  if (!Array.isArray(value)) return typeof wasJson === 'string' && sameJson(value, was) ? wasJson : JSON.stringify(value);
  const before = Array.isArray(was) && Array.isArray(wasJson) ? was : [];
  const known = new Map<unknown, string>(before.map((entry, i) => [entry, (wasJson as string[])[i]]));
  return value.map((entry, i) => known.get(entry) ?? (i < before.length && sameJson(entry, before[i]) ? (wasJson as string[])[i] : entryJson(entry)));
}

/** A list entry's JSON as JSON.stringify writes it inside a list: null for what it leaves out of an object. */
function entryJson(entry: unknown): string {
  return JSON.stringify(entry) ?? 'null';
}

/** Whether two JSON values are equal (as data: same keys and values, in any key order). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => key in b && sameJson((a as Fields)[key], (b as Fields)[key]));
}

/** A change record being put together: its `set`, `unset` and `lists` entries, as JSON. */
interface Change {
  set: string[];
  unset: string[];
  lists: string[];
}

/**
 * The change record from `before` to `after`, as JSON, or null when nothing changed. It is put together from the
 * leaves' JSON, which the comparison needed anyway: encoding the record again would encode every new bundle twice.
 */
function delta(before: Written, after: Written): string | null {
  const change: Change = { set: [], unset: [], lists: [] };
  collect(before, after, [], change);
  const { set, unset, lists } = change;
  if (set.length === 0 && unset.length === 0 && lists.length === 0) return null;
  return `{"set":[${set.join(',')}],"unset":[${unset.join(',')}],"lists":[${lists.join(',')}]}`;
}

/** Adds to `change` what turns `before` into `after` at `path`; a part written by both saves is skipped. */
function collect(before: Written | undefined, after: Written | undefined, path: Path, change: Change): void {
  if (before === after) return;
  if (before && after && 'fields' in before && 'fields' in after) {
    for (const [key, inner] of before.fields) if (!after.fields.has(key)) collect(inner, undefined, [...path, key], change);
    for (const [key, inner] of after.fields) collect(before.fields.get(key), inner, [...path, key], change);
    return;
  }
  if (before && after && 'json' in before && 'json' in after) return leafChange(before.json, after.json, path, change);
  // Gone, new, or a leaf that became an object or back: the old leaves go, the new ones are set.
  if (before) leavesOf(before, path, (leafPath) => change.unset.push(JSON.stringify(leafPath)));
  if (after) leavesOf(after, path, (leafPath, json) => change.set.push(`[${JSON.stringify(leafPath)},${listJson(json)}]`));
}

function leavesOf(written: Written, path: Path, each: (path: Path, json: string | string[]) => void): void {
  if ('json' in written) return each(path, written.json);
  for (const [key, inner] of written.fields) leavesOf(inner, [...path, key], each);
}

/** How a leaf changed: a value replaced, or a list that kept a run of its entries. */
function leafChange(was: string | string[], json: string | string[], path: Path, change: Change): void {
  if (typeof json === 'string' || !Array.isArray(was)) {
    if (json !== was) change.set.push(`[${JSON.stringify(path)},${listJson(json)}]`);
    return;
  }
  const { drop, keep } = longestRun(was, json);
  if (drop === 0 && keep === was.length && keep === json.length) return;
  if (keep === 0) change.set.push(`[${JSON.stringify(path)},${listJson(json)}]`);
  else change.lists.push(`[${JSON.stringify(path)},{"drop":${drop},"keep":${keep},"append":${listJson(json.slice(keep))}}]`);
}

/** A leaf's JSON: a value's, or a list's from its entries'. */
function listJson(json: string | string[]): string {
  return typeof json === 'string' ? json : `[${json.join(',')}]`;
}

/**
 * The longest run of the old list's entries that starts the new one: the outbox drops old messages at its start
 * and appends new ones; the channel's chain keeps its first bundles and replaces the rest.
 */
function longestRun(was: string[], now: string[]): { drop: number; keep: number } {
  let best = { drop: 0, keep: 0 };
  for (let drop = 0; drop < was.length && was.length - drop > best.keep; drop++) {
    if (was[drop] !== now[0]) continue;
    let keep = 1;
    while (keep < now.length && drop + keep < was.length && was[drop + keep] === now[keep]) keep++;
    if (keep > best.keep) best = { drop, keep };
  }
  return best;
}

function apply(fields: Fields | null, record: JournalRecord): Fields {
  if ('snapshot' in record) return record.snapshot;
  if (!fields) throw new StoreError('a change record comes before any snapshot');
  if ('grow' in record) {
    const next = { ...fields, ...record.set };
    for (const [key, { drop, append }] of Object.entries(record.grow)) next[key] = [...(fields[key] as unknown[]).slice(drop), ...append];
    return next;
  }
  // The fields were parsed from this log for this load alone, so they are changed in place.
  for (const path of record.unset) removeAt(fields, path);
  for (const [path, value] of record.set) setAt(fields, path, value);
  for (const [path, { drop, keep, append }] of record.lists) {
    const list = valueAt(fields, path);
    if (!Array.isArray(list)) throw new StoreError(`a list change names ${path.join('.')}, which is not a list`);
    setAt(fields, path, [...list.slice(drop, drop + keep), ...append]);
  }
  return fields;
}

function valueAt(fields: Fields, path: Path): unknown {
  return path.reduce<unknown>((value, key) => (isRecord(value) ? value[key] : undefined), fields);
}

function setAt(fields: Fields, path: Path, value: unknown): void {
  let parent = fields;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(parent[key])) parent[key] = {};
    parent = parent[key] as Fields;
  }
  parent[path[path.length - 1]] = value;
}

/** Removes a leaf, and the objects that it leaves empty: a leaf `{}` that should stay is set again after. */
function removeAt(fields: Fields, path: Path): void {
  const parent = valueAt(fields, path.slice(0, -1));
  if (!isRecord(parent)) return;
  delete parent[path[path.length - 1]];
  if (path.length > 1 && Object.keys(parent).length === 0) removeAt(fields, path.slice(0, -1));
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
