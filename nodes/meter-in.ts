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
import { dataDir, messageOf, numberSetting } from './support/runtime';

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
    /** Answers an input with its reading (none while a simulated meter waits for its EVSE). */
    const answer = (read: (msg: NodeMessageInFlow) => Promise<MeterReading | null>) => (msg: NodeMessageInFlow, send: (msg: NodeMessageInFlow) => void, done: (err?: Error) => void) => {
      read(msg).then(
        (reading) => {
          if (reading) send({ ...msg, topic: 'meter', payload: reading });
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
          return reading;
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
    const meter = new PolledMeter({
      supply: partyNode
        ? simulatedSupply(() => partyNode.evse)
        : ds18b20Supply({
            w1Directory: def.w1Directory,
            sensorId: (def.sensorId || '').trim(),
            wattsPerDegree: numberSetting(def.wattsPerDegree, 1000),
            baselineC: numberSetting(def.baselineC, 25),
          }),
      register: new RegisterFile(path.join(dataDir(RED, '', 'meters'), `${this.id}.json`)),
      intervalMs: pollIntervalMs(numberSetting(def.interval, 1)),
    });
    meter.on('reading', showReading);
    meter.on('waiting', () => this.status({ fill: 'yellow', shape: 'ring', text: RED._('meter-in.status.waiting') }));
    meter.on('polled', (reading: MeterReading) => this.send({ topic: 'meter', payload: reading }));
    meter.on('failure', (err: unknown, firstOfItsKind: boolean) => {
      showFailure();
      if (firstOfItsKind) this.error(RED._('meter-in.errors.read', { message: explain(err) }));
    });
    meter.on('unusable', (err: unknown) => {
      showFailure();
      this.error(RED._('meter-in.errors.config', { message: explain(err) }));
    });

    this.on('input', answer(() => meter.read()));
    this.on('close', (_removed: boolean, done: () => void) => {
      meter
        .close()
        .catch((err) => this.warn(messageOf(err)))
        .finally(done);
    });
  }
  RED.nodes.registerType('meter-in', MeterIn as never);
};
