import type { ChargeDetailRecord } from './cdr';
import { chargeDetailRecord } from './cdr';
import type { RecordStore } from './store';

/** The sessions that started in [from, to), as charge detail records, oldest first. */
export function chargeDetailRecords(store: RecordStore, range: { from?: number; to?: number } = {}): ChargeDetailRecord[] {
  return store.sessions(range).map((s) => chargeDetailRecord(s, store.increments(s.session_id), store.settlements(s.session_id)));
}

/** The CSV columns, one row per session: the figures a spreadsheet sums, not the charging periods. */
const COLUMNS: [string, (r: ChargeDetailRecord) => string | number | null][] = [
  ['session_id', (r) => r.session_id],
  ['status', (r) => r.status],
  ['start_date_time', (r) => r.start_date_time],
  ['end_date_time', (r) => r.end_date_time],
  ['station_id', (r) => r.cdr_location.id],
  ['evse_uid', (r) => r.cdr_location.evse_uid],
  ['connector_id', (r) => r.cdr_location.connector_id],
  ['vehicle_id', (r) => r.cdr_token.uid],
  ['energy_wh', (r) => r.energy_wh],
  ['total_energy_kwh', (r) => r.total_energy],
  ['total_time_h', (r) => r.total_time],
  ['total_cost', (r) => r.total_cost.excl_vat],
  ['currency', (r) => r.currency],
  ['price_per_kwh', (r) => r.tariff.price_per_kwh],
  ['increments', (r) => r.increments],
  ['stop_reason', (r) => r.remark],
  ['channel_id', (r) => r.settlement.channel_id],
  ['settlement_bundles', (r) => r.settlement.bundles.map((b) => b.hash).join(' ')],
  ['settlement_confirmed', (r) => (r.settlement.bundles.length === 0 ? null : String(r.settlement.bundles.every((b) => b.confirmed)))],
];

/** RFC 4180: a field with a comma, quote or line break is quoted. A leading =, +, - or @ is quoted with a ' so that a spreadsheet does not run it. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(records: readonly ChargeDetailRecord[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const record of records) lines.push(COLUMNS.map(([, get]) => csvField(get(record))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
