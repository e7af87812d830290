import { MeterReading, toRegisterWh } from './reading';

export type EnergyUnit = 'Wh' | 'kWh';

export type MeterInputErrorCode =
  | 'not-a-number'
  | 'not-finite'
  | 'negative'
  | 'too-large'
  | 'decreased'
  | 'bad-timestamp'
  | 'timestamp-decreased';

/** A rejected input; the meter's state is unchanged. */
export class MeterInputError extends Error {
  constructor(
    readonly code: MeterInputErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MeterInputError';
  }
}

export interface MsgInputMeterOptions {
  /** Unit of the incoming values; default `Wh`. */
  unit?: EnergyUnit;
  /** Default `msg`. */
  source?: string;
  /** Used for readings that come without a timestamp; default Date.now. */
  now?: () => number;
}

/** Plain decimal numbers as text, as MQTT and Modbus bridges often deliver them; no hex, no `Infinity`. */
const DECIMAL_TEXT = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A meter fed from messages: an energy register from any other node (Modbus, MQTT, a BMS). Every value is
 * validated (a number or decimal text, finite, non-negative, within a safe integer of Wh) and must not decrease.
 *
 * A decrease is rejected, not treated as a meter reset: a paid-for register that runs backwards is a fault or a
 * meter exchange, and either way the session's billing must not go on silently. After a real exchange call
 * reset() (the next value then becomes the new base).
 */
export class MsgInputMeter {
  readonly unit: EnergyUnit;
  readonly source: string;
  private readonly now: () => number;
  private lastWh: number | undefined;
  private lastReading: MeterReading | undefined;

  constructor(options: MsgInputMeterOptions = {}) {
    this.unit = options.unit ?? 'Wh';
    if (this.unit !== 'Wh' && this.unit !== 'kWh') throw new RangeError(`unit must be Wh or kWh, got ${String(this.unit)}`);
    this.source = options.source ?? 'msg';
    this.now = options.now ?? Date.now;
  }

  /** Validates one value (and optional timestamp: ms since the epoch or a Date) and returns the reading. */
  accept(value: unknown, timestamp?: unknown): MeterReading {
    const number = parseValue(value);
    const wh = this.unit === 'kWh' ? number * 1000 : number;
    let registerWh: number;
    try {
      registerWh = toRegisterWh(wh);
    } catch {
      throw new MeterInputError('too-large', `${String(value)} ${this.unit} exceeds the largest exact register`);
    }
    const at = parseTimestamp(timestamp, this.now);
    if (this.lastWh !== undefined && this.lastReading !== undefined) {
      if (wh < this.lastWh) {
        throw new MeterInputError(
          'decreased',
          `register went down from ${this.lastWh} Wh to ${wh} Wh; rejected (call reset() after a meter exchange)`,
        );
      }
      if (at < this.lastReading.timestamp) {
        throw new MeterInputError('timestamp-decreased', `timestamp ${at} is older than the last reading's`);
      }
    }
    this.lastWh = wh;
    this.lastReading = { registerWh, timestamp: at, source: this.source };
    return this.lastReading;
  }

  /** A message's payload: a register value, or `{ registerWh, timestamp }`. */
  acceptPayload(payload: unknown): MeterReading {
    if (payload === null || typeof payload !== 'object') return this.accept(payload);
    const fields = payload as Record<string, unknown>;
    return this.accept(fields.registerWh, fields.timestamp);
  }

  /** The last accepted reading. */
  get last(): MeterReading | undefined {
    return this.lastReading;
  }

  /** Forgets the last value, so the next one is accepted whatever it is (after a meter exchange). */
  reset(): void {
    this.lastWh = undefined;
    this.lastReading = undefined;
  }
}

function parseValue(value: unknown): number {
  let number: number;
  if (typeof value === 'number') {
    number = value;
  } else if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) {
    number = Number(value.trim());
  } else {
    throw new MeterInputError('not-a-number', `expected a number of Wh or kWh, got ${describe(value)}`);
  }
  if (Number.isNaN(number)) throw new MeterInputError('not-a-number', 'expected a number, got NaN');
  if (!Number.isFinite(number)) throw new MeterInputError('not-finite', `expected a finite number, got ${number}`);
  if (number < 0) throw new MeterInputError('negative', `an energy register cannot be negative, got ${number}`);
  return number;
}

function parseTimestamp(timestamp: unknown, now: () => number): number {
  if (timestamp === undefined) return now();
  const ms = timestamp instanceof Date ? timestamp.getTime() : timestamp;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
    throw new MeterInputError('bad-timestamp', `timestamp must be whole ms since the epoch or a Date, got ${describe(timestamp)}`);
  }
  return ms;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
