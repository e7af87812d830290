import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { trits, trytes } from '@iota/converter';
import ReferenceKerl from '@iota/kerl';
import { wordsToTrits } from '@iota/kerl/out/kerl/src/word-converter';
import { keccak384 as referenceKeccak384 } from 'js-sha3';
import { keccak384, keccak384Js, keccakBackend } from '../../../nodes/core/iota/keccak';
import { bytesToTrits, digestTrytes, HASH_BYTES, Kerl, normalize, tritsToBytes, tryteValuesToBytes } from '../../../nodes/core/iota/kerl';
import { RANDOM_SEED, randomInt, randomTrits } from '../../support/random';

const seedNote = `(RANDOM_SEED=${RANDOM_SEED})`;

type Sponge = new () => { absorb(t: Int8Array, offset: number, length: number): void; squeeze(t: Int8Array, offset: number, length: number): void };

/** Absorbs `input` and squeezes `squeezes` chunks, as trytes. */
function hashWith(SpongeClass: Sponge, input: Int8Array, squeezes: number): string {
  const out = new Int8Array(243 * squeezes);
  const sponge = new SpongeClass();
  sponge.absorb(input, 0, input.length);
  sponge.squeeze(out, 0, out.length);
  return trytes(out);
}

const ours = (input: Int8Array, squeezes: number) => hashWith(Kerl, input, squeezes);
const reference = (input: Int8Array, squeezes: number) => hashWith(ReferenceKerl, input, squeezes);

/** Chunks at the edges of the 242-trit range: all +1 (the largest, H), all -1 (the smallest, -H), zero, trit 243 set. */
function edgeChunks(): Int8Array[] {
  const chunk = (fill: number, last = fill) => {
    const t = new Int8Array(243).fill(fill);
    t[242] = last;
    return t;
  };
  const oneAboveSmallest = chunk(-1, 0);
  oneAboveSmallest[0] = 0;
  return [chunk(1, 0), chunk(-1, 0), chunk(0), chunk(1), chunk(-1), chunk(0, 1), chunk(0, -1), oneAboveSmallest];
}

/** 48-byte values at the edges, with their neighbours: 0, the extremes of 384 bits, and +-H, where bytesToTrits starts to wrap. */
function edgeByteValues(): Uint8Array[] {
  const bytesOf = (value: bigint) => Uint8Array.from({ length: HASH_BYTES }, (_, i) => Number((BigInt.asUintN(384, value) >> BigInt(8 * (HASH_BYTES - 1 - i))) & 0xffn));
  const half = (3n ** 242n - 1n) / 2n;
  const points = [0n, 2n ** 383n - 1n, -(2n ** 383n), half, -half, 3n ** 18n, 2n ** 24n * 3n ** 18n];
  return points.flatMap((p) => [p - 1n, p, p + 1n]).map(bytesOf);
}

