/**
 * Two Keccak-384 states at once, in WebAssembly SIMD: each 128-bit value holds the same lane of both states side
 * by side (i64x2), so one permutation step works on both. A payment's hashing is mostly independent work that
 * pairs up: WOTS hashes up to 81 chunks per signature, digest or check, each in a chain of its own, and a bundle's
 * finalization tries obsoleteTags one after another, each try a hash of the whole bundle.
 *
 * rounds(n): n rounds of two Kerl hash chains. One round is one Kerl hash of a 48-byte chunk: Keccak-384 of the
 * chunk (one block, one permutation), then `normalize` (kerl.ts), done here on the digest's six 64-bit words: a
 * byte swap makes the big-endian words numbers, then a comparison with ±H and at most one addition or subtraction
 * of 3^242, with carries.
 *
 * tries(length): Keccak-384 of the message, and of the message with its bytes 48 .. 95 (the chunk that holds the
 * first obsoleteTag) replaced by the alternative: the digests of two tries.
 *
 * Memory layout, in bytes:
 *   ROUND_CONSTANTS_AT: 24 x 16 (each constant twice)   WORDS_AT: H, 2^384 - H and 3^242, six i64 words each
 *   CHUNKS_AT: the two chunks, lane by lane: bytes 8i .. 8i + 7 of chain 0, then of chain 1, for i = 0 .. 5
 *   DIGESTS_AT: the two digests of tries()   ALTERNATIVE_AT: its 48 alternative bytes
 *   MESSAGE_AT: its message, then room for the padding (at most one rate block)
 * Exports: memory; rounds(n) (n >= 1); tries(length); normalize(0) normalizes both chunks (for the tests).
 */
import { Emitter, I32, I64, V128, functionBody, i32Op, i64Op, moduleBytes, op, simd } from '../wasm/emitter';
import { type LaneOps, laneLocals, padMessage, permutation } from './keccak-wasm';
import { KECCAK384_BYTES, RATE_BYTES, ROUNDS, ROUND_CONSTANTS } from './keccak-constants';

const V128_BYTES = 16;
const WORDS = KECCAK384_BYTES / 8;
const ROUND_CONSTANTS_AT = 0;
const WORDS_AT = ROUND_CONSTANTS_AT + ROUNDS * V128_BYTES;
const HALF_AT = WORDS_AT;
const MINUS_HALF_AT = HALF_AT + KECCAK384_BYTES;
const THREE_242_AT = MINUS_HALF_AT + KECCAK384_BYTES;
const CHUNKS_AT = THREE_242_AT + KECCAK384_BYTES;
const DIGESTS_AT = CHUNKS_AT + 2 * KECCAK384_BYTES;
const ALTERNATIVE_AT = DIGESTS_AT + 2 * KECCAK384_BYTES;
const MESSAGE_AT = ALTERNATIVE_AT + KECCAK384_BYTES;
/** The bytes of the message that the alternative replaces, as Keccak lanes of the first block. */
const ALTERNATIVE_LANES = { from: KECCAK384_BYTES / 8, to: (2 * KECCAK384_BYTES) / 8 };
const RATE_LANES = RATE_BYTES / 8;
const PAGE_BYTES = 65536;

const H = (3n ** 242n - 1n) / 2n;
/** The numbers normalize compares with and adds, as words, the most significant first. */
const CONSTANT_WORDS: Array<[at: number, value: bigint]> = [
  [HALF_AT, H],
  [MINUS_HALF_AT, 2n ** 384n - H],
  [THREE_242_AT, 3n ** 242n],
];

// Locals of every function: the parameter, five i32, the v128 lanes A, B, C, D and a scratch, six i64 words and
// a temporary.
const COUNT = 0;
const LENGTH = 0;
const ROUND_CONSTANT_AT = 1;
const BORROW = 2;
const FIRST_BORROW = 3;
const BLOCK_AT = 4;
const PADDED_END = 5;
const { A, B, C, D, next: SCRATCH } = laneLocals(6);
const W = SCRATCH + 1;
const TEMP = W + WORDS;
const LOCALS: Array<[number, number]> = [[5, I32], [SCRATCH + 1 - A, V128], [WORDS + 1, I64]];

