import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CreditGate, SimulatedEvse } from '../../../nodes/core/evse';
import { ConnectorCoupling, SiteBudget } from '../../../nodes/core/site';
import { FakeClock } from '../evse/fake-clock';

/** A session as the coupling sees it: a phase and the events a StationParty emits. */
class FakeSession extends EventEmitter {
  session: { phase: string; stopReason?: unknown } = { phase: 'idle' };
}

/** Three simulated chargers (16 A, a vehicle plugged into each) on an 18 A site. */
function threeConnectors(restored: string[] = []) {
  const clock = new FakeClock();
  const budget = new SiteBudget({ limitA: 18 });
  const connectors = ['c1', 'c2', 'c3'].map((id) => {
    budget.addConnector(id, 16);
    const evse = new SimulatedEvse({ maxCurrentA: 16, clock });
    evse.plug();
    evse.enable();
    const session = new FakeSession();
    if (restored.includes(id)) session.session = { phase: 'charging' };
    const coupling = new ConnectorCoupling(budget, id, session, evse);
    return { id, evse, session, coupling };
  });
  const offered = () => connectors.map((c) => c.evse.status().offeredCurrentA);
  return { clock, budget, connectors, offered };
}

describe('core/site coupling: a connector follows its share of the site budget', () => {
  it('offers no current until the budget gives some, and follows every recompute', () => {
    const { budget, connectors, offered } = threeConnectors();
    assert.deepEqual(offered(), [0, 0, 0], 'no session, no current');
    connectors[0].session.emit('opened', {});
    assert.deepEqual(offered(), [16, 0, 0]);
    connectors[1].session.emit('opened', {});
    assert.deepEqual(offered(), [9, 9, 0]);
    connectors[2].session.emit('opened', {});
    assert.deepEqual(offered(), [6, 6, 6]);
    connectors[0].session.emit('stopping', {});
    assert.deepEqual(offered(), [0, 9, 9]);
    connectors[0].session.emit('settled', {});
    assert.equal(budget.snapshot().allocatedA, 18);
  });

  it("lends a credit-paused connector's current to the others until its payment arrives", () => {
    const { clock, connectors, offered } = threeConnectors();
    for (const c of connectors) c.session.emit('opened', {});
    const gate = new CreditGate(connectors[1].evse, { incrementWh: 10, creditWh: 10 });
    clock.advance(60_000);
    gate.update(11, 0);
    assert.deepEqual(connectors[1].evse.status().pauseReasons.sort(), ['below-minimum-current', 'credit']);
    assert.deepEqual(offered(), [9, 0, 9]);
    gate.update(11, 10);
    assert.deepEqual(offered(), [6, 6, 6], 'paid: its share comes back');
    assert.deepEqual(connectors[1].evse.status().pauseReasons, []);
  });

  it('a session restored mid-charge asks for its share again; closing gives it back', () => {
    const { connectors, offered, budget } = threeConnectors(['c2']);
    assert.deepEqual(offered(), [0, 16, 0]);
    connectors[1].coupling.close();
    assert.equal(budget.snapshot().allocatedA, 0);
  });
});
