/**
 * Keccak-384 (original Keccak padding) in WebAssembly, written out at run time with the shared emitter: the lanes
 * are native i64 values, so each rho rotation is one i64.rotl where JavaScript needs four shifts on 32-bit halves.
 *
 * One call hashes a whole message already copied into linear memory (absorb, pad, squeeze 48 bytes), so a short
 * message costs a single crossing into WebAssembly; an exported permutation with the absorb in JavaScript would
 * copy the same message and, on top, the 200-byte state in and out per block. Memory layout, in bytes:
 *   ROUND_CONSTANTS_AT: 24 x 8, from a data segment     DIGEST_AT: the 48-byte digest
 *   MESSAGE_AT: the message, then room for its padding (at most one rate block)
 * Exports: memory; keccak384(length).
 */
import { Emitter, I32, I64, functionBody, i32Op, i64Op, moduleBytes, op } from '../wasm/emitter';
import { KECCAK384_BYTES, RATE_BYTES, ROUNDS, ROUND_CONSTANTS } from './keccak-constants';

const LANE_BYTES = 8;
const ROUND_CONSTANTS_AT = 0;
const DIGEST_AT = ROUND_CONSTANTS_AT + ROUNDS * LANE_BYTES;
const MESSAGE_AT = DIGEST_AT + 64;
const PAGE_BYTES = 65536;
/** Up to this length a byte loop copies faster than set() on a subarray, which makes a view object per call. */
const SHORT_MESSAGE_BYTES = 128;

/** rho: the rotation of lane x + 5y, from the reference's walk (x, y) -> (y, 2x + 3y) starting at (1, 0). */
const RHO = new Array<number>(25).fill(0);
{
  let [x, y] = [1, 0];
  for (let t = 0; t < 24; t++) {
    RHO[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    [x, y] = [y, (2 * x + 3 * y) % 5];
  }
}

/** pi: lane (x, y) moves to (y, 2x + 3y). */
const piTarget = (x: number, y: number): number => y + 5 * ((2 * x + 3 * y) % 5);

/**
 * What a round needs of its lane type: one i64 (one state) here, or an i64x2 of two states side by side
 * (kerl-chains-wasm.ts). Each works on the values on the stack.
 */
export interface LaneOps {
  xor(code: Emitter): void;
  /** Rotates the value on the stack left by 1..63 bits; may use the local `scratch`. */
  rotl(code: Emitter, by: number, scratch: number): void;
  /** Pushes a ^ (~b & c) from three locals. */
  chi(code: Emitter, a: number, b: number, c: number): void;
  /** Pushes the round constant of the round whose constant's address is in local `at`. */
  roundConstant(code: Emitter, at: number): void;
}

/** Where a round keeps its lanes: A the state, B after rho and pi, C and D theta's column sums, plus a scratch. */
export interface RoundLocals {
  A: number;
  B: number;
  C: number;
  D: number;
  scratch: number;
  constantAt: number;
}

/** The lane locals of a round from local `first` on: A (25), B (25), C (5), D (5); `next` is the first after them. */
export function laneLocals(first: number): { A: number; B: number; C: number; D: number; next: number } {
  return { A: first, B: first + 25, C: first + 50, D: first + 55, next: first + 60 };
}

/** One round on the lanes in locals A: theta, rho and pi into B, chi back into A, iota from the constants. */
function roundBody(code: Emitter, lanes: LaneOps, { A, B, C, D, scratch, constantAt }: RoundLocals): void {
  for (let x = 0; x < 5; x++) {
    code.get(A + x);
    for (let y = 1; y < 5; y++) {
      code.get(A + x + 5 * y);
      lanes.xor(code);
    }
    code.set(C + x);
  }
  for (let x = 0; x < 5; x++) {
    code.get(C + ((x + 4) % 5)).get(C + ((x + 1) % 5));
    lanes.rotl(code, 1, scratch);
    lanes.xor(code);
    code.set(D + x);
  }
  for (let x = 0; x < 5; x++) {
    for (let y = 0; y < 5; y++) {
      code.get(A + x + 5 * y).get(D + x);
      lanes.xor(code);
      if (RHO[x + 5 * y] !== 0) lanes.rotl(code, RHO[x + 5 * y], scratch);
      code.set(B + piTarget(x, y));
    }
  }
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 5; x++) {
      const row = (dx: number): number => B + ((x + dx) % 5) + 5 * y;
      lanes.chi(code, row(0), row(1), row(2));
      code.set(A + x + 5 * y);
    }
  }
  code.get(A);
  lanes.roundConstant(code, constantAt);
  lanes.xor(code);
  code.set(A);
}

