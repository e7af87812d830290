/** IEC 61851-1 control-pilot states: A no vehicle, B connected, C charging, D charging with ventilation, E/F fault. */
export type IecState = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

/**
 * What the station allows: `enabled` (energy may flow), `paused` (enabled, but at least one pause reason holds),
 * `disabled` (off until the next enable()).
 */
export type EvseMode = 'enabled' | 'paused' | 'disabled';

/** IEC 61851: below 6 A the pilot cannot signal a current, so "less than 6 A" can only mean "stop". */
export const IEC_MIN_CURRENT_A = 6;

/** The pause reason set by setCurrentLimit() below the minimum current. */
export const BELOW_MINIMUM_CURRENT = 'below-minimum-current';

export interface EvseStatus {
  /** The pilot state; `unknown` until a remote charger has reported one. */
  state: IecState | 'unknown';
  mode: EvseMode;
  /** Energy flows (state C or D). */
  charging: boolean;
  vehicleConnected: boolean;
  /** The configured limit in whole amps (0 after a limit below the minimum). */
  currentLimitA: number;
  /** The current the station offers now: the limit when enabled and not paused, else 0. */
  offeredCurrentA: number;
  /** Every reason currently holding the station paused, e.g. `credit`, `watchdog`, `remote`. */
  pauseReasons: string[];
  /** Why this status was emitted. */
  reason: string;
  timestamp: number;
  /** Measured by the charger, when it reports it. */
  powerW?: number;
  /** Energy of the current plug-in session in Wh, when the charger reports it. */
  sessionWh?: number;
}

/** Something that can be held paused for a named reason; the watchdog and the credit gate drive this. */
export interface Pausable {
  /** Adds a pause reason. Energy stops while any reason holds. */
  pause(reason: string): void;
  /** Removes that one reason; charging continues only when no other reason holds. */
  resume(reason: string): void;
}

export interface Evse extends Pausable {
  /** Allows charging (a disabled station stays off until this). */
  enable(): void;
  /** Hard off until the next enable(); pause reasons are kept. */
  disable(): void;
  /**
   * Sets the current limit in amps, rounded down to whole amps and clamped to the station's maximum. Below the
   * minimum (6 A) the station pauses with reason `below-minimum-current` until a limit at or above it arrives.
   * Returns the limit applied (0 when below the minimum).
   */
  setCurrentLimit(amps: number): number;
  status(): EvseStatus;
  on(event: 'status', listener: (status: EvseStatus) => void): this;
  off(event: 'status', listener: (status: EvseStatus) => void): this;
  /** Releases timers and listeners. */
  close(): void;
}
