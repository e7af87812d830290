import { BELOW_MINIMUM_CURRENT, EvseMode, IEC_MIN_CURRENT_A } from './types';

export interface CurrentRange {
  /** Station maximum in whole amps (the cable, the supply or the charger, whichever is lowest). */
  maxCurrentA: number;
  /** Minimum in whole amps; 6 A by IEC 61851, higher for vehicles that need it. */
  minCurrentA?: number;
}

/**
 * The control side every EVSE driver shares: enabled or not, the set of pause reasons, and the current limit.
 * Each mutator returns whether anything changed, so drivers emit a status or a command only on a real change.
 */
export class EvseControl {
  readonly minCurrentA: number;
  readonly maxCurrentA: number;
  private enabled = false;
  private limitA: number;
  private readonly pauseReasonSet = new Set<string>();

  constructor(range: CurrentRange) {
    this.minCurrentA = range.minCurrentA ?? IEC_MIN_CURRENT_A;
    this.maxCurrentA = range.maxCurrentA;
    if (!Number.isSafeInteger(this.minCurrentA) || this.minCurrentA < IEC_MIN_CURRENT_A) {
      throw new RangeError(`minCurrentA must be a whole number of amps >= ${IEC_MIN_CURRENT_A}, got ${this.minCurrentA}`);
    }
    if (!Number.isSafeInteger(this.maxCurrentA) || this.maxCurrentA < this.minCurrentA) {
      throw new RangeError(`maxCurrentA must be a whole number of amps >= minCurrentA, got ${this.maxCurrentA}`);
    }
    this.limitA = this.maxCurrentA;
  }

  get mode(): EvseMode {
    if (!this.enabled) return 'disabled';
    return this.pauseReasonSet.size > 0 ? 'paused' : 'enabled';
  }

  get currentLimitA(): number {
    return this.limitA;
  }

  get offeredCurrentA(): number {
    return this.mode === 'enabled' ? this.limitA : 0;
  }

  get pauseReasons(): string[] {
    return [...this.pauseReasonSet];
  }

  enable(): boolean {
    if (this.enabled) return false;
    this.enabled = true;
    return true;
  }

  disable(): boolean {
    if (!this.enabled) return false;
    this.enabled = false;
    return true;
  }

  pause(reason: string): boolean {
    if (this.pauseReasonSet.has(reason)) return false;
    this.pauseReasonSet.add(reason);
    return true;
  }

  resume(reason: string): boolean {
    return this.pauseReasonSet.delete(reason);
  }

  /** See Evse.setCurrentLimit. Returns whether anything changed and the limit applied. */
  setCurrentLimit(amps: number): { changed: boolean; appliedA: number } {
    if (typeof amps !== 'number' || !Number.isFinite(amps) || amps < 0) {
      throw new RangeError(`current limit must be a finite number of amps >= 0, got ${String(amps)}`);
    }
    // Round down: the station must never offer more than it was asked to.
    const whole = Math.floor(amps);
    const before = { limit: this.limitA, paused: this.pauseReasonSet.has(BELOW_MINIMUM_CURRENT) };
    if (whole < this.minCurrentA) {
      this.limitA = 0;
      this.pauseReasonSet.add(BELOW_MINIMUM_CURRENT);
    } else {
      this.limitA = Math.min(whole, this.maxCurrentA);
      this.pauseReasonSet.delete(BELOW_MINIMUM_CURRENT);
    }
    const changed = before.limit !== this.limitA || before.paused !== this.pauseReasonSet.has(BELOW_MINIMUM_CURRENT);
    return { changed, appliedA: this.limitA };
  }
}
