import { MeterReading } from './reading';

const MS_PER_HOUR = 3_600_000;

/** The most energy a charger of `maxPowerW` can deliver in `elapsedMs`, in (fractional) Wh. */
export function maxPlausibleWh(maxPowerW: number, elapsedMs: number): number {
  if (!Number.isFinite(maxPowerW) || maxPowerW < 0) throw new RangeError(`maxPowerW must be >= 0, got ${maxPowerW}`);
  if (!Number.isFinite(elapsedMs) || elapsedMs < 0) throw new RangeError(`elapsedMs must be >= 0, got ${elapsedMs}`);
  return (maxPowerW * elapsedMs) / MS_PER_HOUR;
}

export interface IncreaseCheck {
  ok: boolean;
  increaseWh: number;
  /** The largest increase accepted between these two readings. */
  allowedWh: number;
  reason?: 'register-decreased' | 'timestamp-decreased' | 'faster-than-max-power';
}

/**
 * The vehicle's check that a claimed register step is physically possible: no decrease, and no more energy than
 * `maxPowerW` allows over the time between the readings. Registers are rounded down to whole Wh, which can make a
 * step up to 1 Wh larger than the true energy, so the bound is floor(max energy + tolerance) + 1.
 */
export function checkIncrease(
  previous: MeterReading,
  next: MeterReading,
  maxPowerW: number,
  toleranceWh = 0,
): IncreaseCheck {
  const increaseWh = next.registerWh - previous.registerWh;
  const elapsedMs = next.timestamp - previous.timestamp;
  if (elapsedMs < 0) return { ok: false, increaseWh, allowedWh: 0, reason: 'timestamp-decreased' };
  const allowedWh = Math.floor(maxPlausibleWh(maxPowerW, elapsedMs) + toleranceWh) + 1;
  if (increaseWh < 0) return { ok: false, increaseWh, allowedWh, reason: 'register-decreased' };
  if (increaseWh > allowedWh) return { ok: false, increaseWh, allowedWh, reason: 'faster-than-max-power' };
  return { ok: true, increaseWh, allowedWh };
}

export interface OwnMeterTolerance {
  /** Absolute allowance in Wh; default 0. */
  toleranceWh?: number;
  /** Relative allowance, e.g. 0.02 for a 2 % meter class; default 0. */
  toleranceRatio?: number;
}

export interface OwnMeterCheck {
  ok: boolean;
  /** Claimed minus own; positive means the station claims more than the vehicle measured. */
  differenceWh: number;
  allowedWh: number;
}

/**
 * The vehicle's check of the station's claim against its own meter, over the same interval (session energies,
 * not raw registers: two meters count from different bases). Claiming less than measured is the station's loss and
 * passes; claiming more passes only within the tolerance.
 */
export function checkAgainstOwnMeter(claimedWh: number, ownWh: number, tolerance: OwnMeterTolerance = {}): OwnMeterCheck {
  const toleranceWh = tolerance.toleranceWh ?? 0;
  const toleranceRatio = tolerance.toleranceRatio ?? 0;
  for (const [name, value] of Object.entries({ claimedWh, ownWh, toleranceWh, toleranceRatio })) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
  const allowedWh = ownWh + toleranceWh + ownWh * toleranceRatio;
  return { ok: claimedWh <= allowedWh, differenceWh: claimedWh - ownWh, allowedWh };
}
