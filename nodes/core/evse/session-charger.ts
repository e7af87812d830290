import { EventEmitter } from 'node:events';
import type { StopReason } from '../protocol';
import { Clock, systemClock } from './clock';
import { ConnectorSession, restoredCharging } from './connector-session';
import { CreditGate } from './credit-gate';
import { MqttCommand, MqttCommandEvse } from './mqtt-command';
import { SimulatedEvse, SimulatedVehicle } from './simulated';
import { Evse, EvseStatus } from './types';
import { Watchdog } from './watchdog';

/** The operator's own pause reason, so that `resume` never lifts the credit gate's pause. */
const OPERATOR = 'remote';
const CREDIT = 'credit';

/** What the charger needs of the station's session (a StationParty is one). */
export interface ChargedSession extends ConnectorSession {
  readonly offer: { incrementWh: number; creditWh: number };
  readonly phase: string;
  stop(reason: StopReason): Promise<unknown>;
}

export interface SessionChargerOptions {
  /** Plugs a simulated vehicle in when none is there or the last one is full (the demo). Simulated chargers only. */
  autoPlug?: boolean;
  /** The simulated vehicle that `plug` and autoPlug plug in. */
  vehicle?: SimulatedVehicle;
  /** Pauses the charger when no payment comes for this long while energy flows; 0 (the default) is off. */
  watchdogMs?: number;
  clock?: Clock;
}

export type ChargerCommandErrorCode = 'unknown-command' | 'simulated-only';

/** A command the charger refused; nothing changed. */
export class ChargerCommandError extends Error {
  constructor(
    readonly code: ChargerCommandErrorCode,
    readonly command: string,
  ) {
    super(code === 'simulated-only' ? `${command} works only on a simulated charger` : `unknown command ${command}`);
    this.name = 'ChargerCommandError';
  }
}

/** The energy event of a station's session, as the charger reads it. */
interface EnergyPayload {
  deliveredWh: number;
  paidWh: number;
}

/**
 * The station's charger, coupled to its charging session: enabled when a session opens, held paused by the credit
 * gate while unpaid energy exceeds the credit, paused by the watchdog when payments go silent while energy flows,
 * disabled when the session stops; an unplugged or full vehicle stops the session.
 *
 * Events: `status` (EvseStatus, on every change), `command` (MqttCommand for an MQTT charger), `watchdog` (the
 * timeout in seconds, when the watchdog paused the charger), `failure` (`stop` or `credit`, and the error).
 */
export class SessionCharger extends EventEmitter {
  readonly simulated: SimulatedEvse | null;
  readonly mqtt: MqttCommandEvse | null;
  private readonly autoPlug: boolean;
  private readonly vehicle: SimulatedVehicle;
  private readonly watchdogMs: number;
  private readonly clock: Clock;
  private party: ChargedSession | null = null;
  private gate: CreditGate | null = null;
  private watchdog: Watchdog | null = null;
  private previous: EvseStatus;
  private replacingVehicle = false;
  private chargerHeard = false;
  /**
   * The simulated charger's delivered energy when the session's meter count began (its first reading; until then,
   * when the session opened). Its energy limit counts from there, one Wh above paid + credit, so that the limit
   * always leaves a whole increment for the meter to claim and the session can never stall at it.
   */
  private sessionStartWh: number | null = null;
  private meterCounting = false;
  private readonly partyListeners: [string, (payload: unknown) => void][] = [
    ['opened', () => this.sessionOpened()],
    ['energy', (payload) => this.energy(payload as EnergyPayload)],
    ['paid', () => this.watchdog?.kick()],
    ['stopping', () => this.evse.disable()],
    ['settled', () => this.sessionSettled()],
    ['phase', (phase) => phase === 'idle' && this.plugFreshVehicle()],
  ];

  constructor(
    readonly evse: Evse,
    options: SessionChargerOptions = {},
  ) {
    super();
    this.simulated = evse instanceof SimulatedEvse ? evse : null;
    this.mqtt = evse instanceof MqttCommandEvse ? evse : null;
    this.autoPlug = this.simulated !== null && options.autoPlug === true;
    this.vehicle = options.vehicle ?? {};
    this.watchdogMs = options.watchdogMs ?? 0;
    if (!Number.isSafeInteger(this.watchdogMs) || this.watchdogMs < 0) {
      // The user sets it in seconds (evse-control's Watchdog s): the error speaks in them.
      throw new RangeError(`the watchdog must be 0 (off) or more seconds, got ${this.watchdogMs / 1000} s`);
    }
    this.clock = options.clock ?? this.simulated?.clock ?? systemClock;
    this.previous = evse.status();
    evse.on('status', (status) => this.onStatus(status));
    this.mqtt?.on('command', (command: MqttCommand) => this.emit('command', command));
    if (this.autoPlug) this.plugFreshVehicle();
  }

  status(): EvseStatus {
    return this.evse.status();
  }

  /** What an MQTT charger must be told to stand where this station does (nothing for a simulated one). */
  commands(): MqttCommand[] {
    return this.mqtt?.commands() ?? [];
  }

  /** Couples the charger to the station's session; one restored from the journal goes on charging. */
  attach(party: ChargedSession): void {
    this.party = party;
    this.gate = new CreditGate(this.evse, { incrementWh: party.offer.incrementWh, creditWh: party.offer.creditWh }, CREDIT);
    for (const [event, listener] of this.partyListeners) party.on(event, listener);
    if (restoredCharging(party)) {
      // What was paid and delivered comes with the next meter reading, which sets the energy limit again.
      this.anchorSession();
      this.evse.enable();
    }
  }

