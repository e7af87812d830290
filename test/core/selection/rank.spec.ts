import assert from 'node:assert/strict';
import type { Offer } from '../../../nodes/core/protocol';
import { checkSelectionPolicy, describeChoice, OfferBook, OfferLimits, rankOffers, SelectionPolicy, stationPosition } from '../../../nodes/core/selection';

const NOW = 1_764_000_000_000;
const limits: OfferLimits = { maxPricePerKWh: 300, deposit: 100, maxStationDeposit: 50, security: 2 };
/** The vehicle in the middle of Graz; the stations 1.2 km north, 3.4 km east and 300 m south of it. */
const here = { latitude: 47.07, longitude: 15.44 };

function offer(stationId: string, terms: Partial<Offer> = {}): Offer {
  return {
    stationId, pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 0, security: 2,
    stationKey: 'A'.repeat(43), nonce: '0123456789abcdef', connectors: 1, freeConnectors: 1, notAfter: NOW + 60_000, ...terms,
  };
}

const north = { latitude: '47.08079', longitude: '15.44000' };
const east = { latitude: '47.07000', longitude: '15.48500' };
const south = { latitude: '47.06730', longitude: '15.44000' };

function rank(offers: Offer[], policy: Partial<SelectionPolicy>) {
  return rankOffers(offers, limits, { strategy: 'cheapest', maxPowerW: 22000, energyWh: 0, position: here, ...policy }, NOW);
}

const ids = (r: ReturnType<typeof rank>) => r.candidates.map((c) => c.offer.stationId);