const I64X2_LANES: LaneOps = {
  xor: (code) => code.simd(simd.xor),
  rotl: (code, by, scratch) => code.tee(scratch).i32(by).simd(simd.i64x2Shl).get(scratch).i32(64 - by).simd(simd.i64x2ShrU).simd(simd.or),
  // andNot(c, b) is c & ~b
  chi: (code, a, b, c) => code.get(a).get(c).get(b).simd(simd.andNot).simd(simd.xor),
  roundConstant: (code, at) => code.get(at).v128Load(ROUND_CONSTANTS_AT),
};

/** A v128 constant with the same 8 bytes in both lanes. */
function pushBoth(code: Emitter, lane: Uint8Array): void {
  code.simd(simd.const).bytes(...lane, ...lane);
}
const ZERO_LANE = new Uint8Array(8);
/** Keccak's padding of a 48-byte message in a 104-byte block: 0x01 after it (lane 6), 0x80 in byte 103 (lane 12). */
const PAD_START = Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0, 0);
const PAD_END = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80);
/** Reverses the bytes of each 64-bit half: memory order (big-endian digest bytes) to numbers and back. */
const SWAP_BYTES = [7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8];

function swapWords(code: Emitter): void {
  for (let i = 0; i < WORDS; i++) code.get(A + i).get(A + i).simd(simd.shuffle).bytes(...SWAP_BYTES).set(A + i);
}

const word = (at: number) => (code: Emitter, j: number) => code.i32(0).i64Load(at + 8 * j);
const local = (code: Emitter, j: number) => code.get(W + j);
type Push = (code: Emitter, j: number) => void;

/** BORROW = whether x < y, from the borrow of x - y taken word by word from the least significant. */
function isBelow(code: Emitter, x: Push, y: Push): void {
  code.i32(0).set(BORROW);
  for (let j = WORDS - 1; j >= 0; j--) {
    x(code, j);
    y(code, j);
    code.bytes(i64Op.ltU);
    x(code, j);
    y(code, j);
    code.bytes(i64Op.eq).get(BORROW).bytes(i32Op.and, i32Op.or).set(BORROW);
  }
}

/** W -= 3^242, or W += 3^242 (modulo 2^384). */
function addThree242(code: Emitter, subtract: boolean): void {
  const three = word(THREE_242_AT);
  code.i32(0).set(BORROW);
  for (let j = WORDS - 1; j >= 0; j--) {
    code.get(W + j);
    three(code, j);
    if (subtract) {
      code.bytes(i64Op.ltU).set(FIRST_BORROW);
      code.get(W + j);
      three(code, j);
      code.bytes(i64Op.sub).set(TEMP);
      code.get(TEMP).get(BORROW).bytes(i64Op.extendI32U, i64Op.sub).set(W + j);
      code.get(TEMP).get(BORROW).bytes(i64Op.extendI32U, i64Op.ltU).get(FIRST_BORROW).bytes(i32Op.or).set(BORROW);
    } else {
      code.bytes(i64Op.add).set(TEMP);
      code.get(TEMP);
      three(code, j);
      code.bytes(i64Op.ltU).set(FIRST_BORROW);
      code.get(TEMP).get(BORROW).bytes(i64Op.extendI32U, i64Op.add).set(W + j);
      code.get(W + j).get(TEMP).bytes(i64Op.ltU).get(FIRST_BORROW).bytes(i32Op.or).set(BORROW);
    }
  }
}

/** normalize (kerl.ts) on both digests in lanes A[0 .. 5]: v < -H gains 3^242, v > H loses it. */
function normalizeBody(code: Emitter): void {
  swapWords(code);
  for (const lane of [0, 1]) {
    for (let i = 0; i < WORDS; i++) code.get(A + i).simd(simd.i64x2ExtractLane).bytes(lane).set(W + i);
    code.get(W).i64(0).bytes(i64Op.ltS, op.if, op.voidBlock);
    isBelow(code, local, word(MINUS_HALF_AT));
    code.get(BORROW).bytes(op.if, op.voidBlock);
    addThree242(code, false);
    code.bytes(op.end, op.else);
    isBelow(code, word(HALF_AT), local);
    code.get(BORROW).bytes(op.if, op.voidBlock);
    addThree242(code, true);
    code.bytes(op.end, op.end);
    for (let i = 0; i < WORDS; i++) code.get(A + i).get(W + i).simd(simd.i64x2ReplaceLane).bytes(lane).set(A + i);
  }
  swapWords(code);
}

