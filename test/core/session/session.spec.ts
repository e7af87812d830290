import assert from 'node:assert/strict';
import path from 'node:path';
import { Outgoing, SessionJournal, SessionRecord, SessionSnapshot, StationParty, TrustStore, VehicleParty, PaymentEvent } from '../../../nodes/core/session';
import { newKeyPair } from '../../../nodes/core/protocol';
import { generateSeed, TangleConnection, Wallet } from '../../../nodes/core/wallet';
import { devTangle, tempDir } from '../../support/parties';
import { until } from '../../support/wait';
import type { Party } from '../../../nodes/core/session';

/** Carries messages between the parties as MQTT would: serialised, asynchronously, one at a time per side. */
function link(station: Party, vehicle: Party, errors: Error[]): void {
  const deliver = (to: Party) => (out: Outgoing) =>
    setImmediate(() => to.receive(out.stage, JSON.stringify(out.payload)).catch((err: Error) => errors.push(err)));
  station.on('send', deliver(vehicle));
  vehicle.on('send', deliver(station));
}

function waitFor<T>(emitter: Party, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

describe('session: a whole charging session between a station and a vehicle (embedded Tangle, real crypto)', function () {
  let tangle: TangleConnection;
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());

  it('knows the topics addressed to it: each stage of its own side, and the offer on a vehicle', function () {
    const common = { stationId: 'ST1', prefix: 'm2m-ev/v1', journal: new SessionJournal<SessionSnapshot>(path.join(tempDir(), 'journal.json')) };
    const wallet = () => new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle });
    const station = new StationParty({ ...common, id: 'ST1', wallet: wallet() }, { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 0, security: 1, maxDepth: 8 }, newKeyPair());
    const vehicle = new VehicleParty(
      { ...common, id: 'EV1', wallet: wallet() },
      { maxPricePerKWh: 200, deposit: 40, maxStationDeposit: 100, targetWh: 120, maxPowerW: 11000, meterToleranceWh: 0, maxDepth: 8, security: 1, autoStart: true },
      new TrustStore(path.join(tempDir(), 'trust.json')),
    );
    const topics = ['offer', 'open/station', 'pay/station', 'settle/station', 'open/vehicle', 'pay/vehicle', 'settle/vehicle'].map((t) => `m2m-ev/v1/ST1/${t}`);
    assert.deepEqual(topics.map((t) => station.stageOf(t)), [null, 'open', 'pay', 'settle', null, null, null]);
    assert.deepEqual(topics.map((t) => vehicle.stageOf(t)), ['offer', null, null, null, 'open', 'pay', 'settle']);
    for (const other of ['m2m-ev/v1/ST2/open/station', 'm2m-ev/v2/ST1/open/station', 'm2m-ev/v1/ST1/open/station/x', 'pay', undefined]) {
      assert.equal(station.stageOf(other), null, String(other));
    }
  });

  it('opens with equal deposits, pays every increment, stops at the target and settles to the token', async function () {
    let clock = Date.now();
    const now = () => clock;
    const stationWallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle });
    const vehicleWallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle });
    await stationWallet.topUpFromFaucet(100);
    await vehicleWallet.topUpFromFaucet(100);
    const common = { stationId: 'ST1', prefix: 'm2m-ev/v1', now, pollMs: 20 };
    const station = new StationParty(
      { ...common, id: 'ST1', wallet: stationWallet, journal: new SessionJournal<SessionSnapshot>(path.join(tempDir(), 'station.json')) },
      { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 40, security: 1, maxDepth: 8 },
      newKeyPair(),
    );
    const vehicle = new VehicleParty(
      { ...common, id: 'EV1', wallet: vehicleWallet, journal: new SessionJournal<SessionSnapshot>(path.join(tempDir(), 'vehicle.json')) },
      { maxPricePerKWh: 200, deposit: 40, maxStationDeposit: 100, targetWh: 120, maxPowerW: 11000, meterToleranceWh: 0, maxDepth: 8, security: 1, autoStart: true },
      new TrustStore(path.join(tempDir(), 'trust.json')),
    );
    const errors: Error[] = [];
    link(station, vehicle, errors);
    const payments: PaymentEvent[] = [];
    station.on('paid', (p: PaymentEvent) => payments.push(p));
    const opened = waitFor(station, 'opened');
    const stationSettled = waitFor<SessionRecord>(station, 'settled');
    const vehicleSettled = waitFor<SessionRecord>(vehicle, 'settled');

    await vehicle.start();
    await station.start(); // publishes the offer; the vehicle opens by itself
    await opened;

    // 10 s per reading at 3.6 kW: 10 Wh each, one increment per reading.
    let register = 5000;
    while (station.phase === 'charging' && !station.session.stopReason) {
      clock += 10_000;
      register += 10;
      await station.meterReading({ registerWh: register, timestamp: clock, source: 'test' });
      await until(() => station.session.paidIncrements >= station.session.claimedIncrements || station.session.stopReason !== null, 'the claim to be paid');
    }
    const [stationRecord, vehicleRecord] = await Promise.all([stationSettled, vehicleSettled]);
    assert.deepEqual(errors, []);

    assert.equal(stationRecord.remark, 'target-reached');
    assert.equal(stationRecord.energy_wh, 120);
    assert.equal(stationRecord.increments, 12);
    assert.equal(stationRecord.total_cost.excl_vat, 12);
    assert.deepEqual(stationRecord.channel.final_balances, { vehicle: 28, station: 52 });
    assert.deepEqual(vehicleRecord.channel.final_balances, stationRecord.channel.final_balances);
    assert.equal(payments.length, 12);
    assert.deepEqual(payments.map((p) => p.amount), Array(12).fill(1));

    // The Tangle agrees: each party's wallet holds its deposit back plus or minus what was paid.
    assert.equal((await stationWallet.balance()).total, 100 - 40 + 52);
    assert.equal((await vehicleWallet.balance()).total, 100 - 40 + 28);
    const { balances } = await tangle.api.getBalances([stationRecord.channel.deposit_address]);
    assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
    station.close();
    vehicle.close();
  });
});