/** Keccak-f[1600]: 24 rounds on the lanes in locals A, each constant `constantBytes` after the one before. */
export function permutation(code: Emitter, lanes: LaneOps, locals: RoundLocals, constantBytes: number): void {
  code.i32(0).set(locals.constantAt);
  code.bytes(op.loop, op.voidBlock);
  roundBody(code, lanes, locals);
  code.get(locals.constantAt).i32(constantBytes).bytes(i32Op.add).tee(locals.constantAt);
  code.i32(ROUNDS * constantBytes).bytes(i32Op.ltU, op.brIf, 0, op.end);
}

/** The locals and the message address that padMessage works with. */
export interface PaddingLocals {
  length: number;
  blockAt: number;
  paddedEnd: number;
  messageAt: number;
}

/**
 * Pads the message of `length` bytes at `messageAt` in place: zeros to the end of its last block, 0x01 after it,
 * 0x80 in the block's last byte (never the same byte, as lengths are whole words). Leaves the padded length in
 * local `paddedEnd`.
 */
export function padMessage(code: Emitter, { length, blockAt, paddedEnd, messageAt }: PaddingLocals): void {
  const { loop, voidBlock, brIf, end } = op;
  code.get(length).i32(RATE_BYTES).bytes(i32Op.divU).i32(1).bytes(i32Op.add).i32(RATE_BYTES).bytes(i32Op.mul).set(paddedEnd);
  code.get(length).set(blockAt);
  code.bytes(loop, voidBlock);
  code.get(blockAt).i32(0).i32Store(messageAt);
  code.get(blockAt).i32(4).bytes(i32Op.add).tee(blockAt).get(paddedEnd).bytes(i32Op.ltU, brIf, 0, end);
  code.get(length).i32(0x01).i32Store8(messageAt);
  code.get(paddedEnd).i32(0x80).i32Store8(messageAt - 1);
}

// keccak384(length)'s locals: the parameter, three i32 counters, then the i64 lanes A, B (after rho and pi), C, D.
const LENGTH = 0;
const BLOCK_AT = 1;
const PADDED_END = 2;
const ROUND_CONSTANT_AT = 3;
const { A, B, C, D, next: LOCALS_END } = laneLocals(4);
const LOCALS: RoundLocals = { A, B, C, D, scratch: -1, constantAt: ROUND_CONSTANT_AT };

const I64_LANES: LaneOps = {
  xor: (code) => code.bytes(i64Op.xor),
  rotl: (code, by) => code.i64(by).bytes(i64Op.rotl),
  // WebAssembly has no i64 and-not, so ~b is b ^ -1
  chi: (code, a, b, c) => code.get(a).get(b).i64(-1).bytes(i64Op.xor).get(c).bytes(i64Op.and, i64Op.xor),
  roundConstant: (code, at) => code.get(at).i64Load(ROUND_CONSTANTS_AT),
};

/**
 * keccak384(length): pads the message at MESSAGE_AT in place, absorbs every block with 24 rounds each, and stores
 * the first 6 lanes at DIGEST_AT. Locals start at zero, which is the empty state.
 */