/** -1 and -H - 1: @iota/kerl's converter throws ('noborrow') on these two; the round trip below still checks ours. */
function libraryThrowsOn(bytes: Uint8Array): boolean {
  const value = BigInt.asIntN(384, BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
  return value === -1n || value === -(3n ** 242n - 1n) / 2n - 1n;
}

/** Big-endian 32-bit words, as crypto-js holds the bytes. */
function wordsOf(bytes: Uint8Array): Uint32Array {
  return Uint32Array.from({ length: HASH_BYTES / 4 }, (_, i) => Buffer.from(bytes).readUInt32BE(4 * i));
}

describe('iota: Kerl on bytes', () => {
  it('hashes with WebAssembly on this engine, and with JavaScript where WebAssembly is missing (node --jitless)', () => {
    assert.equal(keccakBackend(), 'wasm');
    const script = `console.log(require(${JSON.stringify(path.join(__dirname, '../../../nodes/core/iota/keccak.js'))}).keccakBackend())`;
    const output = execFileSync(process.execPath, ['--jitless', '--no-warnings', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(output.trim(), 'js');
  });

  it('Keccak-384 equals js-sha3 on lengths around the rate, past one page of WebAssembly memory, and the empty-message vector', () => {
    const empty = new Uint8Array(HASH_BYTES);
    keccak384(new Uint8Array(0), 0, 0, empty, 0);
    assert.equal(Buffer.from(empty).toString('hex'), '2c23146a63a29acf99e73b88f8c24eaa7dc60aa771780ccc006afbfa8fe2479b2dd2b21362337441ac12b515911957ff');
    for (const length of [4, 48, 100, 104, 108, 204, 208, 212, 1296, 27 * 96, 100_000, 48]) {
      const input = Uint8Array.from({ length }, () => randomInt(256));
      const out = new Uint8Array(HASH_BYTES);
      keccak384(input, 0, length, out, 0);
      assert.equal(Buffer.from(out).toString('hex'), referenceKeccak384(input), `length ${length} ${seedNote}`);
    }
  });

  it('the JavaScript fallback gives the same bytes as WebAssembly on 500 random lengths up to 2000, at random offsets', () => {
    const input = Uint8Array.from({ length: 2100 }, () => randomInt(256));
    const [wasm, js] = [new Uint8Array(HASH_BYTES + 8), new Uint8Array(HASH_BYTES + 8)];
    for (let i = 0; i < 500; i++) {
      const [length, offset, outOffset] = [4 * randomInt(501), randomInt(100), randomInt(9)];
      keccak384(input, offset, length, wasm, outOffset);
      keccak384Js(input, offset, length, js, outOffset);
      assert.deepEqual(wasm, js, `length ${length} at ${offset} ${seedNote}`);
    }
  });

  it("matches IRI's known answers: one absorb, several squeezes, several absorbs", () => {
    const hash = (input: string, squeezes: number) => ours(trits(input), squeezes);
    assert.equal(
      hash('KFNNRVYTYYYNHJLBTXOEFYBZTHGXHTX9XKXB9KUZDHGLKBQGPQCNHPGDSGYKWGHVXVLHPOEAWREBIVK99', 1),
      'SHTKPLZWIXLDVHAEAGFSVWNDGVIX9SDVGEHAFGXEIMLWSHDTQYNZZKPBGMUF9GNEWIGIFYWWMSCLJ9RCD',
    );
    const twoChunks =
      'G9JYBOMPUXHYHKSNRNMMSSZCSHOFYOYNZRSZMAAYWDYEIMVVOGKPJBVBM9TDPULSFUNMTVXRKFIDOHUXXVYDLFSZYZTWQYTE9SPYYWYTXJYQ9IFGYOLZXWZBKWZN9QOOTBQMWMUBLEWUEEASRHRTNIQWJQNDWRYLCA';
    assert.equal(hash('9MIDYNHBWMBCXVDEFOFWINXTERALUKYYPPHKP9JJFGJEIUY9MUDVNFZHMMWZUYUSWAIOWEVTHNWMHANBH', 2), twoChunks);
    assert.equal(
      hash(twoChunks, 2),
      'LUCKQVACOGBFYSPPVSSOXJEKNSQQRQKPZC9NXFSMQNRQCGGUL9OHVVKBDSKEQEBKXRNUJSRXYVHJTXBPDWQGNSCDCBAIRHAQCOWZEBSNHIJIGPZQITIBJQ9LNTDIBTCQ9EUWKHFLGFUVGGUWJONK9GBCDUIMAYMMQX',
    );
  });

  it('equals @iota/kerl on 1,000 random inputs of 1 to 27 chunks, squeezed 1 to 3 times', () => {
    for (let i = 0; i < 1000; i++) {
      const input = randomTrits(243 * (1 + randomInt(27)));
      const squeezes = 1 + randomInt(3);
      assert.equal(ours(input, squeezes), reference(input, squeezes), `input ${i}: ${trytes(input)} ${seedNote}`);
    }
  });

  it('equals @iota/kerl on the edges of the trit range, alone and after another chunk', () => {
    for (const [i, chunk] of edgeChunks().entries()) {
      assert.equal(ours(chunk, 2), reference(chunk, 2), `edge chunk ${i}`);
      const two = new Int8Array(486);
      two.set(randomTrits(243));
      two.set(chunk, 243);
      assert.equal(ours(two, 1), reference(two, 1), `edge chunk ${i} second ${seedNote}`);
    }
  });

  it('converts trits to bytes and back, with trit 243 ignored on the way in and 0 on the way out', () => {
    for (const chunk of [...edgeChunks(), ...Array.from({ length: 200 }, () => randomTrits(243))]) {
      const bytes = new Uint8Array(HASH_BYTES);
      tritsToBytes(chunk, 0, bytes, 0);
      const back = new Int8Array(243);
      bytesToTrits(bytes, 0, back, 0);
      const expected = chunk.slice();
      expected[242] = 0;
      assert.deepEqual(back, expected, `${trytes(chunk)} ${seedNote}`);
    }
  });

  it("turns bytes into trits as @iota/kerl's word converter does, and back into the normalized bytes, on 20,000 random values and the edges", () => {
    const cases = [...edgeByteValues(), ...Array.from({ length: 20_000 }, () => Uint8Array.from({ length: HASH_BYTES }, () => randomInt(256)))];
    for (const bytes of cases) {
      const trits = new Int8Array(243);
      bytesToTrits(bytes, 0, trits, 0);
      if (!libraryThrowsOn(bytes)) assert.deepEqual(trits, wordsToTrits(wordsOf(bytes)), `bytes ${Buffer.from(bytes).toString('hex')} ${seedNote}`);
      const back = new Uint8Array(HASH_BYTES);
      tritsToBytes(trits, 0, back, 0);
      const normalized = bytes.slice();
      normalize(normalized, 0);
      assert.deepEqual(back, normalized, `trits ${trytes(trits)} ${seedNote}`);
    }
  });

  it("reads a digest's tryte values lazily, as bytesToTrits gives them, whether read at once or a fragment at a time", () => {
    const cases = [...edgeByteValues(), ...Array.from({ length: 2000 }, () => Uint8Array.from({ length: HASH_BYTES }, () => randomInt(256)))];
    for (const bytes of cases) {
      const trits = new Int8Array(243);
      bytesToTrits(bytes, 0, trits, 0);
      const expected = Int8Array.from({ length: 81 }, (_, j) => trits[3 * j] + 3 * trits[3 * j + 1] + 9 * trits[3 * j + 2]);
      digestTrytes.start(bytes);
      assert.deepEqual(digestTrytes.upTo(81).slice(0, 81), expected, `at once: ${Buffer.from(bytes).toString('hex')} ${seedNote}`);
      digestTrytes.start(bytes);
      for (const count of [27, 54, 81]) {
        assert.deepEqual(digestTrytes.upTo(count).slice(0, count), expected.slice(0, count), `to ${count}: ${Buffer.from(bytes).toString('hex')} ${seedNote}`);
      }
    }
  });

  it('converts a chunk given as tryte values to the bytes of its trits, trit 243 ignored', () => {
    for (const chunk of [...edgeChunks(), ...Array.from({ length: 2000 }, () => randomTrits(243))]) {
      const values = Int8Array.from({ length: 81 }, (_, j) => chunk[3 * j] + 3 * chunk[3 * j + 1] + 9 * chunk[3 * j + 2]);
      const [fromValues, fromTrits] = [new Uint8Array(HASH_BYTES + 3), new Uint8Array(HASH_BYTES + 3)];
      tryteValuesToBytes(values, 0, fromValues, 3);
      tritsToBytes(chunk, 0, fromTrits, 3);
      assert.deepEqual(fromValues, fromTrits, `${trytes(chunk)} ${seedNote}`);
    }
  });

  it('normalize gives the bytes of a round trip through trits, for any 48 bytes', () => {
    const cases = [new Uint8Array(HASH_BYTES).fill(0xff), new Uint8Array(HASH_BYTES).fill(0x7f), new Uint8Array(HASH_BYTES).fill(0x80)];
    for (let i = 0; i < 500; i++) cases.push(Uint8Array.from({ length: HASH_BYTES }, () => randomInt(256)));
    for (const bytes of cases) {
      const viaTrits = new Int8Array(243);
      bytesToTrits(bytes, 0, viaTrits, 0);
      const expected = new Uint8Array(HASH_BYTES);
      tritsToBytes(viaTrits, 0, expected, 0);
      const normalized = bytes.slice();
      normalize(normalized, 0);
      assert.deepEqual(normalized, expected, `${Buffer.from(bytes).toString('hex')} ${seedNote}`);
    }
  });

  it('refuses lengths that are not whole chunks', () => {
    assert.throws(() => new Kerl().absorb(new Int8Array(242), 0, 242), /whole chunks of 243 trits/);
    assert.throws(() => new Kerl().squeeze(new Int8Array(243), 0, 0), /whole chunks/);
  });
});
