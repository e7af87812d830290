import type { Offer } from '../protocol';
import { incrementPrice } from '../session/accounting';
import { distanceTo, offerRefusal, OfferLimits, Position } from './offers';

/** How a vehicle chooses among the acceptable offers. */
export type Strategy = 'cheapest' | 'fastest' | 'nearest' | 'weighted';

const STRATEGIES: readonly Strategy[] = ['cheapest', 'fastest', 'nearest', 'weighted'];

export interface Weights {
  cost: number;
  power: number;
  distance: number;
}

export interface SelectionPolicy {
  strategy: Strategy;
  /** For `weighted`: how much cost, power and distance count; only their ratios matter. */
  weights?: Weights;
  /** Where the vehicle is: needed by `nearest` and by a distance weight. */
  position?: Position;
  /** The vehicle's own limit on charging power, W. */
  maxPowerW: number;
  /** The energy whose cost is compared, Wh: the session's target (0, "until full", compares the cost of 1 kWh). */
  energyWh: number;
}

/** An acceptable offer with what it would mean for this vehicle. */
export interface Candidate {
  offer: Offer;
  /** Tokens for the energy wanted, in whole increments. */
  cost: number;
  /** The power the vehicle would get: the lower of the station's maximum and its own, W. */
  powerW: number;
  /** Metres to the station, or null when the offer or the vehicle has no position. */
  distanceM: number | null;
  /** For `weighted`: the weighted sum of the three criteria, each scaled to 0 (best offer) … 1 (worst); else 0. */
  score: number;
}

export interface Skip {
  stationId: string;
  reason: string;
}

export interface Ranking {
  /** Best first. */
  candidates: Candidate[];
  /** The offers that cannot be taken, and why. */
  excluded: Skip[];
}

/** Refuses a policy that cannot rank anything: `nearest` or a distance weight without a position, bad weights. */
export function checkSelectionPolicy(policy: SelectionPolicy): void {
  if (!STRATEGIES.includes(policy.strategy)) throw new RangeError(`unknown selection strategy "${policy.strategy}" (one of ${STRATEGIES.join(', ')})`);
  const weights = policy.weights ?? { cost: 0, power: 0, distance: 0 };
  if (policy.strategy === 'weighted') {
    const values = [weights.cost, weights.power, weights.distance];
    if (values.some((w) => !Number.isFinite(w) || w < 0) || values.every((w) => w === 0)) {
      throw new RangeError('the weights of cost, power and distance must be numbers ≥ 0, at least one of them above 0');
    }
  }
  const needsPosition = policy.strategy === 'nearest' || (policy.strategy === 'weighted' && weights.distance > 0);
  const { latitude, longitude } = policy.position ?? { latitude: NaN, longitude: NaN };
  if (needsPosition && !(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180)) {
    throw new RangeError(`choosing by distance needs the vehicle's position (latitude -90…90, longitude -180…180)`);
  }
}

/** Each criterion scaled to 0 for the best candidate and 1 for the worst (0 for all when they are equal). */
function scaled(value: number, best: number, worst: number): number {
  return best === worst ? 0 : (value - best) / (worst - best);
}

/** The order of comparison for each strategy: the next key breaks a tie of the one before, the station id the last. */
function keysOf(c: Candidate, strategy: Strategy): number[] {
  const distance = c.distanceM ?? Infinity;
  switch (strategy) {
    case 'cheapest':
      return [c.cost, -c.powerW, distance];
    case 'fastest':
      return [-c.powerW, c.cost, distance];
    case 'nearest':
      return [distance, c.cost, -c.powerW];
    case 'weighted':
      return [c.score, c.cost, -c.powerW, distance];
  }
}

function compare(a: Candidate, b: Candidate, strategy: Strategy): number {
  const ka = keysOf(a, strategy);
  const kb = keysOf(b, strategy);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return a.offer.stationId < b.offer.stationId ? -1 : a.offer.stationId > b.offer.stationId ? 1 : 0;
}

/** Sorts the offers the vehicle may take, best first, and names the others with their reason. */
export function rankOffers(offers: readonly Offer[], limits: OfferLimits, policy: SelectionPolicy, now: number): Ranking {
  const excluded: Skip[] = [];
  const candidates: Candidate[] = [];
  const energyWh = policy.energyWh > 0 ? policy.energyWh : 1000;
  for (const offer of offers) {
    const reason = offerRefusal(offer, limits, now);
    if (reason) {
      excluded.push({ stationId: offer.stationId, reason });
      continue;
    }
    const cost = Math.ceil(energyWh / offer.incrementWh) * incrementPrice(offer);
    candidates.push({ offer, cost, powerW: Math.min(offer.maxPowerW, policy.maxPowerW), distanceM: distanceTo(policy.position, offer), score: 0 });
  }
  if (policy.strategy === 'weighted' && candidates.length > 0) {
    const w = policy.weights!;
    const [cheapest, dearest] = range(candidates.map((c) => c.cost));
    const [weakest, strongest] = range(candidates.map((c) => c.powerW));
    const [nearest, farthest] = range(candidates.map((c) => c.distanceM).filter((d): d is number => d !== null));
    for (const c of candidates) {
      const distance = c.distanceM === null ? 1 : scaled(c.distanceM, nearest, farthest);
      c.score = w.cost * scaled(c.cost, cheapest, dearest) + w.power * scaled(c.powerW, strongest, weakest) + w.distance * distance;
    }
  }
  candidates.sort((a, b) => compare(a, b, policy.strategy));
  return { candidates, excluded };
}

/** The smallest and the largest of `values`, found once for all candidates. */
function range(values: number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

function kilowatts(w: number): string {
  return `${+(w / 1000).toFixed(1)} kW`;
}

function distanceText(m: number): string {
  return m < 1000 ? `${Math.round(m)} m` : `${+(m / 1000).toFixed(1)} km`;
}

/** One line for a status, a log or a dashboard: "chose station-2: 100 i/kWh, 11 kW, 1.2 km; skipped station-1: busy". */
export function describeChoice(chosen: Candidate | null, skipped: readonly Skip[]): string {
  const skips = skipped.map((s) => `${s.stationId}: ${s.reason}`).join(', ');
  if (!chosen) return skips ? `no station to charge at; skipped ${skips}` : 'no station offers yet';
  const terms = [`${chosen.offer.pricePerKWh} i/kWh`, kilowatts(chosen.powerW), ...(chosen.distanceM === null ? [] : [distanceText(chosen.distanceM)])];
  return `chose ${chosen.offer.stationId}: ${terms.join(', ')}${skips ? `; skipped ${skips}` : ''}`;
}
