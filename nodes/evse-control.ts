import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { ChargerCommandError, EvseStatus, MqttCommand, MqttCommandEvse, SessionCharger, SimulatedEvse } from './core/evse';
import { StationParty } from './core/session';
import { ConnectorCoupling, SiteSnapshot } from './core/site';
import type { ChargingPartyNode } from './types';
import { connectorField, isMqttTopic, messageOf, namedConnector, numberSetting } from './support/runtime';

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
 * `evse-control`: the station's chargers (core SessionCharger), one per connector, each coupled to its connector's
 * session and, when the station has a site limit, to the site budget (core ConnectorCoupling). This node makes the
 * chargers from its settings and translates: output 1 every status (`msg.topic` `evse`) and the site's shares
 * (`site`), output 2 commands for an `mqtt out` node (MQTT drivers); input: commands (to `msg.connector`, or to
 * every connector), a new site limit, and the MQTT chargers' reports.
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
    const ids = partyNode.connectorIds;
    // A real charger per connector: one base topic each, separated by commas.
    const baseTopics = (def.baseTopic || '').split(',').map((topic) => topic.trim());
    const chargers = new Map<string, SessionCharger>();
    try {
      if (driver !== 'simulated' && baseTopics.length !== ids.length) {
        throw new RangeError(`${ids.length} connectors need ${ids.length} base topics, separated by commas; got ${baseTopics.length}`);
      }
      ids.forEach((id, i) => {
        const evse =
          driver === 'simulated'
            ? new SimulatedEvse({ maxCurrentA, volts: numberSetting(def.volts, 230), phases: numberSetting(def.phases, 1) as 1 | 3 })
            : new MqttCommandEvse({ protocol: driver, baseTopic: baseTopics[i], maxCurrentA });
        chargers.set(id, new SessionCharger(evse, {
          autoPlug: def.autoPlug !== false,
          vehicle: targetWh > 0 ? { targetWh } : {},
          watchdogMs: Math.round(numberSetting(def.watchdog, 30) * 1000),
        }));
      });
    } catch (err) {
      return fail('evse-control.errors.config', messageOf(err));
    }

    if (partyNode.evses.size > 0) this.warn(RED._('evse-control.warn.second-evse'));
    for (const [id, charger] of chargers) partyNode.evses.set(id, charger.evse);
    const site = partyNode.site;
    const couplings: ConnectorCoupling[] = [];
    let closed = false;
    // Every status names the station (msg.party); with several connectors, its connector too.
    const several = ids.length > 1;
    const named = (id: string) => ({ party: partyNode.partyId, ...connectorField(several, id) });

    /** A pause reason in words; a reason without words in the catalogue shows as its code. */
    const reasonText = (reason: string) => {
      const key = `evse-control.reason.${reason}`;
      const text = RED._(key);
      return text === key ? reason : text;
    };
    const show = (status: EvseStatus, id: string) => {
      const prefix = several ? `${id}: ` : '';
      const fault = status.state === 'E' || status.state === 'F';
      // Several connectors on a site budget: the status shows the site (showSite), unless a charger is at fault.
      if (several && site && !fault) return;
      if (fault) {
        this.status({ fill: 'red', shape: 'dot', text: prefix + RED._('evse-control.status.fault', { state: status.state }) });
      } else if (status.mode === 'disabled') {
        this.status({ fill: 'grey', shape: 'ring', text: prefix + RED._('evse-control.status.disabled') });
      } else if (status.mode === 'paused') {
        this.status({ fill: 'yellow', shape: 'ring', text: prefix + RED._('evse-control.status.paused', { reasons: status.pauseReasons.map(reasonText).join(', ') }) });
      } else if (!status.vehicleConnected) {
        this.status({ fill: 'grey', shape: 'dot', text: prefix + RED._('evse-control.status.no-vehicle') });
      } else if (status.charging) {
        this.status({ fill: 'green', shape: 'dot', text: prefix + RED._('evse-control.status.charging', { amps: status.offeredCurrentA }) });
      } else {
        this.status({ fill: 'blue', shape: 'ring', text: prefix + RED._('evse-control.status.connected') });
      }
    };
    const sendStatus = (status: EvseStatus, id: string) => this.send([{ topic: 'evse', payload: status, ...named(id) }, null]);
    const sendCommand = (command: MqttCommand) => this.send([null, { topic: command.topic, payload: command.payload }]);
    const showSite = (snapshot: SiteSnapshot) => {
      if (!several) return;
      const count = (state: string) => snapshot.connectors.filter((c) => c.state === state).length;
      const text = RED._('evse-control.status.site', { allocated: snapshot.allocatedA, limit: snapshot.limitA, charging: count('charging'), waiting: count('queued') });
      this.status({ fill: snapshot.allocatedA > 0 ? 'green' : 'grey', shape: 'dot', text });
    };
    const sendSite = (snapshot: SiteSnapshot) => {
      this.send([{ topic: 'site', payload: snapshot, party: partyNode.partyId }, null]);
      showSite(snapshot);
    };

    for (const [id, charger] of chargers) {
      charger.on('status', (status: EvseStatus) => {
        sendStatus(status, id);
        show(status, id);
      });
      charger.on('command', sendCommand);
      charger.on('watchdog', (seconds: number) => this.warn(RED._('evse-control.warn.watchdog', { seconds })));
      charger.on('failure', (what: 'stop' | 'credit', err: unknown) => this.error(RED._(`evse-control.errors.${what}`, { message: messageOf(err) })));
    }
    site?.on('site', sendSite);

    // Sends only reach nodes that exist: the first status (and, for a real charger, "you are disabled") waits
    // until the whole flow has started.
    const announce = () => {
      for (const [id, charger] of chargers) {
        sendStatus(charger.status(), id);
        for (const command of charger.commands()) sendCommand(command);
      }
      if (site) sendSite(site.snapshot());
    };
    RED.events.once('flows:started', announce);
    for (const [id, charger] of chargers) show(charger.status(), id);
    if (site) showSite(site.snapshot());

    partyNode.parties.then(
      (parties) => {
        if (closed) return;
        for (const [id, charger] of chargers) {
          const party = parties.get(id);
          if (!(party instanceof StationParty)) return fail('evse-control.errors.not-station');
          // The site share first, so that a session restored mid-charge is enabled at its share, never above.
          if (site) {
            site.addConnector(id, maxCurrentA);
            couplings.push(new ConnectorCoupling(site, id, party, charger.evse));
          }
          charger.attach(party);
        }
      },
      () => {
        if (!closed) this.status({ fill: 'red', shape: 'ring', text: RED._('evse-control.status.no-party') });
      },
    );

    /** A new site limit, or a command for the connector `msg.connector` names (for every one without it). */
    const operatorCommand = (msg: NodeMessageInFlow) => {
      const connector = (msg as { connector?: unknown }).connector;
      const limit = (msg.payload as { siteLimitA?: unknown } | null)?.siteLimitA;
      if (limit !== undefined) {
        if (!site) throw new Error(RED._('evse-control.errors.no-site'));
        return site.setLimit(limit as number);
      }
      if (connector === undefined) {
        for (const charger of chargers.values()) charger.command(msg.payload);
        return;
      }
      namedConnector(chargers, connector, (name, connectors) => RED._('evse-control.errors.no-connector', { connector: name, connectors })).command(msg.payload);
    };

    this.on('input', (msg: NodeMessageInFlow, _send, done) => {
      try {
        const mqtt = [...chargers.values()].find((charger) => charger.isChargerTopic(msg.topic));
        if (mqtt) mqtt.chargerMessage(msg.topic as string, msg.payload);
        else if (!isMqttTopic(msg.topic)) operatorCommand(msg);
        done();
      } catch (err) {
        if (err instanceof ChargerCommandError) done(new Error(RED._(`evse-control.errors.${err.code}`, { command: err.command })));
        else done(err as Error);
      }
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      RED.events.off('flows:started', announce);
      site?.off('site', sendSite);
      for (const coupling of couplings) {
        coupling.close();
        site?.removeConnector(coupling.connectorId);
      }
      for (const [id, charger] of chargers) {
        if (partyNode.evses.get(id) === charger.evse) partyNode.evses.delete(id);
        charger.close();
      }
      done();
    });
  }
  RED.nodes.registerType('evse-control', EvseControl as never);
};
