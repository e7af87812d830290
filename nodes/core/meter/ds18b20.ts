import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Clock, systemClock } from '../evse/clock';
import { Ds18b20ErrorCode, ReadResponse, WorkerConfig } from './ds18b20-protocol';
import { Meter, MeterReading, toRegisterWh } from './reading';

export { Ds18b20ErrorCode } from './ds18b20-protocol';

const MS_PER_HOUR = 3_600_000;
/** The DS18B20 power-on reset value; a real 85.000 °C reading is indistinguishable and rejected too. */
const POWER_ON_VALUE_C = 85;
export const DEFAULT_W1_DIRECTORY = '/sys/bus/w1/devices/w1_bus_master1';
/** A 1-Wire device name: family code, dash, 48-bit serial. Also keeps the id from escaping the bus directory. */
const SENSOR_ID = /^[0-9a-f]{2}-[0-9a-f]{12}$/i;

/**
 * How temperature stands in for charging power (the paper's prototype): the sensor's warmth above a baseline is
 * the power the "car" draws. P = min(maxPowerW, wattsPerDegree × max(0, T − baselineC)).
 */
export interface TemperatureRule {
  /** Watts per °C above the baseline; default 1000 (warming the sensor by 5 °C draws 5 kW). */
  wattsPerDegree: number;
  /** At or below this no power flows; default 25 °C, a little above room temperature. */
  baselineC: number;
  /** Upper bound on the power, so a hot sensor stays within what the vehicle accepts; default 11 000 W. */
  maxPowerW: number;
}

export const DEFAULT_TEMPERATURE_RULE: TemperatureRule = { wattsPerDegree: 1000, baselineC: 25, maxPowerW: 11_000 };

export function powerFromTemperature(temperatureC: number, rule: TemperatureRule = DEFAULT_TEMPERATURE_RULE): number {
  return Math.min(rule.maxPowerW, rule.wattsPerDegree * Math.max(0, temperatureC - rule.baselineC));
}

export interface Ds18b20MeterOptions extends Partial<TemperatureRule> {
  /** The 1-Wire bus directory; default /sys/bus/w1/devices/w1_bus_master1. */
  w1Directory?: string;
  /** e.g. `28-000000000001`; empty or omitted: the first sensor the bus lists. */
  sensorId?: string;
  /**
   * The longest interval integrated at once, in ms; default 10 000. After a gap (failed reads, a stopped poll)
   * only this much time counts, so an outage cannot turn into a burst of energy.
   */
  maxIntervalMs?: number;
  /** A read that takes longer fails with `timeout` and the worker is replaced; 0 = never. Default 5000. */
  readTimeoutMs?: number;
  /** Register value to start from, whole Wh; default 0. */
  initialRegisterWh?: number;
  /** Default `ds18b20:<sensor id>`. */
  source?: string;
  clock?: Clock;
}

/** A failed DS18B20 read. The register is unchanged. */
export class Ds18b20Error extends Error {
  constructor(
    readonly code: Ds18b20ErrorCode,
    message: string,
    readonly sensorId?: string,
  ) {
    super(message);
    this.name = 'Ds18b20Error';
  }
}

interface PendingRead {
  seq: number;
  resolve: (response: ReadResponse) => void;
  reject: (error: Error) => void;
  timer: unknown;
}

/**
 * The prototype's meter: a DS18B20 temperature turned into a monotonic Wh register. Each good reading adds the
 * energy of the interval since the previous good one, by the trapezoid rule on the power of both readings
 * (capped at maxIntervalMs); the power is never negative, so the register can only grow.
 *
 * The sensor is read by ds18b20-raspi's synchronous API inside a worker thread (ds18b20-worker.js next to this
 * file), so a slow or hung 1-Wire bus never blocks the event loop. Concurrent read() calls share one read.
 */
export class Ds18b20Meter implements Meter {
  readonly rule: TemperatureRule;
  private readonly config: WorkerConfig;
  private readonly maxIntervalMs: number;
  private readonly readTimeoutMs: number;
  private readonly initialRegisterWh: number;
  private readonly sourceOption: string | undefined;
  private readonly clock: Clock;
  private worker: Worker | null = null;
  private pending: PendingRead | null = null;
  private inflight: Promise<MeterReading> | null = null;
  private seq = 0;
  private closed = false;
  private energyWh = 0;
  private lastSample: { at: number; powerW: number } | null = null;

