import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { CreditGate, Evse, EvseStatus, MqttCommand, MqttCommandEvse, SimulatedEvse, Watchdog } from './core/evse';
import type { StopReason } from './core/protocol';
import { EnergyEvent, StationParty } from './core/session';
import type { ChargingPartyNode } from './types';
import { messageOf, numberSetting } from './support/runtime';

type Driver = 'simulated' | 'openevse' | 'smartevse';

interface EvseControlDef extends NodeDef {
  party: string;
  driver: Driver;
  maxCurrentA: string;
  volts: string;
  phases: string;
  autoPlug: boolean;
  vehicleTargetWh: string;
  baseTopic: string;
  watchdog: string;
}

/** The operator's own pause reason, so that `resume` never lifts the credit gate's pause. */
const OPERATOR = 'remote';
const CREDIT = 'credit';

/**
 * `evse-control`: the station's charger, coupled to its charging session. Enabled when a session opens, held
 * paused by the credit gate while unpaid energy exceeds the credit, paused by the watchdog when payments go
 * silent while energy flows, disabled when the session stops; an unplugged or full vehicle stops the session.
 * Output 1: every status (`msg.topic` `evse`). Output 2: commands for an `mqtt out` node (MQTT drivers).
 */
export = function (RED: NodeAPI) {
  function EvseControl(this: Node, def: EvseControlDef) {
    RED.nodes.createNode(this, def);
    const fail = (key: string, message = '') => {
      this.error(RED._(key, { message }));
      this.status({ fill: 'red', shape: 'ring', text: RED._('evse-control.status.error') });
    };

    const partyNode = RED.nodes.getNode(def.party) as ChargingPartyNode | null;
    if (!partyNode) return fail('evse-control.errors.no-party');
    if (partyNode.role !== 'station') return fail('evse-control.errors.not-station');

    const driver: Driver = def.driver === 'openevse' || def.driver === 'smartevse' ? def.driver : 'simulated';
    const maxCurrentA = numberSetting(def.maxCurrentA, 16);
    const targetWh = numberSetting(def.vehicleTargetWh, 0);
    const vehicle = targetWh > 0 ? { targetWh } : {};
    const autoPlug = driver === 'simulated' && def.autoPlug !== false;
    const watchdogMs = Math.round(numberSetting(def.watchdog, 30) * 1000);
    let evse: Evse;
    try {
      evse =
        driver === 'simulated'
          ? new SimulatedEvse({ maxCurrentA, volts: numberSetting(def.volts, 230), phases: numberSetting(def.phases, 1) as 1 | 3 })
          : new MqttCommandEvse({ protocol: driver, baseTopic: (def.baseTopic || '').trim(), maxCurrentA });
      if (watchdogMs < 0) throw new RangeError(`the watchdog must be 0 (off) or more seconds, got ${def.watchdog}`);
    } catch (err) {
      return fail('evse-control.errors.config', messageOf(err));
    }
    const simulated = evse instanceof SimulatedEvse ? evse : null;
    const mqtt = evse instanceof MqttCommandEvse ? evse : null;

    if (partyNode.evse) this.warn(RED._('evse-control.warn.second-evse'));
    partyNode.evse = evse;

    let party: StationParty | null = null;
    /**
     * The simulated charger's delivered energy when the session's meter count began (its first reading; until then,
     * when the session opened). Its energy limit counts from there, one Wh above paid + credit, so that the limit
     * always leaves a whole increment for the meter to claim and the session can never stall at it.
     */
    let sessionStartWh: number | null = null;
    let meterCounting = false;
    const creditWh = () => party?.offer.creditWh ?? 0;
    let gate: CreditGate | null = null;
    let watchdog: Watchdog | null = null;
    let previous = evse.status();
    let replacingVehicle = false;
    let closed = false;

    /** A session starts, or resumes after a restart: its energy counts from here until its meter's first reading. */
    const anchorSession = () => {
      if (!simulated) return;
      sessionStartWh = simulated.deliveredWh();
      meterCounting = false;
    };

    const stopSession = (reason: StopReason) => {
      if (!party || party.phase === 'idle') return;
      party.stop(reason).catch((err) => this.error(RED._('evse-control.errors.stop', { message: messageOf(err) })));
    };

    /** Takes away the watchdog and its pause (a new session, a stopped one, or the operator's `resume`). */
    const clearWatchdog = () => {
      watchdog?.close();
      watchdog = null;
      evse.resume('watchdog');
    };

    /**
     * The watchdog guards energy that flows without payments, so it runs only while the vehicle draws. An expired
     * one stays, holding its pause, until the operator resumes or the session ends.
     */
    const superviseCharging = (status: EvseStatus) => {
      if (watchdogMs === 0) return;
      if (status.charging && !watchdog) {
        const created = new Watchdog(evse, { timeoutMs: watchdogMs });
        created.on('expired', () => this.warn(RED._('evse-control.warn.watchdog', { seconds: watchdogMs / 1000 })));
        watchdog = created;
      } else if (!status.charging && watchdog && !watchdog.expired) {
        watchdog.close();
        watchdog = null;
      }
    };

    /** A simulated vehicle for the demo: plugs one in when none is there, or replaces one that is full. */
    const plugFreshVehicle = () => {
      if (!simulated) return;
      const present = simulated.vehicleState();
      if (present && !present.full) return;
      replacingVehicle = true;
      try {
        simulated.unplug();
        simulated.plug(vehicle);
      } finally {
        replacingVehicle = false;
      }
    };

    const show = (status: EvseStatus) => {
      if (status.state === 'E' || status.state === 'F') {
        this.status({ fill: 'red', shape: 'dot', text: RED._('evse-control.status.fault', { state: status.state }) });
      } else if (status.mode === 'disabled') {
        this.status({ fill: 'grey', shape: 'ring', text: RED._('evse-control.status.disabled') });
      } else if (status.mode === 'paused') {
        this.status({ fill: 'yellow', shape: 'ring', text: RED._('evse-control.status.paused', { reasons: status.pauseReasons.join(', ') }) });
      } else if (!status.vehicleConnected) {
        this.status({ fill: 'grey', shape: 'dot', text: RED._('evse-control.status.no-vehicle') });
      } else if (status.charging) {
        this.status({ fill: 'green', shape: 'dot', text: RED._('evse-control.status.charging', { amps: status.offeredCurrentA }) });
      } else {
        this.status({ fill: 'blue', shape: 'ring', text: RED._('evse-control.status.connected') });
      }
    };

    evse.on('status', (status) => {
      this.send([{ topic: 'evse', payload: status }, null]);
      show(status);
      superviseCharging(status);
      const unplugged = previous.vehicleConnected && !status.vehicleConnected;
      previous = status;
      if (unplugged && !replacingVehicle) stopSession('unplugged');
      else if (status.reason === 'vehicle-full') stopSession('vehicle-full');
    });
    /** A command for the charger, as output 2 sends it to an `mqtt out` node. */
    const onOutput2 = (command: MqttCommand) => [null, { topic: command.topic, payload: command.payload }];
    if (mqtt) mqtt.on('command', (command: MqttCommand) => this.send(onOutput2(command)));

    // Sends only reach nodes that exist: the first status (and, for a real charger, "you are disabled") waits
    // until the whole flow has started.
    const announce = () => {
      this.send([{ topic: 'evse', payload: evse.status() }, null]);
      for (const command of mqtt?.commands() ?? []) this.send(onOutput2(command));
    };
    RED.events.once('flows:started', announce);
    if (autoPlug) plugFreshVehicle();
    show(evse.status());

    const partyListeners: [string, (payload: unknown) => void][] = [
      [
        'opened',
        () => {
          evse.resume(CREDIT);
          clearWatchdog();
          if (autoPlug) plugFreshVehicle();
          anchorSession();
          simulated?.setEnergyLimit(simulated.deliveredWh() + creditWh());
          evse.enable();
        },
      ],
      [
        'energy',
        (payload) => {
          const { deliveredWh, paidWh } = payload as EnergyEvent;
          // The charger itself stops at paid + credit, so the credit holds however late this event arrives.
          if (simulated && sessionStartWh !== null) {
            if (!meterCounting) {
              meterCounting = true;
              sessionStartWh = simulated.deliveredWh() - deliveredWh;
            }
            simulated.setEnergyLimit(sessionStartWh + paidWh + creditWh() + 1);
          }
          try {
            gate?.update(deliveredWh, paidWh);
          } catch (err) {
            this.error(RED._('evse-control.errors.credit', { message: messageOf(err) }));
          }
        },
      ],
      ['paid', () => watchdog?.kick()],
      ['stopping', () => evse.disable()],
      [
        'settled',
        () => {
          evse.disable();
          clearWatchdog();
          sessionStartWh = null;
          meterCounting = false;
          simulated?.setEnergyLimit(null);
        },
      ],
      [
        'phase',
        (phase) => {
          if (phase === 'idle' && autoPlug) plugFreshVehicle();
        },
      ],
    ];

    partyNode.party.then(
      (started) => {
        if (closed) return;
        if (!(started instanceof StationParty)) return fail('evse-control.errors.not-station');
        party = started;
        gate = new CreditGate(evse, { incrementWh: started.offer.incrementWh, creditWh: started.offer.creditWh }, CREDIT);
        for (const [event, listener] of partyListeners) started.on(event, listener);
        // A session restored from the journal goes on; the next meter reading brings the credit gate up to date.
        const session = started.session;
        if (session.phase === 'charging' && !session.stopReason) {
          // What was paid and delivered comes with the next meter reading, which sets the energy limit again.
          anchorSession();
          evse.enable();
        }
      },
      () => {
        if (!closed) this.status({ fill: 'red', shape: 'ring', text: RED._('evse-control.status.no-party') });
      },
    );

    // An `mqtt out` node drops what it is given before its broker connects, which is likely for the announcement
    // above; the charger's first report proves the link is up, so the full command set goes out again then.
    let chargerHeard = false;
    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      try {
        if (mqtt && typeof msg.topic === 'string' && msg.topic.startsWith(`${mqtt.baseTopic}/`)) {
          if (mqtt.handleMessage(msg.topic, msg.payload) && !chargerHeard) {
            chargerHeard = true;
            for (const command of mqtt.commands()) send(onOutput2(command));
          }
        } else {
          command(msg.payload);
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    });

    function command(payload: unknown): void {
      if (typeof payload === 'number') {
        evse.setCurrentLimit(payload);
        return;
      }
      if (payload !== null && typeof payload === 'object' && 'currentLimit' in payload) {
        evse.setCurrentLimit((payload as { currentLimit: number }).currentLimit);
        return;
      }
      const name = typeof payload === 'string' ? payload.trim().toLowerCase() : '';
      switch (name) {
        case 'enable':
          return evse.enable();
        case 'disable':
          return evse.disable();
        case 'pause':
          return evse.pause(OPERATOR);
        case 'resume':
          // The operator decides after a watchdog stop; an unpaid balance still holds the credit pause.
          clearWatchdog();
          return evse.resume(OPERATOR);
        case 'plug':
        case 'unplug':
          if (!simulated) throw new Error(RED._('evse-control.errors.simulated-only', { command: name }));
          return name === 'plug' ? simulated.plug(vehicle) : simulated.unplug();
        default:
          throw new Error(RED._('evse-control.errors.unknown-command', { command: String(payload) }));
      }
    }

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      RED.events.off('flows:started', announce);
      for (const [event, listener] of partyListeners) party?.off(event, listener);
      watchdog?.close();
      if (partyNode.evse === evse) partyNode.evse = null;
      evse.close();
      done();
    });
  }
  RED.nodes.registerType('evse-control', EvseControl as never);
};
