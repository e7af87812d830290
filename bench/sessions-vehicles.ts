import path from 'node:path';
import { SessionJournal, type SessionSnapshot, TrustStore, VehicleParty } from '../nodes/core/session';
import { connectTangle, generateSeed, Wallet } from '../nodes/core/wallet';
import { tempDir } from '../test/support/parties';
import { MqttLink, PREFIX } from './mqtt-link';

/**
 * The vehicles of the sessions bench, in a process of their own so that the station process's CPU and memory are
 * the station's. Started by sessions.bench.ts with its settings as JSON in argv[2]; says `ready` once every
 * vehicle listens for its station's offer, and on `stop` closes them and answers with their MQTT errors (messages refused or not sent).
 */
export interface VehiclesSettings {
  brokerPort: number;
  tangleUrl: string;
  stationIds: string[];
  security: 1 | 2 | 3;
  deposit: number;
}

export type VehiclesMessage = { type: 'ready' } | { type: 'stopped'; errors: string[] } | { type: 'failed'; error: string };

async function main(settings: VehiclesSettings): Promise<void> {
  const tangle = await connectTangle({
    mode: 'remote', url: settings.tangleUrl, dataDir: '', host: '', port: 0, minWeightMagnitude: 5, depth: 3,
    milestoneIntervalMs: 0, dev: true, localPow: false, powWorkers: 1,
  });
  const link = await MqttLink.connect(settings.brokerPort);
  const vehicles = await Promise.all(
    settings.stationIds.map(async (stationId, i) => {
      const dir = tempDir();
      const wallet = new Wallet({ seed: generateSeed(), security: settings.security, dataDir: path.join(dir, 'wallet'), tangle });
      await wallet.topUpFromFaucet(settings.deposit);
      const vehicle = new VehicleParty(
        { id: `EV${i}`, stationId, prefix: PREFIX, wallet, journal: new SessionJournal<SessionSnapshot>(path.join(dir, 'vehicle.json')), pollMs: 200 },
        {
          maxPricePerKWh: 200, deposit: settings.deposit, maxStationDeposit: 100, targetWh: 0, maxPowerW: 100_000, meterToleranceWh: 0,
          maxDepth: 8, security: settings.security, autoStart: true,
        },
        new TrustStore(path.join(dir, 'trust.json')),
      );
      // Linked once started: the station's retained offer arrives as soon as the vehicle subscribes.
      await vehicle.start();
      await link.add(vehicle, stationId);
      return vehicle;
    }),
  );
  const send = (message: VehiclesMessage) => process.send!(message);
  send({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    for (const vehicle of vehicles) vehicle.close();
    void link
      .close()
      .then(() => tangle.close())
      .finally(() => {
        send({ type: 'stopped', errors: link.errors });
        process.disconnect();
      });
  });
}

main(JSON.parse(process.argv[2]) as VehiclesSettings).catch((err: Error) => {
  process.send!({ type: 'failed', error: err.stack ?? err.message } satisfies VehiclesMessage);
  process.exitCode = 1;
  process.disconnect();
});
