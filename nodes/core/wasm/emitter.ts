/**
 * Writes WebAssembly modules byte by byte at run time, so the package needs no build step and no toolchain for its
 * WebAssembly (the proof-of-work's Curl and the Keccak permutation). Opcode numbers are from the WebAssembly core
 * and SIMD specifications.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const V128 = 0x7b;
export const op = { end: 0x0b, loop: 0x03, if: 0x04, else: 0x05, voidBlock: 0x40, brIf: 0x0d, call: 0x10, localGet: 0x20, localSet: 0x21, localTee: 0x22 } as const;
export const i32Op = { const: 0x41, ltU: 0x49, add: 0x6a, sub: 0x6b, mul: 0x6c, divU: 0x6e, and: 0x71, or: 0x72, shl: 0x74, store: 0x36, store8: 0x3a } as const;
export const i64Op = { const: 0x42, eq: 0x51, ltS: 0x53, ltU: 0x54, add: 0x7c, sub: 0x7d, and: 0x83, xor: 0x85, rotl: 0x89, extendI32U: 0xad, load: 0x29, store: 0x37 } as const;
/** SIMD instructions are 0xfd followed by their number. */
export const simd = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  i64x2Splat: 0x12,
  i64x2ExtractLane: 0x1d,
  i64x2ReplaceLane: 0x1e,
  not: 0x4d,
  and: 0x4e,
  andNot: 0x4f,
  or: 0x50,
  xor: 0x51,
  anyTrue: 0x53,
  i64x2Shl: 0xcb,
  i64x2ShrU: 0xcd,
} as const;

/** log2 of the natural alignment, which memory instructions carry before their offset. */
const ALIGN_1_BYTE = 0;
const ALIGN_4_BYTES = 2;
const ALIGN_8_BYTES = 3;
const ALIGN_16_BYTES = 4;

/**
 * A growing byte buffer with one method per encoding. It runs once per thread, so it stays simple for the
 * interpreter: small methods writing bytes, no arrays built and spread per instruction (that took tens of ms).
 */
export class Emitter {
  private buffer = new Uint8Array(1 << 16);
  private length = 0;

  bytes(...values: number[]): this {
    if (this.length + values.length > this.buffer.length) this.grow(values.length);
    for (const value of values) this.buffer[this.length++] = value;
    return this;
  }

  unsigned(n: number): this {
    do {
      const low = n & 0x7f;
      n >>>= 7;
      this.bytes(n === 0 ? low : low | 0x80);
    } while (n !== 0);
    return this;
  }

  signed(n: number): this {
    for (;;) {
      const low = n & 0x7f;
      n >>= 7;
      const done = (n === 0 && (low & 0x40) === 0) || (n === -1 && (low & 0x40) !== 0);
      this.bytes(done ? low : low | 0x80);
      if (done) return this;
    }
  }

  /** A length in bytes, then the bytes: how sections and function bodies are framed. */
  sized(inner: Emitter): this {
    const content = inner.result();
    this.unsigned(content.length);
    if (this.length + content.length > this.buffer.length) this.grow(content.length);
    this.buffer.set(content, this.length);
    this.length += content.length;
    return this;
  }

  text(s: string): this {
    this.unsigned(s.length);
    for (let i = 0; i < s.length; i++) this.bytes(s.charCodeAt(i));
    return this;
  }

  get(local: number): this {
    return this.bytes(op.localGet).unsigned(local);
  }

  set(local: number): this {
    return this.bytes(op.localSet).unsigned(local);
  }

  tee(local: number): this {
    return this.bytes(op.localTee).unsigned(local);
  }

  i32(n: number): this {
    return this.bytes(i32Op.const).signed(n);
  }

  /** i64.const of a value that fits in 32 bits (sign-extended), all the modules need. */
  i64(n: number): this {
    return this.bytes(i64Op.const).signed(n);
  }

  simd(instruction: number): this {
    return this.bytes(0xfd).unsigned(instruction);
  }

  /** 16-byte aligned v128 access at a constant offset from the address on the stack. */
  v128Load(offset: number): this {
    return this.simd(simd.load).bytes(ALIGN_16_BYTES).unsigned(offset);
  }

  v128Store(offset: number): this {
    return this.simd(simd.store).bytes(ALIGN_16_BYTES).unsigned(offset);
  }

  /** An i32 store (4-byte aligned), and of its low byte, at a constant offset from the address on the stack. */
  i32Store(offset: number): this {
    return this.bytes(i32Op.store, ALIGN_4_BYTES).unsigned(offset);
  }

  i32Store8(offset: number): this {
    return this.bytes(i32Op.store8, ALIGN_1_BYTE).unsigned(offset);
  }

  /** 8-byte aligned i64 access at a constant offset from the address on the stack. */
  i64Load(offset: number): this {
    return this.bytes(i64Op.load, ALIGN_8_BYTES).unsigned(offset);
  }

  i64Store(offset: number): this {
    return this.bytes(i64Op.store, ALIGN_8_BYTES).unsigned(offset);
  }

  result(): Uint8Array<ArrayBuffer> {
    return this.buffer.slice(0, this.length);
  }

  private grow(needed: number): void {
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + needed));
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
  }
}

/** A function body: its locals as runs of one type, then the code `writeCode` emits, then `end`. */
export function functionBody(locals: Array<[count: number, type: number]>, writeCode: (code: Emitter) => void): Emitter {
  const body = new Emitter().unsigned(locals.length);
  for (const [count, type] of locals) body.unsigned(count).bytes(type);
  writeCode(body);
  return body.bytes(op.end);
}

/** The sections a module is made of here, in the order the binary format requires. */
export interface ModuleSections {
  types: Emitter;
  functions: Emitter;
  memory: Emitter;
  exports: Emitter;
  code: Emitter;
  data?: Emitter;
}

export function moduleBytes(sections: ModuleSections): Uint8Array<ArrayBuffer> {
  const module = new Emitter()
    .bytes(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
    .bytes(1).sized(sections.types)
    .bytes(3).sized(sections.functions)
    .bytes(5).sized(sections.memory)
    .bytes(7).sized(sections.exports)
    .bytes(10).sized(sections.code);
  if (sections.data) module.bytes(11).sized(sections.data);
  return module.result();
}
