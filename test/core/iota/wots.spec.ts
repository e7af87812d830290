import assert from 'node:assert/strict';
import { trits, trytes } from '@iota/converter';
import * as signing from '@iota/signing';
import { generateAddress } from '@iota/core';
import { address, bundleSignature, chunksToTrytes, fragmentDigest, keyDigests, privateKey, signatureFragment, subseed } from '../../../nodes/core/iota/wots';
import { RANDOM_SEED, randomInt, randomTrytes } from '../../support/random';

const seedNote = `(RANDOM_SEED=${RANDOM_SEED})`;

describe('iota: WOTS on bytes', () => {
  for (const security of [1, 2, 3] as const) {
    it(`equals @iota/signing at security ${security}: subseed, key, digests, address, signature fragments and their digests`, () => {
      for (let round = 0; round < 3; round++) {
        const seed = randomTrytes(81);
        const index = [0, 1, 3 ** 9, randomInt(1_000_000)][randomInt(4)];
        const note = `seed ${seed}, index ${index} ${seedNote}`;
        const referenceSubseed = signing.subseed(trits(seed), index);
        const ourSubseed = subseed(seed, index);
        assert.equal(chunksToTrytes(ourSubseed), trytes(referenceSubseed), `subseed, ${note}`);

        const referenceKey = signing.key(referenceSubseed, security);
        const ourKey = privateKey(ourSubseed, security);
        assert.equal(chunksToTrytes(ourKey), trytes(referenceKey), `key, ${note}`);

        const referenceDigests = signing.digests(referenceKey);
        assert.equal(chunksToTrytes(keyDigests(ourKey)), trytes(referenceDigests), `digests, ${note}`);

        const bundleHash = trits(randomTrytes(81));
        const normalized = signing.normalizedBundle(bundleHash);
        for (let f = 0; f < security; f++) {
          const slice = normalized.slice(f * 27, (f + 1) * 27);
          const referenceFragment = signing.signatureFragment(slice, referenceKey.slice(f * 6561, (f + 1) * 6561));
          const ourFragment = signatureFragment(slice, ourKey, f);
          assert.equal(chunksToTrytes(ourFragment), trytes(referenceFragment), `fragment ${f}, ${note}`);
          assert.equal(chunksToTrytes(fragmentDigest(slice, ourFragment)), trytes(signing.digest(slice, referenceFragment)), `digest ${f}, ${note}`);
        }
        // Our fragments, together, verify against the key's address the way a node checks them.
        const fragments = [...Array(security)].map((_, f) => trits(chunksToTrytes(signatureFragment(normalized.slice(f * 27, (f + 1) * 27), ourKey, f))));
        assert.ok(signing.validateSignatures(signing.address(referenceDigests), fragments, bundleHash), `validates, ${note}`);
      }
    });
  }

  it('signs the extremes of a normalized fragment: all -13 (26 rounds) and all +13 (none)', () => {
    const key = privateKey(subseed(randomTrytes(81), 7), 1);
    for (const value of [-13, 13]) {
      const normalized = new Int8Array(27).fill(value);
      const fragment = signatureFragment(normalized, key, 0);
      assert.equal(chunksToTrytes(fragment), trytes(signing.signatureFragment(normalized, trits(chunksToTrytes(key)))));
      assert.equal(chunksToTrytes(fragmentDigest(normalized, fragment)), trytes(signing.digest(normalized, trits(chunksToTrytes(fragment)))));
    }
  });

  it('derives the addresses of @iota/core generateAddress and signs bundles as @iota/signing signatureFragments (the wallet uses both)', async () => {
    for (const security of [1, 2, 3] as const) {
      const seed = randomTrytes(81);
      const index = randomInt(10_000);
      const note = `seed ${seed}, index ${index}, security ${security} ${seedNote}`;
      assert.equal(address(seed, index, security), generateAddress(seed, index, security), `address, ${note}`);
      const bundleHash = trits(randomTrytes(81));
      const reference = await signing.signatureFragments(trits(seed), index, security, bundleHash);
      assert.equal(trytes(bundleSignature(seed, index, security, bundleHash)), trytes(reference), `signature, ${note}`);
    }
  });

  it('refuses a negative or fractional key index', () => {
    assert.throws(() => subseed('9'.repeat(81), -1), /non-negative integer/);
    assert.throws(() => subseed('9'.repeat(81), 1.5), /non-negative integer/);
  });
});
