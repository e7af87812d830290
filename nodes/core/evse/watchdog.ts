import { EventEmitter } from 'node:events';
import { Clock, systemClock } from './clock';
import { Pausable } from './types';

export interface WatchdogOptions {
  /** Silence longer than this pauses charging. */
  timeoutMs: number;
  clock?: Clock;
  /** The pause reason it sets on the target; default `watchdog`. */
  reason?: string;
}

/**
 * Fail-safe in the spirit of OpenEVSE's `$SY` heartbeat: if nobody calls kick() (on every payment and controller
 * heartbeat) for `timeoutMs`, the target is paused. It stays paused, whatever later kicks say, until resume() is
 * called explicitly: a flow that went silent must not restart energy by merely coming back.
 *
 * Emits `expired` when it pauses the target. Armed from construction.
 */
export class Watchdog extends EventEmitter {
  readonly timeoutMs: number;
  readonly reason: string;
  private readonly clock: Clock;
  private timer: unknown = undefined;
  private hasExpired = false;
  private closed = false;

  constructor(
    private readonly target: Pausable,
    options: WatchdogOptions,
  ) {
    super();
    if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a whole number of ms > 0, got ${options.timeoutMs}`);
    }
    this.timeoutMs = options.timeoutMs;
    this.reason = options.reason ?? 'watchdog';
    this.clock = options.clock ?? systemClock;
    this.arm();
  }

  get expired(): boolean {
    return this.hasExpired;
  }

  /** Proof of life. Returns false (and does nothing) once expired or closed. */
  kick(): boolean {
    if (this.hasExpired || this.closed) return false;
    this.arm();
    return true;
  }

  /** Lifts the watchdog's pause and re-arms it. */
  resume(): void {
    if (this.closed) return;
    if (this.hasExpired) {
      this.hasExpired = false;
      this.target.resume(this.reason);
    }
    this.arm();
  }

  /** Disarms it; a pause it already set stays. */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.removeAllListeners();
  }

  private arm(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.expire(), this.timeoutMs);
  }

  private expire(): void {
    this.timer = undefined;
    this.hasExpired = true;
    this.target.pause(this.reason);
    this.emit('expired');
  }
}
