import assert from 'node:assert/strict';
import { CreditGate, completedIncrements, decideCredit } from '../../../nodes/core/evse/credit-gate';
import { SimulatedEvse } from '../../../nodes/core/evse/simulated';
import { Pausable } from '../../../nodes/core/evse/types';
import { SimulatedMeter } from '../../../nodes/core/meter/simulated';
import { FakeClock } from './fake-clock';

const HOUR = 3_600_000;

class RecordingTarget implements Pausable {
  readonly reasons = new Set<string>();
  pause(reason: string): void {
    this.reasons.add(reason);
  }
  resume(reason: string): void {
    this.reasons.delete(reason);
  }
}

describe('core/evse credit gate', () => {
  it('lets energy flow while unpaid energy is within the credit and pauses the moment it exceeds it', () => {
    const policy = { incrementWh: 10, creditWh: 10 };
    for (let paidWh = 0; paidWh <= 40; paidWh += 10) {
      for (let deliveredWh = 0; deliveredWh <= 60; deliveredWh++) {
        const decision = decideCredit(deliveredWh, paidWh, policy);
        const unpaid = Math.max(0, deliveredWh - paidWh);
        assert.equal(decision.unpaidWh, unpaid);
        assert.equal(decision.action, unpaid > 10 ? 'pause' : 'resume', `delivered ${deliveredWh}, paid ${paidWh}`);
        assert.equal(decision.headroomWh, 10 + paidWh - deliveredWh);
        assert.equal(decision.completedIncrements, Math.floor(deliveredWh / 10));
      }
    }
  });

  it('defaults the credit to one increment; credit 0 means prepay only; prepaid energy is headroom', () => {
    assert.equal(decideCredit(25, 0, { incrementWh: 25 }).action, 'resume');
    assert.equal(decideCredit(26, 0, { incrementWh: 25 }).action, 'pause');
    assert.equal(decideCredit(1, 0, { incrementWh: 25, creditWh: 0 }).action, 'pause');
    const prepaid = decideCredit(10, 50, { incrementWh: 25, creditWh: 0 });
    assert.equal(prepaid.action, 'resume');
    assert.equal(prepaid.unpaidWh, 0);
    assert.equal(prepaid.headroomWh, 40);
  });

  it('rejects fractional, negative and unsafe amounts', () => {
    assert.throws(() => decideCredit(1.5, 0, { incrementWh: 10 }), RangeError);
    assert.throws(() => decideCredit(1, -1, { incrementWh: 10 }), RangeError);
    assert.throws(() => decideCredit(1, 0, { incrementWh: 0 }), RangeError);
    assert.throws(() => decideCredit(1, 0, { incrementWh: 10, creditWh: -1 }), RangeError);
    assert.throws(() => decideCredit(2 ** 53, 0, { incrementWh: 10 }), RangeError);
    assert.throws(() => new CreditGate(new RecordingTarget(), { incrementWh: 10 }).update(5, 0.5), RangeError);
    assert.equal(completedIncrements(39, 10), 3);
  });

  it('pauses and resumes under its own reason only', () => {
    const target = new RecordingTarget();
    target.pause('watchdog');
    const gate = new CreditGate(target, { incrementWh: 10 });
    assert.equal(gate.update(21, 10).action, 'pause');
    assert.deepEqual([...target.reasons], ['watchdog', 'credit']);
    assert.equal(gate.unpaidWh, 11);
    assert.equal(gate.update(21, 20).action, 'resume');
    assert.deepEqual([...target.reasons], ['watchdog'], 'the watchdog pause stays');
    assert.equal(gate.unpaidWh, 1);
  });

  describe('in a closed loop with the simulated station', () => {
    const incrementWh = 10;
    const readEveryMs = 1000;
    const powerW = 230 * 16;

    /** Runs a charging session; the vehicle pays each completed increment `paymentDelayMs` later, while it pays. */
    function runSession(creditWh: number, paymentDelayMs: number, stopPayingAfterIncrements: number, seconds: number) {
      const clock = new FakeClock();
      const evse = new SimulatedEvse({ maxCurrentA: 16, clock });
      const meter = new SimulatedMeter(evse);
      const gate = new CreditGate(evse, { incrementWh, creditWh });
      evse.plug();
      evse.enable();
      let paidIncrements = 0;
      let promised = 0;
      let maxUnpaidWh = 0;
      let pausedReadings = 0;
      for (let t = 0; t < seconds; t++) {
        clock.advance(readEveryMs);
        const { registerWh } = meter.readNow();
        const owed = completedIncrements(registerWh, incrementWh);
        while (promised < Math.min(owed, stopPayingAfterIncrements)) {
          promised++;
          clock.setTimeout(() => {
            paidIncrements++;
            gate.update(meter.readNow().registerWh, paidIncrements * incrementWh);
          }, paymentDelayMs);
        }
        const decision = gate.update(registerWh, paidIncrements * incrementWh);
        maxUnpaidWh = Math.max(maxUnpaidWh, decision.unpaidWh);
        if (!evse.status().charging) pausedReadings++;
      }
      const result = { maxUnpaidWh, pausedReadings, deliveredWh: meter.readNow().registerWh, paidIncrements };
      evse.close();
      return result;
    }

    // Energy that can flow between the reading that still allowed it and the pause: one reading interval, plus
    // 1 Wh because the register shows whole Wh.
    const overshootWh = Math.ceil((powerW * readEveryMs) / HOUR) + 1;

    it('with the default credit of one increment, pauses while each payment is under way, never beyond the bound', () => {
      const result = runSession(incrementWh, 2000, Infinity, 300);
      assert.ok(result.pausedReadings > 0, 'energy after a completed increment waits for its payment');
      assert.ok(result.deliveredWh > 200, 'and it charges in between');
      assert.ok(result.maxUnpaidWh <= incrementWh + overshootWh, `max unpaid ${result.maxUnpaidWh} Wh`);
    });

    it('never pauses when the credit covers one increment plus the payment latency', () => {
      const latencyWh = Math.ceil((powerW * 2000) / HOUR);
      const creditWh = incrementWh + latencyWh + overshootWh;
      const result = runSession(creditWh, 2000, Infinity, 300);
      assert.equal(result.pausedReadings, 0);
      assert.ok(result.maxUnpaidWh <= creditWh, `max unpaid ${result.maxUnpaidWh} Wh`);
    });

    it('stops a vehicle that stops paying within credit plus one reading interval of energy', () => {
      const result = runSession(incrementWh, 2000, 3, 600);
      const paidWh = 3 * incrementWh;
      assert.equal(result.paidIncrements, 3);
      assert.ok(result.deliveredWh - paidWh <= incrementWh + overshootWh, `delivered ${result.deliveredWh} Wh for ${paidWh} Wh paid`);
      assert.ok(result.deliveredWh - paidWh > incrementWh, 'it did extend the credit');
      assert.ok(result.pausedReadings > 500, 'it stayed paused');
    });
  });
});
