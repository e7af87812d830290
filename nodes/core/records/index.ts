/**
 * Session records, framework-free: an embedded SQLite database (WebAssembly, no native code) of session starts,
 * accepted increments and settlements; OCPI-CDR-shaped session records with CSV and JSON export; reconciliation
 * with the Tangle. docs/RECORDS.md says why and how.
 */
export { RecordStore, Place, SessionStart, Side } from './store';
export { RecordError } from './validate';
export { ChargeDetailRecord, ChargingPeriod, SessionStatus, chargeDetailRecord, chargingPeriods, PERIOD_GAP_MS } from './cdr';
export { chargeDetailRecords, toCsv } from './export';
export { IncrementRow, SessionRow, SettlementRow } from './rows';
export { BillingSummary } from './billing';
export { reconcile, Reconciliation, Difference, TangleReader } from './reconcile';
