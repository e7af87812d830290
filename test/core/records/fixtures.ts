import type { PaymentEvent, SessionRecord } from '../../../nodes/core/session';

/** A payment as a party reports it: `n` increments of 10 Wh at 1 token each, from deposits of 100 and 20. */
export function payment(sessionId: string, n: number): PaymentEvent {
  return {
    sessionId, seq: n + 1, increments: n, paidWh: n * 10, deliveredWh: n * 10, amount: 1, totalPaid: n,
    balances: { vehicle: 100 - n, station: 20 + n }, remainingPayments: 100 - n,
  };
}

/** The record a party reports once the settlement of `n` such increments is confirmed. */
export function settledRecord(sessionId: string, n: number, start: number, end: number): SessionRecord {
  return {
    id: `${sessionId}-cdr`, session_id: sessionId, start_date_time: new Date(start).toISOString(), end_date_time: new Date(end).toISOString(),
    remark: 'target-reached', total_energy: (n * 10) / 1000, energy_wh: n * 10, total_time: (end - start) / 3_600_000, currency: 'IOTA',
    total_cost: { excl_vat: n }, station_id: 'ST1', vehicle_id: 'EV1', tariff: { price_per_kwh: 100, increment_wh: 10 }, increments: n,
    meter_start_wh: 5000, meter_stop_wh: 5000 + n * 10, unpaid_energy_wh: 0,
    channel: {
      id: `channel-${sessionId}`, deposit_address: 'D'.repeat(81), deposits: { vehicle: 100, station: 20 },
      final_balances: { vehicle: 100 - n, station: 20 + n }, settlement_addresses: { vehicle: 'V'.repeat(81), station: 'S'.repeat(81) },
      states: n + 1, settlement_bundles: ['A'.repeat(81), 'B'.repeat(81)],
    },
  };
}
