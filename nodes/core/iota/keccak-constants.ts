/** The parameters of Keccak-384 shared by the JavaScript and the WebAssembly permutations. */

export const ROUNDS = 24;
/** Rate of Keccak-384: 1600 - 2 x 384 bits. */
export const RATE_BYTES = 104;
export const KECCAK384_BYTES = 48;

/** Round constants, low and high halves, from the Keccak LFSR (x^8 + x^6 + x^5 + x^4 + 1). */
export const ROUND_CONSTANTS = new Int32Array(2 * ROUNDS);
{
  let lfsr = 1;
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < 7; j++) {
      const bit = (1 << j) - 1;
      if (lfsr & 1) ROUND_CONSTANTS[2 * round + (bit >= 32 ? 1 : 0)] ^= 1 << (bit & 31);
      lfsr = lfsr & 0x80 ? ((lfsr << 1) ^ 0x71) & 0xff : lfsr << 1;
    }
  }
}
