import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { AnyEnvelope, makeEnvelope, newKeyPair, signEnvelope, Stage } from '../../nodes/core/protocol';
import { SessionJournal, SessionRecord, SessionSnapshot, StationParty, TrustStore, VehicleParty } from '../../nodes/core/session';
import { generateSeed, Wallet } from '../../nodes/core/wallet';
import type { IotaTangleNode, IotaWalletNode } from '../../nodes/types';
import { helper, loadFlow, startedParty } from '../support/nodered';
import { money } from '../support/parties';
import { assertWalletBooks, brokerAndRuntime, collect, errorsOf, EventMsg, NODES, ONE_SESSION, PREFIX, sessionFlow, startOneSession } from '../support/session-flow';
import { until } from '../support/wait';
import { tempDir } from '../support/temp';

const STAGE_OF: Record<string, Stage> = { offer: 'offer', open: 'open', pay: 'pay', settle: 'settle' };
/** `m2m-ev/v1/ST1/<stage>[/<receiver>]` → the stage. */
const stageOf = (topic: string): Stage => STAGE_OF[topic.slice(PREFIX.length + 1).split('/')[0]];

class Vanished extends Error {}

/**
 * A stranger's vehicle on the broker: a real VehicleParty (its own wallet on the same Tangle, its own keys) linked to
 * the broker by an MQTT client of its own. At `step` (as onStep names it) it vanishes: the client goes, nothing more
 * is sent or received.
 */
async function strangerVehicle(port: number, step: string) {
  const dir = tempDir('m2m-stranger-');
  const tangle = await (helper.getNode('tangle') as IotaTangleNode).connection;
  const wallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: path.join(dir, 'wallet'), tangle });
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
  let vanished = false;
  const party = new VehicleParty(
    {
      id: 'EVIL', stationId: 'ST1', prefix: 'm2m-ev/v1', wallet, pollMs: 50,
      journal: new SessionJournal<SessionSnapshot>(path.join(dir, 'vehicle.json')),
      onStep: (reached) => {
        if (vanished || !reached.includes(step)) return;
        vanished = true;
        void client.endAsync(true);
        void party.close();
        throw new Vanished(reached);
      },
    },
    { maxPricePerKWh: 200, deposit: 40, maxStationDeposit: 100, targetWh: 0, maxPowerW: 100000, meterToleranceWh: 0, maxDepth: 8, security: 1, autoStart: true },
    new TrustStore(path.join(dir, 'trust.json')),
  );
  party.on('send', (out: { topic: string; payload: AnyEnvelope; retain: boolean }) => {
    if (!vanished) void client.publishAsync(out.topic, JSON.stringify(out.payload), { retain: out.retain });
  });
  client.on('message', (topic, payload) => {
    if (!vanished) party.receive(stageOf(topic), payload.toString('utf8')).catch(() => undefined);
  });
  await party.start();
  await client.subscribeAsync([`${PREFIX}/offer`, `${PREFIX}/+/vehicle`]);
  return { party, vanished: () => vanished };
}

/**
 * A third party on the same broker as an honest station and vehicle (real Node-RED nodes, the core MQTT nodes):
 * it opens sessions and vanishes at each step of the opening, then, while the honest session charges, replays old
 * offers, heartbeats and states, speaks as the vehicle and as the station with keys of its own, and floods the
 * station with `open` requests. Each attempt is refused or costs nothing, and the honest session settles to the token.
 */
