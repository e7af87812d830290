import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SessionRecord } from '../../nodes/core/session';
import { connectTangle, generateSeed, TangleConnection, Wallet } from '../../nodes/core/wallet';
import { installedPackage, Mosquitto, tempDir } from '../support/real-nodered';
import { eventually } from '../support/wait';
import { eventsIn, faultFlow, journalOf, Side, Supervised, TERMS } from './fault-bench';

/** What each wallet holds before the session. */
const FUNDS = 1000;

interface Crash {
  side: Side;
  /** A substring of the step, as PartyOptions.onStep names it. */
  step: string;
}

/**
 * One charging session between two Node-RED processes, each killed with SIGKILL at the given steps and started
 * again; resolves with both sides' session records and wallets once both have settled.
 */
async function sessionWithCrashes(tangle: TangleConnection, crashes: Crash[], targetWh: number) {
  const install = await installedPackage();
  const broker = await Mosquitto.start();
  const dirs = { station: tempDir('m2m-fault-station-'), vehicle: tempDir('m2m-fault-vehicle-') };
  const seeds = { station: generateSeed(), vehicle: generateSeed() };
  // The wallets are funded before the devices start, as a user funds them: the books start at FUNDS each.
  const walletOf = (side: Side) => new Wallet({ seed: seeds[side], security: 1, dataDir: path.join(dirs[side], 'm2m-ev', 'wallets'), tangle });
  for (const side of ['station', 'vehicle'] as const) {
    const wallet = walletOf(side);
    await wallet.topUpFromFaucet(FUNDS);
    await wallet.close(); // lets the device's Node-RED process take the wallet file over
  }

  const bench = { brokerPort: broker.port, tangleUrl: tangle.url, targetWh, eventsFile: (side: Side) => path.join(dirs[side], 'events.jsonl') };
  const sides = {
    station: new Supervised('station', install, dirs.station, crashes.filter((c) => c.side === 'station').map((c) => c.step)),
    vehicle: new Supervised('vehicle', install, dirs.vehicle, crashes.filter((c) => c.side === 'vehicle').map((c) => c.step)),
  };
  const settledOf = (side: Side) => eventsIn(bench.eventsFile(side)).filter((e) => e.event === 'settled').map((e) => e.payload as unknown as SessionRecord);
  try {
    await sides.station.start(faultFlow('station', bench, seeds.station));
    await sides.vehicle.start(faultFlow('vehicle', bench, seeds.vehicle));
    // The vehicle opens once it has the station's offer (retained on the broker): then its start button is pressed.
    await eventually(async () => eventsIn(bench.eventsFile('vehicle')).some((e) => e.event === 'offer'), "the station's offer to reach the vehicle", 60_000);
    await sides.vehicle.current.request('POST', '/inject/vehicle-start');
    const deadline = Date.now() + 240_000;
    while (settledOf('station').length === 0 || settledOf('vehicle').length === 0) {
      for (const side of Object.values(sides)) if (side.failure) throw side.failure;
      if (Date.now() > deadline) {
        throw new Error(`timed out; crashes left: ${JSON.stringify(Object.values(sides).map((s) => s.remaining))}\n${sides.station.current.log.slice(-3000)}\n${sides.vehicle.current.log.slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return {
      sides,
      dirs,
      seeds,
      records: { station: settledOf('station'), vehicle: settledOf('vehicle') },
      journals: { station: await journalOf(dirs.station, 'station'), vehicle: await journalOf(dirs.vehicle, 'vehicle') },
      wallets: { station: await walletOf('station').balance(), vehicle: await walletOf('vehicle').balance() },
      events: { station: eventsIn(bench.eventsFile('station')), vehicle: eventsIn(bench.eventsFile('vehicle')) },
    };
  } finally {
    await Promise.all(Object.values(sides).map((s) => s.stop()));
    for (const side of Object.values(sides)) side.saveLog();
    await broker.stop();
  }
}

type Outcome = Awaited<ReturnType<typeof sessionWithCrashes>>;

/** Every crash happened, the session settled once on both sides, and the books balance to the token. */
async function assertSettledAndBalanced(tangle: TangleConnection, outcome: Outcome, crashes: Crash[]): Promise<void> {
  for (const side of ['station', 'vehicle'] as const) {
    const planned = crashes.filter((c) => c.side === side).map((c) => c.step);
    assert.equal(outcome.sides[side].fired.length, planned.length, `every ${side} crash point was reached: ${outcome.sides[side].fired.join(' | ')}`);
    outcome.sides[side].fired.forEach((step, i) => assert.ok(step.includes(planned[i]), `${side} died at "${step}", planned "${planned[i]}"`));
  }
  assert.equal(outcome.records.station.length, 1, 'one session, settled once at the station');
  assert.equal(outcome.records.vehicle.length, 1, 'and once at the vehicle');
  const [station] = outcome.records.station;
  const [vehicle] = outcome.records.vehicle;
  assert.equal(station.session_id, vehicle.session_id);
  assert.equal(station.remark, 'target-reached');
  assert.equal(outcome.journals.station?.phase, 'idle', 'the station journal holds no open session');
  assert.equal(outcome.journals.vehicle?.phase, 'idle', 'nor does the vehicle journal');

  // Paid: a whole number of increments at the offer's price, the same on both sides.
  const paid = station.total_cost.excl_vat;
  const pricePerIncrement = (TERMS.pricePerKWh * TERMS.incrementWh) / 1000;
  assert.equal(paid, station.increments * pricePerIncrement);
  assert.equal(station.energy_wh, station.increments * TERMS.incrementWh);
  assert.equal(vehicle.total_cost.excl_vat, paid);
  assert.deepEqual(vehicle.channel.final_balances, station.channel.final_balances);
  assert.deepEqual(station.channel.final_balances, { vehicle: TERMS.deposit - paid, station: TERMS.deposit + paid });
  // The vehicle paid for exactly the energy the station's meter delivered, give or take the credit.
  assert.ok(station.unpaid_energy_wh <= TERMS.creditWh, `unpaid energy ${station.unpaid_energy_wh} Wh is within the ${TERMS.creditWh} Wh credit`);

  // The books: deposits = payouts, nothing stays in the channel, and each wallet moved by exactly what was paid.
  assert.equal(outcome.wallets.station.total, FUNDS + paid, 'the station received exactly what was paid');
  assert.equal(outcome.wallets.vehicle.total, FUNDS - paid, 'the vehicle paid exactly that');
  const { balances } = await tangle.api.getBalances([station.channel.deposit_address]);
  assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel address');

  // Every restart resumed the open session from the journal (flash-channel-open reported it); no seed ever
  // reached a log, a journal or an event.
  for (const side of ['station', 'vehicle'] as const) {
    const resumed = outcome.events[side].filter((e) => e.event === 'resumed' && e.payload.sessionId === station.session_id);
    assert.equal(resumed.length, outcome.sides[side].fired.length, `each ${side} restart resumed the session`);
  }
  const logs = Object.values(outcome.sides).flatMap((s) => [...s.deadLogs, s.current.log]);
  const files = Object.values(outcome.dirs).flatMap((dir) => fs.readdirSync(path.join(dir, 'm2m-ev', 'sessions')).map((f) => fs.readFileSync(path.join(dir, 'm2m-ev', 'sessions', f), 'utf8')));
  const everything = [...logs, ...files, JSON.stringify(outcome.events)].join('\n');
  for (const seed of Object.values(outcome.seeds)) assert.ok(!everything.includes(seed), 'a seed leaked');
}

describe('e2e: SIGKILL at each protocol step (two Node-RED processes, mosquitto, a served Tangle)', function () {
  let tangle: TangleConnection;
  before(async function () {
    tangle = await connectTangle({
      mode: 'serve', dataDir: tempDir('m2m-fault-tangle-'), host: '127.0.0.1', port: 0, url: '', minWeightMagnitude: 5, depth: 3,
      milestoneIntervalMs: 0, dev: true, localPow: false, powWorkers: 1,
    });
  });
  after(() => tangle?.close());

  it('kills the station at open, deposit, co-signature and settlement (before and after the attach), the vehicle at deposit and signature: settled, books exact', async function () {
    this.timeout(420_000);
    const crashes: Crash[] = [
      { side: 'station', step: 'station: received open → open-accept' }, // after the digest exchange, before the answer leaves
      { side: 'vehicle', step: 'vehicle: deposit sending' }, // mid-deposit: the intent is on disk, the bundle not sent
      { side: 'station', step: 'station: deposit attached' }, // mid-deposit: the bundle is on the Tangle, the journal says "sending"
      { side: 'station', step: 'station: received proposal → cosignature' }, // co-signed, the co-signature not sent
      { side: 'vehicle', step: 'vehicle: received cosignature → completion' }, // signed, the completion not sent
      { side: 'station', step: 'station: received completion [settling]' }, // the final state complete, not attached
      { side: 'station', step: 'station: settlement attached' }, // attached, confirmation not journaled
    ];
    await assertSettledAndBalanced(tangle, await sessionWithCrashes(tangle, crashes, 60), crashes);
  });

  it('kills the vehicle at open, deposit, signature and settlement, the station at deposit (twice) and co-signature: settled, books exact', async function () {
    this.timeout(420_000);
    const crashes: Crash[] = [
      { side: 'vehicle', step: 'vehicle: received open-accept' }, // after the digest exchange, before it deposits
      { side: 'station', step: 'station: deposit sending' }, // mid-deposit
      { side: 'station', step: 'wallet: inputs marked spent' }, // mid-deposit, inside the wallet: signed, not sent
      { side: 'vehicle', step: 'vehicle: deposit attached' }, // mid-deposit: on the Tangle, not journaled
      { side: 'vehicle', step: 'vehicle: received cosignature → completion [charging]' }, // signed, the completion not sent
      { side: 'station', step: 'station: received proposal → cosignature' }, // co-signed, not sent
      { side: 'vehicle', step: 'vehicle: received cosignature → completion [settling]' }, // signed the final state, not sent
    ];
    await assertSettledAndBalanced(tangle, await sessionWithCrashes(tangle, crashes, 60), crashes);
  });
});
