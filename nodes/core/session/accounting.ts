import { depositAddress } from '../flash';
import type { Offer } from '../protocol';
import type { PaymentEvent, SessionRecord, SessionSnapshot } from './types';

/** Tokens per increment. The offer guarantees a whole number (see offerFor). */
export function incrementPrice(offer: Offer): number {
  return (offer.pricePerKWh * offer.incrementWh) / 1000;
}

/** The vehicle is channel party 0 (it opens), the station party 1. */
function balancesOf(snapshot: SessionSnapshot): { vehicle: number; station: number } {
  const [vehicle, station] = snapshot.channel?.balances ?? [0, 0];
  return { vehicle, station };
}

export function paymentEvent(snapshot: SessionSnapshot, offer: Offer, amount: number, remainingPayments: number): PaymentEvent {
  const channel = snapshot.channel!;
  return {
    sessionId: snapshot.sessionId,
    seq: channel.seq,
    increments: snapshot.paidIncrements,
    paidWh: snapshot.paidIncrements * offer.incrementWh,
    deliveredWh: snapshot.claimedIncrements * offer.incrementWh,
    amount,
    totalPaid: channel.deposits[0] - channel.balances[0],
    balances: balancesOf(snapshot),
    remainingPayments,
  };
}

/** Energy delivered in the session by the station's meter (as far as this party knows it), Wh. */
export function deliveredWh(snapshot: SessionSnapshot): number {
  return snapshot.startRegisterWh < 0 ? 0 : Math.max(0, snapshot.lastRegisterWh - snapshot.startRegisterWh);
}

export function sessionRecord(snapshot: SessionSnapshot, stationId: string, vehicleId: string, now: number): SessionRecord {
  const channel = snapshot.channel!;
  const offer = snapshot.offer!;
  const energyWh = snapshot.paidIncrements * offer.incrementWh;
  const start = snapshot.readyAt || snapshot.startedAt;
  const end = snapshot.stoppedAt || now;
  return {
    id: `${snapshot.sessionId}-cdr`,
    session_id: snapshot.sessionId,
    start_date_time: new Date(start).toISOString(),
    end_date_time: new Date(end).toISOString(),
    remark: snapshot.stopReason ?? 'local-stop',
    total_energy: energyWh / 1000,
    energy_wh: energyWh,
    total_time: Math.max(0, end - start) / 3_600_000,
    currency: 'IOTA',
    total_cost: { excl_vat: channel.deposits[0] - channel.balances[0] },
    station_id: stationId,
    vehicle_id: vehicleId,
    tariff: { price_per_kwh: offer.pricePerKWh, increment_wh: offer.incrementWh },
    increments: snapshot.paidIncrements,
    meter_start_wh: Math.max(0, snapshot.startRegisterWh),
    meter_stop_wh: Math.max(0, snapshot.startRegisterWh) + energyWh,
    unpaid_energy_wh: Math.max(0, deliveredWh(snapshot) - energyWh),
    channel: {
      id: channel.channelId,
      deposit_address: depositAddress(channel),
      deposits: { vehicle: channel.deposits[0], station: channel.deposits[1] },
      final_balances: balancesOf(snapshot),
      settlement_addresses: { vehicle: channel.settlementAddresses[0], station: channel.settlementAddresses[1] },
      states: channel.seq,
      settlement_bundles: snapshot.settlement?.bundles ?? [],
    },
  };
}
