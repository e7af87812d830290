import type { EventEmitter } from 'node:events';
import { generateSeed } from '../nodes/core/wallet';
import { startBroker } from '../test/support/broker';
import { helper, loadFlow } from '../test/support/nodered';
import { type EventMsg, NODES, sessionFlow } from '../test/support/session-flow';
import { until } from '../test/support/wait';
import type { Figures } from './index';
import { msSince, report, SAMPLES, timingOf } from './timing';

const INCREMENT_WH = 10;
/** The charger's power: readings come at its pace, one increment every 1.6 s, as the vehicle's plausibility check expects. */
const CHARGER_W = 22_000;
const INCREMENT_MS = (INCREMENT_WH / CHARGER_W) * 3_600_000;
/** The wallets' default security level (the test flows use 1 to save time). */
const SECURITY = 2;
/** Increments paid before the measurement: the first one after the opening warms up every code path. */
const WARMUP = 1;

/**
 * One increment through the real nodes: a station and a vehicle in one Node-RED runtime (the test helper's), their
 * stage nodes talking only through Node-RED's core `mqtt in`/`mqtt out` nodes and an in-process broker (aedes).
 * Timed from a meter reading entering the station's `meter-in` to the station's `paid` event, which it emits once
 * the co-signed state is in its journal: claim, proposal, co-signature, completion, journal write. The increments
 * follow one another at a 22 kW charger's pace (one every 1.6 s, untimed), each reading once the previous one is
 * paid.
 */
export async function run(): Promise<Figures> {
  const increments = WARMUP + SAMPLES;
  // One token per increment (100 tokens per kWh, 10 Wh); the vehicle's deposit and target cover every increment.
  const deposit = increments + 2;
  const broker = await startBroker();
  await helper.startServer();
  try {
    const flow = [
      ...sessionFlow(broker.port, {
        // One channel for every sample: the old-state cap (half the vehicle's deposit by default) is raised to the
        // whole deposit, so that the bench times payments rather than a rollover halfway through.
        station: { incrementWh: String(INCREMENT_WH), creditWh: String(INCREMENT_WH), maxAtRisk: String(deposit) },
        vehicle: { deposit: String(deposit), targetWh: String(deposit * INCREMENT_WH) },
      }).map((node) => (node.type === 'iota-wallet' ? { ...node, security: String(SECURITY), devFunding: String(deposit + 100) } : node)),
      { id: 'meter-s', z: 'tab', type: 'meter-in', source: 'msg', unit: 'Wh', wires: [['pay-s']] },
    ];
    await loadFlow(NODES, flow, { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });

    // The moment of each station event, taken as it happens (no polling between the event and the clock).
    const seen: string[] = [];
    let waiting: { paid: () => void; stopped: (err: Error) => void } | null = null;
    (helper.getNode('events-s') as unknown as EventEmitter).on('input', (msg: EventMsg) => {
      seen.push(msg.topic);
      if (msg.topic === 'paid') waiting?.paid();
      if (msg.topic === 'stopping') waiting?.stopped(new Error(`the session stopped during the bench: ${JSON.stringify(msg.payload)}`));
    });
    const openStart = process.hrtime.bigint();
    await until(() => seen.includes('opened'), 'the channel to open', 600_000);
    console.log(`channel open and funded after ${(msSince(openStart) / 1000).toFixed(1)} s (not measured below)`);

    const meter = helper.getNode('meter-s');
    let registerWh = 1000;
    // The first reading sets the session's start register; no increment is complete yet.
    meter.receive({ payload: { registerWh, timestamp: Date.now() } } as never);
    const samples: number[] = [];
    const firstReading = Date.now();
    for (let i = 0; i < increments; i++) {
      registerWh += INCREMENT_WH;
      const paid = new Promise<void>((resolve, reject) => (waiting = { paid: resolve, stopped: reject }));
      // Untimed: the meter reaches the next increment at the charger's pace.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstReading + (i + 1) * INCREMENT_MS - Date.now())));
      const start = process.hrtime.bigint();
      meter.receive({ payload: { registerWh, timestamp: Date.now() } } as never);
      await paid;
      if (i >= WARMUP) samples.push(msSince(start));
    }
    const increment = timingOf('meter reading → claim → pay → accept → journal, over MQTT', samples);
    report([increment]);
    return { mqtt_increment_median_ms: increment.medianMs };
  } finally {
    await helper.unload();
    await helper.stopServer();
    await broker.close();
  }
}
