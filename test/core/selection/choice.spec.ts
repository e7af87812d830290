import assert from 'node:assert/strict';
import path from 'node:path';
import { GeoLocation, KeyPair, makeEnvelope, newKeyPair, Offer, signEnvelope } from '../../../nodes/core/protocol';
import type { Choice } from '../../../nodes/core/selection';
import { offerFor, SessionJournal, SessionSnapshot, StationParty, StationPolicy, TrustStore, VehicleParty, VehiclePolicy } from '../../../nodes/core/session';
import { generateSeed, TangleConnection, Wallet } from '../../../nodes/core/wallet';
import { Bus } from '../../support/bus';
import { charge, devTangle, Pair, tempDir } from '../../support/parties';
import { until } from '../../support/wait';

const PREFIX = 'm2m-ev/v1';
/** The vehicle in the middle of Graz; station positions around it. */
const HERE = { latitude: 47.07, longitude: 15.44 };
const NORTH_1200_M: GeoLocation = { latitude: '47.08079', longitude: '15.44000' };
const EAST_3400_M: GeoLocation = { latitude: '47.07000', longitude: '15.48500' };
const SOUTH_300_M: GeoLocation = { latitude: '47.06730', longitude: '15.44000' };

describe('core/selection: a vehicle chooses among stations and opens with the best (embedded Tangle, real crypto)', function () {
  let tangle: TangleConnection;
  let bus: Bus;
  let parties: (StationParty | VehicleParty)[] = [];
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());
  beforeEach(() => {
    bus = new Bus();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log({ errors: bus.errors });
    await Promise.all(parties.map((p) => p.close()));
    parties = [];
  });

  const wallet = () => new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle });
  const journal = () => new SessionJournal<SessionSnapshot>(path.join(tempDir(), 'journal.json'));

  async function station(id: string, policy: Partial<StationPolicy>, identity: KeyPair = newKeyPair()): Promise<StationParty> {
    const party = new StationParty(
      { id, stationId: id, prefix: PREFIX, wallet: wallet(), journal: journal(), pollMs: 20, messagesPerSecond: 1e6 },
      { pricePerKWh: 100, incrementWh: 100, maxPowerW: 11000, creditWh: 100, stationDeposit: 0, security: 1, maxDepth: 4, watchMs: 0, ...policy },
      identity,
    );
    bus.connect(party, [`${PREFIX}/${id}/+/station`]);
    parties.push(party);
    await party.start();
    return party;
  }

  async function vehicle(policy: Partial<VehiclePolicy> = {}, options: { now?: () => number; trusted?: Record<string, string>; id?: string; stationId?: string } = {}) {
    const w = wallet();
    await w.topUpFromFaucet(100);
    const party = new VehicleParty(
      { id: options.id ?? 'EV1', stationId: options.stationId ?? '', prefix: PREFIX, wallet: w, journal: journal(), pollMs: 20, messagesPerSecond: 1e6, ...(options.now ? { now: options.now } : {}) },
      {
        maxPricePerKWh: 300, deposit: 60, maxStationDeposit: 0, targetWh: 0, maxPowerW: 22000, meterToleranceWh: 0, maxDepth: 4, security: 1,
        autoStart: true, choiceWindowMs: 200, selection: { strategy: 'cheapest', position: HERE }, ...policy,
      },
      new TrustStore(path.join(tempDir(), 'trust.json'), options.trusted),
    );
    const choices: Choice[] = [];
    party.on('choice', (c: Choice) => choices.push(c));
    parties.push(party);
    await party.start();
    bus.connect(party, [`${PREFIX}/+/offer`, `${PREFIX}/+/+/vehicle`]);
    return { party, choices };
  }

  /** A signed offer of a station that no party stands behind: it never answers. */
  function phantomOffer(id: string, terms: Partial<Offer>, keys: KeyPair = newKeyPair()) {
    const policy = { pricePerKWh: 100, incrementWh: 100, maxPowerW: 11000, creditWh: 100, stationDeposit: 0, security: 1 as const, maxDepth: 4 };
    const offer = { ...offerFor(id, policy, keys.publicKey, 'feedfacecafebeef', { freeConnectors: 1, notAfter: Date.now() + 600_000 }), ...terms };
    return { topic: `${PREFIX}/${id}/offer`, payload: signEnvelope(makeEnvelope('offer', 'station', '', 0, offer), keys), retain: true };
  }

  const opensTo = (id: string) => bus.log.filter((m) => m.topic === `${PREFIX}/${id}/open/station`).length;

  for (const [strategy, expected, weights] of [
    ['cheapest', 'ST-A'],
    ['fastest', 'ST-B'],
    ['nearest', 'ST-C'],
    ['weighted', 'ST-A', { cost: 1, power: 1, distance: 1 }],
  ] as const) {
    it(`${strategy}: opens with ${expected}, tells why, and the others hear no open`, async function () {
      const stations = {
        'ST-A': await station('ST-A', { pricePerKWh: 100, maxPowerW: 11000, location: NORTH_1200_M }),
        'ST-B': await station('ST-B', { pricePerKWh: 200, maxPowerW: 22000, location: EAST_3400_M }),
        'ST-C': await station('ST-C', { pricePerKWh: 150, maxPowerW: 3700, location: SOUTH_300_M }),
      };
      const { party, choices } = await vehicle({ selection: { strategy, position: HERE, ...(weights ? { weights } : {}) } });
      await until(() => stations[expected].phase === 'funding' && party.phase === 'funding');
      assert.equal(choices.length, 1);
      assert.equal(choices[0].chosen, expected);
      assert.deepEqual(choices[0].candidates.map((c) => c.stationId).slice(0, 1), [expected]);
      assert.equal(party.session.peerId, expected);
      assert.equal(party.session.offer!.stationId, expected);
      for (const id of Object.keys(stations)) assert.equal(opensTo(id), id === expected ? 1 : 0, `opens to ${id}`);
      // The chosen station says it is busy now; the others still offer a free connector.
      const last = (id: string) => (bus.log.filter((m) => m.topic === `${PREFIX}/${id}/offer`).at(-1)!.payload as { body: Offer }).body;
      await until(() => last(expected).freeConnectors === 0);
      for (const id of Object.keys(stations)) if (id !== expected) assert.equal(last(id).freeConnectors, 1);
      assert.deepEqual(bus.errors, []);
    });
  }

  it('reads the choice in words', async function () {
    await station('ST-A', { pricePerKWh: 100, maxPowerW: 11000, location: NORTH_1200_M });
    await station('ST-D', { pricePerKWh: 400 });
    const { choices } = await vehicle();
    await until(() => choices.length > 0);
    assert.equal(choices[0].text, 'chose ST-A: 100 i/kWh, 11 kW, 1.2 km; skipped ST-D: price 400 per kWh exceeds our maximum 300');
  });

  it('skips a station that does not answer in time, then one that refuses, and opens with the next best', async function () {
    bus.publish(phantomOffer('ST-X', { pricePerKWh: 50 }));
    // The vehicle's tree (for 8 payments of 8 tokens) is deeper than this station takes: it refuses the open.
    await station('ST-R', { pricePerKWh: 80, maxDepth: 1 });
    const ok = await station('ST-OK', { pricePerKWh: 100 });
    const { party, choices } = await vehicle({ openTimeoutMs: 5000 });
    await until(() => ok.phase === 'funding' && party.phase === 'funding');
    assert.deepEqual(choices.map((c) => c.chosen), ['ST-X', 'ST-R', 'ST-OK']);
    assert.equal(choices[1].text, 'chose ST-R: 80 i/kWh, 11 kW; skipped ST-X: no answer in 5 s');
    assert.match(choices[2].text, /^chose ST-OK: 100 i\/kWh, 11 kW; skipped ST-X: no answer in 5 s, ST-R: refused \(channel depth \d+ exceeds 1\)$/);
  });

  it('tries the next best when the chosen station goes away, and never chooses one that left while it compared', async function () {
    const leaving = await station('ST-L', { pricePerKWh: 40 });
    bus.publish(phantomOffer('ST-X', { pricePerKWh: 50 }));
    const ok = await station('ST-OK', { pricePerKWh: 100 });
    const { party, choices } = await vehicle({ choiceWindowMs: 500 });
    const heard = new Set<string>();
    party.on('offer', (o: Offer) => heard.add(o.stationId));
    // ST-L shuts down cleanly while the vehicle compares: its retained offer is withdrawn.
    await until(() => bus.log.some((m) => m.topic === `${PREFIX}/ST-L/offer`) && choices.length === 0);
    await leaving.close();
    assert.ok(bus.log.some((m) => m.topic === `${PREFIX}/ST-L/offer` && m.payload === ''), 'an empty retained message withdraws the offer');
    await until(() => choices.length === 1 && party.phase === 'opening');
    assert.equal(choices[0].chosen, 'ST-X');
    // The phantom station's Last Will fires while the vehicle waits for its answer.
    bus.publish({ topic: `${PREFIX}/ST-X/offer`, payload: '', retain: true });
    await until(() => ok.phase === 'funding' && party.phase === 'funding');
    assert.equal(choices[1].text, 'chose ST-OK: 100 i/kWh, 11 kW; skipped ST-X: went away');
    assert.equal(opensTo('ST-L'), 0);
  });

  it('loses a race for a connector without an error: the open-accept of the other vehicle sends it to the next best at once', async function () {
    const cheap = await station('ST-A', { pricePerKWh: 100 });
    const next = await station('ST-B', { pricePerKWh: 200 });
    // An open timeout longer than the test: only what the loser overhears can send it on.
    const racers = [await vehicle({ autoStart: false, openTimeoutMs: 600_000 }, { id: 'EV1' }), await vehicle({ autoStart: false, openTimeoutMs: 600_000 }, { id: 'EV2' })];
    // A vehicle configured for ST-A, idle meanwhile, hears all of ST-A's traffic with the winner.
    const bystander = await vehicle({ autoStart: false }, { id: 'EV3', stationId: 'ST-A' });
    await Promise.all(racers.map(({ party }) => party.startSession()));
    assert.equal(opensTo('ST-A'), 2);
    await until(() => racers.every(({ party }) => party.phase === 'charging'));
    const winner = racers.find(({ party }) => party.session.peerId === 'ST-A')!;
    const loser = racers.find(({ party }) => party.session.peerId === 'ST-B')!;
    assert.ok(winner && loser, 'one charges at ST-A, the other opened with ST-B');
    assert.equal(cheap.session.peerId, winner.party === racers[0].party ? 'EV1' : 'EV2');
    assert.equal(next.session.peerId, loser.party === racers[0].party ? 'EV1' : 'EV2');
    assert.deepEqual(loser.choices.map((c) => c.text), ['chose ST-A: 100 i/kWh, 11 kW', 'chose ST-B: 200 i/kWh, 11 kW; skipped ST-A: taken by another vehicle']);
    assert.equal(bystander.party.phase, 'idle');
    // The one error: the station's, for the open that came second (it gets no answer).
    assert.equal(bus.errors.length, 1, JSON.stringify(bus.errors));
    assert.equal(bus.errors[0].party, 'station');
    assert.match(bus.errors[0].message, /^busy with session EV\d-[0-9a-f]+: open refused$/);
  });

  it('takes only offers signed with the key it trusts, and none that expired', async function () {
    const identity = newKeyPair();
    const clock = { t: Date.now() };
    const genuine = await station('ST-1', { pricePerKWh: 150 }, identity);
    const { party, choices } = await vehicle({ choiceWindowMs: 1000 }, { now: () => clock.t, trusted: { 'ST-1': identity.publicKey } });
    const heard: Offer[] = [];
    party.on('offer', (o: Offer) => heard.push(o));
    const warnings: string[] = [];
    party.on('warning', (w: string) => warnings.push(w));
    await until(() => heard.length === 1);
    // An impostor's cheaper offer for ST-1, under its own key; and the genuine offer with its price changed after signing.
    const impostor = phantomOffer('ST-1', { pricePerKWh: 10 });
    const tampered = bus.log.find((m) => m.topic === `${PREFIX}/ST-1/offer`)!.payload as { body: Offer };
    bus.publish(impostor);
    bus.publish({ topic: `${PREFIX}/ST-1/offer`, payload: { ...tampered, body: { ...tampered.body, pricePerKWh: 10 } } });
    // A station whose retained offer expired long ago, and one whose offer expires while the vehicle compares (both
    // beyond the 600 s by which the clocks may differ).
    bus.publish(phantomOffer('ST-OLD', { pricePerKWh: 10, notAfter: clock.t - 700_000 }));
    bus.publish(phantomOffer('ST-SOON', { pricePerKWh: 10, notAfter: clock.t - 570_000 }));
    await until(() => bus.errors.length === 2 && heard.some((o) => o.stationId === 'ST-SOON') && warnings.length === 1);
    clock.t += 60_000;
    await until(() => genuine.phase === 'funding' && party.phase === 'funding');
    assert.deepEqual(bus.errors.map((e) => e.message), [
      'offer for station "ST-1" signed with a key that is not the one this vehicle trusts: refused',
      'the message signature does not verify with the key bound to this session: refused',
    ]);
    assert.equal(warnings[0], 'the offer of ST-OLD expired 700 s ago by our clock: ignored');
    assert.equal(choices[0].text, 'chose ST-1: 150 i/kWh, 11 kW');
    assert.equal(party.session.offer!.pricePerKWh, 150);
    assert.equal(party.session.peerKey, identity.publicKey);
  });

  it('refreshes its offer before it expires, takes an open against the one before, and withdraws it when it closes', async function () {
    const ST = await station('ST-1', { offerValidityMs: 4000 });
    const offers = () => bus.log.filter((m) => m.topic === `${PREFIX}/ST-1/offer`).map((m) => (m.payload as { body: Offer }).body);
    // The vehicle hears the first offer only; the station publishes it again meanwhile.
    bus.drop = (m) => m.topic.endsWith('/offer') && offers().length >= 1;
    const { party } = await vehicle({ autoStart: false });
    await until(() => party.session.phase === 'idle' && ST.offer.notAfter > offers()[0].notAfter);
    const [first] = offers();
    assert.equal(ST.offer.nonce, first.nonce, 'the same terms and nonce, valid for longer');
    await party.startSession();
    await until(() => ST.phase === 'funding');
    assert.equal(ST.session.offer!.notAfter, first.notAfter, 'the session has the terms the vehicle opened with');
    bus.drop = () => false;
    await ST.close();
    // The last on its offer topic (the vehicle's proposal for the opening state may still come after it on its own).
    assert.deepEqual(bus.log.filter((m) => m.topic === `${PREFIX}/ST-1/offer`).at(-1), { stage: 'offer', topic: `${PREFIX}/ST-1/offer`, payload: '', retain: true });
  });
});

