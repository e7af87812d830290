import assert from 'node:assert/strict';
import { MqttCommand, MqttCommandEvse } from '../../../nodes/core/evse/mqtt-command';
import { EvseStatus } from '../../../nodes/core/evse/types';
import { Watchdog } from '../../../nodes/core/evse/watchdog';
import { FakeClock } from './fake-clock';

function setup(protocol: 'openevse' | 'smartevse', baseTopic: string) {
  const evse = new MqttCommandEvse({ protocol, baseTopic, maxCurrentA: 32, clock: new FakeClock() });
  const commands: MqttCommand[] = [];
  const statuses: EvseStatus[] = [];
  evse.on('command', (c: MqttCommand) => commands.push(c));
  evse.on('status', (s) => statuses.push(s));
  return { evse, commands, statuses };
}

describe('core/evse MQTT-command EVSE', () => {
  describe('OpenEVSE claims', () => {
    it('claims active with the charge current on enable, disabled on pause, active again on resume', () => {
      const { evse, commands } = setup('openevse', 'openevse-1a2b');
      evse.setCurrentLimit(16);
      evse.setCurrentLimit(16);
      evse.enable();
      evse.pause('credit');
      evse.resume('credit');
      evse.setCurrentLimit(40);
      assert.deepEqual(commands, [
        // The first change tells the charger where it stands: disabled, since nothing enabled it yet.
        { topic: 'openevse-1a2b/claim/set', payload: { state: 'disabled' } },
        { topic: 'openevse-1a2b/claim/set', payload: { state: 'active', charge_current: 16 } },
        { topic: 'openevse-1a2b/claim/set', payload: { state: 'disabled' } },
        { topic: 'openevse-1a2b/claim/set', payload: { state: 'active', charge_current: 16 } },
        { topic: 'openevse-1a2b/claim/set', payload: { state: 'active', charge_current: 32 } },
      ]);
      evse.close();
    });

    it('sends a limit below 6 A as a disabled claim, never as a current under 6 A', () => {
      const { evse, commands } = setup('openevse', 'openevse-1a2b');
      evse.enable();
      assert.equal(evse.setCurrentLimit(4), 0);
      assert.deepEqual(commands.at(-1), { topic: 'openevse-1a2b/claim/set', payload: { state: 'disabled' } });
      assert.deepEqual(evse.status().pauseReasons, ['below-minimum-current']);
      evse.close();
    });

    it('sends nothing for a change that does not change the claim, but commands() always gives the full set', () => {
      const { evse, commands } = setup('openevse', 'base');
      evse.enable();
      evse.pause('credit');
      evse.pause('watchdog');
      evse.resume('credit');
      assert.equal(commands.length, 2, 'the second pause and the first resume leave the claim disabled');
      assert.deepEqual(evse.commands(), [{ topic: 'base/claim/set', payload: { state: 'disabled' } }]);
      evse.close();
    });

    it('parses state, vehicle, power and session energy topics into status events', () => {
      const { evse, statuses } = setup('openevse', 'openevse-1a2b');
      assert.equal(evse.status().state, 'unknown');
      assert.equal(evse.handleMessage('openevse-1a2b/state', '2'), true);
      assert.equal(evse.status().state, 'B');
      assert.equal(evse.status().vehicleConnected, true);
      evse.handleMessage('openevse-1a2b/state', Buffer.from('3'));
      evse.handleMessage('openevse-1a2b/power', '3680');
      evse.handleMessage('openevse-1a2b/session_energy', '125.5');
      const status = evse.status();
      assert.equal(status.charging, true);
      assert.equal(status.powerW, 3680);
      assert.equal(status.sessionWh, 125.5);
      assert.equal(statuses.at(-1)?.reason, 'charger:session_energy');
      evse.handleMessage('openevse-1a2b/state', '254');
      assert.equal(evse.status().state, 'B', 'sleeping with a vehicle connected');
      evse.handleMessage('openevse-1a2b/state', '6');
      assert.equal(evse.status().state, 'F', 'an error state (GFI trip)');
      evse.handleMessage('openevse-1a2b/state', '1');
      assert.equal(evse.status().state, 'A');
      assert.equal(evse.status().vehicleConnected, false);
      evse.close();
    });

    it('ignores other topics, its own command echo and unparsable values, and emits nothing for a repeat', () => {
      const { evse, statuses } = setup('openevse', 'openevse-1a2b');
      assert.equal(evse.handleMessage('other/state', '3'), false);
      assert.equal(evse.handleMessage('openevse-1a2b/claim/set', '{"state":"active"}'), false);
      assert.equal(evse.handleMessage('openevse-1a2b/state', 'charging'), false);
      assert.equal(evse.handleMessage('openevse-1a2b/state', ''), false);
      assert.equal(statuses.length, 0);
      evse.handleMessage('openevse-1a2b/state', '3');
      evse.handleMessage('openevse-1a2b/state', '3');
      assert.equal(statuses.length, 1);
      evse.close();
    });
  });

  describe('SmartEVSE', () => {
    it('sets the current override in deci-amps before switching the mode to Normal, and Off to pause', () => {
      const { evse, commands } = setup('smartevse', 'SmartEVSE-12345');
      evse.setCurrentLimit(13);
      evse.enable();
      evse.pause('watchdog');
      evse.resume('watchdog');
      evse.setCurrentLimit(6);
      assert.deepEqual(commands, [
        { topic: 'SmartEVSE-12345/Set/Mode', payload: 'Off' },
        { topic: 'SmartEVSE-12345/Set/CurrentOverride', payload: '130' },
        { topic: 'SmartEVSE-12345/Set/Mode', payload: 'Normal' },
        { topic: 'SmartEVSE-12345/Set/Mode', payload: 'Off' },
        { topic: 'SmartEVSE-12345/Set/Mode', payload: 'Normal' },
        { topic: 'SmartEVSE-12345/Set/CurrentOverride', payload: '60' },
      ]);
      evse.close();
    });

    it('parses State, EVPlugState and EVChargePower', () => {
      const { evse } = setup('smartevse', 'SmartEVSE-12345');
      evse.handleMessage('SmartEVSE-12345/EVPlugState', 'Connected');
      assert.equal(evse.status().vehicleConnected, true);
      evse.handleMessage('SmartEVSE-12345/State', 'Charging');
      evse.handleMessage('SmartEVSE-12345/EVChargePower', '7360');
      assert.equal(evse.status().state, 'C');
      assert.equal(evse.status().powerW, 7360);
      evse.handleMessage('SmartEVSE-12345/State', 'Charging Stopped');
      assert.equal(evse.status().state, 'B');
      assert.equal(evse.handleMessage('SmartEVSE-12345/State', 'Modem Request'), false, 'a transition, not a state');
      evse.handleMessage('SmartEVSE-12345/State', 'Ready to Charge');
      assert.equal(evse.status().state, 'A');
      evse.close();
    });
  });

  it('turns a watchdog expiry into a disabled claim, and an explicit resume into an active one', () => {
    const clock = new FakeClock();
    const evse = new MqttCommandEvse({ protocol: 'openevse', baseTopic: 'station', maxCurrentA: 16, clock });
    const commands: MqttCommand[] = [];
    evse.on('command', (c: MqttCommand) => commands.push(c));
    evse.enable();
    const watchdog = new Watchdog(evse, { timeoutMs: 10_000, clock });
    clock.advance(10_000);
    assert.deepEqual(commands.at(-1), { topic: 'station/claim/set', payload: { state: 'disabled' } });
    watchdog.resume();
    assert.deepEqual(commands.at(-1), { topic: 'station/claim/set', payload: { state: 'active', charge_current: 16 } });
    watchdog.close();
    evse.close();
  });

  it('validates protocol and base topic', () => {
    assert.throws(() => new MqttCommandEvse({ protocol: 'ocpp' as 'openevse', baseTopic: 'x', maxCurrentA: 16 }), RangeError);
    for (const baseTopic of ['', 'a/#', 'a/+/b', 'a/']) {
      assert.throws(() => new MqttCommandEvse({ protocol: 'openevse', baseTopic, maxCurrentA: 16 }), RangeError, baseTopic);
    }
  });
});
