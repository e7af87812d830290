/**
 * Reproducible random inputs for the differential and property tests: each run draws a new seed and every failure
 * message names it, so that `RANDOM_SEED=<n>` repeats exactly that run.
 */
export const RANDOM_SEED = Number(process.env.RANDOM_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small, fast generator; quality is ample for picking test inputs. The same seed, the same values. */
export function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The run's generator, seeded with RANDOM_SEED. */
export const random = seededRandom(RANDOM_SEED);

export const randomInt = (below: number): number => Math.floor(random() * below);

export const randomTrits = (length: number): Int8Array => Int8Array.from({ length }, () => randomInt(3) - 1);

export const randomTrytes = (length: number): string =>
  Array.from({ length }, () => '9ABCDEFGHIJKLMNOPQRSTUVWXYZ'[randomInt(27)]).join('');
