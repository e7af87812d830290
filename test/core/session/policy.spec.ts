import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { newKeyPair } from '../../../nodes/core/protocol';
import { SessionJournal, SessionSnapshot, StationParty, StationPolicy, TrustStore, VehicleParty, VehiclePolicy } from '../../../nodes/core/session';
import type { Wallet } from '../../../nodes/core/wallet';

const STATION: StationPolicy = { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 100, security: 2, maxDepth: 10 };
const VEHICLE: VehiclePolicy = { maxPricePerKWh: 200, deposit: 100, maxStationDeposit: 100, targetWh: 0, maxPowerW: 11000, meterToleranceWh: 0, maxDepth: 10, security: 2, autoStart: true };

/** Construction only: a party checks its policy before it touches its wallet or journal. */
const options = () => ({
  id: 'P1',
  stationId: 'ST1',
  prefix: 'm2m-ev/v1',
  wallet: { security: 2 } as unknown as Wallet,
  journal: new SessionJournal<SessionSnapshot>(path.join(os.tmpdir(), 'never-written.json')),
});
const station = (policy: Partial<Record<keyof StationPolicy, unknown>>) => new StationParty(options(), { ...STATION, ...policy } as StationPolicy, newKeyPair());
const vehicle = (policy: Partial<Record<keyof VehiclePolicy, unknown>>) => new VehicleParty(options(), { ...VEHICLE, ...policy } as VehiclePolicy, new TrustStore(path.join(os.tmpdir(), 'never-written.trust.json')));

describe('session: a party refuses a policy out of range when it is made, naming the setting', function () {
  it('accepts the defaults of the editor, and the limits themselves', () => {
    assert.ok(station({}));
    assert.ok(station({ maxPowerW: 1_000_000, maxDepth: 20, stationDeposit: 0, maxAtRisk: 0, opensPerMinute: 1, watchMs: 0, fundingWaitMs: 1 }));
    assert.ok(vehicle({}));
    assert.ok(vehicle({ maxPowerW: 1_000_000, maxDepth: 0, maxStationDeposit: 0, settleGraceMs: 0 }));
  });

  const stationCases: [string, Partial<Record<keyof StationPolicy, unknown>>, RegExp][] = [
    ['power above 1 MW', { maxPowerW: 1_000_001 }, /^station policy: maxPowerW must be <= 1000000 \(got 1000001\)$/],
    ['no power', { maxPowerW: 0 }, /maxPowerW must be >= 1 \(got 0\)/],
    ['a fractional price', { pricePerKWh: 100.5 }, /pricePerKWh must be an integer \(got 100.5\)/],
    ['a negative price', { pricePerKWh: -100 }, /pricePerKWh must be >= 0 \(got -100\)/],
    ['a price that is no number', { pricePerKWh: '100' }, /pricePerKWh must be an integer \(got "100"\)/],
    ['a fractional deposit', { stationDeposit: 0.5 }, /stationDeposit must be an integer \(got 0.5\)/],
    ['a negative deposit', { stationDeposit: -1 }, /stationDeposit must be >= 0 \(got -1\)/],
    ['a deposit beyond the supply', { stationDeposit: 2779530283277762 }, /stationDeposit must be <= 2779530283277761/],
    ['NaN credit', { creditWh: NaN }, /creditWh must be an integer \(got NaN\)/],
    ['a zero increment', { incrementWh: 0 }, /incrementWh must be >= 1/],
    ['a tree deeper than any open may ask', { maxDepth: 21 }, /maxDepth must be <= 20/],
    ['security 4', { security: 4 }, /security must be one of 1, 2, 3 \(got 4\)/],
    ['a negative risk cap', { maxAtRisk: -5 }, /maxAtRisk must be >= 0/],
    ['no opens at all', { opensPerMinute: 0 }, /opensPerMinute must be >= 1/],
    ['a fractional funding wait', { fundingWaitMs: 1.5 }, /fundingWaitMs must be an integer/],
  ];
  for (const [what, policy, message] of stationCases) {
    it(`station: ${what}`, () => assert.throws(() => station(policy), (err: Error) => err instanceof RangeError && message.test(err.message)));
  }

  const vehicleCases: [string, Partial<Record<keyof VehiclePolicy, unknown>>, RegExp][] = [
    ['power above 1 MW', { maxPowerW: 2_000_000 }, /^vehicle policy: maxPowerW must be <= 1000000 \(got 2000000\)$/],
    ['a fractional price limit', { maxPricePerKWh: 1.5 }, /maxPricePerKWh must be an integer/],
    ['no deposit', { deposit: 0 }, /deposit must be >= 1 \(got 0\)/],
    ['a negative station deposit', { maxStationDeposit: -1 }, /maxStationDeposit must be >= 0/],
    ['a fractional target', { targetWh: 10.5 }, /targetWh must be an integer/],
    ['a negative meter tolerance', { meterToleranceWh: -1 }, /meterToleranceWh must be >= 0/],
    ['security 0', { security: 0 }, /security must be one of 1, 2, 3/],
    ['autoStart that is no boolean', { autoStart: 'yes' }, /autoStart must be of type boolean/],
  ];
  for (const [what, policy, message] of vehicleCases) {
    it(`vehicle: ${what}`, () => assert.throws(() => vehicle(policy), (err: Error) => err instanceof RangeError && message.test(err.message)));
  }
});
