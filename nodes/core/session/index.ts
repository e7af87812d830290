/** A charging session between a station and a vehicle: protocol, channel, deposits, payments and settlement. */
export { Party, PartyOptions, Outgoing, emptySnapshot } from './party';
export { OldStateError } from './tangle';
export { loadOrCreateIdentity, TrustStore } from './identity';
export { StationParty, StationPolicy, EnergyEvent, OfferWithdrawal, offerFor } from './station';
export { VehicleParty, VehiclePolicy } from './vehicle';
export { SessionJournal, JournalError } from './journal';
export { incrementPrice } from './accounting';
export { ChannelStep, ChannelView, ChannelViewNode } from './teaching';
export type { Phase, SessionSnapshot, PaymentEvent, SessionRecord } from './types';
