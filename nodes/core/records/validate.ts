import type { SessionRecord } from '../session/types';

/** Input that cannot be recorded: nothing of it was written. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/** Checks that `value` has the named non-empty strings and whole numbers, before anything is written. */
export function checkEvent(value: unknown, strings: readonly string[], integers: readonly string[], what = 'event'): void {
  if (typeof value !== 'object' || value === null) throw new RecordError(`the ${what} must be an object`);
  const fields = value as Record<string, unknown>;
  for (const key of strings) {
    if (typeof fields[key] !== 'string' || fields[key] === '') throw new RecordError(`the ${what} has no ${key}`);
  }
  for (const key of integers) {
    if (!Number.isSafeInteger(fields[key])) throw new RecordError(`the ${what}'s ${key} must be a whole number, got ${JSON.stringify(fields[key])}`);
  }
}

export function checkRecord(record: SessionRecord): void {
  checkEvent(record, ['session_id', 'station_id', 'vehicle_id', 'start_date_time', 'end_date_time'], ['energy_wh', 'increments'], 'session record');
  for (const key of ['start_date_time', 'end_date_time'] as const) {
    if (Number.isNaN(Date.parse(record[key]))) throw new RecordError(`the session record's ${key} is no date: ${record[key]}`);
  }
  checkEvent(record.total_cost ?? null, [], ['excl_vat'], 'session record total_cost');
  checkEvent(record.tariff ?? null, [], ['price_per_kwh', 'increment_wh'], 'session record tariff');
  const channel = record.channel ?? null;
  checkEvent(channel, ['id', 'deposit_address'], ['states'], 'session record channel');
  checkEvent(channel.deposits ?? null, [], ['vehicle', 'station'], 'session record deposits');
  checkEvent(channel.final_balances ?? null, [], ['vehicle', 'station'], 'session record final balances');
  if (!Array.isArray(channel.settlement_bundles) || channel.settlement_bundles.some((h) => typeof h !== 'string')) {
    throw new RecordError('the session record has no list of settlement bundles');
  }
}
