import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SimulatedEvse } from './core/evse';
import { Ds18b20Meter, EnergyUnit, Meter, MeterReading, MsgInputMeter, SimulatedMeter } from './core/meter';
import type { ChargingPartyNode } from './types';
import { RegisterFile } from './support/register-file';
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
 * simulated sources are polled (and read at once on any input); the `msg` source turns input messages into
 * readings. See docs/HARDWARE.md for the meters themselves.
 */
export = function (RED: NodeAPI) {
  function MeterIn(this: Node, def: MeterInDef) {
    RED.nodes.createNode(this, def);
    const source: MeterSource = def.source === 'simulated' || def.source === 'msg' ? def.source : 'ds18b20';
    const showReading = (reading: MeterReading) =>
      this.status({ fill: 'green', shape: 'dot', text: RED._('meter-in.status.reading', { wh: reading.registerWh }) });
    const showFailure = () => this.status({ fill: 'red', shape: 'ring', text: RED._('meter-in.status.failed') });

    if (source === 'msg') {
      const meter = new MsgInputMeter({ unit: def.unit === 'kWh' ? 'kWh' : 'Wh' });
      this.on('input', (msg: NodeMessageInFlow, send, done) => {
        try {
          const { payload } = msg;
          const fields = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : null;
          const reading = fields ? meter.accept(fields.registerWh, fields.timestamp) : meter.accept(payload);
          showReading(reading);
          msg.topic = 'meter';
          msg.payload = reading;
          send(msg);
          done();
        } catch (err) {
          showFailure();
          done(err as Error);
        }
      });
      return;
    }

    // An interval of 0 or less, which the editor refuses, falls back to the default; and never more than 100 reads a second.
    const seconds = numberSetting(def.interval, 1);
    const intervalMs = seconds > 0 ? Math.max(10, Math.round(seconds * 1000)) : 1000;
    const registerFile = new RegisterFile(path.join(dataDir(RED, '', 'meters'), `${this.id}.json`));
    const partyNode = source === 'simulated' ? (RED.nodes.getNode(def.party) as ChargingPartyNode | null) : null;
    if (source === 'simulated' && !partyNode) {
      this.error(RED._('meter-in.errors.no-party'));
      showFailure();
      return;
    }
    let lastRegisterWh = 0;
    let sensorMeter: Ds18b20Meter | null = null;
    let simulated: { evse: SimulatedEvse; meter: SimulatedMeter } | null = null;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;

    /** The meter to read now; null while a simulated meter waits for its EVSE. */
    const currentMeter = (): Meter | null => {
      if (sensorMeter || !partyNode) return sensorMeter;
      const evse = partyNode.evse;
      if (!evse) return null;
      if (!(evse instanceof SimulatedEvse)) throw new Error(RED._('meter-in.errors.not-simulated'));
      // A redeployed evse-control brings a new simulator that counts from 0: carry the register over.
      if (simulated?.evse !== evse) simulated = { evse, meter: new SimulatedMeter(evse, { initialRegisterWh: lastRegisterWh }) };
      return simulated.meter;
    };

    const ready = registerFile.load().then((savedWh) => {
      lastRegisterWh = savedWh;
      if (source === 'ds18b20') {
        sensorMeter = new Ds18b20Meter({
          w1Directory: def.w1Directory,
          sensorId: (def.sensorId || '').trim(),
          wattsPerDegree: numberSetting(def.wattsPerDegree, 1000),
          baselineC: numberSetting(def.baselineC, 25),
          initialRegisterWh: savedWh,
        });
      }
    });

    /** One reading, saved before anyone sees it, or null while waiting for an EVSE. */
    const readOnce = async (): Promise<MeterReading | null> => {
      await ready;
      const meter = currentMeter();
      if (!meter) {
        this.status({ fill: 'yellow', shape: 'ring', text: RED._('meter-in.status.waiting') });
        return null;
      }
      const reading = await meter.read();
      await registerFile.save(reading);
      lastRegisterWh = reading.registerWh;
      showReading(reading);
      return reading;
    };

    // A sensor that stays broken is logged once, not every poll; the status stays red until a reading succeeds.
    let lastFailure = '';
    const poll = () => {
      timer = undefined;
      readOnce()
        .then(
          (reading) => {
            lastFailure = '';
            if (reading && !closed) this.send({ topic: 'meter', payload: reading });
          },
          (err) => {
            if (closed) return;
            showFailure();
            if (messageOf(err) !== lastFailure) this.error(RED._('meter-in.errors.read', { message: messageOf(err) }));
            lastFailure = messageOf(err);
          },
        )
        .finally(() => {
          if (!closed) timer = setTimeout(poll, intervalMs);
        });
    };
    ready.then(poll, (err) => {
      showFailure();
      this.error(RED._('meter-in.errors.config', { message: messageOf(err) }));
    });

    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      readOnce().then(
        (reading) => {
          if (reading) {
            msg.topic = 'meter';
            msg.payload = reading;
            send(msg);
          }
          done();
        },
        (err) => {
          showFailure();
          done(err as Error);
        },
      );
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      ready
        .then(() => sensorMeter?.close(), () => undefined)
        .then(() => registerFile.settled())
        .catch((err) => this.warn(messageOf(err)))
        .finally(done);
    });
  }
  RED.nodes.registerType('meter-in', MeterIn as never);
};
