import { SimulatedEvse } from '../evse/simulated';
import { Meter, MeterReading, toRegisterWh } from './reading';

export interface SimulatedMeterOptions {
  /** Register value before any energy flowed, whole Wh; default 0. */
  initialRegisterWh?: number;
  /** Default `simulated`. */
  source?: string;
}

/**
 * The meter of a SimulatedEvse: it counts exactly the energy the simulator let flow, so energy moves only while
 * the EVSE is enabled, unpaused and a vehicle draws, at the current the EVSE offers. Deterministic under the
 * simulator's clock.
 */
export class SimulatedMeter implements Meter {
  readonly source: string;
  private readonly initialRegisterWh: number;

  constructor(
    private readonly evse: SimulatedEvse,
    options: SimulatedMeterOptions = {},
  ) {
    this.initialRegisterWh = options.initialRegisterWh ?? 0;
    if (!Number.isSafeInteger(this.initialRegisterWh) || this.initialRegisterWh < 0) {
      throw new RangeError(`initialRegisterWh must be a whole number of Wh >= 0, got ${this.initialRegisterWh}`);
    }
    this.source = options.source ?? 'simulated';
  }

  /** Synchronous form of read(), for callers that tick the clock themselves. */
  readNow(): MeterReading {
    return {
      registerWh: toRegisterWh(this.initialRegisterWh + this.evse.deliveredWh()),
      timestamp: this.evse.clock.now(),
      source: this.source,
    };
  }

  async read(): Promise<MeterReading> {
    return this.readNow();
  }

  async close(): Promise<void> {
    // Holds nothing: the simulator owns the clock and its timers.
  }
}
