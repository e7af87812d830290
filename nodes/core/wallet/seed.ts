import { createHash, randomInt } from 'node:crypto';

const TRYTE_ALPHABET = '9ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SEED_PATTERN = /^[9A-Z]{81}$/;

/** A legacy IOTA seed: exactly 81 trytes (A–Z and 9). */
export function isValidSeed(seed: unknown): seed is string {
  return typeof seed === 'string' && SEED_PATTERN.test(seed);
}

/** 81 trytes from the operating system's CSPRNG, each drawn uniformly. */
export function generateSeed(): string {
  let seed = '';
  for (let i = 0; i < 81; i++) seed += TRYTE_ALPHABET[randomInt(TRYTE_ALPHABET.length)];
  return seed;
}

/**
 * A stable, non-secret name for a seed: the first 16 hex digits of a domain-separated SHA-256. It names the
 * wallet's key-index file, so every wallet that holds the same seed shares one counter, and it reveals nothing
 * usable about an 81-tryte random seed.
 */
export function seedFingerprint(seed: string): string {
  return createHash('sha256').update(`m2m-ev wallet key counter\n${seed}`).digest('hex').slice(0, 16);
}

/** Replaces every occurrence of the seed in a text, so that no error or log line can carry it. */
export function redactSeed(text: string, seed: string): string {
  return seed ? text.split(seed).join('[seed]') : text;
}
