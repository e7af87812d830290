import assert from 'node:assert/strict';
import { addEntry, finalizeBundle as referenceFinalize } from '@iota/bundle';
import { fromValue, trits, trytes } from '@iota/converter';
import { FRAGMENT_LENGTH, normalizedBundle } from '@iota/signing';
import { OBSOLETE_TAG_LENGTH, OBSOLETE_TAG_OFFSET, TRANSACTION_LENGTH } from '@iota/transaction';
import { buildBundle, CHANNEL_TAG, finalizeBundle, normalizesToThirteen } from '../../../nodes/core/flash/bundles';
import type { SecurityLevel } from '../../../nodes/core/flash/types';
import { RANDOM_SEED, randomInt, randomTrits, randomTrytes } from '../../support/random';

const seedNote = `(RANDOM_SEED=${RANDOM_SEED})`;

/** The bundle that buildBundle builds, put together and finalized with the libraries instead. */
function referenceBundle(input: string, total: number, outputs: { address: string; value: number }[], security: SecurityLevel, timestamp: number): string[] {
  const common = { obsoleteTag: trits(CHANNEL_TAG), tag: trits(CHANNEL_TAG), issuanceTimestamp: fromValue(timestamp) };
  let bundle: Int8Array = new Int8Array(0);
  for (const output of outputs) bundle = addEntry(bundle, { ...common, address: trits(output.address), value: fromValue(output.value) });
  bundle = addEntry(bundle, { ...common, address: trits(input), value: fromValue(-total), signatureOrMessage: new Int8Array(2 * security * FRAGMENT_LENGTH) });
  return split(referenceFinalize(bundle, Math.min(3, 2 * security)));
}

function split(bundle: Int8Array): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < bundle.length; offset += TRANSACTION_LENGTH) out.push(trytes(bundle.subarray(offset, offset + TRANSACTION_LENGTH)));
  return out;
}

describe('flash: bundle finalization, against @iota/bundle', () => {
  it(`builds the same bundles as addEntry and finalizeBundle, on 60 random transfers ${seedNote}`, () => {
    for (let i = 0; i < 60; i++) {
      const security = (1 + randomInt(3)) as SecurityLevel;
      const outputs = Array.from({ length: 1 + randomInt(4) }, () => ({ address: randomTrytes(81), value: randomInt(1_000_000) }));
      const total = outputs.reduce((sum, o) => sum + o.value, 0);
      const input = randomTrytes(81);
      const timestamp = 1_500_000_000 + randomInt(500_000_000);
      assert.deepEqual(buildBundle(input, total, outputs, security, timestamp), referenceBundle(input, total, outputs, security, timestamp), `transfer ${i} ${seedNote}`);
    }
  });

  it(`finalizes like the library when the obsoleteTag wraps around (all 1s) or starts anywhere ${seedNote}`, () => {
    const bundle = trits(buildBundle(randomTrytes(81), 7, [{ address: randomTrytes(81), value: 7 }], 2, 1_700_000_000).join(''));
    const tags = [new Int8Array(OBSOLETE_TAG_LENGTH).fill(1), new Int8Array(OBSOLETE_TAG_LENGTH).fill(-1), ...Array.from({ length: 20 }, () => randomTrits(OBSOLETE_TAG_LENGTH))];
    // A tag one below the top: its second increment wraps.
    tags.push(Int8Array.from({ length: OBSOLETE_TAG_LENGTH }, (_, i) => (i === 0 ? 0 : 1)));
    for (const tag of tags) {
      const edited = bundle.slice();
      edited.set(tag, OBSOLETE_TAG_OFFSET);
      for (const fragments of [0, 1, 2, 3]) {
        assert.deepEqual(split(finalizeBundle(edited, fragments)), split(referenceFinalize(edited, fragments)), `tag ${trytes(tag)}, ${fragments} fragments ${seedNote}`);
      }
    }
  });

  it(`tells a 13 in the normalized hash as normalizedBundle does, on random and edge hashes ${seedNote}`, () => {
    const hashes = [new Int8Array(243).fill(1), new Int8Array(243).fill(-1), new Int8Array(243), ...Array.from({ length: 3000 }, () => randomTrits(243))];
    // Fragments with one 13 and sums on either side, where normalization decides whether the 13 survives.
    for (let i = 0; i < 200; i++) {
      const hash = randomTrits(243);
      hash.set([1, 1, 1], 3 * randomInt(81));
      hashes.push(hash);
    }
    for (const hash of hashes) {
      const normalized = normalizedBundle(hash);
      for (const fragments of [1, 2, 3]) {
        const values = Int8Array.from({ length: 81 }, (_, j) => hash[3 * j] + 3 * hash[3 * j + 1] + 9 * hash[3 * j + 2]);
        assert.equal(normalizesToThirteen(() => values, fragments), normalized.slice(0, 27 * fragments).includes(13), `${trytes(hash)}, ${fragments} fragments ${seedNote}`);
      }
    }
  });
});
