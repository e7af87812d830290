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
import { Emitter, I32, V128, functionBody, i32Op, moduleBytes, op, simd } from '../wasm/emitter';
import { type BitPlanes, HASH_LENGTH, type LaneCurl, READ_B, ROUNDS, STATE_LENGTH, lowestLane } from './lanes';

const V128_BYTES = 16;
const PLANE_BYTES = STATE_LENGTH * V128_BYTES;
const STATE = 0;
const RESULT = STATE + 2 * PLANE_BYTES;
const SPARE = RESULT + 2 * PLANE_BYTES;
const ZERO_MASK = SPARE + 2 * PLANE_BYTES;
const MEMORY_PAGES = Math.ceil((ZERO_MASK + V128_BYTES) / 65536);

/**
 * round(from, to): one Curl round, all 729 output trits unrolled with constant offsets. As in curl-js.ts,
 *   delta = (aLow | ~bHigh) & (bLow ^ aHigh), low' = ~delta, high' = (aLow ^ bHigh) | delta,
 * where delta is written as andNot(bLow ^ aHigh, andNot(bHigh, aLow)) to save a not. Trit b of one step is trit a
 * of the next, so two pairs of locals take turns instead of loading it twice.
 */
function roundBody(code: Emitter): void {
  const [from, to] = [0, 1];
  const pairs = [
    { low: 2, high: 3 },
    { low: 4, high: 5 },
  ];
  const delta = 6;
  code.get(from).v128Load(0).set(pairs[0].low).get(from).v128Load(PLANE_BYTES).set(pairs[0].high);
  for (let i = 0; i < STATE_LENGTH; i++) {
    const a = pairs[i % 2];
    const b = pairs[(i + 1) % 2];
    const readB = READ_B[i] * V128_BYTES;
    code.get(from).v128Load(readB).set(b.low);
    code.get(from).v128Load(PLANE_BYTES + readB).set(b.high);
    code.get(b.low).get(a.high).simd(simd.xor);
    code.get(b.high).get(a.low).simd(simd.andNot);
    code.simd(simd.andNot).set(delta);
    code.get(to).get(delta).simd(simd.not).v128Store(i * V128_BYTES);
    code.get(to).get(a.low).get(b.high).simd(simd.xor).get(delta).simd(simd.or).v128Store(PLANE_BYTES + i * V128_BYTES);
  }
}

/** transform(): 81 rounds, STATE -> RESULT, then 40 times RESULT -> SPARE -> RESULT. */
function transformBody(code: Emitter, roundFunction: number): void {
  const pairsLeft = 0;
  const round = (from: number, to: number): Emitter => code.i32(from).i32(to).bytes(op.call, roundFunction);
  round(STATE, RESULT);
  code.i32((ROUNDS - 1) / 2).set(pairsLeft);
  code.bytes(op.loop, op.voidBlock);
  round(RESULT, SPARE);
  round(SPARE, RESULT);
  code.get(pairsLeft).i32(1).bytes(i32Op.sub, op.localTee, pairsLeft, op.brIf, 0);
  code.bytes(op.end);
}

/** zeroLanes(mwm): ANDs low & high of result trits 243 - mwm .. 242 into ZERO_MASK; 1 when any lane is left. */
function zeroLanesBody(code: Emitter): void {
  const [mwm, offset, lanes] = [0, 1, 2];
  code.simd(simd.const).bytes(...new Array<number>(V128_BYTES).fill(0xff)).set(lanes);
  code.i32(HASH_LENGTH).get(mwm).bytes(i32Op.sub).i32(4).bytes(i32Op.shl).set(offset);
  code.bytes(op.loop, op.voidBlock);
  code.get(lanes).get(offset).v128Load(RESULT).get(offset).v128Load(RESULT + PLANE_BYTES);
  code.simd(simd.and).simd(simd.and).set(lanes);
  code.get(offset).i32(V128_BYTES).bytes(i32Op.add, op.localTee, offset);
  code.i32(HASH_LENGTH * V128_BYTES).bytes(i32Op.ltU, op.brIf, 0);
  code.bytes(op.end);
  code.i32(ZERO_MASK).get(lanes).v128Store(0);
  code.get(lanes).simd(simd.anyTrue);
}

/** The module's bytes; built once per thread. */
export function curlWasmModule(): Uint8Array<ArrayBuffer> {
  const [roundType, transformType, zeroLanesType] = [0, 1, 2];
  const [roundFunction, transformFunction, zeroLanesFunction] = [0, 1, 2];
  const funcType = 0x60;
  const [memoryExport, functionExport] = [0x02, 0x00];
  const types = new Emitter().unsigned(3);
  types.bytes(funcType, 2, I32, I32, 0).bytes(funcType, 0, 0).bytes(funcType, 1, I32, 1, I32);
  const functions = new Emitter().bytes(3, roundType, transformType, zeroLanesType);
  const memory = new Emitter().bytes(1, 0x00).unsigned(MEMORY_PAGES);
  const exports = new Emitter().unsigned(3);
  exports.text('memory').bytes(memoryExport, 0);
  exports.text('transform').bytes(functionExport, transformFunction);
  exports.text('zeroLanes').bytes(functionExport, zeroLanesFunction);
  const code = new Emitter().unsigned(3);
  code.sized(functionBody([[5, V128]], roundBody));
  code.sized(functionBody([[1, I32]], (body) => transformBody(body, roundFunction)));
  code.sized(functionBody([[1, I32], [1, V128]], zeroLanesBody));
  return moduleBytes({ types, functions, memory, exports, code });
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
    const bytes = typeof WebAssembly === 'object' ? curlWasmModule() : null;
    compiled = bytes && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
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
