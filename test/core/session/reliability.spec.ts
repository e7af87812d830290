import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, makeEnvelope, newKeyPair, ProtocolError, signEnvelope } from '../../../nodes/core/protocol';
import { emptySnapshot, JournalError, Outgoing, SessionJournal, SessionSnapshot, StationParty } from '../../../nodes/core/session';
import type { TangleConnection, Wallet } from '../../../nodes/core/wallet';
import { attachState, charge, devTangle, money, Pair, tempDir } from '../../support/parties';
import { until } from '../../support/wait';

/** The books: each wallet holds its 100 tokens, less or plus exactly what the record says was paid. */
async function assertBooks(wallets: { station: Wallet; vehicle: Wallet }, paid: number): Promise<void> {
  assert.equal((await wallets.station.balance()).total, 100 + paid, 'the station received exactly what was paid');
  assert.equal((await wallets.vehicle.balance()).total, 100 - paid, 'the vehicle paid exactly that');
}

describe('session reliability: crashes, a vanished peer, hostile input (embedded Tangle, real crypto)', function () {
  let tangle: TangleConnection;
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());
  let running: Pair | undefined;
  const track = (pair: Pair) => (running = pair);
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && running) {
      console.log({ crashed: running.crashed, warnings: running.warnings.slice(-20), errors: running.errors.slice(-20).map((e) => e.message) });
    }
    running?.close();
    running = undefined;
  });

  it('survives a crash of either side at each protocol step, and the books balance to the token', async function () {
    const clock = { t: Date.now() };
    const pair = track(new Pair(tangle, {
      common: { now: () => clock.t, heartbeatMs: 300 },
      maxOffers: 1,
      crashes: [
        { side: 'station', step: 'received open → open-accept' }, // after the digest exchange, before the answer leaves
        { side: 'vehicle', step: 'deposit sending' }, // mid-deposit: the intent is on disk, the bundle not sent
        { side: 'station', step: 'deposit attached' }, // mid-deposit: the bundle is on the Tangle, the journal says 'sending'
        { side: 'station', step: 'received proposal → cosignature' }, // co-signed, the co-signature not sent
        { side: 'vehicle', step: 'received cosignature → completion' }, // signed, the completion not sent
        { side: 'station', step: 'received completion [settling]' }, // the final state complete, not attached yet
        { side: 'station', step: 'settlement attached' }, // attached, not confirmed, nothing journaled
      ],
    }));
    await pair.startCharging();
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0 && pair.settled.vehicle.length > 0);
    pair.close();

    assert.equal(pair.crashed.length, 7, `every crash point was reached: ${pair.crashed.join(' | ')}`);
    const record = pair.settled.station[0];
    const paid = record.total_cost.excl_vat;
    assert.equal(record.remark, 'target-reached');
    assert.equal(paid, record.increments * 1, 'one token per 10 Wh increment');
    assert.ok(record.unpaid_energy_wh <= 10, `unpaid energy ${record.unpaid_energy_wh} Wh is within the credit`);
    assert.deepEqual(pair.settled.vehicle[0].channel.final_balances, record.channel.final_balances);
    await assertBooks(pair.wallets, paid);
    const { balances } = await tangle.api.getBalances([record.channel.deposit_address]);
    assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
    // Expected noise around restarts: a gap before the resend arrives, a restarted side's first heartbeat on the
    // same (test) clock tick, a late heartbeat after the session ended. Nothing else.
    const unexpected = pair.errors.filter((e) => !(e instanceof ProtocolError && ['SEQ_GAP', 'REPLAY'].includes(e.code)) && !/ours is "none"/.test(e.message));
    assert.deepEqual(unexpected.map((e) => e.message), []);

    // Secrets: no seed in any journal, key file or message, and the files are private.
    const files = [pair.dirs.station, pair.dirs.vehicle].flatMap((dir) => fs.readdirSync(path.join(dir, 'sessions')).map((f) => path.join(dir, 'sessions', f)));
    const everything = [...files.map((f) => fs.readFileSync(f, 'utf8')), JSON.stringify(pair.sent), JSON.stringify(pair.events), JSON.stringify(pair.settled), pair.warnings.join('\n'), pair.errors.map((e) => e.message).join('\n')].join('\n');
    for (const seed of Object.values(pair.seeds)) assert.ok(!everything.includes(seed), 'a seed leaked');
    for (const dir of [pair.dirs.station, pair.dirs.vehicle]) {
      assert.equal(fs.statSync(path.join(dir, 'sessions')).mode & 0o777, 0o700);
      for (const f of fs.readdirSync(path.join(dir, 'sessions'))) assert.equal(fs.statSync(path.join(dir, 'sessions', f)).mode & 0o777, 0o600, f);
    }
  });

  it('settles by itself when the vehicle vanishes, and reports the unpaid energy', async function () {
    const clock = { t: Date.now() };
    const pair = track(new Pair(tangle, { common: { now: () => clock.t, peerTimeoutMs: 8000 }, maxOffers: 1, vehicle: { targetWh: 0 } }));
    await pair.startCharging();
    await charge(pair, clock, 2);
    await until(() => pair.station.session.paidIncrements === 2);
    pair.kill('vehicle');
    // One more increment flows: within the credit, never paid.
    clock.t += 10_000;
    await pair.station.meterReading({ registerWh: pair.station.session.lastRegisterWh + 10, timestamp: clock.t, source: 'test' });
    await until(() => pair.settled.station.length > 0);
    pair.close();

    const record = pair.settled.station[0];
    assert.equal(record.remark, 'peer-silent');
    assert.equal(record.total_cost.excl_vat, 2);
    assert.equal(record.unpaid_energy_wh, 10);
    assert.ok(pair.events.some(([role, event, p]) => role === 'station' && event === 'stopping' && (p as { reason: string }).reason === 'peer-silent'), 'the EVSE was told to stop');
    assert.ok(pair.events.some(([role, event, p]) => role === 'station' && event === 'unpaid' && (p as { unpaidWh: number }).unpaidWh === 10));
    await assertBooks(pair.wallets, 2);
  });

  it('gives the vehicle its deposit back when the station vanishes before the first payment', async function () {
    // A one-way channel, as most stations run it: only the vehicle deposits.
    const pair = track(new Pair(tangle, { common: { peerTimeoutMs: 3000 }, maxOffers: 1, station: { stationDeposit: 0 } }));
    await pair.start();
    await until(() => pair.vehicle.session.ownDeposit.state === 'sent');
    pair.kill('station');
    // Only the opening state is co-signed: the vehicle attaches it after the peer timeout.
    await until(() => pair.settled.vehicle.length > 0);
    pair.close();

    const [record] = pair.settled.vehicle;
    assert.equal(record.remark, 'peer-silent');
    assert.equal(record.total_cost.excl_vat, 0);
    assert.deepEqual(record.channel.final_balances, { vehicle: 20, station: 0 });
    await assertBooks(pair.wallets, 0);
    const { balances } = await tangle.api.getBalances([record.channel.deposit_address]);
    assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
  });

  it('lets a vehicle that was down when the station settled find the settlement on the Tangle', async function () {
    const clock = { t: Date.now() };
    // A grace period far beyond the test's timeout: only the Tangle can tell the vehicle that the session settled.
    const pair = track(new Pair(tangle, { common: { now: () => clock.t }, maxOffers: 1, vehicle: { targetWh: 20, settleGraceMs: 3_600_000 } }));
    await pair.startCharging();
    // The vehicle goes down once the final state is signed, before the station attaches it; the station's
    // "settled" message is lost.
    pair.station.on('phase', (phase: string) => phase === 'settling' && pair.kill('vehicle'));
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0);
    assert.equal(pair.settled.vehicle.length, 0, 'the vehicle did not hear of the settlement');
    await pair.restart('vehicle');
    await until(() => pair.settled.vehicle.length > 0);
    // The station's "settled", arriving now, is a late message of the ended session: ignored, while a forgery of
    // it is still refused.
    const late = pair.sent.find((m) => m.payload.type === 'settled')!.payload;
    assert.equal(await pair.vehicle.receive('settle', JSON.stringify(late)), 'duplicate');
    await assert.rejects(pair.vehicle.receive('settle', JSON.stringify(signEnvelope(late, newKeyPair()))), (err: Error) => err instanceof ProtocolError && err.code === 'BAD_SIGNATURE');
    pair.close();

    const [record] = pair.settled.station;
    assert.equal(record.remark, 'target-reached');
    assert.deepEqual(pair.settled.vehicle[0].channel.final_balances, record.channel.final_balances);
    await assertBooks(pair.wallets, record.total_cost.excl_vat);
  });

  it('rolls the channel over before the tokens at risk pass maxAtRisk, and stops at once when an old state is attached', async function () {
    const clock = { t: Date.now() };
    // One token per increment, credit one increment: with a cap of 4 the station rolls over once it holds 3.
    const pair = track(new Pair(tangle, { common: { now: () => clock.t }, station: { maxAtRisk: 4, watchMs: 100 }, vehicle: { targetWh: 0 } }));
    await pair.startCharging();
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0 && pair.settled.vehicle.length > 0);
    const first = pair.settled.station[0];
    assert.equal(first.remark, 'rollover');
    assert.ok(first.total_cost.excl_vat <= 4, `at most maxAtRisk received in one channel, got ${first.total_cost.excl_vat}`);

    // The vehicle opens the next channel by itself. After its first payment it attaches that older state while
    // the channel goes on: the station sees the spend and stops.
    await until(() => pair.station.phase === 'charging' && pair.station.session.sessionId !== first.session_id);
    await charge(pair, clock, 1);
    await until(() => pair.station.session.paidIncrements === 1);
    const older = structuredClone(pair.vehicle.session.channel!);
    await charge(pair, clock, 1);
    await until(() => pair.station.session.paidIncrements === 2);
    await attachState(tangle, older);
    await until(() => pair.settled.station.length > 1);
    const oldState = pair.events.find(([role, event]) => role === 'station' && event === 'old-state');
    assert.ok(oldState, 'the station reported the old state');
    assert.ok(pair.events.some(([role, event, p]) => role === 'station' && event === 'stopping' && (p as { reason: string }).reason === 'old-state'), 'and stopped the energy');
    assert.equal(pair.settled.station[1].remark, 'old-state');
    // Whatever state won on the Tangle, the station lost at most the cap of what the second channel paid it.
    const received = (await pair.wallets.station.balance()).total - 100;
    const paidInSecond = 2;
    assert.ok(received <= first.total_cost.excl_vat + paidInSecond, `station received ${received}`);
    assert.ok(received >= first.total_cost.excl_vat + paidInSecond - 4, `station lost more than maxAtRisk: received ${received}`);
    assert.equal((await pair.wallets.station.balance()).total + (await pair.wallets.vehicle.balance()).total, 200, 'no token created or lost');
  });

  it('after a rollover whose next offer arrives only once the settlement is confirmed, buys exactly the rest of its target', async function () {
    const clock = { t: Date.now() };
    // One token per 10 Wh increment; with a cap of 4 the station rolls over once it holds 3. The vehicle hears only
    // the first offer by itself: the station's next one is handed over by the test, late.
    const pair = track(new Pair(tangle, { common: { now: () => clock.t }, maxOffers: 1, station: { maxAtRisk: 4, watchMs: 100 }, vehicle: { targetWh: 50 } }));
    await pair.startCharging();
    const offers: string[] = [];
    pair.station.on('send', (out: Outgoing) => out.stage === 'offer' && offers.push(JSON.stringify(out.payload)));
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0 && pair.settled.vehicle.length > 0 && offers.length > 0);
    const first = pair.settled.station[0];
    assert.equal(first.remark, 'rollover');
    assert.equal(pair.vehicle.phase, 'idle', 'no offer yet: the vehicle waits');

    await pair.vehicle.receive('offer', offers.at(-1)!);
    await until(() => pair.station.phase === 'charging' && pair.vehicle.phase === 'charging');
    assert.equal(pair.vehicle.session.targetWh, 50 - first.increments * 10, 'the next channel is for the rest of the target');
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 1 && pair.settled.vehicle.length > 1);
    const second = pair.settled.station[1];
    assert.equal(second.remark, 'target-reached');
    assert.equal((first.increments + second.increments) * 10, 50, 'the two channels bought exactly the target');
  });

  it('changes nothing and never crashes on 10,000 random, mutated, forged and replayed messages', async function () {
    const clock = { t: Date.now() };
    const pair = track(new Pair(tangle, { common: { now: () => clock.t }, maxOffers: 1, vehicle: { targetWh: 0 } }));
    await pair.startCharging();
    await charge(pair, clock, 1);
    await until(() => pair.station.session.paidIncrements === 1 && pair.inFlight === 0);

    let unhandled = 0;
    const onUnhandled = () => unhandled++;
    process.on('unhandledRejection', onUnhandled);
    const before = { station: money(pair.station.session), vehicle: money(pair.vehicle.session) };
    const genuine = pair.sent.map((o) => o.payload as unknown as Record<string, unknown>);
    const stranger = newKeyPair();
    let seed = 12345;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    const values: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x'.repeat(300), [], {}, true, 'EV1-000000000000', { a: { b: { c: {} } } }];
    let replayedType = '';
    // A mutation that happens to change nothing (the same byte, the same value) is a replay too.
    const mutate = (): unknown => {
      replayedType = '';
      const original = pick(genuine);
      const message = mutateFrom(original);
      let parsed: unknown = message;
      try {
        if (typeof message === 'string') parsed = JSON.parse(message);
      } catch {
        parsed = undefined;
      }
      if (canonicalJson(parsed) === canonicalJson(original)) replayedType = String(original.type);
      return message;
    };
    const mutateFrom = (original: Record<string, unknown>): unknown => {
      const base = structuredClone(original);
      switch (Math.floor(random() * 8)) {
        case 0: // a field set to a random value
          base[pick(Object.keys(base))] = pick(values);
          return base;
        case 1: // a body field changed, signature kept
          if (base.body && typeof base.body === 'object') (base.body as Record<string, unknown>)[pick(Object.keys(base.body as object).concat('extra'))] = pick(values);
          return base;
        case 2: // re-signed by a stranger
          return signEnvelope({ ...base, sig: undefined, seq: Number(base.seq) + Math.floor(random() * 3) }, stranger);
        case 3: // a byte flipped in the JSON text
        {
          const text = JSON.stringify(base);
          const i = Math.floor(random() * text.length);
          return text.slice(0, i) + String.fromCharCode(32 + Math.floor(random() * 90)) + text.slice(i + 1);
        }
        case 4: // replayed as it was
          replayedType = String(base.type);
          return base;
        case 5: // deep nesting
          return `${'['.repeat(20 + Math.floor(random() * 5000))}1`;
        case 6: // a stranger's open or offer, validly self-signed
          return signEnvelope(makeEnvelope('stop', pick(['station', 'vehicle'] as const), String(base.session), Number(base.seq) + 1, { reason: 'local-stop' }), stranger);
        default: // random JSON
          return JSON.stringify({ v: pick([1, 2, null]), type: pick(['claim', 'proposal', 'stop', 'settled', 'resend', 'zz']), session: pick(values), seq: pick(values), from: pick(['station', 'vehicle', 'x']), ts: 1, body: pick(values), sig: 'A'.repeat(86) });
      }
    };
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      const target = random() < 0.5 ? pair.station : pair.vehicle;
      const outcome = await target.receive(pick(['open', 'pay', 'settle', 'offer'] as const), mutate()).then(
        (r) => r,
        (err: Error) => err,
      );
      if (outcome instanceof Error) {
        refused++;
        assert.ok(outcome instanceof ProtocolError || outcome.name === 'FlashError', `a clear refusal, got ${outcome.name}: ${outcome.message}`);
      } else {
        // Only an exact replay of a genuine message passes: ignored as a duplicate, or the station's offer again.
        assert.ok(outcome === 'duplicate' || replayedType === 'offer', `${outcome} for a replayed ${replayedType || 'mutated message'}`);
      }
    }
    // What the random messages made either side send has been handled (or refused) before the books are compared.
    await until(() => pair.inFlight === 0);
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual({ station: money(pair.station.session), vehicle: money(pair.vehicle.session) }, before, 'no invalid input changed the session');
    assert.equal(unhandled, 0);
    assert.ok(refused > 5000, `${refused} refused`);
    // The session still works afterwards.
    await charge(pair, clock, 1);
    await until(() => pair.station.session.paidIncrements === 2);
    pair.close();
  });
});

