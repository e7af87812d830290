import isBundle from '@iota/bundle-validator';
import {
  acceptChannel,
  applyCompletion,
  type ChannelState,
  completeProposal,
  completeSetup,
  cosignProposal,
  type KeyHolder,
  openChannel,
  proposeTransfer,
  type SecurityLevel,
} from '../nodes/core/flash';
import { addSignature, buildBundle, parseBundle } from '../nodes/core/flash/bundles';
import { deriveDigest, multisigAddress, signFragments } from '../nodes/core/flash/signing';
import { isValueAddress } from '../nodes/core/iota/trytes';
import { report, time, type Timing } from './timing';

/**
 * The cost of the Flash engine at security 2: channel setup for a few depths, and one payment (proposal,
 * co-signature, completion, applied by both parties). Baseline in the same run: the bare primitives of one
 * 2-of-2 bundle (both parties sign it, then one isBundle).
 */
const SECURITY: SecurityLevel = 2;
const SEEDS = ['BENCHALICE'.padEnd(81, '9'), 'BENCHBOB'.padEnd(81, '9')];

function wallet(seed: string): KeyHolder {
  let next = 0;
  return { seed, allocateKeyIndices: (count) => Array.from({ length: count }, () => next++) };
}

export function valueAddress(letter: string): string {
  const found = [...'9ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((last) => letter.repeat(80) + last).find(isValueAddress);
  return found as string;
}

function setup(depth: number): { states: [ChannelState, ChannelState]; keys: [KeyHolder, KeyHolder] } {
  const keys: [KeyHolder, KeyHolder] = [wallet(SEEDS[0]), wallet(SEEDS[1])];
  const offer = openChannel({ channelId: 'bench', depth, security: SECURITY, deposits: [1000, 1000] }, valueAddress('S'), keys[0]);
  const accept = acceptChannel(offer.message, valueAddress('T'), keys[1]);
  return { states: [completeSetup(offer.state, accept.message), accept.state], keys };
}

/** One payment from party 0 to party 1, every message through JSON as on MQTT. Returns the new bundle count. */
function pay(channel: ReturnType<typeof setup>, amount = 1): number {
  const json = <T>(m: T): T => JSON.parse(JSON.stringify(m)) as T;
  const [a, b] = channel.states;
  const proposal = proposeTransfer(a, channel.keys[0], { amount });
  const cosigned = cosignProposal(b, channel.keys[1], json(proposal.message));
  const completed = completeProposal(proposal.state, channel.keys[0], json(cosigned.message));
  channel.states = [completed.state, applyCompletion(cosigned.state, json(completed.message))];
  return proposal.message.bundles.length;
}

export async function run(): Promise<void> {
  console.log(`security ${SECURITY}, two parties in one process (each party's share is about half)`);

  // Baseline: the primitives of one settlement bundle, keys already derived.
  const digests = SEEDS.map((seed) => deriveDigest(seed, 0, SECURITY));
  const root = multisigAddress(digests[0], digests[1]);
  const unsigned = buildBundle(root, 2000, [{ address: valueAddress('S'), value: 990 }, { address: valueAddress('T'), value: 1010 }], SECURITY, 1_700_000_000);
  const hash = parseBundle(unsigned)[0].bundle;
  const baseline = await time('baseline: 2 parties sign 1 bundle + isBundle', 3, () => {
    let signed = addSignature(unsigned, signFragments(SEEDS[0], 0, SECURITY, 0, hash), 0, SECURITY);
    signed = addSignature(signed, signFragments(SEEDS[1], 0, SECURITY, 1, hash), 1, SECURITY);
    if (!isBundle(parseBundle(signed))) throw new Error('baseline bundle is invalid');
  });
  const digest = await time('one WOTS digest (one party, one tree node)', 3, (i) => deriveDigest(SEEDS[0], 100 + i, SECURITY));

  // The opening state a session signs before its deposits: a payment of zero that builds the whole first branch.
  const fresh = [setup(6), setup(6)];
  const opening = await time('opening state, depth 6 (7 new bundles, both parties)', 2, (i) => pay(fresh[i], 0));

  // Payments: a depth-3 channel alternates between reusing the leaf (1 new bundle) and advancing (2 or more).
  const channel = setup(3);
  pay(channel, 0); // the opening state builds the whole first branch
  const reuse: number[] = [];
  const advance: number[] = [];
  for (let i = 0; i < 6; i++) {
    const start = process.hrtime.bigint();
    const bundles = pay(channel);
    (bundles === 1 ? reuse : advance).push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const summary = (label: string, samples: number[]): Timing => ({
    label,
    runs: samples.length,
    meanMs: samples.reduce((s, x) => s + x, 0) / samples.length,
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
  });

  const setups: Timing[] = [];
  for (const depth of [2, 4, 6]) setups.push(await time(`setup, depth ${depth} (${depth + 1} digests per party)`, 1, () => setup(depth)));

  report(
    [
      baseline,
      digest,
      summary('increment reusing the leaf (1 new bundle, both parties)', reuse),
      summary('increment with a tree advance (2+ new bundles, both parties)', advance),
      opening,
      ...setups,
    ],
    baseline,
  );
}