describe('core/selection: an offer that changes during a session does not change its terms', function () {
  let tangle: TangleConnection;
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());

  it('pays the old price to the end after the station restarts with a new one, and the new price from the next session', async function () {
    const clock = { t: Date.now() };
    const policy = { pricePerKWh: 100 };
    const pair = new Pair(tangle, { common: { now: () => clock.t }, station: policy, vehicle: { targetWh: 0, maxPricePerKWh: 200 } });
    try {
      await pair.startCharging();
      await charge(pair, clock, 2);
      await until(() => pair.vehicle.session.paidIncrements === 2);
      // The operator raises the price and restarts the station in the middle of the session.
      policy.pricePerKWh = 200;
      pair.kill('station');
      await pair.restart('station');
      await until(() => pair.sent.some((o) => o.stage === 'offer' && (o.payload as { body: Offer }).body.pricePerKWh === 200));
      await charge(pair, clock, 2);
      await until(() => pair.vehicle.session.paidIncrements === 4);
      assert.equal(pair.vehicle.session.offer!.pricePerKWh, 100);
      await pair.vehicle.stop('local-stop');
      await until(() => pair.settled.station.length === 1 && pair.settled.vehicle.length === 1);
      for (const record of [pair.settled.station[0], pair.settled.vehicle[0]]) {
        assert.equal(record.increments, 4);
        assert.equal(record.total_cost.excl_vat, 4, 'four increments at the old price, 1 token each');
        assert.deepEqual(record.tariff, { price_per_kwh: 100, increment_wh: 10 });
      }
      // The next session opens with the new offer.
      await until(() => pair.vehicle.phase !== 'idle' && pair.vehicle.session.offer!.pricePerKWh === 200);
      assert.deepEqual(pair.errors, []);
    } finally {
      pair.close();
    }
  });
});
