import { BODY_SCHEMAS, validate, type Schema } from '../protocol';
import type { StationPolicy } from './station';
import type { VehiclePolicy } from './vehicle';

const ms: Schema = { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 };
const wh: Schema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
/** What the station publishes must pass the vehicle's check of an offer: the same schema. */
const offered = BODY_SCHEMAS.offer.properties!;
const tokens = offered.stationDeposit;
/** The deepest channel tree an `open` may ask for (docs/PROTOCOL.md). */
const depth = BODY_SCHEMAS.open.properties!.setup.properties!.depth;

const STATION: Schema = {
  type: 'object',
  properties: {
    pricePerKWh: offered.pricePerKWh,
    incrementWh: offered.incrementWh,
    maxPowerW: offered.maxPowerW,
    creditWh: offered.creditWh,
    stationDeposit: offered.stationDeposit,
    security: offered.security,
    tangleUrl: offered.tangleUrl,
    maxDepth: depth,
    maxAtRisk: tokens,
    watchMs: ms,
    fundingWaitMs: ms,
    opensPerMinute: { type: 'integer', minimum: 1, maximum: 6000 },
    offerValidityMs: { ...ms, minimum: 2000 },
    location: offered.location,
    geohash: offered.geohash,
  },
  required: ['pricePerKWh', 'incrementWh', 'maxPowerW', 'creditWh', 'stationDeposit', 'security', 'maxDepth'],
};

const VEHICLE: Schema = {
  type: 'object',
  properties: {
    maxPricePerKWh: offered.pricePerKWh,
    deposit: { ...tokens, minimum: 1 },
    maxStationDeposit: tokens,
    targetWh: wh,
    maxPowerW: offered.maxPowerW,
    meterToleranceWh: wh,
    maxDepth: depth,
    security: offered.security,
    autoStart: { type: 'boolean' },
    settleGraceMs: ms,
    choiceWindowMs: ms,
    openTimeoutMs: { ...ms, minimum: 1 },
  },
  required: ['maxPricePerKWh', 'deposit', 'maxStationDeposit', 'targetWh', 'maxPowerW', 'meterToleranceWh', 'maxDepth', 'security', 'autoStart'],
};

function check(role: string, schema: Schema, policy: object): void {
  // An optional setting left undefined is absent, as it would be in JSON.
  const violation = validate(schema, JSON.parse(JSON.stringify(policy)));
  if (!violation) return;
  const field = violation.path.replace(/^\$\.?/, '');
  const value = field ? (policy as Record<string, unknown>)[field] : policy;
  throw new RangeError(`${role} policy: ${field || 'the policy'} ${violation.problem} (got ${typeof value === 'string' ? JSON.stringify(value) : String(value)})`);
}

/** Throws a RangeError naming the first setting out of range: a whole number where one is needed, within limits. */
export function checkStationPolicy(policy: StationPolicy): void {
  check('station', STATION, policy);
}

export function checkVehiclePolicy(policy: VehiclePolicy): void {
  check('vehicle', VEHICLE, policy);
}
