import assert from 'node:assert/strict';
import { trits, trytes } from '@iota/converter';
import { fromTryteValues, toTrits, toTrytes, toTryteValues } from '../../../nodes/core/iota/trytes';
import { RANDOM_SEED, randomInt, randomTrits, randomTrytes } from '../../support/random';

const seedNote = `(RANDOM_SEED=${RANDOM_SEED})`;

describe('iota: trits and trytes, against @iota/converter', () => {
  it(`converts both ways as the library does, on random and edge inputs ${seedNote}`, () => {
    const strings = ['', '9', 'M', 'N', 'Z', 'A', '9ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'M'.repeat(81), 'N'.repeat(81), ...Array.from({ length: 500 }, () => randomTrytes(randomInt(2673)))];
    for (const s of strings) {
      assert.deepEqual(toTrits(s), trits(s), `${s.slice(0, 30)}… ${seedNote}`);
      assert.equal(toTrytes(trits(s)), s, `${s.slice(0, 30)}… ${seedNote}`);
    }
    for (const s of strings) {
      const values = toTryteValues(s);
      const t = trits(s);
      assert.deepEqual(values, Int8Array.from({ length: s.length }, (_, j) => t[3 * j] + 3 * t[3 * j + 1] + 9 * t[3 * j + 2]), `${s.slice(0, 30)}… ${seedNote}`);
      assert.equal(fromTryteValues(values), s, `${s.slice(0, 30)}… ${seedNote}`);
    }
    for (let i = 0; i < 500; i++) {
      const t = randomTrits(3 * randomInt(900));
      assert.equal(toTrytes(t), trytes(t), seedNote);
      const offset = 3 * randomInt(t.length / 3 + 1);
      assert.equal(toTrytes(t, offset, t.length - offset), trytes(t.subarray(offset)), seedNote);
    }
  });

  it('refuses what is no tryte string, or no whole trytes, as the library does', () => {
    for (const bad of ['a', '9a', '0', ' ', 'É', '\u2603', 'ABC-']) {
      assert.throws(() => trits(bad), /Invalid trytes/);
      assert.throws(() => toTrits(bad), /Invalid trytes/, bad);
      assert.throws(() => toTryteValues(bad), /Invalid trytes/, bad);
    }
    assert.throws(() => toTrytes(new Int8Array(4)), /Invalid trits length/);
  });
});
