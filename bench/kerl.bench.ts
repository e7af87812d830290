import referenceIsBundle from '@iota/bundle-validator';
import { trits } from '@iota/converter';
import ReferenceKerl from '@iota/kerl';
import * as signing from '@iota/signing';
import { keccak384 as sha3Keccak384 } from 'js-sha3';
import { isBundle } from '../nodes/core/iota/bundle-validator';
import { keccak384, keccak384Js, keccakBackend } from '../nodes/core/iota/keccak';
import { Kerl } from '../nodes/core/iota/kerl';
import { keyDigests, privateKey, subseed } from '../nodes/core/iota/wots';
import { acceptChannel, completeProposal, completeSetup, cosignProposal, type KeyHolder, openChannel, proposeTransfer } from '../nodes/core/flash';
import { parseBundle } from '../nodes/core/flash/bundles';
import { msSince, SAMPLES, timingOf, type Timing } from './timing';
import { valueAddress } from './flash.bench';

/**
 * Our IOTA crypto against the libraries it replaces, in the same run: why the package carries its own Keccak, Kerl,
 * WOTS and bundle validator (docs/PERFORMANCE.md). A sample times many operations of the fast ones and one of the
 * slow ones; the figures are microseconds per operation.
 */
const SEED = 'BENCHKERL'.padEnd(81, '9');

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
  const cosigned = cosignProposal(accept.state, accepter, proposal.message);
  return completeProposal(proposal.state, opener, cosigned.message).state.chain[0].trytes;
}

/** Median µs per operation over SAMPLES samples of `ops` operations each. */
async function microseconds(label: string, ops: number, fn: () => void): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = process.hrtime.bigint();
    for (let k = 0; k < ops; k++) fn();
    samples.push((msSince(start) * 1000) / ops);
  }
  return timingOf(label, samples);
}

function compare(baseline: Timing, ...ours: Timing[]): void {
  for (const row of [baseline, ...ours]) {
    const speedup = row === baseline ? 'baseline' : `${(baseline.medianMs / row.medianMs).toFixed(0)}x faster`;
    console.log(`${row.label.padEnd(52)} median ${row.medianMs.toFixed(2).padStart(9)} µs  p90 ${row.p90Ms.toFixed(2).padStart(9)} µs  (${speedup})`);
  }
}

export async function run(): Promise<void> {
  console.log(`Keccak backend: ${keccakBackend()}; ${SAMPLES} samples per row`);
  const block = Uint8Array.from({ length: 48 }, (_, i) => i * 7);
  const out = new Uint8Array(48);
  compare(
    await microseconds('js-sha3 keccak384, 48 bytes', 10_000, () => sha3Keccak384.arrayBuffer(block)),
    await microseconds(`ours keccak384, 48 bytes (${keccakBackend()})`, 10_000, () => keccak384(block, 0, 48, out, 0)),
    await microseconds('ours keccak384, 48 bytes (JavaScript fallback)', 10_000, () => keccak384Js(block, 0, 48, out, 0)),
  );

  const chunk = trits(SEED);
  const hash = new Int8Array(243);
  const kerlOnce = (Sponge: new () => { absorb(t: Int8Array, o: number, l: number): void; squeeze(t: Int8Array, o: number, l: number): void }) => () => {
    const sponge = new Sponge();
    sponge.absorb(chunk, 0, 243);
    sponge.squeeze(hash, 0, 243);
  };
  compare(await microseconds('@iota/kerl, one chunk', 100, kerlOnce(ReferenceKerl)), await microseconds('ours Kerl, one chunk', 10_000, kerlOnce(Kerl)));

  let index = 0;
  compare(
    await microseconds('@iota/signing key + digests, security 2', 1, () => signing.digests(signing.key(signing.subseed(trits(SEED), index++), 2))),
    await microseconds('ours key + digests, security 2', 10, () => keyDigests(privateKey(subseed(SEED, index++), 2))),
  );

  const bundle = parseBundle(signedChannelBundle(2));
  const valid = (validator: typeof isBundle) => () => {
    if (!validator(bundle)) throw new Error('the bench bundle must be valid');
  };
  compare(await microseconds('@iota/bundle-validator, 2-of-2 at security 2', 1, valid(referenceIsBundle)), await microseconds('ours isBundle, 2-of-2 at security 2', 10, valid(isBundle)));
}
