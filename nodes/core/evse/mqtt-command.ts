import { EventEmitter } from 'node:events';
import { Clock, systemClock } from './clock';
import { CurrentRange, EvseControl } from './control';
import { Evse, EvseStatus, IecState } from './types';

/** A message for a Node-RED `mqtt out` node: objects are sent as JSON, strings as they are. */
export interface MqttCommand {
  topic: string;
  payload: string | Record<string, unknown>;
}

export type MqttEvseProtocol = 'openevse' | 'smartevse';

export interface MqttCommandEvseOptions extends CurrentRange {
  protocol: MqttEvseProtocol;
  /** OpenEVSE base topic (e.g. `openevse-1a2b`) or SmartEVSE prefix (e.g. `SmartEVSE-12345`), no trailing slash. */
  baseTopic: string;
  clock?: Clock;
}

/** OpenEVSE `<base>/state`: 1 not connected, 2 connected, 3 charging, 4..11 errors, 254 sleeping, 255 disabled. */
const OPENEVSE_STATES: Record<number, IecState> = { 1: 'A', 2: 'B', 3: 'C' };
const OPENEVSE_FIRST_ERROR = 4;
const OPENEVSE_LAST_ERROR = 11;

/** SmartEVSE `<prefix>/State` strings that tell the pilot state; the others are transitions inside B. */
const SMARTEVSE_STATES: Record<string, IecState> = {
  'Ready to Charge': 'A',
  'Connected to EV': 'B',
  Charging: 'C',
  D: 'D',
  'Charging Stopped': 'B',
  'Stop Charging': 'B',
};

/**
 * An EVSE driven over MQTT. It does not talk MQTT itself: every change of the control state becomes `command`
 * events ({topic, payload}) for a Node-RED `mqtt out` node, and `handleMessage()` turns the charger's status topics
 * (from an `mqtt in` node) back into status events.
 *
 * - OpenEVSE: one claim, `<base>/claim/set` = `{state: "active", charge_current}` when energy may flow, else
 *   `{state: "disabled"}`. Claims take priority over the charger's own schedule and are what its docs recommend
 *   over raw RAPI.
 * - SmartEVSE v3: `<prefix>/Set/CurrentOverride` in deci-amps, then `<prefix>/Set/Mode` `Normal`; `Off` to stop.
 */
export class MqttCommandEvse extends EventEmitter implements Evse {
  readonly protocol: MqttEvseProtocol;
  readonly baseTopic: string;
  private readonly control: EvseControl;
  private readonly clock: Clock;
  /** The last payload sent per topic, so only changes go out. */
  private readonly sent = new Map<string, string>();
  private reported: { state: IecState | 'unknown'; vehicleConnected: boolean; powerW?: number; sessionWh?: number } = {
    state: 'unknown',
    vehicleConnected: false,
  };
  private lastReason = 'created';

  constructor(options: MqttCommandEvseOptions) {
    super();
    if (options.protocol !== 'openevse' && options.protocol !== 'smartevse') {
      throw new RangeError(`protocol must be openevse or smartevse, got ${String(options.protocol)}`);
    }
    if (typeof options.baseTopic !== 'string' || options.baseTopic === '' || /[#+]|\/$/.test(options.baseTopic)) {
      throw new RangeError(`baseTopic must be a topic without wildcards or a trailing slash, got "${options.baseTopic}"`);
    }
    this.protocol = options.protocol;
    this.baseTopic = options.baseTopic;
    this.control = new EvseControl(options);
    this.clock = options.clock ?? systemClock;
  }

  enable(): void {
    this.apply('enabled', this.control.enable());
  }

  disable(): void {
    this.apply('disabled', this.control.disable());
  }

  pause(reason = 'remote'): void {
    this.apply(reason, this.control.pause(reason));
  }

  resume(reason = 'remote'): void {
    this.apply(`resumed:${reason}`, this.control.resume(reason));
  }

  setCurrentLimit(amps: number): number {
    const { changed, appliedA } = this.control.setCurrentLimit(amps);
    this.apply('current-limit', changed);
    return appliedA;
  }

  /**
   * The complete command set for the present control state, in the order to send it. Resend it after a broker
   * reconnect or on a heartbeat; the charger treats a repeated claim as a no-op.
   */
  commands(): MqttCommand[] {
    const offeredA = this.control.offeredCurrentA;
    if (this.protocol === 'openevse') {
      const payload = offeredA > 0 ? { state: 'active', charge_current: offeredA } : { state: 'disabled' };
      return [{ topic: `${this.baseTopic}/claim/set`, payload }];
    }
    if (offeredA === 0) return [{ topic: `${this.baseTopic}/Set/Mode`, payload: 'Off' }];
    // The current first, so the charger never starts at a higher, stale override.
    return [
      { topic: `${this.baseTopic}/Set/CurrentOverride`, payload: String(offeredA * 10) },
      { topic: `${this.baseTopic}/Set/Mode`, payload: 'Normal' },
    ];
  }

  /**
   * Reads one message from the charger's status topics. Returns true when it was understood (and a status event
   * was emitted if anything changed); other topics, including our own commands echoed back, return false.
   */
  handleMessage(topic: string, payload: unknown): boolean {
    const prefix = `${this.baseTopic}/`;
    if (typeof topic !== 'string' || !topic.startsWith(prefix)) return false;
    const name = topic.slice(prefix.length);
    const text = (Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload)).trim();
    const update =
      this.protocol === 'openevse'
        ? parseOpenEvse(name, text, this.reported.vehicleConnected)
        : parseSmartEvse(name, text);
    if (!update) return false;
    const next = { ...this.reported, ...update };
    const changed = (Object.keys(update) as (keyof typeof update)[]).some((k) => this.reported[k] !== next[k]);
    this.reported = next;
    if (changed) {
      this.lastReason = `charger:${name}`;
      this.emit('status', this.status());
    }
    return true;
  }