describe('core/selection: ranking the stations\' offers', function () {
  const three = [
    offer('station-1', { pricePerKWh: 300, maxPowerW: 22000, location: north }),
    offer('station-2', { pricePerKWh: 100, maxPowerW: 3700, location: east }),
    offer('station-3', { pricePerKWh: 200, maxPowerW: 11000, location: south }),
  ];

  it('cheapest: the lowest cost for the energy wanted, in whole increments', function () {
    const r = rank(three, { strategy: 'cheapest', energyWh: 25 });
    assert.deepEqual(ids(r), ['station-2', 'station-3', 'station-1']);
    // 25 Wh is three increments of 10 Wh: 3 × 1, 3 × 2, 3 × 3 tokens.
    assert.deepEqual(r.candidates.map((c) => c.cost), [3, 6, 9]);
  });

  it('cheapest counts whole increments: a coarse increment can cost more at a lower price per kWh', function () {
    const coarse = offer('coarse', { pricePerKWh: 100, incrementWh: 1000 });
    const fine = offer('fine', { pricePerKWh: 200, incrementWh: 10 });
    const r = rank([coarse, fine], { energyWh: 100 });
    assert.deepEqual(ids(r), ['fine', 'coarse']);
    assert.deepEqual(r.candidates.map((c) => c.cost), [20, 100]);
  });

  it('fastest: the highest power the vehicle can take (capped by its own limit)', function () {
    const r = rank(three, { strategy: 'fastest', maxPowerW: 11000 });
    // station-1 (22 kW) and station-3 (11 kW) both give this 11 kW vehicle 11 kW: the cheaper one wins the tie.
    assert.deepEqual(ids(r), ['station-3', 'station-1', 'station-2']);
    assert.deepEqual(r.candidates.map((c) => c.powerW), [11000, 11000, 3700]);
  });

  it('nearest: by distance from the vehicle; a station without a position comes last', function () {
    const r = rank([...three, offer('nowhere', { pricePerKWh: 100 })], { strategy: 'nearest' });
    assert.deepEqual(ids(r), ['station-3', 'station-1', 'station-2', 'nowhere']);
    const [south3, north1, east2] = r.candidates.map((c) => c.distanceM);
    assert.ok(Math.abs(south3! - 300) < 5 && Math.abs(north1! - 1200) < 5 && Math.abs(east2! - 3400) < 20, `${south3} ${north1} ${east2}`);
    assert.equal(r.candidates[3].distanceM, null);
  });

  it('nearest reads a geohash when the offer has no coordinates', function () {
    const hashed = offer('hashed', { geohash: 'u26gz27' }); // 47.0673, 15.44 to some 70 m
    const position = stationPosition(hashed)!;
    assert.ok(Math.abs(position.latitude - 47.0673) < 0.002 && Math.abs(position.longitude - 15.44) < 0.002, JSON.stringify(position));
    assert.deepEqual(ids(rank([three[1], hashed], { strategy: 'nearest' })), ['hashed', 'station-2']);
  });

  it('weighted: each criterion scaled from best to worst, then weighed', function () {
    const costOnly = rank(three, { strategy: 'weighted', weights: { cost: 1, power: 0, distance: 0 } });
    assert.deepEqual(ids(costOnly), ['station-2', 'station-3', 'station-1']);
    const powerOnly = rank(three, { strategy: 'weighted', weights: { cost: 0, power: 1, distance: 0 } });
    assert.deepEqual(ids(powerOnly), ['station-1', 'station-3', 'station-2']);
    // Equal weights: station-3 is the middle in price (0.5) and nearly the best in power (0.6) and the nearest
    // (0): 1.1; station-2 is the cheapest (0), the slowest (1) and the farthest (1): 2; station-1 is 1 + 0 + 0.29.
    const mixed = rank(three, { strategy: 'weighted', weights: { cost: 1, power: 1, distance: 1 } });
    assert.deepEqual(ids(mixed), ['station-3', 'station-1', 'station-2']);
    assert.equal(mixed.candidates[2].score, 2);
  });

  it('ties: the next criterion decides, and the station id when all are equal', function () {
    const same = [offer('b'), offer('c'), offer('a')];
    for (const strategy of ['cheapest', 'fastest', 'nearest', 'weighted'] as const) {
      const r = rank(same, { strategy, weights: { cost: 1, power: 1, distance: 1 } });
      assert.deepEqual(ids(r), ['a', 'b', 'c'], strategy);
    }
    const r = rank([offer('x', { maxPowerW: 3700 }), offer('y', { maxPowerW: 22000 })], { strategy: 'cheapest' });
    assert.deepEqual(ids(r), ['y', 'x'], 'equal cost: the faster one');
  });

  it('never above the maximum price or the deposit limits, never expired or busy, each with its reason', function () {
    const r = rank(
      [
        offer('ok'),
        offer('dear', { pricePerKWh: 301 }),
        offer('deposit', { stationDeposit: 51 }),
        offer('expired', { notAfter: NOW - 5000 }),
        offer('busy', { freeConnectors: 0, connectors: 2 }),
        offer('security', { security: 3 }),
        offer('too-big', { pricePerKWh: 300, incrementWh: 1000 }),
      ],
      {},
    );
    assert.deepEqual(ids(r), ['ok']);
    assert.deepEqual(r.excluded, [
      { stationId: 'dear', reason: 'price 301 per kWh exceeds our maximum 300' },
      { stationId: 'deposit', reason: 'station deposit 51 exceeds our maximum 50' },
      { stationId: 'expired', reason: 'offer expired 5 s ago' },
      { stationId: 'busy', reason: 'busy' },
      { stationId: 'security', reason: 'security 3, ours is 2' },
      { stationId: 'too-big', reason: 'our deposit 100 does not cover one increment (300)' },
    ]);
  });

  it('tells the choice and its reasons in one line', function () {
    const r = rank([...three, offer('station-4', { freeConnectors: 0 })], { strategy: 'nearest' });
    assert.equal(describeChoice(r.candidates[0], r.excluded), 'chose station-3: 200 i/kWh, 11 kW, 301 m; skipped station-4: busy');
    assert.equal(describeChoice(r.candidates[1], [{ stationId: 'station-3', reason: 'no answer in 30 s' }]), 'chose station-1: 300 i/kWh, 22 kW, 1.2 km; skipped station-3: no answer in 30 s');
    assert.equal(describeChoice(null, r.excluded), 'no station to charge at; skipped station-4: busy');
    assert.equal(describeChoice(null, []), 'no station offers yet');
  });

  it('refuses a policy that cannot rank', function () {
    const base: SelectionPolicy = { strategy: 'nearest', maxPowerW: 11000, energyWh: 0 };
    assert.throws(() => checkSelectionPolicy(base), /needs the vehicle's position/);
    assert.throws(() => checkSelectionPolicy({ ...base, strategy: 'weighted', weights: { cost: 0, power: 0, distance: 0 } }), /at least one of them above 0/);
    assert.throws(() => checkSelectionPolicy({ ...base, strategy: 'weighted', weights: { cost: -1, power: 1, distance: 0 } }), /≥ 0/);
    assert.throws(() => checkSelectionPolicy({ ...base, strategy: 'weighted', weights: { cost: 1, power: 0, distance: 1 } }), /position/);
    assert.throws(() => checkSelectionPolicy({ ...base, strategy: 'cheapest-ish' as never }), /unknown selection strategy/);
    checkSelectionPolicy({ ...base, position: here });
    checkSelectionPolicy({ ...base, strategy: 'weighted', weights: { cost: 1, power: 2, distance: 0 } });
  });
});

describe('core/selection: the offer book', function () {
  it('keeps the newest offer per station, forgets a withdrawn one and drops expired ones', function () {
    const book = new OfferBook();
    book.put(offer('s1', { pricePerKWh: 100 }));
    book.put(offer('s1', { pricePerKWh: 120 }));
    book.put(offer('s2', { notAfter: NOW + 10 }));
    assert.deepEqual(book.live(NOW).map((o) => [o.stationId, o.pricePerKWh]), [['s1', 120], ['s2', 100]]);
    assert.deepEqual(book.live(NOW + 10).map((o) => o.stationId), ['s1']);
    assert.equal(book.get('s2'), undefined, 'expired offers are forgotten');
    assert.equal(book.remove('s1'), true);
    assert.deepEqual(book.live(NOW), []);
  });
});
