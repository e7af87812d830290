import type { Database, Statement } from 'node-sqlite3-wasm';
import type { PaymentEvent, SessionRecord } from '../session/types';
import type { DirectoryLock } from '../store';
import { BillingSummary, billingSummary } from './billing';
import { openDatabase } from './database';
import { RecordError, checkEvent, checkRecord } from './validate';
import type { IncrementRow, SessionRow, SettlementRow } from './rows';

export type Side = 'station' | 'vehicle';

/** Where a session took place, as the records node is configured (the core has no notion of connectors). */
export interface Place {
  role: Side;
  evseUid?: string;
  connectorId?: string;
}

/** A channel opened: the session starts. */
export interface SessionStart extends Place {
  sessionId: string;
  stationId?: string;
  vehicleId?: string;
  depositAddress?: string;
  deposits?: { vehicle: number; station: number };
  /** Unix ms. */
  at: number;
}

interface Write {
  statement: Statement;
  values: (string | number | null)[];
  done: (err?: Error) => void;
}

/**
 * The session records: starts, every accepted increment, every settlement, in an embedded SQLite database.
 * Writes are grouped: every write made in one turn of the event loop goes into one transaction, fsynced once,
 * and each write's promise resolves only once that transaction is on disk, so a record reported written
 * survives a crash, and a hundred sessions paying at once cost one fsync instead of a hundred.
 */
export class RecordStore {
  private readonly queue: Write[] = [];
  private flushing = false;
  private closed = false;
  private readonly insertStart: Statement;
  private readonly insertIncrement: Statement;
  private readonly upsertSettled: Statement;
  private readonly insertSettlement: Statement;

