import fs from 'node:fs';
import path from 'node:path';
import { Database } from 'node-sqlite3-wasm';
import { DirectoryLock, ensurePrivateDir } from '../store';

/** Schema version in `PRAGMA user_version`: a newer file is refused rather than misread. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  session_id TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  station_id TEXT,
  evse_uid TEXT,
  connector_id TEXT,
  vehicle_id TEXT,
  channel_id TEXT,
  deposit_address TEXT,
  deposit_vehicle INTEGER,
  deposit_station INTEGER,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  stop_reason TEXT,
  price_per_kwh INTEGER,
  increment_wh INTEGER,
  energy_wh INTEGER,
  total_cost INTEGER,
  paid_increments INTEGER,
  meter_start_wh INTEGER,
  meter_stop_wh INTEGER,
  unpaid_energy_wh INTEGER,
  final_vehicle INTEGER,
  final_station INTEGER,
  states INTEGER,
  settlement_vehicle_address TEXT,
  settlement_station_address TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at);
CREATE TABLE IF NOT EXISTS increments (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  increments INTEGER NOT NULL,
  paid_wh INTEGER NOT NULL,
  delivered_wh INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  total_paid INTEGER NOT NULL,
  balance_vehicle INTEGER NOT NULL,
  balance_station INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS increments_by_time ON increments (at);
CREATE TABLE IF NOT EXISTS settlements (
  session_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  bundle_hash TEXT NOT NULL,
  confirmed INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (session_id, position)
) WITHOUT ROWID;
`;

export interface OpenedDatabase {
  db: Database;
  lock: DirectoryLock;
}

/**
 * Opens (or creates) the records database `file`, owned by this process alone: its folder is locked with our
 * DirectoryLock (a lock left by a killed process is taken over), SQLite keeps its own lock for the life of the
 * connection (WAL without shared memory, which WebAssembly SQLite has not), and every commit is fsynced.
 */
export async function openDatabase(file: string): Promise<OpenedDatabase> {
  const dir = path.dirname(path.resolve(file));
  await ensurePrivateDir(dir);
  const lock = await DirectoryLock.acquire(dir);
  try {
    // node-sqlite3-wasm locks with a `<file>.lock` directory, which a SIGKILL leaves behind. We hold the
    // folder's lock, so no live process owns it: it is stale.
    fs.rmSync(`${file}.lock`, { recursive: true, force: true });
    const db = new Database(file);
    try {
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      const mode = db.get('PRAGMA journal_mode = WAL') as { journal_mode: string };
      if (mode.journal_mode !== 'wal') throw new Error(`${file}: SQLite refused write-ahead logging (journal mode ${mode.journal_mode})`);
      db.exec('PRAGMA synchronous = FULL');
      const version = Number((db.get('PRAGMA user_version') as { user_version: number }).user_version);
      if (version > SCHEMA_VERSION) throw new Error(`${file} was written by a newer version of this package (schema ${version})`);
      db.exec(`BEGIN; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      return { db, lock };
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    await lock.release();
    throw err;
  }
}
