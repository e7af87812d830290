import { digestOf, type Offer } from '../protocol';
import { OfferBook, OfferLimits } from './offers';
import { checkSelectionPolicy, describeChoice, rankOffers, SelectionPolicy, Skip, Strategy } from './rank';

/** A station the vehicle could choose, as the `choice` event lists it. */
export interface Alternative {
  stationId: string;
  pricePerKWh: number;
  /** Tokens for the energy wanted. */
  cost: number;
  powerW: number;
  distanceM: number | null;
}

/** What the vehicle chose and why: for its node status, its output and a dashboard. */
export interface Choice {
  /** The station chosen, or null when none can be taken now. */
  chosen: string | null;
  /** The policy it chose by. */
  strategy: Strategy;
  /** One line: "chose station-2: 100 i/kWh, 11 kW, 1.2 km; skipped station-1: busy". */
  text: string;
  /** The stations it may take, best first (the chosen one first). */
  candidates: Alternative[];
  /** The stations it passed over, and why. */
  skipped: Skip[];
}

/**
 * The vehicle's choice of station: every verified offer in a book, ranked by the vehicle's policy, minus the
 * stations that refused it or did not answer. Such a station is skipped for as long as it publishes the same offer:
 * a new offer from it (refreshed, or its connector free again) makes it a candidate again.
 */
export class StationChooser {
  readonly book = new OfferBook();
  private readonly skipped = new Map<string, { digest: string; reason: string }>();

  /** `only`: the one station the vehicle charges at, or '' for any. Throws a RangeError for a policy that cannot rank. */
  constructor(
    private readonly limits: OfferLimits,
    private readonly policy: SelectionPolicy,
    readonly only: string,
  ) {
    checkSelectionPolicy(policy);
  }

  /** Whether offers of this station count at all. */
  hears(stationId: string): boolean {
    return this.only === '' || stationId === this.only;
  }

  /** The station refused this offer's session or did not answer it: try the others first. */
  skip(offer: Offer, reason: string): void {
    this.skipped.set(offer.stationId, { digest: digestOf(offer), reason });
  }

  /** The best offer to open a session with, if any, and the choice in words; offers expire against `now`. */
  choose(now: number): { best: Offer | null; choice: Choice } {
    const ranking = rankOffers(this.book.live(now), this.limits, this.policy, now);
    const passed: Skip[] = [];
    // A station skipped because it went away is named once, in the choice that follows.
    for (const [stationId, { reason }] of this.skipped) {
      if (this.book.get(stationId)) continue;
      passed.push({ stationId, reason });
      this.skipped.delete(stationId);
    }
    const candidates = ranking.candidates.filter((c) => {
      const skip = this.skipped.get(c.offer.stationId);
      // Only a skipped station's offer is digested: to see whether it is still the one skipped.
      if (!skip || skip.digest !== digestOf(c.offer)) return true;
      passed.push({ stationId: c.offer.stationId, reason: skip.reason });
      return false;
    });
    const skipped = [...passed, ...ranking.excluded];
    const best = candidates[0] ?? null;
    return {
      best: best?.offer ?? null,
      choice: {
        chosen: best?.offer.stationId ?? null,
        strategy: this.policy.strategy,
        text: describeChoice(best, skipped),
        candidates: candidates.map((c) => ({ stationId: c.offer.stationId, pricePerKWh: c.offer.pricePerKWh, cost: c.cost, powerW: c.powerW, distanceM: c.distanceM })),
        skipped,
      },
    };
  }
}
