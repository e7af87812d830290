import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  ds18b20Supply,
  EnergyUnit,
  MeterReading,
  MsgInputMeter,
  NotSimulatedError,
  PolledMeter,
  pollIntervalMs,
  RegisterFile,
  simulatedSupply,
} from './core/meter';
import type { ChargingPartyNode } from './types';
import { connectorField, dataDir, messageOf, numberSetting } from './support/runtime';

type MeterSource = 'ds18b20' | 'simulated' | 'msg';

interface MeterInDef extends NodeDef {
  source: MeterSource;
  interval: string;
  w1Directory: string;
  sensorId: string;
  wattsPerDegree: string;
  baselineC: string;
  party: string;
  unit: EnergyUnit;
}

/**
 * `meter-in`: energy readings for a station, `msg.payload` = MeterReading, `msg.topic` = `meter`. The DS18B20 and
 * simulated sources are polled (core PolledMeter; read at once on any input); the `msg` source turns input
 * messages into readings (core MsgInputMeter). See docs/HARDWARE.md for the meters themselves.
 */
export = function (RED: NodeAPI) {
  function MeterIn(this: Node, def: MeterInDef) {
    RED.nodes.createNode(this, def);
    const source: MeterSource = def.source === 'simulated' || def.source === 'msg' ? def.source : 'ds18b20';
    const showReading = (reading: MeterReading) =>
      this.status({ fill: 'green', shape: 'dot', text: RED._('meter-in.status.reading', { wh: reading.registerWh }) });
    const showFailure = () => this.status({ fill: 'red', shape: 'ring', text: RED._('meter-in.status.failed') });
    const explain = (err: unknown) => (err instanceof NotSimulatedError ? RED._('meter-in.errors.not-simulated') : messageOf(err));
    /**
     * Answers an input with its readings, one message each, with the connector it is for when the station has
     * several (none while a simulated meter waits for its EVSE).
     */
    type Answer = { reading: MeterReading | null; named?: { connector?: string } };
    const answer = (read: (msg: NodeMessageInFlow) => Promise<Answer[]>) => (msg: NodeMessageInFlow, send: (msg: NodeMessageInFlow) => void, done: (err?: Error) => void) => {
      read(msg).then(
        (answers) => {
          for (const { reading, named } of answers) if (reading) send({ ...msg, topic: 'meter', payload: reading, ...named });
          done();
        },
        (err) => {
          showFailure();
          done(new Error(explain(err)));
        },
      );
    };

    if (source === 'msg') {
      const meter = new MsgInputMeter({ unit: def.unit === 'kWh' ? 'kWh' : 'Wh' });
      this.on(
        'input',
        answer(async (msg) => {
          const reading = meter.acceptPayload(msg.payload);
          showReading(reading);
          return [{ reading }];
        }),
      );
      return;
    }

    const partyNode = source === 'simulated' ? (RED.nodes.getNode(def.party) as ChargingPartyNode | null) : null;
    if (source === 'simulated' && !partyNode) {
      this.error(RED._('meter-in.errors.no-party'));
      showFailure();
      return;
    }
    // A simulated meter per connector of the station; a DS18B20 is one meter.
    const connectorIds = partyNode?.connectorIds ?? [''];
    const several = connectorIds.length > 1;
    const meters = connectorIds.map((connectorId) => {
      const meter = new PolledMeter({
        supply: partyNode
          ? simulatedSupply(() => partyNode.evses.get(connectorId) ?? null)
          : ds18b20Supply({
              w1Directory: def.w1Directory,
              sensorId: (def.sensorId || '').trim(),
              wattsPerDegree: numberSetting(def.wattsPerDegree, 1000),
              baselineC: numberSetting(def.baselineC, 25),
            }),
        register: new RegisterFile(path.join(dataDir(RED, '', 'meters'), several ? `${this.id}-${connectorId}.json` : `${this.id}.json`)),
        intervalMs: pollIntervalMs(numberSetting(def.interval, 1)),
      });
      const named = connectorField(several, connectorId);
      meter.on('reading', showReading);
      meter.on('waiting', () => this.status({ fill: 'yellow', shape: 'ring', text: RED._('meter-in.status.waiting') }));
      meter.on('polled', (reading: MeterReading) => this.send({ topic: 'meter', payload: reading, ...named }));
      meter.on('failure', (err: unknown, firstOfItsKind: boolean) => {
        showFailure();
        if (firstOfItsKind) this.error(RED._('meter-in.errors.read', { message: explain(err) }));
      });
      meter.on('unusable', (err: unknown) => {
        showFailure();
        this.error(RED._('meter-in.errors.config', { message: explain(err) }));
      });
      return { meter, named };
    });

    // Any input reads every meter at once.
    this.on('input', answer(() => Promise.all(meters.map(async ({ meter, named }) => ({ reading: await meter.read(), named })))));
    this.on('close', (_removed: boolean, done: () => void) => {
      Promise.all(meters.map(({ meter }) => meter.close()))
        .catch((err) => this.warn(messageOf(err)))
        .finally(done);
    });
  }
  RED.nodes.registerType('meter-in', MeterIn as never);
};
