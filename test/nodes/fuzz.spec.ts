import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import RED from 'node-red';
import { canonicalJson, makeEnvelope, ProtocolError, Role, Stage, topicFor } from '../../nodes/core/protocol';
import type { SessionRecord, StationParty, VehicleParty } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { startBroker, TestBroker } from '../support/broker';
import { helper, loadFlow, startedParty } from '../support/nodered';
import { money } from '../support/parties';
import { FuzzCase, fuzzer, Genuine } from '../support/fuzzer';
import { seededRandom } from '../support/random';
import { assertWalletBooks, collect, errorsOf, EventMsg, NODES, ONE_SESSION, readStationMeter, sessionFlow, startOneSession } from '../support/session-flow';
import { until } from '../support/wait';
import { tempDir } from '../support/temp';

type Side = Role;
const SIDES: readonly Side[] = ['station', 'vehicle'];
/** The seven protocol topics, by the side that reads them. */
const TOPICS: Record<Side, string[]> = {
  station: (['open', 'pay', 'settle'] as Stage[]).map((stage) => topicFor('m2m-ev/v1', 'ST1', stage, 'station')),
  vehicle: (['offer', 'open', 'pay', 'settle'] as Stage[]).map((stage) => topicFor('m2m-ev/v1', 'ST1', stage, 'vehicle')),
};
const STAGE_NODES: Record<Side, string[]> = { station: ['open-s', 'pay-s', 'settle-s'], vehicle: ['open-v', 'pay-v', 'settle-v'] };
/** The topics each stage node takes: one wildcard `mqtt in` per side feeds all three, and each ignores the rest. */
const TAKES: Record<string, string[]> = {
  'open-s': [TOPICS.station[0]],
  'pay-s': [TOPICS.station[1]],
  'settle-s': [TOPICS.station[2]],
  'open-v': TOPICS.vehicle.slice(0, 2),
  'pay-v': [TOPICS.vehicle[2]],
  'settle-v': [TOPICS.vehicle[3]],
};
const sideOf = (topic: string): Side => (TOPICS.station.includes(topic) ? 'station' : 'vehicle');

/**
 * The session flow, with the vehicle's `mqtt in` node delivering raw bytes: the station's delivers text as the
 * example flows do. Either way the stage nodes meet every byte, and check size and depth before they parse.
 * The station drives a (simulated) charger, whose every command shows in its status output, and the wallets keep
 * their files in a folder of the test's own. The heartbeat runs every 20 minutes (peer timeout one hour): no timer
 * sends anything while the test watches what each fuzz message does.
 */
function fuzzFlow(port: number, messagesPerSecond?: string) {
  const rate = { peerTimeout: '3600', ...(messagesPerSecond ? { messagesPerSecond } : {}) };
  const wallets = tempDir('m2m-fuzz-wallets-');
  const flow = sessionFlow(port, { vehicle: { targetWh: '0', ...rate, ...ONE_SESSION }, station: rate });
  return [
    ...flow.map((node) => {
      if (node.type === 'mqtt in' && node.id === 'in-v') return { ...node, datatype: 'buffer' };
      return node.type === 'iota-wallet' ? { ...node, dataDir: wallets } : node;
    }),
    { id: 'evse-s', z: 'tab', type: 'evse-control', party: 'party-s', driver: 'simulated', maxCurrentA: '32', volts: '230', phases: '3', autoPlug: true, vehicleTargetWh: '0', watchdog: '0', wires: [['evse-stream'], ['evse-stream']] },
    { id: 'evse-stream', z: 'tab', type: 'helper' },
  ];
}
/** A journal is append-only: any write changes its size and modification time (read in nanoseconds). */
function fileVersion(file: string): string {
  const { size, mtimeNs } = fs.statSync(file, { bigint: true });
  return `${size} bytes, modified ${mtimeNs} ns`;
}