function keccak384Body(code: Emitter): void {
  const { loop, voidBlock, brIf, end } = op;
  padMessage(code, { length: LENGTH, blockAt: BLOCK_AT, paddedEnd: PADDED_END, messageAt: MESSAGE_AT });

  code.i32(0).set(BLOCK_AT);
  code.bytes(loop, voidBlock);
  for (let lane = 0; lane < RATE_BYTES / LANE_BYTES; lane++) {
    code.get(A + lane).get(BLOCK_AT).i64Load(MESSAGE_AT + lane * LANE_BYTES).bytes(i64Op.xor).set(A + lane);
  }
  permutation(code, I64_LANES, LOCALS, LANE_BYTES);
  code.get(BLOCK_AT).i32(RATE_BYTES).bytes(i32Op.add).tee(BLOCK_AT).get(PADDED_END).bytes(i32Op.ltU, brIf, 0, end);

  for (let lane = 0; lane < KECCAK384_BYTES / LANE_BYTES; lane++) code.i32(0).get(A + lane).i64Store(DIGEST_AT + lane * LANE_BYTES);
}

/** The module's bytes; built once per thread. */
export function keccakWasmModule(): Uint8Array<ArrayBuffer> {
  const funcType = 0x60;
  const [memoryExport, functionExport] = [0x02, 0x00];
  const types = new Emitter().unsigned(1).bytes(funcType, 1, I32, 0);
  const functions = new Emitter().bytes(1, 0);
  const memory = new Emitter().bytes(1, 0x00).unsigned(1);
  const exports = new Emitter().unsigned(2);
  exports.text('memory').bytes(memoryExport, 0);
  exports.text('keccak384').bytes(functionExport, 0);
  const code = new Emitter().unsigned(1);
  code.sized(functionBody([[3, I32], [LOCALS_END - A, I64]], keccak384Body));
  // The round constants little-endian, low half first: the byte order of an i64 in memory.
  const data = new Emitter().bytes(1, 0x00).i32(ROUND_CONSTANTS_AT).bytes(op.end).unsigned(ROUNDS * LANE_BYTES);
  for (const word of ROUND_CONSTANTS) data.bytes(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24);
  return moduleBytes({ types, functions, memory, exports, code, data });
}

interface KeccakExports {
  memory: WebAssembly.Memory;
  keccak384(length: number): void;
}

/** One instance: copies the message into linear memory, hashes it there, copies the digest out. */
export class WasmKeccak384 {
  private readonly exports: KeccakExports;
  private bytes!: Uint8Array;
  private digest!: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module).exports as unknown as KeccakExports;
    this.viewMemory();
  }

  hash(input: Uint8Array, offset: number, length: number, out: Uint8Array, outOffset: number): void {
    if (MESSAGE_AT + length + RATE_BYTES > this.bytes.length) this.growFor(length);
    const bytes = this.bytes;
    if (length > SHORT_MESSAGE_BYTES) bytes.set(input.subarray(offset, offset + length), MESSAGE_AT);
    else for (let i = 0; i < length; i++) bytes[MESSAGE_AT + i] = input[offset + i];
    this.exports.keccak384(length);
    out.set(this.digest, outOffset);
  }

  /** Growing detaches the old buffer, so the views are made again. */
  private growFor(length: number): void {
    const pages = Math.ceil((MESSAGE_AT + length + RATE_BYTES) / PAGE_BYTES);
    this.exports.memory.grow(pages - this.bytes.length / PAGE_BYTES);
    this.viewMemory();
  }

  private viewMemory(): void {
    this.bytes = new Uint8Array(this.exports.memory.buffer);
    this.digest = this.bytes.subarray(DIGEST_AT, DIGEST_AT + KECCAK384_BYTES);
  }
}

/** An instance, or null where WebAssembly is missing (Node --jitless) or refuses the module. */
export function instantiateWasmKeccak384(): WasmKeccak384 | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    return new WasmKeccak384(new WebAssembly.Module(keccakWasmModule()));
  } catch {
    return null;
  }
}
