/** Rows as the records database holds them (integers are tokens, Wh and Unix ms). */
export interface SessionRow {
  session_id: string;
  role: 'station' | 'vehicle';
  station_id: string | null;
  evse_uid: string | null;
  connector_id: string | null;
  vehicle_id: string | null;
  channel_id: string | null;
  deposit_address: string | null;
  deposit_vehicle: number | null;
  deposit_station: number | null;
  started_at: number;
  /** Null until the session settled. */
  ended_at: number | null;
  stop_reason: string | null;
  price_per_kwh: number | null;
  increment_wh: number | null;
  energy_wh: number | null;
  total_cost: number | null;
  paid_increments: number | null;
  meter_start_wh: number | null;
  meter_stop_wh: number | null;
  unpaid_energy_wh: number | null;
  final_vehicle: number | null;
  final_station: number | null;
  states: number | null;
  settlement_vehicle_address: string | null;
  settlement_station_address: string | null;
}

export interface IncrementRow {
  session_id: string;
  seq: number;
  increments: number;
  paid_wh: number;
  delivered_wh: number;
  amount: number;
  total_paid: number;
  balance_vehicle: number;
  balance_station: number;
  at: number;
}

export interface SettlementRow {
  session_id: string;
  position: number;
  bundle_hash: string;
  confirmed: number;
  at: number;
}
