import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KeyPair, makeEnvelope, newKeyPair, signEnvelope } from '../../nodes/core/protocol';
import type { VehicleParty } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { startBroker, TestBroker } from '../support/broker';
import { callsOf, helper, loadFlow, startedParty } from '../support/nodered';
import { errorsOf, NODES, PREFIX, sessionFlow } from '../support/session-flow';
import { until } from '../support/wait';

/** The parts of a session that money depends on: none may change when a bad message is refused. */
function moneyState(party: VehicleParty): string {
  const s = party.session;
  return JSON.stringify({ phase: s.phase, channel: s.channel, claimed: s.claimedIncrements, paid: s.paidIncrements, offer: s.offer });
}

describe('nodes: bad messages on the protocol topics', function () {
  let broker: TestBroker;
  let vehicle: VehicleParty;
  /** The station's identity key, from its key file: the messages below pass the signature check and meet the next one. */
  let stationKeys: KeyPair;
  const errorCount = () => errorsOf(['open-v', 'pay-v', 'settle-v']).length;
  let completed = 0;

  before(async function () {
    broker = await startBroker();
    await helper.startServer();
    // No target: the session stays open while the bad messages arrive.
    // A complete node reports each message the vehicle's pay node has finished with without an error.
    const completions = [
      { id: 'done-v', z: 'tab', type: 'complete', scope: ['pay-v'], uncaught: false, wires: [['completed-v']] },
      { id: 'completed-v', z: 'tab', type: 'helper' },
    ];
    await loadFlow(NODES, [...sessionFlow(broker.port, { vehicle: { targetWh: '0' } }), ...completions], { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    vehicle = await startedParty<VehicleParty>('party-v');
    helper.getNode('completed-v').on('input', () => completed++);
    await until(() => vehicle.phase === 'charging', 'the channel to open');
    const journalFile = (vehicle as unknown as { options: { journal: { file: string } } }).options.journal.file;
    stationKeys = JSON.parse(fs.readFileSync(path.join(path.dirname(journalFile), 'station-ST1.key'), 'utf8')) as KeyPair;
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await broker.close();
  });

  /** Delivers a payload to a vehicle node as its `mqtt in` would, and returns the error it reported. */
  async function refusal(nodeId: string, topic: string, payload: unknown): Promise<string> {
    const before = moneyState(vehicle);
    const count = errorCount();
    helper.getNode(nodeId).receive({ topic, payload } as never);
    await until(() => errorCount() > count, `an error from ${nodeId}`, 10_000);
    assert.equal(moneyState(vehicle), before, 'the refused message changed nothing');
    return errorsOf([nodeId]).at(-1)!;
  }

  const claim = (overrides: Record<string, unknown> = {}, keys: KeyPair | null = stationKeys) => {
    const s = vehicle.session;
    const envelope = {
      ...makeEnvelope('claim', 'station', s.sessionId, s.inbound.lastSeq + 1, { increments: 1, registerWh: 1010, startRegisterWh: 1000, readAt: Date.now() }),
      ...overrides,
    };
    return keys ? signEnvelope(envelope, keys) : envelope;
  };

  it('refuses an unsigned message, and one signed by a third party, before it uses up a sequence number', async function () {
    const last = vehicle.session.inbound.lastSeq;
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({}, null)), /\$\.sig is required/);
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({}, newKeyPair())), /signature does not verify/);
    // A real station message with one field changed after signing: a forgery too.
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, { ...claim(), seq: last + 1, ts: 1 }), /signature does not verify/);
    assert.equal(vehicle.session.inbound.lastSeq, last, 'no sequence number was used up');
  });

  it('refuses a replayed heartbeat', async function () {
    const old = vehicle.session;
    const last = old.inbound.lastSeq;
    const ping = signEnvelope(makeEnvelope('resend', 'station', old.sessionId, 0, { fromSeq: old.inbound.lastSeq + 1 }, Date.now() + 60_000), stationKeys);
    const count = errorCount();
    const done = completed;
    helper.getNode('pay-v').receive({ topic: `${PREFIX}/pay/vehicle`, payload: ping } as never);
    await until(() => completed > done || errorCount() > count, 'the vehicle to take the heartbeat', 10_000);
    assert.equal(errorCount(), count, 'a fresh heartbeat is accepted');
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, ping), /heartbeat with timestamp \d+ is not newer .*replayed/);
    assert.equal(vehicle.session.inbound.lastSeq, last);
  });

  it('refuses malformed JSON', async function () {
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, '{"v":1,"type":'), /message is not valid JSON/);
  });

  it('refuses an unknown type, and a known type on another stage’s topic', async function () {
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({ type: 'bribe' })), /unknown message type "bribe"/);
    assert.match(await refusal('open-v', `${PREFIX}/open/vehicle`, claim()), /"claim" does not belong on the open topic/);
  });

  it('refuses a message of another session, or from the wrong role', async function () {
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({ session: 'EV9-000000000000' })), /message for session "EV9-000000000000"/);
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({ from: 'vehicle' })), /a vehicle takes messages from a station/);
  });

  it('refuses an old sequence number with other content, and a skipped one', async function () {
    const last = vehicle.session.inbound.lastSeq;
    assert.ok(last >= 2, 'the station has sent messages in this session');
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({ seq: last })), /seq \d+ was already used for a different message/);
    assert.match(await refusal('pay-v', `${PREFIX}/pay/vehicle`, claim({ seq: last + 5 })), /expected seq \d+, got \d+: messages are missing/);
  });

  it('keeps the session’s terms when the station offers another price, and refuses an impostor’s offer and one that names another station', async function () {
    const offer = { ...vehicle.session.offer!, pricePerKWh: 300 };
    const before = moneyState(vehicle);
    const heard: { pricePerKWh: number }[] = [];
    vehicle.once('offer', (o: { pricePerKWh: number }) => heard.push(o));
    helper.getNode('open-v').receive({ topic: `${PREFIX}/offer`, payload: signEnvelope(makeEnvelope('offer', 'station', '', 0, offer), stationKeys) } as never);
    await until(() => heard.length === 1, 'the new offer', 10_000);
    assert.equal(heard[0].pricePerKWh, 300);
    assert.equal(moneyState(vehicle), before, 'the session keeps the price it opened with');
    // The same offer under another station key: the vehicle pinned the first one.
    const impostor = newKeyPair();
    const forged = signEnvelope(makeEnvelope('offer', 'station', '', 0, { ...offer, pricePerKWh: 100, stationKey: impostor.publicKey }), impostor);
    assert.match(await refusal('open-v', `${PREFIX}/offer`, forged), /not the one this vehicle trusts/);
    // On its station's offer topic, an offer that names another station (signed by that station's own key).
    const stranger = newKeyPair();
    const elsewhere = signEnvelope(makeEnvelope('offer', 'station', '', 0, { ...offer, stationId: 'station-elsewhere', stationKey: stranger.publicKey }), stranger);
    assert.match(await refusal('open-v', `${PREFIX}/offer`, elsewhere), /offer names station "station-elsewhere".*configured station only/);
    assert.equal(moneyState(vehicle), before);
  });

  it('refuses an over-claim from the station’s own meter, then keeps running', async function () {
    const pay = helper.getNode('pay-s');
    pay.receive({ payload: { registerWh: 1000, timestamp: Date.now() } } as never);
    await until(() => vehicle.session.inbound.lastSeq >= 0 && vehicle.phase === 'charging', 'the first reading');
    const before = moneyState(vehicle);
    const count = errorCount();
    // 5 kWh a moment after the channel opened: more than 100 kW can deliver.
    pay.receive({ payload: { registerWh: 6000, timestamp: Date.now() } } as never);
    await until(() => errorCount() > count, 'the vehicle to refuse the claim', 20_000);
    assert.match(errorsOf(['pay-v']).at(-1)!, /over-claim: 5000 Wh in \d+ s is more than 100000 W can deliver/);
    assert.equal(moneyState(vehicle), before);
    await until(() => callsOf(helper.getNode('party-s'), 'warn').some(([warning]) => /vehicle reports INVALID_FIELD: over-claim/.test(String(warning))), 'the station to hear why');
  });
});
