import { EventEmitter } from 'node:events';
import { Clock, systemClock } from '../evse/clock';
import { Evse } from '../evse/types';
import { SimulatedEvse } from '../evse/simulated';
import { Ds18b20Meter, Ds18b20MeterOptions } from './ds18b20';
import { Meter, MeterReading } from './reading';
import { RegisterFile } from './register-file';
import { SimulatedMeter } from './simulated';

/** The meter to read now, given the last saved register; null while there is none to read. */
export type MeterSupply = (lastRegisterWh: number) => Meter | null;

/** A station's EVSE that is not the simulated one: a simulated meter has nothing to follow. */
export class NotSimulatedError extends Error {
  constructor() {
    super('the EVSE is not a simulated one: a simulated meter can only follow a simulated EVSE');
    this.name = 'NotSimulatedError';
  }
}

/** A DS18B20, made once the saved register is known, so that its register goes on from there. */
export function ds18b20Supply(options: Omit<Ds18b20MeterOptions, 'initialRegisterWh'>): MeterSupply {
  let meter: Ds18b20Meter | null = null;
  return (lastRegisterWh) => (meter ??= new Ds18b20Meter({ ...options, initialRegisterWh: lastRegisterWh }));
}

/**
 * The meter of whatever simulated EVSE `evse()` returns now; null while there is none. A replaced EVSE (a
 * redeployed evse-control brings a new simulator that counts from 0) counts on from the last register.
 */
export function simulatedSupply(evse: () => Evse | null): MeterSupply {
  let current: { evse: SimulatedEvse; meter: SimulatedMeter } | null = null;
  return (lastRegisterWh) => {
    const now = evse();
    if (!now) return null;
    if (!(now instanceof SimulatedEvse)) throw new NotSimulatedError();
    if (current?.evse !== now) current = { evse: now, meter: new SimulatedMeter(now, { initialRegisterWh: lastRegisterWh }) };
    return current.meter;
  };
}

/** The poll interval for a setting in seconds: 0 or less falls back to 1 s, and never more than 100 reads a second. */
export function pollIntervalMs(seconds: number): number {
  return seconds > 0 ? Math.max(10, Math.round(seconds * 1000)) : 1000;
}

export interface PolledMeterOptions {
  supply: MeterSupply;
  /** Where the register is kept across restarts: a register may never go back. */
  register: RegisterFile;
  intervalMs: number;
  clock?: Clock;
}

/**
 * A meter read every `intervalMs` and on request, whose register survives restarts: each reading is saved before
 * anyone sees it.
 *
 * Events: `reading` (every reading), `waiting` (no meter to read yet), `polled` (a reading of the poll, to send),
 * `failure` (a poll failed: the error, and whether it differs from the last failure: a sensor that stays broken is
 * reported once, not every poll), `unusable` (the saved register could not be loaded, or the meter not made: nothing is read).
 */
export class PolledMeter extends EventEmitter {
  private readonly ready: Promise<void>;
  private readonly clock: Clock;
  private lastRegisterWh = 0;
  private meter: Meter | null = null;
  private timer: unknown = undefined;
  private lastFailure = '';
  private closed = false;

  constructor(private readonly options: PolledMeterOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    // A meter that cannot be made from its settings (a DS18B20's bad sensor id) is unusable from the start.
    this.ready = options.register.load().then((savedWh) => {
      this.lastRegisterWh = savedWh;
      this.meter = options.supply(savedWh);
    });
    this.ready.then(
      () => void this.poll(),
      (err) => this.emit('unusable', err),
    );
  }

  /** One reading, saved before anyone sees it, or null while there is no meter to read. */
  async read(): Promise<MeterReading | null> {
    await this.ready;
    this.meter = this.options.supply(this.lastRegisterWh);
    if (!this.meter) {
      this.emit('waiting');
      return null;
    }
    const reading = await this.meter.read();
    await this.options.register.save(reading);
    this.lastRegisterWh = reading.registerWh;
    this.emit('reading', reading);
    return reading;
  }

  /** Stops polling, closes the meter and waits for the last save. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    await this.ready.then(() => this.meter?.close(), () => undefined);
    await this.options.register.settled();
  }

  /** Reads, arms the next poll, then reports: whoever hears the report finds the next poll due. */
  private async poll(): Promise<void> {
    let outcome: { reading: MeterReading | null } | { error: unknown };
    try {
      outcome = { reading: await this.read() };
    } catch (error) {
      outcome = { error };
    }
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => void this.poll(), this.options.intervalMs);
    if ('error' in outcome) {
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      this.emit('failure', outcome.error, message !== this.lastFailure);
      this.lastFailure = message;
    } else {
      this.lastFailure = '';
      if (outcome.reading) this.emit('polled', outcome.reading);
    }
  }
}
