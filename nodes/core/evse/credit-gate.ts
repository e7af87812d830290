import { Pausable } from './types';

export interface CreditPolicy {
  /** The energy paid for by one payment, in whole Wh (e.g. 10). */
  incrementWh: number;
  /** The most unpaid energy the station lets flow, in whole Wh; default one increment. 0 means prepay only. */
  creditWh?: number;
}

export interface CreditDecision {
  action: 'pause' | 'resume';
  deliveredWh: number;
  paidWh: number;
  /** Delivered but not yet paid: max(0, delivered − paid). This is the station's exposure right now. */
  unpaidWh: number;
  creditWh: number;
  /** Energy that may still flow before the gate pauses: credit + paid − delivered; negative after an overshoot. */
  headroomWh: number;
  /** Whole increments delivered, i.e. the payments the vehicle owes so far. */
  completedIncrements: number;
}

function wholeWh(name: string, value: number, minimum: number): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new RangeError(`${name} must be a whole number of Wh >= ${minimum}, got ${String(value)}`);
  }
  return value;
}

export function completedIncrements(deliveredWh: number, incrementWh: number): number {
  return Math.floor(wholeWh('deliveredWh', deliveredWh, 0) / wholeWh('incrementWh', incrementWh, 1));
}

/**
 * The credit rule: energy may flow while unpaid energy stays within the credit; as soon as a reading shows more
 * (unpaid > credit), pause. Pure, so both the station and tests can evaluate it for any numbers.
 */
export function decideCredit(deliveredWh: number, paidWh: number, policy: CreditPolicy): CreditDecision {
  const incrementWh = wholeWh('incrementWh', policy.incrementWh, 1);
  const creditWh = wholeWh('creditWh', policy.creditWh ?? incrementWh, 0);
  wholeWh('deliveredWh', deliveredWh, 0);
  wholeWh('paidWh', paidWh, 0);
  const unpaidWh = Math.max(0, deliveredWh - paidWh);
  return {
    action: unpaidWh > creditWh ? 'pause' : 'resume',
    deliveredWh,
    paidWh,
    unpaidWh,
    creditWh,
    headroomWh: creditWh + paidWh - deliveredWh,
    completedIncrements: Math.floor(deliveredWh / incrementWh),
  };
}

/**
 * Applies decideCredit to an EVSE (or anything Pausable) under its own pause reason, so it never lifts a pause
 * that the watchdog or an operator set. Feed it after every meter reading and every payment.
 */
export class CreditGate {
  readonly policy: Required<CreditPolicy>;
  private lastDecision: CreditDecision | undefined;

  constructor(
    private readonly target: Pausable,
    policy: CreditPolicy,
    readonly reason = 'credit',
  ) {
    const incrementWh = wholeWh('incrementWh', policy.incrementWh, 1);
    this.policy = { incrementWh, creditWh: wholeWh('creditWh', policy.creditWh ?? incrementWh, 0) };
  }

  /** `deliveredWh` is this session's energy (register now − register at start); `paidWh` what the payments cover. */
  update(deliveredWh: number, paidWh: number): CreditDecision {
    const decision = decideCredit(deliveredWh, paidWh, this.policy);
    if (decision.action === 'pause') this.target.pause(this.reason);
    else this.target.resume(this.reason);
    this.lastDecision = decision;
    return decision;
  }

  /** The last decision, or undefined before the first update. */
  get last(): CreditDecision | undefined {
    return this.lastDecision;
  }

  /** Unpaid energy as of the last update (0 before the first). */
  get unpaidWh(): number {
    return this.lastDecision?.unpaidWh ?? 0;
  }
}
