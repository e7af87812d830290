/**
 * One meter reading.
 *
 * `registerWh` is a monotonic energy register in WHOLE watt-hours: a non-negative safe integer, never fractional.
 * Payments are made per whole increment and money is integer, so every comparison and subtraction on the register
 * must be exact; fractions would bring binary rounding into billing. Each meter keeps its fractional energy inside
 * and publishes it rounded DOWN (toRegisterWh), so a register never shows energy that was not delivered; the
 * fraction is not lost, it appears once it completes a watt-hour. This is also OCPP's unit (integer Wh).
 */
export interface MeterReading {
  /** Whole Wh, monotonic, Number.isSafeInteger. */
  registerWh: number;
  /** When the reading was taken, ms since the epoch. */
  timestamp: number;
  /** Which meter produced it, e.g. `ds18b20:28-000000000001`, `simulated`, `msg`. */
  source: string;
  /** The raw sensor temperature, reported for transparency (OCPP measurand `Temperature`). */
  temperatureC?: number;
}

/** A meter that is asked for readings. */
export interface Meter {
  read(): Promise<MeterReading>;
  /** Releases the meter's worker or timers; reads afterwards fail. */
  close(): Promise<void>;
}

/**
 * Binary floating point turns decimal readings such as 1.005 kWh into 1004.9999999999999 Wh; anything within a
 * micro-watt-hour below a whole Wh counts as that whole Wh.
 */
const DECIMAL_SLACK_WH = 1e-6;

/** Fractional Wh → the whole-Wh register value (rounded down, see MeterReading). */
export function toRegisterWh(wh: number): number {
  const whole = Math.floor(wh + DECIMAL_SLACK_WH);
  if (!Number.isSafeInteger(whole) || whole < 0) throw new RangeError(`not a valid register value: ${wh} Wh`);
  return whole;
}
