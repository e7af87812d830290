/**
 * The `charging-party` settings a flow may leave empty, and what the runtime then uses. The editor shows the same
 * values as its defaults (a test keeps the two equal), so a flow saved without a field behaves as a new node does.
 */
export const PARTY_DEFAULTS = {
  peerTimeout: 120,
  clockTolerance: 600,
  messagesPerSecond: 50,
  maxDepth: 10,
  pricePerKWh: 100,
  incrementWh: 10,
  maxPowerW: 11000,
  creditWh: 10,
  stationDeposit: 0,
  maxAtRisk: 0,
  opensPerMinute: 6,
  fundingWait: 120,
  maxPricePerKWh: 200,
  deposit: 100,
  maxStationDeposit: 100,
  targetWh: 0,
  meterToleranceWh: 0,
  connectors: 1,
  siteLimitA: 0,
  offerValidity: 600,
  weightCost: 1,
  weightPower: 1,
  weightDistance: 1,
  choiceWindow: 2,
  openTimeout: 30,
} as const;

export type PartyNumberSetting = keyof typeof PARTY_DEFAULTS;