/** The wallets' files (key-index counter, addresses, pending sends) in the flow's wallet folder. */
function walletFiles(flow: { type: string; dataDir?: unknown }[]): string {
  const dir = String(flow.find((node) => node.type === 'iota-wallet')!.dataDir);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

/** What no fuzz message may change: what money depends on, the offer a vehicle holds, the journal file. */
function stateOf(party: StationParty | VehicleParty, journal: string): string {
  return `${money(party.session)} ${JSON.stringify(party.session.offer)} ${fs.readFileSync(journal, 'utf8')}`;
}

interface CompleteEvent {
  msg: { topic?: unknown; payload?: unknown };
  error?: Error;
  node: { id: string };
}
/** Node-RED's runtime hooks; a labelled hook can be removed again. */
const hooks = RED.hooks as unknown as { add(id: string, handler: (event: CompleteEvent) => void): void; remove(id: string): void };

/** Counts, per side, the messages the stage nodes finished with: each by the node it is addressed to. */
class Handled {
  readonly count: Record<Side, number> = { station: 0, vehicle: 0 };
  /** Refusals and acceptances by category (the ProtocolError code, the core node's error, an accepted replay). */
  readonly outcomes = new Map<string, number>();
  readonly unclean: string[] = [];
  readonly acceptedForgeries: string[] = [];
  /** The outcome of the message finished with last. */
  last = '';
  private readonly genuine: Set<string>;
  private waiters: { total: number; resolve: () => void }[] = [];

  constructor(genuine: readonly string[]) {
    this.genuine = new Set(genuine.map((text) => canonicalJson(JSON.parse(text))));
    hooks.add('onComplete.fuzz', (event) => this.completed(event));
  }

  close(): void {
    hooks.remove('onComplete.fuzz');
  }

  /** Resolves once the nodes have finished with `total` messages, both sides together. */
  finished(total: number): Promise<void> {
    if (this.count.station + this.count.vehicle >= total) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ total, resolve }));
  }

  private tally(side: Side, outcome: string): void {
    this.count[side]++;
    const key = `${side} ${outcome}`;
    this.last = key;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
    const done = this.count.station + this.count.vehicle;
    for (const waiter of this.waiters.filter((w) => w.total <= done)) waiter.resolve();
    this.waiters = this.waiters.filter((w) => w.total > done);
  }

  private completed({ msg, error, node }: CompleteEvent): void {
    const side = SIDES.find((s) => STAGE_NODES[s].includes(node.id));
    if (!side || !TAKES[node.id].includes(String(msg.topic))) return;
    if (error) {
      const clean = error instanceof ProtocolError || error.name === 'FlashError';
      if (!clean) this.unclean.push(`${node.id}: ${error.name}: ${error.message}`);
      this.tally(side, error instanceof ProtocolError ? `refused ${error.code}` : `refused ${error.name}`);
      return;
    }
    // Accepted: only an exact copy of a genuine message may pass (as a duplicate, a no-op), or the peer's own
    // fresh heartbeat, which is not one of ours (a fuzz message cannot carry the peer's signature).
    // An empty message on the offer topic is the station's withdrawal (as the broker's Last Will sends it): the
    // vehicle forgets that offer, which changes no session and sends nothing.
    if (String(msg.topic) === TOPICS.vehicle[0] && String(msg.payload) === '') return this.tally(side, 'accepted: an offer withdrawn');
    const canonical = canonicalOf(msg.payload);
    if (canonical !== null && this.genuine.has(canonical)) return this.tally(side, 'accepted: replay of a genuine message');
    if (canonical !== null && (JSON.parse(canonical) as { type?: unknown }).type === 'resend') return;
    this.acceptedForgeries.push(`${node.id}: ${String(canonical).slice(0, 300)}`);
    this.tally(side, 'accepted: NOT a replay');
  }
}

function canonicalOf(payload: unknown): string | null {
  try {
    return canonicalJson(Buffer.isBuffer(payload) || typeof payload === 'string' ? JSON.parse(payload.toString()) : payload);
  } catch {
    return null;
  }
}

