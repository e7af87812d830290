import type { PaymentEvent } from '../nodes/core/session';
import { devTangle, Pair } from '../test/support/parties';
import { until } from '../test/support/wait';
import { countFromEnv, loadAverage } from './timing';

/**
 * `node dist/bench/long-session.js` (BENCH_PAYMENTS payments, default 2000): one station and one vehicle in this
 * process, at session level (journals, the engine's worker, real crypto at security 2, depth 12) on the development
 * Tangle, pay one long session increment by increment, as an hour of charging at 22 kW does (a payment every
 * 1.6 s). Every few hundred payments it prints the CPU per payment of both parties together: it must stay the same
 * as the tree grows. Not part of `npm run bench`, which keeps to its ten minutes. See docs/PERFORMANCE.md.
 */
const PAYMENTS = countFromEnv('BENCH_PAYMENTS', 2000);
const REPORT_AT = [100, 500, 1000, 1500, 2000, 3000, 4000].filter((n) => n < PAYMENTS).concat(PAYMENTS);

async function main(): Promise<void> {
  console.log(`one session of ${PAYMENTS} payments; node ${process.version}; load average ${loadAverage()}`);
  const tangle = await devTangle();
  const clock = { t: Date.now() };
  const pair = new Pair(tangle, {
    common: { now: () => clock.t },
    maxOffers: 1,
    station: { security: 2, maxDepth: 12, maxAtRisk: PAYMENTS + 100 },
    vehicle: { security: 2, maxDepth: 12, deposit: PAYMENTS + 100, targetWh: 0 },
  });
  try {
    await pair.wallets.vehicle.topUpFromFaucet(PAYMENTS + 100);
    await pair.startCharging();
    let paid = 0;
    pair.station.on('paid', (event: PaymentEvent) => (paid = event.increments));
    let register = 1000;
    // The first reading only sets the session's start register.
    await pair.station.meterReading({ registerWh: register, timestamp: clock.t, source: 'bench' });
    console.log('payments      CPU per payment (both parties)   nodes in the tree');
    let done = 0;
    for (const upTo of REPORT_AT) {
      const from = done;
      const cpu = process.cpuUsage();
      while (done < upTo) {
        // 10 Wh every 10 s of the parties' clock: 3.6 kW, within the offer's power.
        clock.t += 10_000;
        register += 10;
        done++;
        await pair.station.meterReading({ registerWh: register, timestamp: clock.t, source: 'bench' });
        await until(() => paid >= done, `payment ${done}`, 60_000);
        // The harness keeps every message and event for the tests to read; here they would be the only growth.
        pair.sent.length = 0;
        pair.events.length = 0;
      }
      const used = process.cpuUsage(cpu);
      const nodes = Object.keys(pair.vehicle.session.channel!.nodes).length;
      console.log(`${`${from}..${upTo}`.padEnd(14)}${`${((used.user + used.system) / 1000 / (upTo - from)).toFixed(1)} ms`.padEnd(33)}${nodes}`);
    }
    console.log(`load average at the end ${loadAverage()}`);
  } finally {
    pair.close();
    await tangle.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
