import type { IncrementRow, SessionRow, SettlementRow } from './rows';

/** A gap without payments longer than this (a paused EVSE, a lost link) starts a new charging period. */
export const PERIOD_GAP_MS = 60_000;

export type SessionStatus = 'charging' | 'settled' | 'disputed';

export interface ChargingPeriod {
  start_date_time: string;
  dimensions: { type: 'ENERGY' | 'TIME'; volume: number }[];
}

/**
 * A session in the shape of an OCPI 2.2.1 CDR (the fields that apply: tokens as currency "IOTA", no VAT, the
 * vehicle's own id as its token), plus the channel's fields that tie it to the Tangle. A session not yet settled
 * has no end, and its totals are those of its last payment.
 */
export interface ChargeDetailRecord {
  id: string;
  session_id: string;
  status: SessionStatus;
  start_date_time: string;
  end_date_time: string | null;
  cdr_token: { uid: string | null; type: 'OTHER' };
  cdr_location: { id: string | null; evse_uid: string | null; connector_id: string | null };
  currency: 'IOTA';
  tariff: { price_per_kwh: number | null; increment_wh: number | null };
  charging_periods: ChargingPeriod[];
  /** kWh; `energy_wh` keeps the exact integer. */
  total_energy: number;
  energy_wh: number;
  /** Hours. */
  total_time: number;
  total_cost: { excl_vat: number };
  increments: number;
  remark: string | null;
  /** The channel and its settlement on the Tangle. */
  settlement: {
    channel_id: string | null;
    deposit_address: string | null;
    deposits: { vehicle: number | null; station: number | null };
    final_balances: { vehicle: number; station: number } | null;
    addresses: { vehicle: string | null; station: string | null };
    bundles: { hash: string; confirmed: boolean }[];
  };
  recorded_by: 'station' | 'vehicle';
  last_updated: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function chargingPeriods(startedAt: number, increments: readonly IncrementRow[]): ChargingPeriod[] {
  const periods: ChargingPeriod[] = [];
  let start = startedAt;
  let last = startedAt;
  let fromWh = 0;
  let atWh = 0;
  const close = () => {
    periods.push({
      start_date_time: iso(start),
      dimensions: [
        { type: 'ENERGY', volume: (atWh - fromWh) / 1000 },
        { type: 'TIME', volume: (last - start) / 3_600_000 },
      ],
    });
  };
  for (const increment of increments) {
    if (increment.at - last > PERIOD_GAP_MS) {
      close();
      start = increment.at;
      fromWh = atWh;
    }
    last = increment.at;
    atWh = increment.paid_wh;
  }
  if (increments.length > 0) close();
  return periods;
}

export function chargeDetailRecord(session: SessionRow, increments: readonly IncrementRow[], settlements: readonly SettlementRow[]): ChargeDetailRecord {
  const lastPaid = increments.at(-1);
  const settled = session.ended_at !== null;
  const energyWh = session.energy_wh ?? lastPaid?.paid_wh ?? 0;
  const end = session.ended_at ?? lastPaid?.at ?? session.started_at;
  const status: SessionStatus = !settled ? 'charging' : session.stop_reason === 'old-state' ? 'disputed' : 'settled';
  return {
    id: `${session.session_id}-cdr`,
    session_id: session.session_id,
    status,
    start_date_time: iso(session.started_at),
    end_date_time: settled ? iso(end) : null,
    cdr_token: { uid: session.vehicle_id, type: 'OTHER' },
    cdr_location: { id: session.station_id, evse_uid: session.evse_uid, connector_id: session.connector_id },
    currency: 'IOTA',
    tariff: { price_per_kwh: session.price_per_kwh, increment_wh: session.increment_wh },
    charging_periods: chargingPeriods(session.started_at, increments),
    total_energy: energyWh / 1000,
    energy_wh: energyWh,
    total_time: Math.max(0, end - session.started_at) / 3_600_000,
    total_cost: { excl_vat: session.total_cost ?? lastPaid?.total_paid ?? 0 },
    increments: session.paid_increments ?? lastPaid?.increments ?? 0,
    remark: session.stop_reason,
    settlement: {
      channel_id: session.channel_id,
      deposit_address: session.deposit_address,
      deposits: { vehicle: session.deposit_vehicle, station: session.deposit_station },
      final_balances:
        session.final_vehicle !== null && session.final_station !== null
          ? { vehicle: session.final_vehicle, station: session.final_station }
          : lastPaid
            ? { vehicle: lastPaid.balance_vehicle, station: lastPaid.balance_station }
            : null,
      addresses: { vehicle: session.settlement_vehicle_address, station: session.settlement_station_address },
      bundles: settlements.map((s) => ({ hash: s.bundle_hash, confirmed: s.confirmed === 1 })),
    },
    recorded_by: session.role,
    last_updated: iso(Math.max(end, ...settlements.map((s) => s.at))),
  };
}
