import assert from 'node:assert/strict';
import { ConnectorShare, SiteBudget, SiteSnapshot, waterFill } from '../../../nodes/core/site';
import { RANDOM_SEED, randomInt } from '../../support/random';

/** A budget with connectors c1..cN (16 A each unless given) and every `share` event it emits, in order. */
function site(limitA: number, caps: number[] = [16, 16, 16]) {
  const budget = new SiteBudget({ limitA });
  caps.forEach((cap, i) => budget.addConnector(`c${i + 1}`, cap));
  const events: ConnectorShare[] = [];
  budget.on('share', (share: ConnectorShare) => events.push(share));
  const current = () => Object.fromEntries(budget.snapshot().connectors.map((c) => [c.connectorId, c.currentA]));
  const states = () => Object.fromEntries(budget.snapshot().connectors.map((c) => [c.connectorId, c.state]));
  return { budget, events, current, states };
}

/** Replays share events onto chargers, as a coupling does, and checks the site's draw after every single one. */
function drawNeverExceeds(events: ConnectorShare[], limitA: number, from: Record<string, number>): void {
  const draw = { ...from };
  events.forEach((event, i) => {
    draw[event.connectorId] = event.currentA;
    const total = Object.values(draw).reduce((a, b) => a + b, 0);
    assert.ok(total <= limitA, `after event ${i}: ${total} A drawn`);
  });
}