  status(): EvseStatus {
    const { state, vehicleConnected, powerW, sessionWh } = this.reported;
    const status: EvseStatus = {
      state,
      mode: this.control.mode,
      charging: state === 'C' || state === 'D',
      vehicleConnected,
      currentLimitA: this.control.currentLimitA,
      offeredCurrentA: this.control.offeredCurrentA,
      pauseReasons: this.control.pauseReasons,
      reason: this.lastReason,
      timestamp: this.clock.now(),
    };
    if (powerW !== undefined) status.powerW = powerW;
    if (sessionWh !== undefined) status.sessionWh = sessionWh;
    return status;
  }

  close(): void {
    this.removeAllListeners();
  }

  private apply(reason: string, changed: boolean): void {
    if (!changed) return;
    this.lastReason = reason;
    for (const command of this.commands()) {
      const serialised = typeof command.payload === 'string' ? command.payload : JSON.stringify(command.payload);
      if (this.sent.get(command.topic) === serialised) continue;
      this.sent.set(command.topic, serialised);
      this.emit('command', command);
    }
    this.emit('status', this.status());
  }
}

type ReportedUpdate = Partial<{ state: IecState | 'unknown'; vehicleConnected: boolean; powerW: number; sessionWh: number }>;

function finiteNumber(text: string): number | undefined {
  if (text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function parseOpenEvse(name: string, text: string, vehicleConnected: boolean): ReportedUpdate | undefined {
  const value = finiteNumber(text);
  if (value === undefined) return undefined;
  switch (name) {
    case 'state': {
      if (OPENEVSE_STATES[value]) return { state: OPENEVSE_STATES[value], vehicleConnected: value !== 1 };
      if (value >= OPENEVSE_FIRST_ERROR && value <= OPENEVSE_LAST_ERROR) return { state: 'F' };
      // 254 sleeping and 255 disabled: no current offered, the pilot shows whether a vehicle is there.
      if (value === 254 || value === 255) return { state: vehicleConnected ? 'B' : 'A' };
      return undefined;
    }
    case 'vehicle':
      return { vehicleConnected: value === 1 };
    case 'power':
      return { powerW: value };
    case 'session_energy':
      return { sessionWh: value };
    default:
      return undefined;
  }
}

function parseSmartEvse(name: string, text: string): ReportedUpdate | undefined {
  switch (name) {
    case 'State': {
      const state = SMARTEVSE_STATES[text];
      return state ? { state, vehicleConnected: state !== 'A' } : undefined;
    }
    case 'EVPlugState':
      if (text === 'Connected') return { vehicleConnected: true };
      if (text === 'Disconnected') return { vehicleConnected: false };
      return undefined;
    case 'EVChargePower': {
      const value = finiteNumber(text);
      return value === undefined ? undefined : { powerW: value };
    }
    default:
      return undefined;
  }
}
