import { EventEmitter } from 'node:events';
import { Clock, systemClock } from './clock';
import { CurrentRange, EvseControl } from './control';
import { Evse, EvseStatus, IecState } from './types';

const MS_PER_HOUR = 3_600_000;
/** Energy closer than this to the vehicle's target counts as reached (floating-point slack, far below 1 Wh). */
const TARGET_SLACK_WH = 1e-9;

export interface SimulatedVehicle {
  /** The most the vehicle's on-board charger draws, in amps. Default 32. */
  maxCurrentA?: number;
  /** Energy after which the vehicle reports full and stops drawing, in Wh. Default: it never gets full. */
  targetWh?: number;
  /** The vehicle asks for ventilation: it charges in state D instead of C. */
  ventilation?: boolean;
}

export interface SimulatedEvseOptions extends CurrentRange {
  /** Line voltage; default 230 V. */
  volts?: number;
  /** 1 or 3 phases; default 1. */
  phases?: 1 | 3;
  clock?: Clock;
}

interface PluggedVehicle {
  maxCurrentA: number;
  targetWh: number;
  ventilation: boolean;
  receivedWh: number;
  full: boolean;
}

/**
 * A charger and the vehicle plugged into it, for tests and demos without hardware. Energy flows only in state
 * C/D, at P = volts × min(offered current, vehicle maximum) × phases, integrated over the clock; the vehicle
 * stops drawing (state B, reason `vehicle-full`) once it has received its target energy.
 */
export class SimulatedEvse extends EventEmitter implements Evse {
  readonly clock: Clock;
  private readonly control: EvseControl;
  private readonly volts: number;
  private readonly phases: number;
  private vehicle: PluggedVehicle | null = null;
  private fault: 'E' | 'F' | null = null;
  private energyWh = 0;
  /** Total delivered energy (Wh) at which the charger stops by itself, as a meter-enforced session limit would. */
  private energyLimitWh = Infinity;
  private powerW = 0;
  private accruedAt: number;
  private fullTimer: unknown = undefined;
  private lastReason = 'created';

  constructor(options: SimulatedEvseOptions) {
    super();
    this.control = new EvseControl(options);
    this.clock = options.clock ?? systemClock;
    this.volts = options.volts ?? 230;
    this.phases = options.phases ?? 1;
    if (!(this.volts > 0) || !Number.isFinite(this.volts)) throw new RangeError(`volts must be > 0, got ${this.volts}`);
    if (this.phases !== 1 && this.phases !== 3) throw new RangeError(`phases must be 1 or 3, got ${this.phases}`);
    this.accruedAt = this.clock.now();
  }

  enable(): void {
    this.apply('enabled', () => this.control.enable());
  }

  disable(): void {
    this.apply('disabled', () => this.control.disable());
  }

  pause(reason = 'remote'): void {
    this.apply(reason, () => this.control.pause(reason));
  }

  resume(reason = 'remote'): void {
    this.apply(`resumed:${reason}`, () => this.control.resume(reason));
  }

  setCurrentLimit(amps: number): number {
    let applied = 0;
    this.apply('current-limit', () => {
      const result = this.control.setCurrentLimit(amps);
      applied = result.appliedA;
      return result.changed;
    });
    return applied;
  }

  /** Plugs a vehicle in. Throws if one is already plugged. */
  plug(vehicle: SimulatedVehicle = {}): void {
    if (this.vehicle) throw new Error('a vehicle is already plugged in');
    const maxCurrentA = vehicle.maxCurrentA ?? 32;
    const targetWh = vehicle.targetWh ?? Infinity;
    if (!(maxCurrentA >= 0)) throw new RangeError(`vehicle maxCurrentA must be >= 0, got ${maxCurrentA}`);
    if (!(targetWh >= 0)) throw new RangeError(`vehicle targetWh must be >= 0, got ${targetWh}`);
    this.apply('plugged', () => {
      this.vehicle = { maxCurrentA, targetWh, ventilation: vehicle.ventilation ?? false, receivedWh: 0, full: false };
      return true;
    });
  }

  unplug(): void {
    this.apply('unplugged', () => {
      if (!this.vehicle) return false;
      this.vehicle = null;
      return true;
    });
  }

  /** Puts the pilot into an error state (E: pilot shorted, F: EVSE not available), or clears it with null. */
  simulateFault(state: 'E' | 'F' | null): void {
    this.apply(state ? `fault:${state}` : 'fault-cleared', () => {
      if (this.fault === state) return false;
      this.fault = state;
      return true;
    });
  }

  /**
   * Lets energy flow only until `deliveredWh()` reaches `totalWh` (null: no limit), like a charger's session energy
   * limit. Unlike a pause decided after a meter reading, it cannot overshoot while a decision is on its way.
   */
  setEnergyLimit(totalWh: number | null): void {
    if (totalWh !== null && !(totalWh >= 0)) throw new RangeError(`the energy limit must be >= 0 Wh, got ${totalWh}`);
    this.apply('energy-limit', () => {
      const limit = totalWh ?? Infinity;
      if (limit === this.energyLimitWh) return false;
      this.energyLimitWh = limit;
      return true;
    });
  }