describe('core/site power budget: fair shares, the 6 A floor, the queue', () => {
  it('water-fills in whole amps: equal shares, caps kept, the odd amps to the first asked', () => {
    assert.deepEqual(waterFill(32, [16, 16]), [16, 16]);
    assert.deepEqual(waterFill(25, [16, 16, 16]), [9, 8, 8]);
    assert.deepEqual(waterFill(40, [10, 32, 32]), [10, 15, 15]);
    assert.deepEqual(waterFill(41, [32, 10, 32]), [16, 10, 15]);
    assert.deepEqual(waterFill(100, [6, 10, 16]), [6, 10, 16]);
    assert.deepEqual(waterFill(10, []), []);
  });

  it(`water-filling never hands out more than the limit, is max-min fair, and respects every cap (RANDOM_SEED=${RANDOM_SEED})`, () => {
    for (let run = 0; run < 2000; run++) {
      const caps = Array.from({ length: 1 + randomInt(8) }, () => 6 + randomInt(75));
      const limit = randomInt(400);
      const shares = waterFill(limit, caps);
      const total = shares.reduce((a, b) => a + b, 0);
      const context = `limit ${limit}, caps ${caps.join()}, shares ${shares.join()}`;
      assert.ok(shares.every((s, i) => Number.isSafeInteger(s) && s >= 0 && s <= caps[i]), context);
      // Everything is given out unless every connector is at its cap.
      assert.equal(total, Math.min(limit, caps.reduce((a, b) => a + b, 0)), context);
      // Max-min fair: a connector below its cap has at most 1 A less than any other.
      const highest = Math.max(...shares);
      shares.forEach((s, i) => assert.ok(s === caps[i] || s >= highest - 1, context));
    }
  });

  it('gives each active connector a fair share of the site limit', () => {
    const { budget, current } = site(32);
    budget.start('c1');
    assert.deepEqual(current(), { c1: 16, c2: 0, c3: 0 }, 'one connector gets its own maximum');
    budget.start('c2');
    assert.deepEqual(current(), { c1: 16, c2: 16, c3: 0 });
    budget.start('c3');
    assert.deepEqual(current(), { c1: 11, c2: 11, c3: 10 });
    assert.equal(budget.snapshot().allocatedA, 32);
    assert.equal(budget.snapshot().allocatedW, 32 * 230);
  });

  it('never goes below 6 A: a connector the budget cannot give 6 A waits, queued, first come first served', () => {
    const { budget, current, states } = site(16, [16, 16, 16, 16]);
    budget.start('c1');
    budget.start('c2');
    assert.deepEqual(current(), { c1: 8, c2: 8, c3: 0, c4: 0 });
    budget.start('c4');
    budget.start('c3');
    assert.deepEqual(states(), { c1: 'charging', c2: 'charging', c3: 'queued', c4: 'queued' });
    assert.deepEqual(current(), { c1: 8, c2: 8, c3: 0, c4: 0 }, 'a third 6 A would need 18 A');
    assert.equal(budget.shareOf('c4').queuePosition, 1);
    assert.equal(budget.shareOf('c3').queuePosition, 2);
    budget.stop('c1');
    assert.deepEqual(states(), { c1: 'idle', c2: 'charging', c3: 'queued', c4: 'charging' }, 'the first in the queue gets the place');
    assert.deepEqual(current(), { c1: 0, c2: 8, c3: 0, c4: 8 });
    assert.equal(budget.shareOf('c3').queuePosition, 1);
  });

  it('recomputes when a session stops: the others get the freed current, decreases always reported first', () => {
    const { budget, events, current } = site(20);
    budget.start('c1');
    budget.start('c2');
    budget.start('c3');
    assert.deepEqual(current(), { c1: 7, c2: 7, c3: 6 });
    events.length = 0;
    budget.stop('c2');
    assert.deepEqual(current(), { c1: 10, c2: 0, c3: 10 });
    assert.deepEqual(events.map((e) => [e.connectorId, e.currentA]), [['c2', 0], ['c1', 10], ['c3', 10]]);
    events.length = 0;
    budget.start('c2');
    assert.deepEqual(current(), { c1: 7, c2: 6, c3: 7 }, 'c2 asked last now: the odd amp goes to c3');
    assert.deepEqual(events.map((e) => [e.connectorId, e.currentA]), [['c1', 7], ['c3', 7], ['c2', 6]]);
    drawNeverExceeds(events, 20, { c1: 10, c2: 0, c3: 10 });
  });

  it('recomputes when a connector pauses on credit: it keeps its place, the others draw its current meanwhile', () => {
    const { budget, current, states, events } = site(18, [16, 16, 16, 16]);
    for (const id of ['c1', 'c2', 'c3', 'c4']) budget.start(id);
    assert.deepEqual(current(), { c1: 6, c2: 6, c3: 6, c4: 0 });
    budget.pause('c2');
    assert.deepEqual(states(), { c1: 'charging', c2: 'paused', c3: 'charging', c4: 'queued' }, 'c4 does not take the paused place');
    assert.deepEqual(current(), { c1: 9, c2: 0, c3: 9, c4: 0 });
    events.length = 0;
    budget.resume('c2');
    assert.deepEqual(current(), { c1: 6, c2: 6, c3: 6, c4: 0 });
    drawNeverExceeds(events, 18, { c1: 9, c2: 0, c3: 9, c4: 0 });
    // Pause and resume of a connector that is not charging change nothing.
    events.length = 0;
    budget.pause('c4');
    budget.resume('c1');
    assert.equal(events.length, 0);
  });

  it('a lower site limit sends the connectors admitted last back to the head of the queue; a higher one admits them', () => {
    const { budget, current, states } = site(32, [16, 16, 16, 16]);
    for (const id of ['c1', 'c2', 'c3']) budget.start(id);
    budget.setLimit(13);
    assert.deepEqual(states(), { c1: 'charging', c2: 'charging', c3: 'queued', c4: 'idle' });
    assert.deepEqual(current(), { c1: 7, c2: 6, c3: 0, c4: 0 });
    budget.start('c4');
    assert.equal(budget.shareOf('c3').queuePosition, 1, 'c3 asked before c4');
    budget.setLimit(5);
    assert.deepEqual(current(), { c1: 0, c2: 0, c3: 0, c4: 0 }, 'below 6 A everyone waits');
    const sites: SiteSnapshot[] = [];
    budget.on('site', (snapshot: SiteSnapshot) => sites.push(snapshot));
    budget.setLimit(4);
    assert.deepEqual(sites.map((s) => s.limitA), [4], 'a new limit is told even when no share changes');
    budget.setLimit(24);
    assert.deepEqual(states(), { c1: 'charging', c2: 'charging', c3: 'charging', c4: 'charging' });
    assert.deepEqual(current(), { c1: 6, c2: 6, c3: 6, c4: 6 });
  });

  it(`never allocates more than the limit, nor less than 6 A to a charging connector, under random events (RANDOM_SEED=${RANDOM_SEED})`, () => {
    const caps = [16, 32, 10, 6, 20];
    const { budget, events } = site(40, caps);
    const ids = caps.map((_, i) => `c${i + 1}`);
    const draw: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
    for (let step = 0; step < 3000; step++) {
      const id = ids[randomInt(ids.length)];
      const limitBefore = budget.limitA;
      const action = randomInt(5);
      if (action === 0) budget.start(id);
      else if (action === 1) budget.stop(id);
      else if (action === 2) budget.pause(id);
      else if (action === 3) budget.resume(id);
      else if (randomInt(10) === 0) budget.setLimit(randomInt(60));
      // Replayed in order, the events never make the chargers draw more than the lower of the two limits.
      for (const event of events.splice(0)) {
        draw[event.connectorId] = event.currentA;
        const total = Object.values(draw).reduce((a, b) => a + b, 0);
        assert.ok(total <= Math.max(budget.limitA, limitBefore), `step ${step}: ${total} A drawn`);
      }
      const snapshot = budget.snapshot();
      assert.ok(snapshot.allocatedA <= snapshot.limitA, `step ${step}`);
      const admitted = snapshot.connectors.filter((c) => c.state === 'charging' || c.state === 'paused');
      assert.ok(admitted.length * 6 <= snapshot.limitA, `step ${step}: ${admitted.length} admitted`);
      for (const c of snapshot.connectors) {
        assert.equal(draw[c.connectorId], c.currentA, 'the events tell every change');
        if (c.state === 'charging') assert.ok(c.currentA >= 6 && c.currentA <= c.maxCurrentA, `step ${step}: ${c.connectorId} ${c.currentA} A`);
        else assert.equal(c.currentA, 0);
      }
      // No one waits while there is room for them.
      if (snapshot.connectors.some((c) => c.state === 'queued')) assert.ok((admitted.length + 1) * 6 > snapshot.limitA, `step ${step}`);
    }
  });

  it('refuses bad configuration with a clear error', () => {
    assert.throws(() => new SiteBudget({ limitA: 10.5 }), /limitA must be a whole number of amps >= 0/);
    assert.throws(() => new SiteBudget({ limitA: 32, minCurrentA: 5 }), /minCurrentA must be a whole number of amps >= 6/);
    const budget = new SiteBudget({ limitA: 32 });
    assert.throws(() => budget.addConnector('c1', 4), /maxCurrentA of connector c1 must be a whole number of amps >= 6/);
    budget.addConnector('c1', 16);
    assert.throws(() => budget.addConnector('c1', 16), /already on this site/);
    assert.throws(() => budget.start('c9'), /no connector c9/);
    assert.throws(() => budget.setLimit(-1), /limitA must be/);
    assert.equal(budget.limitA, 32, 'a refused limit changes nothing');
  });
});
