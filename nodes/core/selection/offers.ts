import { getDistance } from 'geolib';
import ngeohash from 'ngeohash';
import type { Offer } from '../protocol';
import { incrementPrice } from '../session/accounting';

/** What a vehicle holds to, whichever station it chooses (the `VehiclePolicy` carries them). */
export interface OfferLimits {
  /** The highest price the vehicle accepts, tokens per kWh. */
  maxPricePerKWh: number;
  /** What the vehicle deposits into each channel. */
  deposit: number;
  /** The highest station deposit the vehicle agrees to lock up next to its own. */
  maxStationDeposit: number;
  security: 1 | 2 | 3;
}

/** A position in decimal degrees (WGS 84). */
export interface Position {
  latitude: number;
  longitude: number;
}

/** Why the vehicle cannot take this offer now, or null when it can. */
export function offerRefusal(offer: Offer, limits: OfferLimits, now: number): string | null {
  if (offer.notAfter <= now) return `offer expired ${Math.round((now - offer.notAfter) / 1000)} s ago`;
  if (offer.freeConnectors < 1) return 'busy';
  if (offer.pricePerKWh > limits.maxPricePerKWh) return `price ${offer.pricePerKWh} per kWh exceeds our maximum ${limits.maxPricePerKWh}`;
  if (offer.stationDeposit > limits.maxStationDeposit) return `station deposit ${offer.stationDeposit} exceeds our maximum ${limits.maxStationDeposit}`;
  if (offer.security !== limits.security) return `security ${offer.security}, ours is ${limits.security}`;
  const price = incrementPrice(offer);
  if (!Number.isSafeInteger(price) || price < 1) return 'an increment would not cost a whole number of tokens';
  if (limits.deposit < price) return `our deposit ${limits.deposit} does not cover one increment (${price})`;
  return null;
}

/** Where the offer says the station is: its coordinates, else the centre of its geohash, else unknown. */
export function stationPosition(offer: Offer): Position | null {
  if (offer.location) return { latitude: Number(offer.location.latitude), longitude: Number(offer.location.longitude) };
  if (offer.geohash) {
    const { latitude, longitude } = ngeohash.decode(offer.geohash);
    return { latitude, longitude };
  }
  return null;
}

/** Metres along the Earth's surface from `from` to the station, or null when either position is unknown. */
export function distanceTo(from: Position | undefined, offer: Offer): number | null {
  const to = stationPosition(offer);
  return from && to ? getDistance(from, to) : null;
}

/**
 * The newest verified offer of every station the vehicle has heard, as a wildcard subscription to
 * `<prefix>/+/offer` delivers them. Checking the signature against the station's trusted key is the session's
 * work (Party.receive) before an offer gets here; the book only keeps, replaces, forgets and expires.
 */
export class OfferBook {
  private readonly offers = new Map<string, Offer>();

  /** Keeps the offer, replacing the station's previous one. */
  put(offer: Offer): void {
    this.offers.set(offer.stationId, offer);
  }

  /** The station withdrew its offer (an empty retained message: it shut down or its Last Will fired). */
  remove(stationId: string): boolean {
    return this.offers.delete(stationId);
  }

  get(stationId: string): Offer | undefined {
    return this.offers.get(stationId);
  }

  /** Every offer not yet expired, oldest station first; expired ones are forgotten. */
  live(now: number): Offer[] {
    for (const [stationId, offer] of this.offers) if (offer.notAfter <= now) this.offers.delete(stationId);
    return [...this.offers.values()];
  }
}
