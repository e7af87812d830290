import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { StopReason } from '../../../nodes/core/protocol';
import { ChargedSession, ChargerCommandError, EvseStatus, MqttCommand, MqttCommandEvse, SessionCharger, SimulatedEvse } from '../../../nodes/core/evse';
import { FakeClock } from './fake-clock';

const HOUR = 3_600_000;

/** What the charger sees of a StationParty: its terms, its phase and events, and stop(). */
class StationSession extends EventEmitter implements ChargedSession {
  readonly offer = { incrementWh: 10, creditWh: 10 };
  phase = 'idle';
  session: { phase: string; stopReason?: unknown } = { phase: 'idle' };
  readonly stops: StopReason[] = [];
  stopFails = false;

  async stop(reason: StopReason): Promise<void> {
    this.stops.push(reason);
    if (this.stopFails) throw new Error('the channel is gone');
  }

  open(): void {
    this.phase = 'charging';
    this.emit('opened', { sessionId: 'S1' });
  }
}

/** A simulated 16 A, 230 V charger (3.68 kW) on a fake clock, coupled to a station session. */
function setup(options: { autoPlug?: boolean; watchdogMs?: number; targetWh?: number } = {}) {
  const clock = new FakeClock();
  const evse = new SimulatedEvse({ maxCurrentA: 16, clock });
  const charger = new SessionCharger(evse, { autoPlug: options.autoPlug ?? true, watchdogMs: options.watchdogMs, vehicle: { targetWh: options.targetWh }, clock });
  const session = new StationSession();
  const statuses: EvseStatus[] = [];
  const events: unknown[][] = [];
  charger.on('status', (status: EvseStatus) => statuses.push(status));
  charger.on('watchdog', (seconds: number) => events.push(['watchdog', seconds]));
  charger.on('failure', (what: string, err: Error) => events.push(['failure', what, err.message]));
  charger.attach(session);
  return { clock, evse, charger, session, statuses, events };
}

