import assert from 'node:assert/strict';
import path from 'node:path';
import { FlashError } from '../../../nodes/core/flash';
import { KeyPair, newKeyPair, ProtocolError, signEnvelope } from '../../../nodes/core/protocol';
import { Outgoing, Party, SessionJournal, SessionSnapshot, StationParty, TrustStore, VehicleParty } from '../../../nodes/core/session';
import { generateSeed, TangleConnection, Wallet } from '../../../nodes/core/wallet';
import { devTangle, tempDir } from '../../support/parties';

/** One character of a 2187-tryte signature fragment changed: still well formed, no longer a valid signature. */
function tamper(fragment: string): string {
  return (fragment[0] === 'A' ? 'B' : 'A') + fragment.slice(1);
}

describe('session: a wrong channel signature from the peer is refused and changes nothing', function () {
  const stationKeys: KeyPair = newKeyPair();
  let tangle: TangleConnection;
  let station: StationParty;
  let vehicle: VehicleParty;
  /** Messages held back instead of delivered, by type. */
  const held: Record<string, Outgoing> = {};

  before(async function () {
    tangle = await devTangle();
    const wallet = async () => {
      const w = new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle });
      await w.topUpFromFaucet(50);
      return w;
    };
    const common = { stationId: 'ST1', prefix: 'm2m-ev/v1', pollMs: 20 };
    station = new StationParty(
      { ...common, id: 'ST1', wallet: await wallet(), journal: new SessionJournal<SessionSnapshot>(path.join(tempDir(), 's.json')) },
      { pricePerKWh: 1000, incrementWh: 1, maxPowerW: 1_000_000, creditWh: 1, stationDeposit: 0, security: 1, maxDepth: 3 },
      stationKeys,
    );
    vehicle = new VehicleParty(
      { ...common, id: 'EV1', wallet: await wallet(), journal: new SessionJournal<SessionSnapshot>(path.join(tempDir(), 'v.json')) },
      { maxPricePerKWh: 1000, deposit: 10, maxStationDeposit: 0, targetWh: 0, maxPowerW: 1_000_000, meterToleranceWh: 0, maxDepth: 3, security: 1, autoStart: true },
      new TrustStore(path.join(tempDir(), 'trust.json')),
    );
    // Deliver everything except the first payment's cosignature and completion, which the tests hand over (those
    // of the opening state, signed while funding, go through).
    const link = (to: Party) => (out: Outgoing) => {
      const type = out.payload.type;
      if ((type === 'cosignature' || type === 'completion') && !held[type] && vehicle.phase === 'charging') {
        held[type] = out;
        return;
      }
      setImmediate(() => to.receive(out.stage, JSON.parse(JSON.stringify(out.payload))).catch(() => undefined));
    };
    station.on('send', link(vehicle));
    vehicle.on('send', link(station));
    const opened = new Promise((resolve) => vehicle.once('opened', resolve));
    await vehicle.start();
    await station.start();
    await opened;
    await station.meterReading({ registerWh: 100, timestamp: Date.now(), source: 'test' });
    await station.meterReading({ registerWh: 101, timestamp: Date.now(), source: 'test' });
    while (!held.cosignature) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  after(async () => {
    station.close();
    vehicle.close();
    await tangle.close();
  });

  it('a third party cannot even deliver a tampered co-signature: the message signature fails first', async function () {
    const forged = structuredClone(held.cosignature.payload) as { body: { signatures: string[][] } };
    forged.body.signatures[0][0] = tamper(forged.body.signatures[0][0]);
    const before = JSON.stringify(vehicle.session);
    await assert.rejects(vehicle.receive('pay', forged), (err: Error) => err instanceof ProtocolError && err.code === 'BAD_SIGNATURE');
    assert.equal(JSON.stringify(vehicle.session), before, 'nothing changed, not even the sequence');
  });

  it('the vehicle refuses a co-signature the station signed wrongly, though the message is authentic', async function () {
    const forged = structuredClone(held.cosignature.payload) as { body: { signatures: string[][] } };
    forged.body.signatures[0][0] = tamper(forged.body.signatures[0][0]);
    const before = JSON.stringify(vehicle.session.channel);
    await assert.rejects(vehicle.receive('pay', signEnvelope(forged, stationKeys)), (err: Error) => err instanceof FlashError && err.code === 'SIGNATURE_INVALID');
    assert.equal(JSON.stringify(vehicle.session.channel), before, 'the channel state is untouched');
    assert.equal(vehicle.session.paidIncrements, 0);
  });

  it('the station refuses a completion the vehicle signed wrongly, though the message is authentic', async function () {
    // The refused co-signature took its place in the sequence; the genuine one follows under the next number, the
    // vehicle completes, and the link holds the completion back.
    const genuine = signEnvelope({ ...held.cosignature.payload, seq: vehicle.session.inbound.lastSeq + 1 }, stationKeys);
    assert.equal(await vehicle.receive('pay', genuine), 'handled');
    while (!held.completion) await new Promise((resolve) => setTimeout(resolve, 20));
    const forged = structuredClone(held.completion.payload) as { body: { signatures: string[][] } };
    forged.body.signatures[0][0] = tamper(forged.body.signatures[0][0]);
    const before = JSON.stringify(station.session.channel);
    const vehicleKeys = vehicle.session.sessionKeys!;
    await assert.rejects(station.receive('pay', signEnvelope(forged, vehicleKeys)), (err: Error) => err instanceof FlashError && err.code === 'SIGNATURE_INVALID');
    assert.equal(JSON.stringify(station.session.channel), before, 'the channel state is untouched');
    assert.equal(station.session.paidIncrements, 0);
  });
});
