/**
 * Curl-P-81 on 128 lanes with WebAssembly SIMD: the same bit-sliced rounds as curl-js.ts, on v128 words.
 *
 * The module is small enough to write out byte by byte here, so the package needs no build step and no
 * dependency for it (no maintained WebAssembly miner exists for legacy Curl-P). Memory layout, in bytes:
 *   STATE  (what a transform reads)   low plane: 729 x 16 bytes, then the high plane
 *   RESULT (where the 81st round writes), SPARE (the rounds alternate between RESULT and SPARE)
 *   ZERO_MASK: 16 bytes, the lanes found by zeroLanes
 * Exports: memory; transform(); zeroLanes(mwm) -> 1 when some lane's result ends in mwm zero trits.
 */
import { type BitPlanes, HASH_LENGTH, type LaneCurl, READ_B, ROUNDS, STATE_LENGTH, lowestLane } from './lanes';

const V128_BYTES = 16;
const PLANE_BYTES = STATE_LENGTH * V128_BYTES;
const STATE = 0;
const RESULT = STATE + 2 * PLANE_BYTES;
const SPARE = RESULT + 2 * PLANE_BYTES;
const ZERO_MASK = SPARE + 2 * PLANE_BYTES;
const MEMORY_PAGES = Math.ceil((ZERO_MASK + V128_BYTES) / 65536);

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  end: 0x0b,
  loop: 0x03,
  voidBlock: 0x40,
  brIf: 0x0d,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Shl: 0x74,
} as const;
/** SIMD instructions are 0xfd followed by their number. */
const simd = { load: 0x00, store: 0x0b, const: 0x0c, not: 0x4d, and: 0x4e, andNot: 0x4f, or: 0x50, xor: 0x51, anyTrue: 0x53 } as const;

