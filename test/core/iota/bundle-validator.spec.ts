import assert from 'node:assert/strict';
import referenceIsBundle from '@iota/bundle-validator';
import type { Transaction } from '@iota/core';
import { isBundle } from '../../../nodes/core/iota/bundle-validator';
import { Pair, parse } from '../flash/helpers';
import { RANDOM_SEED, randomInt, randomTrytes } from '../../support/random';

/** A transaction whose fields a test may change. */
type Tx = { -readonly [K in keyof Transaction]: Transaction[K] };
type Mutation = [name: string, edit: (txs: Tx[]) => void];

const input = (txs: Tx[]) => txs.findIndex((tx) => tx.value < 0);
const flipTryte = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

/** Ways to break (or, for the library's quirks, not break) a valid bundle. */
const MUTATIONS: Mutation[] = [
  ['none', () => undefined],
  ['a tryte of the input fragment', (txs) => (txs[input(txs)].signatureMessageFragment = flipTryte(txs[input(txs)].signatureMessageFragment, randomInt(2187)))],
  ['a tryte of the last fragment', (txs) => (txs[txs.length - 1].signatureMessageFragment = flipTryte(txs[txs.length - 1].signatureMessageFragment, randomInt(2187)))],
  ['two fragments swapped', (txs) => {
    const i = input(txs);
    [txs[i].signatureMessageFragment, txs[i + 1].signatureMessageFragment] = [txs[i + 1].signatureMessageFragment, txs[i].signatureMessageFragment];
  }],
  ['value moved between outputs and input', (txs) => {
    txs[0].value += 1;
    txs[input(txs)].value -= 1;
  }],
  ['values that do not sum to 0', (txs) => (txs[0].value += 1)],
  ['the bundle field of the first transaction', (txs) => (txs[0].bundle = randomTrytes(81))],
  ['the bundle field of the last transaction (the library only reads the first)', (txs) => (txs[txs.length - 1].bundle = randomTrytes(81))],
  ['currentIndex', (txs) => (txs[0].currentIndex = 1)],
  ['lastIndex', (txs) => (txs[1].lastIndex = txs.length)],
  ['the last transaction dropped', (txs) => void txs.pop()],
  ['the obsoleteTag', (txs) => (txs[0].obsoleteTag = randomTrytes(27))],
  ['a value address whose last trit is not 0', (txs) => (txs[0].address = txs[0].address.slice(0, 80) + 'A')],
  ['the input address', (txs) => {
    const i = input(txs);
    const other = flipTryte(txs[i].address, 3);
    for (const tx of txs) if (tx.address === txs[i].address) tx.address = other;
  }],
];

describe('iota: a bundle validator on our Kerl and WOTS', () => {
  it('decides exactly as @iota/bundle-validator on signed channel bundles and their mutations (security 1 to 3)', () => {
    let valid = 0;
    let cases = 0;
    for (const security of [1, 2, 3] as const) {
      const pair = new Pair(1, security, [50, 50], `bundles-${security}`);
      pair.pay(0, 0);
      pair.pay(0, 7);
      pair.close(1);
      for (const bundle of pair.states[0].chain) {
        for (const [name, edit] of MUTATIONS) {
          const txs = parse(bundle.trytes) as Tx[];
          edit(txs);
          const expected = referenceIsBundle(txs);
          assert.equal(isBundle(txs), expected, `${name}, security ${security}, node ${bundle.node} (RANDOM_SEED=${RANDOM_SEED})`);
          if (expected) valid++;
          cases++;
        }
      }
    }
    assert.ok(valid >= 3 && valid < cases, `${valid} valid of ${cases}: both answers were compared`);
  });
});
