import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { ChargerCommandError, EvseStatus, MqttCommand, MqttCommandEvse, SessionCharger, SimulatedEvse } from './core/evse';
import { StationParty } from './core/session';
import type { ChargingPartyNode } from './types';
import { isMqttTopic, messageOf, numberSetting } from './support/runtime';

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

/**
 * `evse-control`: the station's charger (core SessionCharger), coupled to its charging session. This node makes
 * the charger from its settings and translates: output 1 every status (`msg.topic` `evse`), output 2 commands for
 * an `mqtt out` node (MQTT drivers); input: commands, and the MQTT charger's reports.
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
    let charger: SessionCharger;
    try {
      const evse =
        driver === 'simulated'
          ? new SimulatedEvse({ maxCurrentA, volts: numberSetting(def.volts, 230), phases: numberSetting(def.phases, 1) as 1 | 3 })
          : new MqttCommandEvse({ protocol: driver, baseTopic: (def.baseTopic || '').trim(), maxCurrentA });
      charger = new SessionCharger(evse, {
        autoPlug: def.autoPlug !== false,
        vehicle: targetWh > 0 ? { targetWh } : {},
        watchdogMs: Math.round(numberSetting(def.watchdog, 30) * 1000),
      });
    } catch (err) {
      return fail('evse-control.errors.config', messageOf(err));
    }

    if (partyNode.evse) this.warn(RED._('evse-control.warn.second-evse'));
    partyNode.evse = charger.evse;
    let closed = false;

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
    const sendStatus = (status: EvseStatus) => this.send([{ topic: 'evse', payload: status }, null]);
    const sendCommand = (command: MqttCommand) => this.send([null, { topic: command.topic, payload: command.payload }]);

    charger.on('status', (status: EvseStatus) => {
      sendStatus(status);
      show(status);
    });
    charger.on('command', sendCommand);
    charger.on('watchdog', (seconds: number) => this.warn(RED._('evse-control.warn.watchdog', { seconds })));
    charger.on('failure', (what: 'stop' | 'credit', err: unknown) => this.error(RED._(`evse-control.errors.${what}`, { message: messageOf(err) })));

    // Sends only reach nodes that exist: the first status (and, for a real charger, "you are disabled") waits
    // until the whole flow has started.
    const announce = () => {
      sendStatus(charger.status());
      for (const command of charger.commands()) sendCommand(command);
    };
    RED.events.once('flows:started', announce);
    show(charger.status());

    partyNode.party.then(
      (party) => {
        if (closed) return;
        if (!(party instanceof StationParty)) return fail('evse-control.errors.not-station');
        charger.attach(party);
      },
      () => {
        if (!closed) this.status({ fill: 'red', shape: 'ring', text: RED._('evse-control.status.no-party') });
      },
    );

    this.on('input', (msg: NodeMessageInFlow, _send, done) => {
      try {
        if (charger.isChargerTopic(msg.topic)) charger.chargerMessage(msg.topic, msg.payload);
        else if (!isMqttTopic(msg.topic)) charger.command(msg.payload);
        done();
      } catch (err) {
        if (err instanceof ChargerCommandError) done(new Error(RED._(`evse-control.errors.${err.code}`, { command: err.command })));
        else done(err as Error);
      }
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      RED.events.off('flows:started', announce);
      if (partyNode.evse === charger.evse) partyNode.evse = null;
      charger.close();
      done();
    });
  }
  RED.nodes.registerType('evse-control', EvseControl as never);
};