describe('nodes: an attacker on the broker, while an honest session runs', function () {
  const context = brokerAndRuntime();
  let evil: MqttClient;
  after(() => evil?.endAsync(true));

  it('costs the station no token and the honest session nothing', async function () {
    this.timeout(600_000);
    const { broker } = context;
    const wallets = tempDir('m2m-attack-wallets-');
    // Peer timeouts of 6 s: a vanished stranger holds the station that long; the honest parties beat every 2 s.
    const timeouts = { peerTimeout: '6', fundingWait: '10' };
    const flow = sessionFlow(broker.port, { station: timeouts, vehicle: { ...ONE_SESSION, targetWh: '0', peerTimeout: '6' } }).map((node) =>
      node.type === 'iota-wallet' ? { ...node, dataDir: wallets } : node,
    );
    await loadFlow(NODES, flow, { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const events = { station: collect('events-s'), vehicle: collect('events-v') };
    const station = await startedParty<StationParty>('party-s');
    const vehicle = await startedParty<VehicleParty>('party-v');
    const stationWallet = await (helper.getNode('wallet-s') as IotaWalletNode).wallet;
    const vehicleWallet = await (helper.getNode('wallet-v') as IotaWalletNode).wallet;
    const keyIndex = (wallet: Wallet) => (JSON.parse(fs.readFileSync(path.join(wallets, `wallet-${wallet.fingerprint}.json`), 'utf8')) as { nextIndex: number }).nextIndex;
    const outcomes: string[] = [];

    // The attacker's ears: everything on the broker, from the start.
    evil = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    (evil.stream as Socket).setNoDelay(true);
    const heard: { topic: string; envelope: AnyEnvelope }[] = [];
    evil.on('message', (topic, payload) => heard.push({ topic, envelope: JSON.parse(payload.toString('utf8')) as AnyEnvelope }));
    await evil.subscribeAsync('m2m-ev/#', { qos: 1 });

    // 1. A stranger opens and vanishes at each step of the opening; the station is idle again after its peer timeout.
    const steps = [
      ['after its open was accepted, before the opening state', 'received open-accept → proposal'],
      ['after the station co-signed the opening state', 'received cosignature → completion'],
      ['with the opening state complete, before its deposit', 'deposit sending'],
    ];
    for (const [when, step] of steps) {
      const indexBefore = keyIndex(stationWallet);
      const stranger = await strangerVehicle(broker.port, step);
      await until(() => stranger.vanished(), `the stranger to vanish ${when}`);
      const session = stranger.party.session.sessionId;
      await until(() => events.station.some((m) => m.topic === 'stopping' && m.payload.sessionId === session), `the station to give session ${session} up`);
      await until(() => station.phase === 'idle', 'the station to be idle again');
      assert.equal((await stationWallet.balance()).total, 100, `${when}: the station holds all its tokens`);
      assert.ok(stationWallet.addresses().every((a) => !a.spent), `${when}: no address of the station signed anything`);
      const accept = heard.find((h) => h.envelope.type === 'open-accept' && h.envelope.session === session)!.envelope as AnyEnvelope & { body: { setup: { digests: unknown[] } } };
      // The flash engine reserves fresh indices in blocks ahead of use, so the counter moves by a block or not at all.
      outcomes.push(
        `vanish ${when}: the station dropped the session after its peer timeout; 0 tokens locked; ${accept.body.setup.digests.length} digests and a settlement address derived at fresh indices, none signed with (counter +${keyIndex(stationWallet) - indexBefore})`,
      );
    }

    // 2. The honest session opens and charges.
    await startOneSession(events.vehicle);
    await until(() => station.phase === 'charging' && vehicle.phase === 'charging', 'the honest channel to open');
    const honest = vehicle.session.sessionId;
    const payStation = helper.getNode('pay-s');
    let register = 1000;
    const read = () => payStation.receive({ payload: { registerWh: register, timestamp: Date.now(), source: 'test' } } as never);
    read();
    register += 10;
    read();
    await until(() => station.session.paidIncrements === 1 && vehicle.session.paidIncrements === 1, 'the first increment to be paid');
    await until(() => heard.some((h) => h.envelope.type === 'resend' && h.envelope.session === honest), 'a heartbeat of the honest session');

    // 3. While it charges, the attacker replays, impersonates and floods.
    const sideState = () => ({
      station: money(station.session), vehicle: money(vehicle.session), stationIndex: keyIndex(stationWallet), vehicleIndex: keyIndex(vehicleWallet),
      stationSpent: stationWallet.addresses().filter((a) => a.spent).length, vehicleSpent: vehicleWallet.addresses().filter((a) => a.spent).length,
    });
    const before = sideState();
    const stages = ['open-s', 'pay-s', 'settle-s', 'open-v', 'pay-v', 'settle-v'];
    const errorsBefore = errorsOf(stages).length;
    const recorded = heard.slice();
    const stranger = newKeyPair();
    const publish = (topic: string, envelope: unknown) => evil.publishAsync(topic, JSON.stringify(envelope), { qos: 1 });
    const toReceiver = (stage: Stage, from: 'station' | 'vehicle') => `${PREFIX}/${stage}/${from === 'station' ? 'vehicle' : 'station'}`;
    const attacks: [string, () => Promise<unknown>][] = [
      ['replays every old offer (earlier nonces)', async () => {
        for (const h of recorded.filter((m) => m.envelope.type === 'offer')) await publish(`${PREFIX}/offer`, h.envelope);
      }],
      ['replays every message it heard (the honest session, the vanished ones), heartbeats included, to its receiver', async () => {
        for (const h of recorded.filter((m) => m.envelope.type !== 'offer')) await publish(h.topic, h.envelope);
      }],
      ['speaks as the vehicle with a key of its own (stop, proposal, heartbeat in the honest session)', async () => {
        const s = station.session;
        for (const [stage, type, body] of [['settle', 'stop', { reason: 'local-stop' }], ['pay', 'proposal', recorded.find((h) => h.envelope.type === 'proposal')!.envelope.body], ['settle', 'resend', { fromSeq: 1 }]] as const) {
          await publish(toReceiver(stage, 'vehicle'), signEnvelope(makeEnvelope(type, 'vehicle', honest, s.inbound.lastSeq + 1, body as never), stranger));
        }
      }],
      ['speaks as the station with a key of its own (claim, stop, an offer under its key)', async () => {
        const s = vehicle.session;
        await publish(toReceiver('pay', 'station'), signEnvelope(makeEnvelope('claim', 'station', honest, s.inbound.lastSeq + 1, { increments: 5, registerWh: 1050, startRegisterWh: 1000, readAt: Date.now() }), stranger));
        await publish(toReceiver('settle', 'station'), signEnvelope(makeEnvelope('stop', 'station', honest, s.inbound.lastSeq + 1, { reason: 'local-stop' }), stranger));
        const offer = recorded.find((h) => h.envelope.type === 'offer')!.envelope;
        await publish(`${PREFIX}/offer`, signEnvelope(makeEnvelope('offer', 'station', '', 0, { ...(offer.body as object), stationKey: stranger.publicKey, nonce: '0123456789abcdef' } as never), stranger));
      }],
      ['floods the station with 200 valid-looking open requests, each signed by a fresh key', async () => {
        const open = recorded.find((h) => h.envelope.type === 'open')!.envelope;
        for (let i = 0; i < 200; i++) {
          const keys = newKeyPair();
          const session = `EVIL-${String(i).padStart(12, '0')}`;
          const body = { ...(open.body as object), vehicleKey: keys.publicKey, setup: { ...(open.body as { setup: object }).setup, channelId: session } };
          await publish(`${PREFIX}/open/station`, signEnvelope(makeEnvelope('open', 'vehicle', session, 1, body as never), keys));
        }
      }],
    ];
    for (const [what, attack] of attacks) {
      await attack();
      outcomes.push(what);
    }
    // Each party takes its messages in order: once it refused a marker sent after the attacks, it has taken them
    // all. A marker that meets the rate limit (the flood drained it) is sent again.
    for (const [to, from] of [['station', 'vehicle'], ['vehicle', 'station']] as const) {
      const session = `MARKER-${to}`;
      for (;;) {
        await publish(toReceiver('settle', from), signEnvelope(makeEnvelope('stop', from, session, 1, { reason: 'local-stop' }), stranger));
        const seen = await until(() => errorsOf(stages).some((e) => e.includes(session)), `the ${to} to refuse the marker`, 3000).then(() => true, () => false);
        if (seen) break;
      }
    }
    const refusals = errorsOf(stages).slice(errorsBefore);
    assert.deepEqual(sideState(), before, 'no attack changed either session, wallet counter or spent address');
    for (const expected of [/signature does not verify/, /not newer than/, /busy with session/, /not the one this vehicle trusts/, /message for session/, /too many messages/]) {
      assert.ok(refusals.some((r) => expected.test(r)), `refusals include ${expected}: ${refusals.slice(0, 5).join(' | ')}`);
    }

    // 4. The honest session goes on and settles to the token.
    for (let i = 0; i < 3; i++) {
      register += 10;
      read();
      await until(() => station.session.paidIncrements === 2 + i && vehicle.session.paidIncrements === 2 + i, `increment ${2 + i} to be paid`);
    }
    helper.getNode('settle-v').receive({ payload: 'stop' } as never);
    const settled = (list: EventMsg[]) => list.find((m) => m.topic === 'settled' && m.payload.session_id === honest)?.payload as SessionRecord | undefined;
    await until(() => settled(events.station) !== undefined && settled(events.vehicle) !== undefined, 'both sides to settle');
    const record = settled(events.station)!;
    assert.equal(record.energy_wh, 40);
    const cost = record.total_cost.excl_vat;
    assert.equal(cost, 4, '100 tokens per kWh × 40 Wh');
    assert.deepEqual(record.channel.final_balances, { vehicle: 40 - cost, station: 40 + cost });
    await assertWalletBooks(cost, record.channel.deposit_address);
    const kinds = new Map<string, number>();
    for (const r of refusals) {
      const kind = r.replace(/^[^:]+: /, '').replace(/"[^"]*"|\d+/g, '…').slice(0, 70);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const tally = [...kinds].sort(([, a], [, b]) => b - a).map(([kind, n]) => `    ${String(n).padStart(5)}  ${kind}`);
    console.log(`  attacks and outcomes:\n${outcomes.map((o) => `    - ${o}`).join('\n')}\n  refusals by the honest nodes (${refusals.length}):\n${tally.join('\n')}`);
  });
});