describe('nodes: fuzzing through the core MQTT nodes, the stage nodes and a real broker', function () {
  let broker: TestBroker;
  let client: MqttClient;
  before(async () => {
    broker = await startBroker();
    await helper.startServer();
  });
  after(async () => {
    await client?.endAsync(true);
    await helper.unload();
    await helper.stopServer();
    await broker.close();
  });

  /** Loads the flow with fresh wallets and waits until both parties charge. */
  async function charging(messagesPerSecond?: string) {
    const flow = fuzzFlow(broker.port, messagesPerSecond);
    const seeds = [generateSeed(), generateSeed()];
    await loadFlow(NODES, flow, { 'wallet-s': { seed: seeds[0] }, 'wallet-v': { seed: seeds[1] } });
    const events = { station: collect('events-s'), vehicle: collect('events-v') };
    await startOneSession(events.vehicle);
    const station = await startedParty<StationParty>('party-s');
    const vehicle = await startedParty<VehicleParty>('party-v');
    await until(() => station.phase === 'charging' && vehicle.phase === 'charging', 'the channel to open');
    const dataDir = String(flow.find((node) => node.id === 'party-s')!.dataDir);
    const journals = { station: path.join(dataDir, 'station-ST1.json'), vehicle: path.join(dataDir, 'vehicle-EV1.json') };
    const state = () => ({ station: stateOf(station, journals.station), vehicle: stateOf(vehicle, journals.vehicle) });
    const evse = collect('evse-stream');
    const published = { station: collect('out-s'), vehicle: collect('out-v') };
    /** What a refused message must leave as it was, by name. */
    const effects = (): Record<string, unknown> => ({
      'station journal': fileVersion(journals.station),
      'vehicle journal': fileVersion(journals.vehicle),
      'wallet files (key-index counters)': walletFiles(flow),
      'EVSE commands and statuses': evse.length,
      'messages the station published': published.station.length,
      'messages the vehicle published': published.vehicle.length,
    });
    /** The simulated charger draws until paid + credit, then stops by itself (a timer): after that it is quiet. */
    const evseStopped = () => until(() => evse.at(-1)?.topic === 'evse' && evse.at(-1)!.payload.charging === false, 'the charger to stop at paid + credit');
    return { seeds, events, station, vehicle, state, effects, evseStopped };
  }

  /** Publishes every case through the broker, at most `window` ahead of what the nodes have finished. */
  async function publish(cases: Iterable<FuzzCase>, handled: Handled, random: () => number, window = 300): Promise<Record<Side, number>> {
    const sent = { station: 0, vehicle: 0 };
    const behind = () => sent.station + sent.vehicle - handled.count.station - handled.count.vehicle;
    let batch: Promise<unknown>[] = [];
    for (const c of cases) {
      sent[sideOf(c.topic)]++;
      batch.push(client.publishAsync(c.topic, c.payload, { qos: random() < 0.5 ? 0 : 1, retain: false }));
      if (batch.length === 50) {
        await Promise.all(batch);
        batch = [];
        await until(() => behind() < window, 'the nodes to catch up', 60_000);
      }
    }
    await Promise.all(batch);
    await until(() => handled.count.station >= sent.station && handled.count.vehicle >= sent.vehicle, 'the nodes to handle every fuzz message', 60_000);
    return sent;
  }

  /**
   * Publishes the cases one at a time, each once the nodes have finished with the one before, and compares what a
   * refusal must not change (journals, wallet files, the EVSE stream, published messages) between one message and
   * the next. Returns what changed, naming the message.
   */
  async function publishEach(cases: Iterable<FuzzCase>, handled: Handled, random: () => number, effects: () => Record<string, unknown>) {
    const sent = { station: 0, vehicle: 0 };
    const changed: string[] = [];
    let before = effects();
    for (const c of cases) {
      sent[sideOf(c.topic)]++;
      await client.publishAsync(c.topic, c.payload, { qos: random() < 0.5 ? 0 : 1, retain: false });
      await handled.finished(sent.station + sent.vehicle);
      // The nodes pass on what they send in the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      const after = effects();
      const parts = Object.keys(after).filter((key) => after[key] !== before[key]);
      if (parts.length > 0) changed.push(`${c.kind} on ${c.topic} (${handled.last}) changed: ${parts.join(', ')}`);
      before = after;
    }
    return { sent, changed };
  }

  function report(title: string, handled: Handled, sent: Record<Side, number>, extra: Record<string, unknown> = {}): void {
    const outcomes = [...handled.outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `    ${String(n).padStart(6)}  ${key}`);
    console.log(`  ${title}: sent ${JSON.stringify(sent)}, ${JSON.stringify(extra)}\n${outcomes.join('\n')}`);
  }

  it('changes nothing and never crashes on 10,000 random, mutated, forged and replayed messages, each compared before and after; the session then settles to the token', async function () {
    // One message at a time: about 5 ms each on two busy cores.
    this.timeout(600_000);
    const started = Date.now();
    const seed = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
    console.log(`  fuzz seed ${seed} (FUZZ_SEED=${seed} repeats the same mutations)`);
    const random = seededRandom(seed);

    // Capture the genuine traffic of the opening and of one paid increment.
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    // One message at a time: without TCP_NODELAY each waits for the broker's delayed acknowledgement of the last.
    (client.stream as Socket).setNoDelay(true);
    const captured: { topic: string; text: string }[] = [];
    client.on('message', (topic, payload) => captured.push({ topic, text: payload.toString('utf8') }));
    await client.subscribeAsync('m2m-ev/#', { qos: 1 });
    const { seeds, events, station, vehicle, state, effects, evseStopped } = await charging('100000');
    let register = 1000;
    const read = () => readStationMeter(register, 1000);
    await read(); // the start register
    register += 10;
    await read();
    await until(() => station.session.paidIncrements === 1 && vehicle.session.paidIncrements === 1, 'the first increment to be paid');
    await evseStopped();
    // The increment ends with the vehicle's completion: once the station has it (paid above) and so has this
    // client, nothing of the session is in flight.
    await until(() => captured.some(({ text }) => (JSON.parse(text) as { type?: unknown }).type === 'completion'), 'the completion to be captured');
    await client.unsubscribeAsync('m2m-ev/#');
    const genuine: Genuine[] = captured.map(({ topic, text }) => ({ topic, text, envelope: JSON.parse(text) as Record<string, unknown> }));
    const types = [...new Set(genuine.map((g) => String(g.envelope.type)))];
    for (const type of ['offer', 'open', 'open-accept', 'deposit', 'ready', 'claim', 'proposal', 'cosignature', 'completion']) assert.ok(types.includes(type), `captured a genuine ${type}`);

    const before = state();
    const crashes: string[] = [];
    const onUnhandled = (reason: unknown) => crashes.push(`unhandledRejection: ${String(reason)}`);
    const onUncaught = (err: Error) => crashes.push(`uncaughtException: ${err.stack}`);
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUncaught);
    const handled = new Handled(genuine.map((g) => g.text));
    const kinds = new Map<string, number>();
    const next = fuzzer(random, genuine, vehicle.session.sessionId, [...TOPICS.station, ...TOPICS.vehicle]);
    const cases = function* () {
      for (let i = 0; i < 10_000; i++) {
        const c = next();
        kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
        yield c;
      }
    };
    const fuzzStarted = Date.now();
    let sent: Record<Side, number>;
    let changed: string[];
    const effectsBefore = effects();
    try {
      // Each message is compared once the stage node it is addressed to has finished with it.
      ({ sent, changed } = await publishEach(cases(), handled, random, effects));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUncaught);
      handled.close();
    }
    const fuzzSeconds = (Date.now() - fuzzStarted) / 1000;
    const stageErrors = () => errorsOf([...STAGE_NODES.station, ...STAGE_NODES.vehicle]).length;
    const stageErrorsAfterFuzz = stageErrors();
    console.log(`  sent by kind: ${JSON.stringify(Object.fromEntries(kinds))}`);
    report('fuzz outcomes', handled, sent, { seconds: fuzzSeconds, perSecond: Math.round(10_000 / fuzzSeconds) });

    assert.deepEqual(crashes, [], 'no unhandled rejection, no uncaught exception');
    assert.deepEqual(changed.slice(0, 20), [], 'no fuzz message changed a journal, a wallet file, the EVSE stream or what the parties publish');
    assert.deepEqual(effects(), effectsBefore, 'nothing changed later either');
    assert.deepEqual(handled.unclean, [], 'every refusal is a ProtocolError, a FlashError or the core node’s JSON error');
    assert.deepEqual(handled.acceptedForgeries, [], 'only exact replays of genuine messages are accepted (as no-ops)');
    assert.deepEqual(handled.count, sent, 'every message was handled exactly once');
    assert.deepEqual(state(), before, 'no fuzz message changed the session, the offer or the journal of either side');
    assert.ok(SIDES.every((side) => [...handled.outcomes.keys()].some((key) => key.startsWith(`${side} refused BAD_SIGNATURE`))), 'forgeries reached the signature check on both sides');
    // No node but the stage nodes reported anything.
    const others = ['party-s', 'party-v', 'wallet-s', 'wallet-v', 'tangle', 'broker', 'out-s', 'out-v', 'in-s', 'in-v'];
    assert.deepEqual(errorsOf(others), []);
    // No secret in any error, warning or log line, nor on the broker.
    const logged = helper.log().getCalls().map((call) => JSON.stringify(call.args)).join('\n');
    for (const secret of seeds) {
      assert.ok(!logged.includes(secret) && !captured.some((m) => m.text.includes(secret)), 'a seed leaked');
    }

    // The session is alive: three more increments are claimed and paid, then the vehicle stops and both settle.
    for (let i = 0; i < 3; i++) {
      register += 10;
      await read();
    }
    await until(() => station.session.paidIncrements === 4 && vehicle.session.paidIncrements === 4, 'three more increments to be paid');
    helper.getNode('settle-v').receive({ payload: 'stop' } as never);
    const settled = (list: EventMsg[]) => list.find((m) => m.topic === 'settled')?.payload as SessionRecord | undefined;
    await until(() => settled(events.station) !== undefined && settled(events.vehicle) !== undefined, 'both sides to settle');
    const record = settled(events.station)!;
    const cost = record.total_cost.excl_vat;
    assert.equal(record.remark, 'local-stop');
    assert.equal(record.energy_wh, 40);
    assert.equal(record.increments, 4);
    assert.equal(cost, (record.energy_wh * 100) / 1000, 'price × energy: 100 tokens per kWh');
    assert.deepEqual(record.channel.final_balances, { vehicle: 40 - cost, station: 40 + cost });
    assert.deepEqual(settled(events.vehicle)!.channel.final_balances, record.channel.final_balances);
    const payments = events.vehicle.filter((m) => m.topic === 'paid').map((m) => m.payload as { amount: number });
    assert.equal(payments.reduce((sum, p) => sum + p.amount, 0), cost, 'the vehicle paid each increment once');
    await assertWalletBooks(cost, record.channel.deposit_address);
    assert.equal(stageErrors(), stageErrorsAfterFuzz, 'the genuine session raised no error');
    console.log(`  whole test ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('at the default rate limit, a burst is cut off with RATE_LIMITED, and what gets through is refused cleanly', async function () {
    await helper.unload();
    await client.endAsync(true);
    // A fresh broker: the first test's retained offer is signed by another station key.
    await broker.close();
    broker = await startBroker();
    const { vehicle, state } = await charging();
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    const before = state();
    const handled = new Handled([]);
    const random = seededRandom(1);
    const sessionId = vehicle.session.sessionId;
    // 400 look-alikes of a claim on each side's pay topic, as fast as the broker takes them: the limit is 50 a
    // second after a burst of 100, so most of them meet RATE_LIMITED; the first hundred meet the full checks.
    const burst = function* () {
      for (let i = 0; i < 800; i++) {
        const from = i % 2 ? 'station' : 'vehicle';
        const envelope = makeEnvelope('claim', from, sessionId, 2 + (i >> 1), { increments: 2, registerWh: 1020, startRegisterWh: 1000, readAt: Date.now() });
        yield { kind: 'burst', topic: topicFor('m2m-ev/v1', 'ST1', 'pay', from === 'station' ? 'vehicle' : 'station'), payload: JSON.stringify({ ...envelope, sig: 'A'.repeat(86) }) };
      }
    };
    let sent: Record<Side, number>;
    try {
      // Resolves once the stage nodes have finished with every message of the burst.
      sent = await publish(burst(), handled, random, 1000);
    } finally {
      handled.close();
    }
    report('burst outcomes', handled, sent);
    assert.deepEqual(handled.unclean, []);
    assert.deepEqual(handled.acceptedForgeries, []);
    assert.deepEqual(handled.count, sent);
    for (const side of SIDES) {
      const limited = handled.outcomes.get(`${side} refused RATE_LIMITED`) ?? 0;
      assert.ok(limited > 0 && limited <= 400 - 100, `${side}: ${limited} of 400 cut off by the rate limit, at most 300`);
    }
    assert.deepEqual(state(), before);
  });
});