  /** All energy delivered since this simulator was created, in Wh (fractional; the meter floors it). */
  deliveredWh(): number {
    this.apply('read', () => false);
    return this.energyWh;
  }

  /** The plugged vehicle's view: energy received this plug-in and whether it reported full. */
  vehicleState(): { receivedWh: number; full: boolean } | null {
    this.apply('read', () => false);
    return this.vehicle && { receivedWh: this.vehicle.receivedWh, full: this.vehicle.full };
  }

  status(): EvseStatus {
    this.apply('read', () => false);
    return this.snapshot();
  }

  close(): void {
    this.clock.clearTimeout(this.fullTimer);
    this.fullTimer = undefined;
    this.removeAllListeners();
  }

  /** Integrates energy up to now at the old power, applies the change, then settles at the new power. */
  private apply(reason: string, mutate: () => boolean): void {
    this.catchUp();
    if (mutate()) this.settle(reason);
  }

  /** Counts the energy up to now and reports a stop it brought (the vehicle full, the limit reached); true if so. */
  private catchUp(): boolean {
    const stopped = this.accrue();
    if (stopped) this.settle(stopped);
    return stopped !== null;
  }

  /** Says why energy stopped during this interval (the vehicle became full, the limit was reached), if it did. */
  private accrue(): 'vehicle-full' | 'energy-limit' | null {
    const now = this.clock.now();
    const elapsedMs = Math.max(0, now - this.accruedAt);
    this.accruedAt = now;
    const vehicle = this.vehicle;
    if (this.powerW === 0 || !vehicle) return null;
    let wh = (this.powerW * elapsedMs) / MS_PER_HOUR;
    const room = vehicle.targetWh - vehicle.receivedWh;
    const allowed = this.energyLimitWh - this.energyWh;
    const becameFull = wh >= room - TARGET_SLACK_WH && room <= allowed;
    const reachedLimit = !becameFull && wh >= allowed - TARGET_SLACK_WH;
    if (becameFull) {
      wh = room;
      vehicle.full = true;
    } else if (reachedLimit) {
      wh = Math.max(0, allowed);
    }
    this.energyWh += wh;
    vehicle.receivedWh += wh;
    return becameFull ? 'vehicle-full' : reachedLimit ? 'energy-limit' : null;
  }

  private settle(reason: string): void {
    this.lastReason = reason;
    const vehicle = this.vehicle;
    const allowed = this.energyLimitWh - this.energyWh;
    const drawing = !this.fault && vehicle !== null && !vehicle.full && allowed > TARGET_SLACK_WH;
    const amps = drawing ? Math.min(this.control.offeredCurrentA, vehicle.maxCurrentA) : 0;
    this.powerW = this.volts * amps * this.phases;
    this.wakeWhenDone();
    this.emit('status', this.snapshot());
  }

  /**
   * Wakes up when the vehicle will be full or the limit reached, so that it is reported on time even if nobody
   * reads the meter. A timer may fire a millisecond before the clock says it is due (Node's timers and Date.now
   * differ): then the energy is not quite in, and the timer is set again for what is left.
   */
  private wakeWhenDone(): void {
    this.clock.clearTimeout(this.fullTimer);
    this.fullTimer = undefined;
    const vehicle = this.vehicle;
    const untilStop = vehicle ? Math.min(vehicle.targetWh - vehicle.receivedWh, this.energyLimitWh - this.energyWh) : Infinity;
    if (this.powerW > 0 && Number.isFinite(untilStop)) {
      const ms = Math.ceil((untilStop / this.powerW) * MS_PER_HOUR);
      // At least 1 ms, so that what is left of a hair never sets a timer of 0 ms again and again.
      this.fullTimer = this.clock.setTimeout(() => this.catchUp() || this.wakeWhenDone(), Math.max(1, ms));
    }
  }

  private iecState(): IecState {
    if (this.fault) return this.fault;
    if (!this.vehicle) return 'A';
    if (this.powerW > 0) return this.vehicle.ventilation ? 'D' : 'C';
    return 'B';
  }

  private snapshot(): EvseStatus {
    const state = this.iecState();
    return {
      state,
      mode: this.control.mode,
      charging: state === 'C' || state === 'D',
      vehicleConnected: this.vehicle !== null,
      currentLimitA: this.control.currentLimitA,
      offeredCurrentA: this.control.offeredCurrentA,
      pauseReasons: this.control.pauseReasons,
      reason: this.lastReason,
      timestamp: this.clock.now(),
      powerW: this.powerW,
      sessionWh: this.vehicle ? Math.floor(this.vehicle.receivedWh) : 0,
    };
  }
}