function loadChunks(code: Emitter): void {
  for (let i = 0; i < WORDS; i++) code.i32(0).v128Load(CHUNKS_AT + i * V128_BYTES).set(A + i);
}

function storeChunks(code: Emitter): void {
  for (let i = 0; i < WORDS; i++) code.i32(0).get(A + i).v128Store(CHUNKS_AT + i * V128_BYTES);
}

/** Keccak-f[1600] on both states in A. */
function permute(code: Emitter): void {
  permutation(code, I64X2_LANES, { A, B, C, D, scratch: SCRATCH, constantAt: ROUND_CONSTANT_AT }, V128_BYTES);
}

function roundsBody(code: Emitter): void {
  loadChunks(code);
  code.bytes(op.loop, op.voidBlock);
  // A fresh state that has absorbed the padded chunk: the chunk is lanes 0 .. 5 already.
  for (let i = WORDS; i < 25; i++) {
    pushBoth(code, i === 6 ? PAD_START : i === 12 ? PAD_END : ZERO_LANE);
    code.set(A + i);
  }
  permute(code);
  normalizeBody(code);
  code.get(COUNT).i32(1).bytes(i32Op.sub).tee(COUNT).bytes(op.brIf, 0, op.end);
  storeChunks(code);
}

/** Pushes lane i of the block at BLOCK_AT, the same in both states. */
function pushMessageLane(code: Emitter, i: number): void {
  code.get(BLOCK_AT).i64Load(MESSAGE_AT + 8 * i).simd(simd.i64x2Splat);
}

/**
 * tries(length): pads the message in place, absorbs its first block into both states (the second state with the
 * alternative lanes in place of the message's), then every other block into both, and stores each digest.
 */
function triesBody(code: Emitter): void {
  const { loop, voidBlock, brIf, end } = op;
  padMessage(code, { length: LENGTH, blockAt: BLOCK_AT, paddedEnd: PADDED_END, messageAt: MESSAGE_AT });

  code.i32(0).set(BLOCK_AT);
  for (let i = 0; i < 25; i++) {
    if (i < RATE_LANES) pushMessageLane(code, i);
    else pushBoth(code, ZERO_LANE);
    if (i >= ALTERNATIVE_LANES.from && i < ALTERNATIVE_LANES.to) code.i32(0).i64Load(ALTERNATIVE_AT + 8 * (i - ALTERNATIVE_LANES.from)).simd(simd.i64x2ReplaceLane).bytes(1);
    code.set(A + i);
  }
  permute(code);
  code.i32(RATE_BYTES).tee(BLOCK_AT).get(PADDED_END).bytes(i32Op.ltU, op.if, voidBlock, loop, voidBlock);
  for (let i = 0; i < RATE_LANES; i++) {
    code.get(A + i);
    pushMessageLane(code, i);
    code.simd(simd.xor).set(A + i);
  }
  permute(code);
  code.get(BLOCK_AT).i32(RATE_BYTES).bytes(i32Op.add).tee(BLOCK_AT).get(PADDED_END).bytes(i32Op.ltU, brIf, 0, end, end);
  for (const lane of [0, 1]) {
    for (let i = 0; i < WORDS; i++) code.i32(0).get(A + i).simd(simd.i64x2ExtractLane).bytes(lane).i64Store(DIGESTS_AT + lane * KECCAK384_BYTES + 8 * i);
  }
}