function unsigned(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signed(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
const text = (s: string): number[] => vector([...s].map((c) => [c.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...unsigned(body.length), ...body];
const get = (local: number): number[] => [op.localGet, local];
const set = (local: number): number[] => [op.localSet, local];
const i32 = (n: number): number[] => [op.i32Const, ...signed(n)];
const v128 = (instruction: number): number[] => [0xfd, ...unsigned(instruction)];
/** 16-byte aligned (2^4) access at a constant offset from the address on the stack. */
const load = (offset: number): number[] => [...v128(simd.load), 4, ...unsigned(offset)];
const store = (offset: number): number[] => [...v128(simd.store), 4, ...unsigned(offset)];

/**
 * round(from, to): one Curl round, all 729 output trits unrolled with constant offsets. As in curl-js.ts,
 *   delta = (aLow | ~bHigh) & (bLow ^ aHigh), low' = ~delta, high' = (aLow ^ bHigh) | delta,
 * where delta is written as andNot(bLow ^ aHigh, andNot(bHigh, aLow)) to save a not. Trit b of one step is trit a
 * of the next, so two pairs of locals take turns instead of loading it twice.
 */
function roundBody(): number[] {
  const [from, to] = [0, 1];
  const pairs = [
    { low: 2, high: 3 },
    { low: 4, high: 5 },
  ];
  const delta = 6;
  const code = [...get(from), ...load(0), ...set(pairs[0].low), ...get(from), ...load(PLANE_BYTES), ...set(pairs[0].high)];
  for (let i = 0; i < STATE_LENGTH; i++) {
    const a = pairs[i % 2];
    const b = pairs[(i + 1) % 2];
    const readB = READ_B[i] * V128_BYTES;
    code.push(
      ...get(from), ...load(readB), ...set(b.low),
      ...get(from), ...load(PLANE_BYTES + readB), ...set(b.high),
      ...get(b.low), ...get(a.high), ...v128(simd.xor),
      ...get(b.high), ...get(a.low), ...v128(simd.andNot),
      ...v128(simd.andNot), ...set(delta),
      ...get(to), ...get(delta), ...v128(simd.not), ...store(i * V128_BYTES),
      ...get(to), ...get(a.low), ...get(b.high), ...v128(simd.xor), ...get(delta), ...v128(simd.or),
      ...store(PLANE_BYTES + i * V128_BYTES),
    );
  }
  return code;
}

/** transform(): 81 rounds, STATE -> RESULT, then 40 times RESULT -> SPARE -> RESULT. */
function transformBody(roundFunction: number): number[] {
  const pairsLeft = 0;
  const round = (from: number, to: number): number[] => [...i32(from), ...i32(to), op.call, roundFunction];
  return [
    ...round(STATE, RESULT),
    ...i32((ROUNDS - 1) / 2), ...set(pairsLeft),
    op.loop, op.voidBlock,
    ...round(RESULT, SPARE), ...round(SPARE, RESULT),
    ...get(pairsLeft), ...i32(1), op.i32Sub, op.localTee, pairsLeft, op.brIf, 0,
    op.end,
  ];
}

/** zeroLanes(mwm): ANDs low & high of result trits 243 - mwm .. 242 into ZERO_MASK; 1 when any lane is left. */
function zeroLanesBody(): number[] {
  const [mwm, offset, lanes] = [0, 1, 2];
  return [
    ...v128(simd.const), ...new Array<number>(V128_BYTES).fill(0xff), ...set(lanes),
    ...i32(HASH_LENGTH), ...get(mwm), op.i32Sub, ...i32(4), op.i32Shl, ...set(offset),
    op.loop, op.voidBlock,
    ...get(lanes), ...get(offset), ...load(RESULT), ...get(offset), ...load(RESULT + PLANE_BYTES),
    ...v128(simd.and), ...v128(simd.and), ...set(lanes),
    ...get(offset), ...i32(V128_BYTES), op.i32Add, op.localTee, offset,
    ...i32(HASH_LENGTH * V128_BYTES), op.i32LtU, op.brIf, 0,
    op.end,
    ...i32(ZERO_MASK), ...get(lanes), ...store(0),
    ...get(lanes), ...v128(simd.anyTrue),
  ];
}

function functionBody(locals: Array<[count: number, type: number]>, code: number[]): number[] {
  const body = [...vector(locals.map(([count, type]) => [...unsigned(count), type])), ...code, op.end];
  return [...unsigned(body.length), ...body];
}

/** The module's bytes; built once per thread. */
export function curlWasmModule(): Uint8Array<ArrayBuffer> {
  const funcType = (params: number[], results: number[]): number[] => [0x60, ...vector(params.map((p) => [p])), ...vector(results.map((r) => [r]))];
  const [roundType, transformType, zeroLanesType] = [0, 1, 2];
  const [roundFunction, transformFunction, zeroLanesFunction] = [0, 1, 2];
  const exportFunction = (name: string, index: number): number[] => [...text(name), 0x00, index];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([funcType([I32, I32], []), funcType([], []), funcType([I32], [I32])])),
    ...section(3, vector([[roundType], [transformType], [zeroLanesType]])),
    ...section(5, vector([[0x00, ...unsigned(MEMORY_PAGES)]])),
    ...section(7, vector([[...text('memory'), 0x02, 0], exportFunction('transform', transformFunction), exportFunction('zeroLanes', zeroLanesFunction)])),
    ...section(10, vector([
      functionBody([[5, V128]], roundBody()),
      functionBody([[1, I32]], transformBody(roundFunction)),
      functionBody([[1, I32], [1, V128]], zeroLanesBody()),
    ])),
  ]);
}

interface CurlExports {
  memory: WebAssembly.Memory;
  transform(): void;
  zeroLanes(mwm: number): number;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly or its SIMD is missing (Node --jitless, old engines). */
export function compiledCurlWasm(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = curlWasmModule();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

export class WasmLaneCurl implements LaneCurl {
  readonly backend = 'wasm-simd';
  readonly lanes = 128;
  readonly state: BitPlanes;
  readonly result: BitPlanes;
  private readonly exports: CurlExports;
  private readonly zeroMask: Int32Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module).exports as unknown as CurlExports;
    const words = (offset: number, bytes: number): Int32Array => new Int32Array(this.exports.memory.buffer, offset, bytes / 4);
    this.state = { low: words(STATE, PLANE_BYTES).fill(-1), high: words(STATE + PLANE_BYTES, PLANE_BYTES).fill(-1) };
    this.result = { low: words(RESULT, PLANE_BYTES), high: words(RESULT + PLANE_BYTES, PLANE_BYTES) };
    this.zeroMask = words(ZERO_MASK, V128_BYTES);
  }

  transform(): void {
    this.exports.transform();
  }

  firstZeroLane(mwm: number): number {
    if (this.exports.zeroLanes(mwm) === 0) return -1;
    const word = this.zeroMask.findIndex((mask) => mask !== 0);
    return lowestLane(word, this.zeroMask[word]);
  }
}
