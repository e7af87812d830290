import referenceIsBundle from '@iota/bundle-validator';
import { trits } from '@iota/converter';
import ReferenceKerl from '@iota/kerl';
import * as signing from '@iota/signing';
import { keccak384 as sha3Keccak384 } from 'js-sha3';
import { isBundle } from '../nodes/core/iota/bundle-validator';
import { keccak384, keccak384Js, keccakBackend } from '../nodes/core/iota/keccak';
import { Kerl } from '../nodes/core/iota/kerl';
import { keyDigests, privateKey, subseed } from '../nodes/core/iota/wots';
import { acceptChannel, completeSetup, handleMessage, type KeyHolder, openChannel, proposeTransfer } from '../nodes/core/flash';
import { parseBundle } from '../nodes/core/flash/bundles';
import { report, time } from './timing';
import { valueAddress } from './flash.bench';

/**
 * Our IOTA crypto against the libraries it replaces, in the same run: why the package carries its own Keccak, Kerl,
 * WOTS and bundle validator (docs/PERFORMANCE.md). Each sample runs an operation 1,000 times, so a sample's
 * milliseconds times 10 read as microseconds per operation. The slow baselines keep the whole run short.
 */
const SAMPLES = 30;
const REPEAT = 100;
const SEED = 'BENCHKERL'.padEnd(81, '9');

const repeat = (fn: () => void) => () => {
  for (let i = 0; i < REPEAT; i++) fn();
};

/** A fully signed 2-of-2 channel bundle (one payment at depth 0), the kind the development Tangle validates. */
function signedChannelBundle(security: 1 | 2): string[] {
  const wallet = (seed: string): KeyHolder => {
    let next = 0;
    return { seed, allocateKeyIndices: (count) => Array.from({ length: count }, () => next++) };
  };
  const [opener, accepter] = [wallet(SEED), wallet('OTHER'.padEnd(81, '9'))];
  const offer = openChannel({ channelId: 'bench', depth: 0, security, deposits: [10, 10] }, valueAddress('S'), opener);
  const accept = acceptChannel(offer.message, valueAddress('T'), accepter);
  const proposal = proposeTransfer(completeSetup(offer.state, accept.message), opener, { amount: 1 });
  const cosigned = handleMessage(accept.state, accepter, proposal.message);
  return handleMessage(proposal.state, opener, cosigned.reply!).state.chain[0].trytes;
}

export async function run(): Promise<void> {
  console.log(`Keccak backend: ${keccakBackend()}; each sample is ${REPEAT} operations (ms per sample x 10 = µs each)`);
  const block = Uint8Array.from({ length: 48 }, (_, i) => i * 7);
  const out = new Uint8Array(48);
  const sha3 = await time('js-sha3 keccak384, 48 bytes (baseline)', SAMPLES, repeat(() => sha3Keccak384.arrayBuffer(block)));
  report(
    [
      sha3,
      await time(`ours keccak384, 48 bytes (${keccakBackend()})`, SAMPLES, repeat(() => keccak384(block, 0, 48, out, 0))),
      await time('ours keccak384, 48 bytes (JavaScript fallback)', SAMPLES, repeat(() => keccak384Js(block, 0, 48, out, 0))),
    ],
    sha3,
  );

  const chunk = trits(SEED);
  const hash = new Int8Array(243);
  const kerlRepeat = (Sponge: new () => { absorb(t: Int8Array, o: number, l: number): void; squeeze(t: Int8Array, o: number, l: number): void }) =>
    repeat(() => {
      const sponge = new Sponge();
      sponge.absorb(chunk, 0, 243);
      sponge.squeeze(hash, 0, 243);
    });
  const referenceKerl = await time('@iota/kerl, one chunk (baseline)', SAMPLES, kerlRepeat(ReferenceKerl));
  report([referenceKerl, await time('ours Kerl, one chunk', SAMPLES, kerlRepeat(Kerl))], referenceKerl);

  const referenceDigests = await time('@iota/signing key + digests, security 2 (baseline)', SAMPLES, (i) =>
    signing.digests(signing.key(signing.subseed(trits(SEED), i), 2)),
  );
  report([referenceDigests, await time('ours key + digests, security 2', SAMPLES, (i) => keyDigests(privateKey(subseed(SEED, i), 2)))], referenceDigests);

  const bundle = parseBundle(signedChannelBundle(2));
  const referenceValidator = await time('@iota/bundle-validator, 2-of-2 at security 2 (baseline)', SAMPLES, () => {
    if (!referenceIsBundle(bundle)) throw new Error('the bench bundle must be valid');
  });
  report([referenceValidator, await time('ours isBundle, 2-of-2 at security 2', SAMPLES, () => {
    if (!isBundle(bundle)) throw new Error('the bench bundle must be valid');
  })], referenceValidator);
}