export function keccakPairModule(): Uint8Array<ArrayBuffer> {
  const types = new Emitter().unsigned(1).bytes(0x60, 1, I32, 0);
  const functions = new Emitter().bytes(3, 0, 0, 0);
  const memory = new Emitter().bytes(1, 0x00).unsigned(1);
  const exports = new Emitter().unsigned(4);
  exports.text('memory').bytes(0x02, 0);
  exports.text('rounds').bytes(0x00, 0);
  exports.text('tries').bytes(0x00, 1);
  exports.text('normalize').bytes(0x00, 2);
  const code = new Emitter().unsigned(3);
  code.sized(functionBody(LOCALS, roundsBody));
  code.sized(functionBody(LOCALS, triesBody));
  code.sized(
    functionBody(LOCALS, (body) => {
      loadChunks(body);
      normalizeBody(body);
      storeChunks(body);
    }),
  );
  const data = new Emitter().unsigned(2);
  data.bytes(0x00).i32(ROUND_CONSTANTS_AT).bytes(op.end).unsigned(ROUNDS * V128_BYTES);
  // Each round constant twice, little-endian, low half first: the byte order of an i64 in memory.
  for (let lane = 0; lane < 2 * ROUNDS; lane++) {
    const round = lane >> 1;
    for (const half of [ROUND_CONSTANTS[2 * round], ROUND_CONSTANTS[2 * round + 1]]) data.bytes(half & 0xff, (half >>> 8) & 0xff, (half >>> 16) & 0xff, half >>> 24);
  }
  data.bytes(0x00).i32(WORDS_AT).bytes(op.end).unsigned(CONSTANT_WORDS.length * KECCAK384_BYTES);
  for (const [, value] of CONSTANT_WORDS) {
    for (let j = 0; j < WORDS; j++) {
      const w = (value >> BigInt(64 * (WORDS - 1 - j))) & 0xffffffffffffffffn;
      for (let b = 0; b < 8; b++) data.bytes(Number((w >> BigInt(8 * b)) & 0xffn));
    }
  }
  return moduleBytes({ types, functions, memory, exports, code, data });
}

interface PairExports {
  memory: WebAssembly.Memory;
  rounds(count: number): void;
  tries(length: number): void;
  normalize(unused: number): void;
}

/** One instance: its two chunk slots (lanes 0 and 1) for chains, and its message for tries. */
export class KeccakPair {
  private readonly exports: PairExports;
  private bytes: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module).exports as unknown as PairExports;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
  }

  /** Puts the 48-byte chunk at `source[at]` into a lane. */
  load(lane: number, source: Uint8Array, at: number): void {
    const bytes = this.bytes;
    for (let k = 0; k < KECCAK384_BYTES; k++) bytes[CHUNKS_AT + V128_BYTES * (k >> 3) + 8 * lane + (k & 7)] = source[at + k];
  }

  /** Copies a lane's chunk to `target[at]`. */
  store(lane: number, target: Uint8Array, at: number): void {
    const bytes = this.bytes;
    for (let k = 0; k < KECCAK384_BYTES; k++) target[at + k] = bytes[CHUNKS_AT + V128_BYTES * (k >> 3) + 8 * lane + (k & 7)];
  }

  /** Hashes both lanes' chunks `count` (at least 1) times. */
  run(count: number): void {
    this.exports.rounds(count);
  }

  normalizeBoth(): void {
    this.exports.normalize(0);
  }

  /**
   * Keccak-384 of `message` (a multiple of 4 bytes, at least 96) into `digests[0 .. 48)`, and of `message` with
   * bytes 48 .. 95 replaced by `alternative` into `digests[48 .. 96)`.
   */
  tries(message: Uint8Array, alternative: Uint8Array, digests: Uint8Array): void {
    if (MESSAGE_AT + message.length + RATE_BYTES > this.bytes.length) {
      this.exports.memory.grow(Math.ceil((MESSAGE_AT + message.length + RATE_BYTES - this.bytes.length) / PAGE_BYTES));
      this.bytes = new Uint8Array(this.exports.memory.buffer);
    }
    this.bytes.set(message, MESSAGE_AT);
    this.bytes.set(alternative, ALTERNATIVE_AT);
    this.exports.tries(message.length);
    digests.set(this.bytes.subarray(DIGESTS_AT, DIGESTS_AT + 2 * KECCAK384_BYTES));
  }
}

/** An instance, or null where WebAssembly or its SIMD is missing (then the hashes run one at a time). */
export function instantiateKeccakPair(): KeccakPair | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    const bytes = keccakPairModule();
    return WebAssembly.validate(bytes) ? new KeccakPair(new WebAssembly.Module(bytes)) : null;
  } catch {
    return null;
  }
}