describe('session: journal damage and flooding (no Tangle needed)', function () {
  it('refuses to start over a damaged journal or a foreign file, and offers nothing', async function () {
    const dir = tempDir();
    const file = path.join(dir, 'station.json');
    const journal = new SessionJournal<SessionSnapshot>(file);
    await journal.save({ ...emptySnapshot('station'), phase: 'charging', sessionId: 'S1' });
    await journal.save({ ...emptySnapshot('station'), phase: 'charging', sessionId: 'S1', paidIncrements: 1 });
    await journal.close();
    const log = fs.readFileSync(file);
    // A record that fails its checksum with another after it is damage, not a write cut short by a crash.
    const middle = Buffer.from(log);
    middle[log.indexOf('"charging"') + 2] ^= 1;
    const version1 = '{"kind":"m2m-ev-session-journal","version":1,"checksum":"00","snapshot":{}}\n';
    for (const damaged of [middle, Buffer.from('{"something":"else"}'), Buffer.from(version1), Buffer.from('not a journal')]) {
      fs.writeFileSync(file, damaged);
      const station = stationWithoutTangle(file);
      const sent: unknown[] = [];
      station.on('send', (m) => sent.push(m));
      await assert.rejects(station.start(), JournalError);
      assert.deepEqual(sent, []);
      await assert.rejects(station.receive('open', '{}'), /has not started/);
      station.close();
    }
  });

  it('drops open requests beyond the per-minute limit, and floods beyond the per-topic rate', async function () {
    const station = stationWithoutTangle(path.join(tempDir(), 'station.json'), { opensPerMinute: 3 }, 20);
    await station.start();
    const vehicleKeys = newKeyPair();
    const open = (i: number) =>
      signEnvelope(
        makeEnvelope('open', 'vehicle', `EV${i}-0`, 1, {
          vehicleId: `EV${i}`, offerDigest: '0'.repeat(64), targetWh: 0, vehicleKey: vehicleKeys.publicKey,
          setup: { type: 'setup-offer', version: 1, channelId: `EV${i}-0`, security: 1, depth: 1, deposits: [10, 0], settlementAddress: '9'.repeat(81), digests: [] },
        }),
        vehicleKeys,
      );
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await station.receive('open', open(i)).then(() => 'ok', (err: ProtocolError) => err.code));
    assert.deepEqual(outcomes, ['INVALID_FIELD', 'INVALID_FIELD', 'INVALID_FIELD', 'RATE_LIMITED', 'RATE_LIMITED']);
    const flood: string[] = [];
    for (let i = 0; i < 60; i++) flood.push(await station.receive('pay', '{}').then(() => 'ok', (err: ProtocolError) => err.code));
    assert.ok(flood.includes('RATE_LIMITED'), 'the pay topic is rate limited');
    assert.equal(flood.indexOf('RATE_LIMITED'), 40, 'after a burst of twice the rate');
    station.close();
  });
});

/** A station whose wallet is never reached: refused opens and damaged journals need none. */
function stationWithoutTangle(file: string, policy: { opensPerMinute?: number } = {}, messagesPerSecond = 50): StationParty {
  return new StationParty(
    { id: 'ST1', stationId: 'ST1', prefix: 'm2m-ev/v1', wallet: { security: 1 } as unknown as Wallet, journal: new SessionJournal<SessionSnapshot>(file), messagesPerSecond },
    { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 0, security: 1, maxDepth: 4, watchMs: 0, ...policy },
    newKeyPair(),
  );
}