  /** Whether a topic is one of the MQTT charger's own (its reports, and our commands echoed back). */
  isChargerTopic(topic: unknown): topic is string {
    return this.mqtt !== null && typeof topic === 'string' && topic.startsWith(`${this.mqtt.baseTopic}/`);
  }

  /**
   * A message from the MQTT charger. Its first report proves the link is up (an `mqtt out` node drops what it is
   * given before its broker connects), so the full command set goes out again then.
   */
  chargerMessage(topic: string, payload: unknown): void {
    if (!this.mqtt?.handleMessage(topic, payload) || this.chargerHeard) return;
    this.chargerHeard = true;
    for (const command of this.mqtt.commands()) this.emit('command', command);
  }

  /** The operator's command: `enable`, `disable`, `pause`, `resume`, `plug`, `unplug`, a current in amps. */
  command(payload: unknown): void {
    if (typeof payload === 'number') return void this.evse.setCurrentLimit(payload);
    if (payload !== null && typeof payload === 'object' && 'currentLimit' in payload) {
      return void this.evse.setCurrentLimit((payload as { currentLimit: number }).currentLimit);
    }
    const name = typeof payload === 'string' ? payload.trim().toLowerCase() : '';
    switch (name) {
      case 'enable':
        return this.evse.enable();
      case 'disable':
        return this.evse.disable();
      case 'pause':
        return this.evse.pause(OPERATOR);
      case 'resume':
        // The operator decides after a watchdog stop; an unpaid balance still holds the credit pause.
        this.clearWatchdog();
        return this.evse.resume(OPERATOR);
      case 'plug':
      case 'unplug':
        if (!this.simulated) throw new ChargerCommandError('simulated-only', name);
        return name === 'plug' ? this.simulated.plug(this.vehicle) : this.simulated.unplug();
      default:
        throw new ChargerCommandError('unknown-command', String(payload));
    }
  }

  close(): void {
    for (const [event, listener] of this.partyListeners) this.party?.off(event, listener);
    this.watchdog?.close();
    this.evse.close();
  }

  private onStatus(status: EvseStatus): void {
    this.emit('status', status);
    this.superviseCharging(status);
    const unplugged = this.previous.vehicleConnected && !status.vehicleConnected;
    this.previous = status;
    if (unplugged && !this.replacingVehicle) this.stopSession('unplugged');
    else if (status.reason === 'vehicle-full') this.stopSession('vehicle-full');
  }

  private sessionOpened(): void {
    this.evse.resume(CREDIT);
    this.clearWatchdog();
    this.plugFreshVehicle();
    this.anchorSession();
    this.simulated?.setEnergyLimit(this.simulated.deliveredWh() + this.creditWh());
    this.evse.enable();
  }

  private energy({ deliveredWh, paidWh }: EnergyPayload): void {
    // The charger itself stops at paid + credit, so the credit holds however late this event arrives.
    if (this.simulated && this.sessionStartWh !== null) {
      if (!this.meterCounting) {
        this.meterCounting = true;
        this.sessionStartWh = this.simulated.deliveredWh() - deliveredWh;
      }
      this.simulated.setEnergyLimit(this.sessionStartWh + paidWh + this.creditWh() + 1);
    }
    try {
      this.gate?.update(deliveredWh, paidWh);
    } catch (err) {
      this.emit('failure', 'credit', err);
    }
  }

  private sessionSettled(): void {
    this.evse.disable();
    this.clearWatchdog();
    this.sessionStartWh = null;
    this.meterCounting = false;
    this.simulated?.setEnergyLimit(null);
  }

  private creditWh(): number {
    return this.party?.offer.creditWh ?? 0;
  }

  /** A session starts, or resumes after a restart: its energy counts from here until its meter's first reading. */
  private anchorSession(): void {
    if (!this.simulated) return;
    this.sessionStartWh = this.simulated.deliveredWh();
    this.meterCounting = false;
  }

  private stopSession(reason: StopReason): void {
    const party = this.party;
    if (!party || party.phase === 'idle') return;
    party.stop(reason).catch((err) => this.emit('failure', 'stop', err));
  }

  /** Takes away the watchdog and its pause (a new session, a stopped one, or the operator's `resume`). */
  private clearWatchdog(): void {
    this.watchdog?.close();
    this.watchdog = null;
    this.evse.resume('watchdog');
  }

  /**
   * The watchdog guards energy that flows without payments, so it runs only while the vehicle draws. An expired
   * one stays, holding its pause, until the operator resumes or the session ends.
   */
  private superviseCharging(status: EvseStatus): void {
    if (this.watchdogMs === 0) return;
    if (status.charging && !this.watchdog) {
      const created = new Watchdog(this.evse, { timeoutMs: this.watchdogMs, clock: this.clock });
      created.on('expired', () => this.emit('watchdog', this.watchdogMs / 1000));
      this.watchdog = created;
    } else if (!status.charging && this.watchdog && !this.watchdog.expired) {
      this.watchdog.close();
      this.watchdog = null;
    }
  }

  /** A simulated vehicle for the demo: plugs one in when none is there, or replaces one that is full. */
  private plugFreshVehicle(): void {
    if (!this.autoPlug || !this.simulated) return;
    const present = this.simulated.vehicleState();
    if (present && !present.full) return;
    this.replacingVehicle = true;
    try {
      this.simulated.unplug();
      this.simulated.plug(this.vehicle);
    } finally {
      this.replacingVehicle = false;
    }
  }
}