describe('core/evse session charger', () => {
  it('plugs a vehicle in, enables the charger when a session opens and delivers no more than the credit ahead of payment', () => {
    const { clock, evse, charger, session } = setup();
    assert.deepEqual([charger.status().vehicleConnected, charger.status().mode], [true, 'disabled'], 'the demo plugs a vehicle in by itself');
    session.open();
    assert.equal(charger.status().charging, true);
    clock.advance(HOUR);
    assert.equal(evse.deliveredWh(), 10, 'the charger stops at the credit: nothing paid yet');

    // The meter's first reading counts 10 Wh delivered, 10 paid: the limit moves to paid + credit + 1 Wh.
    session.emit('energy', { deliveredWh: 10, paidWh: 10 });
    clock.advance(HOUR);
    assert.equal(evse.deliveredWh(), 21);
    charger.close();
  });

  it('holds an MQTT charger paused while unpaid energy exceeds the credit', () => {
    const charger = new SessionCharger(new MqttCommandEvse({ protocol: 'openevse', baseTopic: 'openevse-1', maxCurrentA: 16 }));
    const session = new StationSession();
    charger.attach(session);
    session.open();
    session.emit('energy', { deliveredWh: 20, paidWh: 0 });
    assert.deepEqual([charger.status().mode, charger.status().pauseReasons], ['paused', ['credit']]);
    session.emit('energy', { deliveredWh: 20, paidWh: 10 });
    assert.deepEqual([charger.status().mode, charger.status().offeredCurrentA], ['enabled', 16]);
    charger.close();
  });

  it('reports a credit update it cannot apply, and keeps charging as it was', () => {
    const { charger, session, events } = setup();
    session.open();
    session.emit('energy', { deliveredWh: -1, paidWh: 0 });
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].slice(0, 2), ['failure', 'credit']);
    assert.equal(charger.status().charging, true);
    charger.close();
  });

  it('refuses a negative watchdog in the seconds the user sets it in', () => {
    assert.throws(() => setup({ watchdogMs: -5000 }), { name: 'RangeError', message: 'the watchdog must be 0 (off) or more seconds, got -5 s' });
  });

  it('pauses when payments go silent while energy flows, until the operator resumes; each payment rearms it', () => {
    const { clock, charger, session, events } = setup({ watchdogMs: 5000 });
    session.open();
    session.emit('energy', { deliveredWh: 0, paidWh: 1000 });
    clock.advance(4000);
    session.emit('paid', {});
    clock.advance(4000);
    assert.equal(charger.status().charging, true, 'a payment within the timeout keeps it going');
    clock.advance(1000);
    assert.deepEqual([charger.status().charging, charger.status().pauseReasons], [false, ['watchdog']]);
    assert.deepEqual(events, [['watchdog', 5]]);
    session.emit('paid', {});
    assert.equal(charger.status().charging, false, 'a late payment does not lift the pause');
    charger.command('resume');
    assert.equal(charger.status().charging, true);
    charger.close();
  });

  it('stops the session when the vehicle is unplugged or full, and disables the charger when it stops and settles', () => {
    const { clock, charger, session, events } = setup({ targetWh: 5 });
    session.open();
    clock.advance(HOUR);
    assert.deepEqual(session.stops, ['vehicle-full']);
    charger.command('unplug');
    assert.deepEqual(session.stops, ['vehicle-full', 'unplugged']);
    session.emit('stopping', { reason: 'unplugged' });
    assert.equal(charger.status().mode, 'disabled');
    session.phase = 'idle';
    session.emit('settled', {});
    session.emit('phase', 'idle');
    assert.equal(charger.status().vehicleConnected, true, 'the demo plugs the next vehicle in');
    assert.deepEqual(session.stops, ['vehicle-full', 'unplugged'], 'replacing a vehicle is no unplug');
    assert.deepEqual(events, []);
    charger.close();
  });

  it('reports a stop that fails', async () => {
    const { charger, session, events } = setup();
    session.open();
    session.stopFails = true;
    charger.command('unplug');
    await new Promise((resolve) => charger.once('failure', resolve));
    assert.deepEqual(events, [['failure', 'stop', 'the channel is gone']]);
    charger.close();
  });

  it('goes on charging a session restored from the journal', () => {
    const clock = new FakeClock();
    const charger = new SessionCharger(new SimulatedEvse({ maxCurrentA: 16, clock }), { autoPlug: true, clock });
    const session = new StationSession();
    session.phase = 'charging';
    session.session = { phase: 'charging' };
    charger.attach(session);
    assert.equal(charger.status().charging, true);
    charger.close();
  });

  it('obeys the operator, and refuses what it cannot do without changing anything', () => {
    const { charger } = setup();
    charger.command('enable');
    charger.command(' Pause ');
    assert.deepEqual(charger.status().pauseReasons, ['remote']);
    charger.command('resume');
    charger.command({ currentLimit: 10 });
    assert.equal(charger.status().offeredCurrentA, 10);
    charger.command(40);
    assert.equal(charger.status().currentLimitA, 16);
    const before = charger.status();
    assert.throws(() => charger.command('fly'), (err: unknown) => err instanceof ChargerCommandError && err.code === 'unknown-command' && err.command === 'fly');
    assert.throws(() => charger.command({ currentLimit: 'lots' }), /current limit must be a finite number/);
    assert.deepEqual({ ...charger.status(), timestamp: 0 }, { ...before, timestamp: 0 });
    charger.command('disable');
    assert.equal(charger.status().mode, 'disabled');
    charger.close();
  });

  it('commands an MQTT charger, and sends the full state again on its first report', () => {
    const evse = new MqttCommandEvse({ protocol: 'openevse', baseTopic: 'openevse-1', maxCurrentA: 16 });
    const charger = new SessionCharger(evse, { autoPlug: true });
    const commands: MqttCommand[] = [];
    charger.on('command', (command: MqttCommand) => commands.push(command));
    assert.deepEqual(charger.commands(), [{ topic: 'openevse-1/claim/set', payload: { state: 'disabled' } }]);
    assert.equal(charger.status().vehicleConnected, false, 'autoPlug plugs only a simulated vehicle');
    assert.throws(() => charger.command('plug'), (err: unknown) => err instanceof ChargerCommandError && err.code === 'simulated-only');

    charger.command('enable');
    assert.deepEqual(commands, [{ topic: 'openevse-1/claim/set', payload: { state: 'active', charge_current: 16 } }]);
    assert.equal(charger.isChargerTopic('openevse-1/state'), true);
    assert.equal(charger.isChargerTopic('m2m-ev/v1/station-1/pay/vehicle'), false);
    charger.chargerMessage('openevse-1/state', '3');
    assert.equal(charger.status().charging, true);
    assert.equal(commands.length, 2, 'its first report proves the link: the state goes out again');
    charger.chargerMessage('openevse-1/state', '3');
    charger.chargerMessage('openevse-1/state', '2');
    assert.equal(commands.length, 2, 'once');
    charger.close();
  });

  it('lets go of the session when closed', () => {
    const { charger, session } = setup();
    charger.close();
    assert.equal(session.listenerCount('opened') + session.listenerCount('energy') + session.listenerCount('paid'), 0);
  });
});