  constructor(options: Ds18b20MeterOptions = {}) {
    this.rule = {
      wattsPerDegree: options.wattsPerDegree ?? DEFAULT_TEMPERATURE_RULE.wattsPerDegree,
      baselineC: options.baselineC ?? DEFAULT_TEMPERATURE_RULE.baselineC,
      maxPowerW: options.maxPowerW ?? DEFAULT_TEMPERATURE_RULE.maxPowerW,
    };
    for (const [name, value] of Object.entries(this.rule)) {
      if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
    }
    if (this.rule.wattsPerDegree < 0 || this.rule.maxPowerW < 0) {
      throw new RangeError('wattsPerDegree and maxPowerW must be >= 0: the register may never run backwards');
    }
    // An empty id (as an unset editor field arrives) means "the first sensor".
    const sensorId = options.sensorId || undefined;
    if (sensorId !== undefined && !SENSOR_ID.test(sensorId)) {
      throw new RangeError(`sensorId must look like 28-000000000001 (family, dash, 12 hex digits), got "${sensorId}"`);
    }
    this.config = { w1Directory: path.resolve(options.w1Directory || DEFAULT_W1_DIRECTORY), sensorId };
    this.maxIntervalMs = options.maxIntervalMs ?? 10_000;
    this.readTimeoutMs = options.readTimeoutMs ?? 5000;
    this.initialRegisterWh = options.initialRegisterWh ?? 0;
    if (!Number.isSafeInteger(this.maxIntervalMs) || this.maxIntervalMs <= 0) {
      throw new RangeError(`maxIntervalMs must be a whole number of ms > 0, got ${this.maxIntervalMs}`);
    }
    if (!Number.isSafeInteger(this.readTimeoutMs) || this.readTimeoutMs < 0) {
      throw new RangeError(`readTimeoutMs must be a whole number of ms >= 0, got ${this.readTimeoutMs}`);
    }
    if (!Number.isSafeInteger(this.initialRegisterWh) || this.initialRegisterWh < 0) {
      throw new RangeError(`initialRegisterWh must be a whole number of Wh >= 0, got ${this.initialRegisterWh}`);
    }
    this.sourceOption = options.source || undefined;
    this.clock = options.clock ?? systemClock;
  }

  /** The register now, without reading the sensor. */
  get registerWh(): number {
    return toRegisterWh(this.initialRegisterWh + this.energyWh);
  }

  /** Reads the sensor and returns the updated reading; rejects with a Ds18b20Error, leaving the register as it was. */
  read(): Promise<MeterReading> {
    if (this.closed) return Promise.reject(new Ds18b20Error('closed', 'the DS18B20 meter is closed'));
    this.inflight ??= this.readSensor()
      .then((response) => this.integrate(response))
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /**
   * Stops the worker. An idle worker is awaited; one stuck in a read of a hung bus is left to end when the read
   * returns, so close() itself never hangs.
   */
  async close(): Promise<void> {
    this.closed = true;
    const wasReading = this.pending !== null;
    this.failPending(new Ds18b20Error('closed', 'the DS18B20 meter was closed during a read'));
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const terminated = worker.terminate();
    if (wasReading) terminated.catch(() => undefined);
    else await terminated;
  }

  private readSensor(): Promise<ReadResponse> {
    const worker = this.ensureWorker();
    const seq = ++this.seq;
    return new Promise<ReadResponse>((resolve, reject) => {
      const timer =
        this.readTimeoutMs > 0
          ? this.clock.setTimeout(() => {
              this.failPending(new Ds18b20Error('timeout', `no answer from the 1-Wire bus within ${this.readTimeoutMs} ms`));
              this.discardWorker();
            }, this.readTimeoutMs)
          : undefined;
      this.pending = { seq, resolve, reject, timer };
      worker.postMessage({ seq });
    });
  }

  private integrate(response: ReadResponse): MeterReading {
    if (!response.ok) throw new Ds18b20Error(response.code, response.message, response.sensorId);
    const { sensorId, temperatureC } = response;
    if (temperatureC === POWER_ON_VALUE_C) {
      throw new Ds18b20Error('power-on-value', `sensor ${sensorId} reports 85 °C, its power-on value: no conversion yet`, sensorId);
    }
    const now = this.clock.now();
    const powerW = powerFromTemperature(temperatureC, this.rule);
    const last = this.lastSample;
    if (last && now > last.at) {
      const ms = Math.min(now - last.at, this.maxIntervalMs);
      this.energyWh += (((last.powerW + powerW) / 2) * ms) / MS_PER_HOUR;
    }
    this.lastSample = { at: now, powerW };
    return { registerWh: this.registerWh, timestamp: now, source: this.sourceOption ?? `ds18b20:${sensorId}`, temperatureC };
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(path.join(__dirname, 'ds18b20-worker.js'), { workerData: this.config });
    worker.on('message', (response: ReadResponse) => {
      const pending = this.pending;
      if (!pending || pending.seq !== response.seq) return; // the answer to a read that already timed out
      this.pending = null;
      this.clock.clearTimeout(pending.timer);
      pending.resolve(response);
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = null;
      this.failPending(new Ds18b20Error('worker-failed', `the DS18B20 worker failed: ${error.message}`));
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failPending(new Ds18b20Error('worker-failed', 'the DS18B20 worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private failPending(error: Ds18b20Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    this.clock.clearTimeout(pending.timer);
    pending.reject(error);
  }

  /** Drops a worker stuck in a read; terminate() takes effect once the blocking read returns. */
  private discardWorker(): void {
    const worker = this.worker;
    this.worker = null;
    worker?.terminate().catch(() => undefined);
  }
}
