import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Kerl from '@iota/kerl';
import { keccak384 } from '../../../nodes/core/iota/keccak';
import { bytesToTrits, HASH_BYTES, kerlBytes, normalize, tritsToBytes } from '../../../nodes/core/iota/kerl';
import { hashChains, hashTries } from '../../../nodes/core/iota/keccak-pair';
import { instantiateKeccakPair } from '../../../nodes/core/iota/keccak-pair-wasm';
import { RANDOM_SEED, randomInt, randomTrits } from '../../support/random';

const seedNote = `(RANDOM_SEED=${RANDOM_SEED})`;
const H = (3n ** 242n - 1n) / 2n;

/** A 384-bit two's complement integer as Kerl's 48 big-endian bytes. */
function bytesOf(value: bigint): Uint8Array {
  let v = BigInt.asUintN(384, value);
  const bytes = new Uint8Array(HASH_BYTES);
  for (let i = HASH_BYTES - 1; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}

/** Random chunks as a chain starts from them: each a value Kerl can absorb (trit 242 zero). */
function randomChunks(count: number): Uint8Array {
  const chunks = new Uint8Array(count * HASH_BYTES);
  for (let j = 0; j < count; j++) tritsToBytes(randomTrits(243), 0, chunks, j * HASH_BYTES);
  return chunks;
}

describe('iota: two Keccak states at once (WebAssembly SIMD): Kerl chains and obsoleteTag tries', () => {
  const pair = instantiateKeccakPair();

  it('runs on this Node (WebAssembly SIMD), so that the tests below test it', () => {
    assert.notEqual(pair, null);
  });

  it("normalizes both lanes as a trip through trits does, on the edges of [-H, H] and 5,000 random values", () => {
    const values = [0n, 1n, -1n, H, H + 1n, H - 1n, -H, -H - 1n, -H + 1n, 3n ** 242n, -(3n ** 242n), 2n ** 383n - 1n, -(2n ** 383n)];
    const cases = values.map(bytesOf);
    for (let i = 0; i < 5000; i++) cases.push(Uint8Array.from({ length: HASH_BYTES }, () => randomInt(256)));
    for (let i = 0; i < cases.length; i++) {
      // Each value in each lane, beside a different one in the other.
      const lanes = [cases[i], cases[(i * 7 + 3) % cases.length]];
      lanes.forEach((bytes, lane) => pair!.load(lane, bytes, 0));
      pair!.normalizeBoth();
      lanes.forEach((bytes, lane) => {
        const viaTrits = new Int8Array(243);
        bytesToTrits(bytes, 0, viaTrits, 0);
        const expected = new Uint8Array(HASH_BYTES);
        tritsToBytes(viaTrits, 0, expected, 0);
        const actual = new Uint8Array(HASH_BYTES);
        pair!.store(lane, actual, 0);
        assert.deepEqual(actual, expected, `lane ${lane}: ${Buffer.from(bytes).toString('hex')} ${seedNote}`);
      });
    }
  });

  it('hashes every chunk its own number of rounds, as one Kerl hash after another does, for 1 to 81 chunks of 0 to 26 rounds', () => {
    for (let trial = 0; trial < 200; trial++) {
      const count = 1 + (trial % 81);
      const chunks = randomChunks(count);
      const rounds = Array.from({ length: count }, () => (randomInt(4) === 0 ? [0, 26][randomInt(2)] : randomInt(27)));
      const expected = chunks.slice();
      for (let j = 0; j < count; j++) for (let r = 0; r < rounds[j]; r++) kerlBytes(expected, j * HASH_BYTES, HASH_BYTES, expected, j * HASH_BYTES);
      hashChains(chunks, (j) => rounds[j]);
      assert.deepEqual(chunks, expected, `${count} chunks, rounds ${rounds.join(',')} ${seedNote}`);
    }
  });

  it('equals @iota/kerl itself, absorb and squeeze per round', () => {
    const count = 5;
    const chunks = randomChunks(count);
    const rounds = [1, 2, 13, 26, 7];
    const expected = Array.from({ length: count }, (_, j) => {
      const trits = new Int8Array(243);
      bytesToTrits(chunks, j * HASH_BYTES, trits, 0);
      for (let r = 0; r < rounds[j]; r++) {
        const kerl = new Kerl();
        kerl.initialize();
        kerl.absorb(trits, 0, 243);
        kerl.squeeze(trits, 0, 243);
      }
      return trits;
    });
    hashChains(chunks, (j) => rounds[j]);
    for (let j = 0; j < count; j++) {
      const actual = new Int8Array(243);
      bytesToTrits(chunks, j * HASH_BYTES, actual, 0);
      assert.deepEqual(actual, expected[j], `chunk ${j}, ${rounds[j]} rounds ${seedNote}`);
    }
  });

  it('gives the same bytes one chain at a time where WebAssembly is missing (node --jitless)', () => {
    const chunks = randomChunks(30);
    const rounds = Array.from({ length: 30 }, () => randomInt(27));
    const wots = JSON.stringify(path.join(__dirname, '../../../nodes/core/iota/keccak-pair.js'));
    const script = [
      `const chunks = Uint8Array.from(Buffer.from('${Buffer.from(chunks).toString('hex')}', 'hex'));`,
      `require(${wots}).hashChains(chunks, (j) => ${JSON.stringify(rounds)}[j]);`,
      `console.log(Buffer.from(chunks).toString('hex'), require(${JSON.stringify(path.join(__dirname, '../../../nodes/core/iota/keccak-pair-wasm.js'))}).instantiateKeccakPair());`,
    ].join('\n');
    const output = execFileSync(process.execPath, ['--jitless', '--no-warnings', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    hashChains(chunks, (j) => rounds[j]);
    assert.equal(output.trim(), `${Buffer.from(chunks).toString('hex')} null`, seedNote);
  });

  it('hashes two tries of a message, the second with its bytes 48 to 95 replaced, as Keccak-384 does each, on lengths around the rate and past a page of memory', () => {
    const lengths = [96, 100, 104, 108, 200, 204, 208, 212, 288, 576, 1000, 4 * (24 + randomInt(500)), 70_000, 96];
    for (const length of lengths) {
      const message = Uint8Array.from({ length }, () => randomInt(256));
      const alternative = Uint8Array.from({ length: HASH_BYTES }, () => randomInt(256));
      const digests = new Uint8Array(2 * HASH_BYTES);
      hashTries(message, alternative, digests);
      const expected = new Uint8Array(2 * HASH_BYTES);
      keccak384(message, 0, length, expected, 0);
      const second = message.slice();
      second.set(alternative, HASH_BYTES);
      keccak384(second, 0, length, expected, HASH_BYTES);
      assert.deepEqual(digests, expected, `length ${length} ${seedNote}`);
    }
  });

  it('leaves normalized bytes normalized: a chunk hashed zero times is unchanged', () => {
    const chunks = randomChunks(3);
    for (let j = 0; j < 3; j++) normalize(chunks, j * HASH_BYTES);
    const before = chunks.slice();
    hashChains(chunks, () => 0);
    assert.deepEqual(chunks, before);
  });
});