  private constructor(
    private readonly db: Database,
    private readonly lock: DirectoryLock,
    readonly file: string,
  ) {
    this.insertStart = db.prepare(`INSERT INTO sessions (session_id, role, station_id, vehicle_id, evse_uid, connector_id,
      deposit_address, deposit_vehicle, deposit_station, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (session_id) DO UPDATE SET station_id = coalesce(station_id, excluded.station_id),
      vehicle_id = coalesce(vehicle_id, excluded.vehicle_id), deposit_address = coalesce(deposit_address, excluded.deposit_address),
      deposit_vehicle = coalesce(deposit_vehicle, excluded.deposit_vehicle), deposit_station = coalesce(deposit_station, excluded.deposit_station),
      started_at = min(started_at, excluded.started_at)`);
    // A replayed payment (a restarted flow reports the same state again) keeps the first record of it.
    this.insertIncrement = db.prepare(`INSERT OR IGNORE INTO increments (session_id, seq, increments, paid_wh, delivered_wh, amount,
      total_paid, balance_vehicle, balance_station, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.upsertSettled = db.prepare(`INSERT INTO sessions (session_id, role, station_id, vehicle_id, evse_uid, connector_id, channel_id,
      deposit_address, deposit_vehicle, deposit_station, started_at, ended_at, stop_reason, price_per_kwh, increment_wh, energy_wh,
      total_cost, paid_increments, meter_start_wh, meter_stop_wh, unpaid_energy_wh, final_vehicle, final_station, states,
      settlement_vehicle_address, settlement_station_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (session_id) DO UPDATE SET station_id = excluded.station_id, vehicle_id = excluded.vehicle_id,
      evse_uid = coalesce(evse_uid, excluded.evse_uid), connector_id = coalesce(connector_id, excluded.connector_id),
      channel_id = excluded.channel_id, deposit_address = excluded.deposit_address, deposit_vehicle = excluded.deposit_vehicle,
      deposit_station = excluded.deposit_station, started_at = excluded.started_at, ended_at = excluded.ended_at,
      stop_reason = excluded.stop_reason, price_per_kwh = excluded.price_per_kwh, increment_wh = excluded.increment_wh,
      energy_wh = excluded.energy_wh, total_cost = excluded.total_cost, paid_increments = excluded.paid_increments,
      meter_start_wh = excluded.meter_start_wh, meter_stop_wh = excluded.meter_stop_wh, unpaid_energy_wh = excluded.unpaid_energy_wh,
      final_vehicle = excluded.final_vehicle, final_station = excluded.final_station, states = excluded.states,
      settlement_vehicle_address = excluded.settlement_vehicle_address, settlement_station_address = excluded.settlement_station_address`);
    this.insertSettlement = db.prepare(`INSERT OR REPLACE INTO settlements (session_id, position, bundle_hash, confirmed, at) VALUES (?, ?, ?, ?, ?)`);
  }

  static async open(file: string): Promise<RecordStore> {
    const { db, lock } = await openDatabase(file);
    return new RecordStore(db, lock, file);
  }

  /** Records that a session started (its channel opened). */
  started(start: SessionStart): Promise<void> {
    checkEvent(start, ['sessionId'], ['at']);
    if (start.deposits !== undefined) checkEvent(start.deposits, [], ['vehicle', 'station'], 'deposits');
    return this.write(this.insertStart, [
      start.sessionId, start.role, start.stationId ?? null, start.vehicleId ?? null, start.evseUid ?? null, start.connectorId ?? null,
      start.depositAddress ?? null, start.deposits?.vehicle ?? null, start.deposits?.station ?? null, start.at,
    ]);
  }

  /**
   * Records an accepted payment (a co-signed state). A payment of a session whose start was not seen (the
   * records began mid-session) starts the session at the time of that payment.
   */
  async paid(event: PaymentEvent, place: Place, at: number): Promise<void> {
    checkEvent(event, ['sessionId'], ['seq', 'increments', 'paidWh', 'deliveredWh', 'amount', 'totalPaid']);
    checkEvent(event.balances ?? {}, [], ['vehicle', 'station'], 'balances');
    const start = this.write(this.insertStart, [event.sessionId, place.role, null, null, place.evseUid ?? null, place.connectorId ?? null, null, null, null, at]);
    const increment = this.write(this.insertIncrement, [
      event.sessionId, event.seq, event.increments, event.paidWh, event.deliveredWh, event.amount, event.totalPaid,
      event.balances.vehicle, event.balances.station, at,
    ]);
    await Promise.all([start, increment]);
  }

  /** Records a finished session, whose settlement the Tangle confirmed (the parties report it only then). */
  async settled(record: SessionRecord, place: Place, at: number): Promise<void> {
    checkRecord(record);
    const c = record.channel;
    const writes = [
      this.write(this.upsertSettled, [
        record.session_id, place.role, record.station_id, record.vehicle_id, place.evseUid ?? null, place.connectorId ?? null, c.id,
        c.deposit_address, c.deposits.vehicle, c.deposits.station, Date.parse(record.start_date_time), Date.parse(record.end_date_time),
        record.remark, record.tariff.price_per_kwh, record.tariff.increment_wh, record.energy_wh, record.total_cost.excl_vat,
        record.increments, record.meter_start_wh, record.meter_stop_wh, record.unpaid_energy_wh, c.final_balances.vehicle,
        c.final_balances.station, c.states, c.settlement_addresses?.vehicle ?? null, c.settlement_addresses?.station ?? null,
      ]),
      ...c.settlement_bundles.map((hash, position) => this.write(this.insertSettlement, [record.session_id, position, hash, record.remark === 'old-state' ? 0 : 1, at])),
    ];
    await Promise.all(writes);
  }

  /** Sessions that started in [from, to) (Unix ms), oldest first. */
  sessions(range: { from?: number; to?: number } = {}): SessionRow[] {
    return this.db.all('SELECT * FROM sessions WHERE started_at >= ? AND started_at < ? ORDER BY started_at, session_id', [
      range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER,
    ]) as unknown as SessionRow[];
  }

  /** How many sessions are recorded. */
  sessionCount(): number {
    return Number((this.db.get('SELECT count(*) AS n FROM sessions') as { n: number }).n);
  }

  session(sessionId: string): SessionRow | null {
    return this.db.get('SELECT * FROM sessions WHERE session_id = ?', [sessionId]) as unknown as SessionRow | null;
  }

  increments(sessionId: string): IncrementRow[] {
    return this.db.all('SELECT * FROM increments WHERE session_id = ? ORDER BY seq', [sessionId]) as unknown as IncrementRow[];
  }

  settlements(sessionId: string): SettlementRow[] {
    return this.db.all('SELECT * FROM settlements WHERE session_id = ? ORDER BY position', [sessionId]) as unknown as SettlementRow[];
  }

  /** The live billing view: latest sessions, energy and tokens per hour and day, early ends, open channels. */
  billing(now = Date.now()): BillingSummary {
    return billingSummary(this.db, now);
  }

  /** Size of the database and its write-ahead log, bytes. */
  sizeBytes(): number {
    const pages = this.db.get('PRAGMA page_count') as { page_count: number };
    const size = this.db.get('PRAGMA page_size') as { page_size: number };
    return Number(pages.page_count) * Number(size.page_size);
  }

  /** Writes what is queued, then closes the database and releases its folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.queue.length > 0 || this.flushing) await new Promise((resolve) => setImmediate(resolve));
    for (const statement of [this.insertStart, this.insertIncrement, this.upsertSettled, this.insertSettlement]) statement.finalize();
    this.db.close();
    await this.lock.release();
  }

  private write(statement: Statement, values: (string | number | null)[]): Promise<void> {
    if (this.closed) return Promise.reject(new RecordError('the records database is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ statement, values, done: (err) => (err ? reject(err) : resolve()) });
      if (this.queue.length === 1 && !this.flushing) setImmediate(() => this.flush());
    });
  }

  /** One transaction for everything queued. Statements were checked before they were queued; a failure here is I/O. */
  private flush(): void {
    this.flushing = true;
    const batch = this.queue.splice(0);
    let failure: Error | undefined;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const write of batch) write.statement.run(write.values);
      this.db.exec('COMMIT');
    } catch (err) {
      failure = err as Error;
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
    this.flushing = false;
    for (const write of batch) write.done(failure);
    if (this.queue.length > 0) setImmediate(() => this.flush());
  }
}
