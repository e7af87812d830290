import type { ChannelState } from '../flash';
import type { AnyEnvelope, KeyPair, Offer, Role, SequencerState, Stage, StopReason } from '../protocol';

/** Where a party's session stands. */
export type Phase =
  | 'idle' // no session: the station offers, the vehicle waits for an offer it accepts
  | 'opening' // digests exchanged or being exchanged
  | 'funding' // deposits sent, waiting for the Tangle to confirm them
  | 'charging' // energy flows and is paid per increment
  | 'closing' // the final state is being co-signed
  | 'settling'; // the final state is co-signed and being attached and confirmed

/** Everything a party must remember about its session, persisted before every message it sends. */
export interface SessionSnapshot {
  version: 1;
  role: Role;
  phase: Phase;
  sessionId: string;
  /** The other party's id: the vehicle id for a station, the station id for a vehicle. */
  peerId: string;
  /** The peer's Ed25519 public key, bound at open: every message of the session must verify with it. */
  peerKey: string;
  /**
   * The vehicle's per-session Ed25519 key pair (null on a station, which signs with its identity key). It can
   * sign messages of this one session only; it is no wallet seed and moves no money by itself.
   */
  sessionKeys: KeyPair | null;
  offer: Offer | null;
  channel: ChannelState | null;
  /** Sequencing of the peer's messages. */
  inbound: SequencerState;
  /** Our last sent seq, and the messages recently sent, for resend requests. */
  outSeq: number;
  outbox: { stage: Stage; envelope: AnyEnvelope }[];
  targetWh: number;
  startedAt: number;
  readyAt: number;
  stoppedAt: number;
  stopReason: StopReason | null;
  startRegisterWh: number;
  lastRegisterWh: number;
  lastReadAt: number;
  /** Increments the station has claimed (station) or that the vehicle has seen claimed (vehicle). */
  claimedIncrements: number;
  /** Increments paid in a co-signed state. */
  paidIncrements: number;
  /**
   * The vehicle's own meter, when one is wired: its register at the first reading while charging, and the latest
   * one persisted (with the first reading, and with every claim it checks). Null until then, and on a station.
   * Absent in journals written before it existed.
   */
  ownMeter?: { atReadyWh: number; lastWh: number } | null;
  /** Our own deposit: 'sending' is persisted before the wallet sends it, the tail once it is sent. */
  ownDeposit: { state: 'none' | 'sending' | 'sent'; tail: string };
  settlement: { bundles: string[]; tails: string[] } | null;
}

/** What a flow sees after each payment, on the nodes' second output. */
export interface PaymentEvent {
  sessionId: string;
  seq: number;
  increments: number;
  /** Energy paid for and energy delivered (claimed), Wh. */
  paidWh: number;
  deliveredWh: number;
  /** Tokens paid in this step and in total. */
  amount: number;
  totalPaid: number;
  balances: { vehicle: number; station: number };
  remainingPayments: number;
}

/** The finished session, in OCPI CDR terms where they fit, plus the channel's own fields. */
export interface SessionRecord {
  id: string;
  session_id: string;
  start_date_time: string;
  end_date_time: string;
  /** Why the session stopped. */
  remark: StopReason;
  /** kWh, as OCPI; `energy_wh` keeps the exact integer. */
  total_energy: number;
  energy_wh: number;
  /** Hours. */
  total_time: number;
  currency: 'IOTA';
  total_cost: { excl_vat: number };
  station_id: string;
  vehicle_id: string;
  tariff: { price_per_kwh: number; increment_wh: number };
  increments: number;
  meter_start_wh: number;
  meter_stop_wh: number;
  /** Energy the station delivered beyond what was paid (the credit it lost when the session ended early), Wh. */
  unpaid_energy_wh: number;
  channel: {
    id: string;
    deposit_address: string;
    deposits: { vehicle: number; station: number };
    final_balances: { vehicle: number; station: number };
    /** Where the settlement pays each party's final balance. */
    settlement_addresses: { vehicle: string; station: string };
    states: number;
    settlement_bundles: string[];
  };
}
