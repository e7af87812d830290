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
  remainingCapacity,
  type SecurityLevel,
} from '../nodes/core/flash';
import { addSignature, buildBundle, parseBundle } from '../nodes/core/flash/bundles';
import { deriveDigest, multisigAddress, signFragments } from '../nodes/core/flash/signing';
import { isBundle } from '../nodes/core/iota/bundle-validator';
import { isValueAddress } from '../nodes/core/iota/trytes';
import type { Figures } from './index';
import { loadReference, openReference, referenceCanPay, referencePay, throughJson } from './reference-flash';
import { memory, msSince, report, SAMPLES, time, timingOf, type Timing } from './timing';

/**
 * The cost of the Flash engine at security 2: one payment (proposal, co-signature, completion, applied by both
 * parties) against iota.flash.js 0.0.2 in the same run, with the same tree and as shipped; channel setup for a few
 * depths. Baseline for the primitives: the bare work of one 2-of-2 bundle (both parties sign it, then one isBundle).
 */
const SECURITY: SecurityLevel = 2;
/** The payments bench's tree: a chain of DEPTH + 1 nodes from the root to the first leaf. */
const DEPTH = 4;
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
  const [a, b] = channel.states;
  const proposal = proposeTransfer(a, channel.keys[0], { amount });
  const cosigned = cosignProposal(b, channel.keys[1], throughJson(proposal.message));
  const completed = completeProposal(proposal.state, channel.keys[0], throughJson(cosigned.message));
  channel.states = [completed.state, applyCompletion(cosigned.state, throughJson(completed.message))];
  return proposal.state.pending!.bundles.length;
}


/** A channel of DEPTH past its opening state (a payment of zero that builds the first branch, as a session does). */
function openedChannel(): ReturnType<typeof setup> {
  const channel = setup(DEPTH);
  pay(channel, 0);
  return channel;
}

/**
 * `count` payments in a row, leaf reuses and tree advances as they come; a used-up channel is replaced by a new one
 * outside the measurement. Also splits the samples by kind (1 new bundle = the leaf signs again).
 */
function ourPayments(count: number): { all: number[]; reuse: number[]; advance: number[] } {
  const samples = { all: [] as number[], reuse: [] as number[], advance: [] as number[] };
  let channel = openedChannel();
  for (let i = 0; i < count; i++) {
    if (remainingCapacity(channel.states[0]) === 0) channel = openedChannel();
    const start = process.hrtime.bigint();
    const bundles = pay(channel);
    const ms = msSince(start);
    samples.all.push(ms);
    (bundles === 1 ? samples.reuse : samples.advance).push(ms);
  }
  return samples;
}

/**
 * The same with iota.flash.js: a chain of DEPTH + 1 nodes, MAX_USES as given (undefined: as shipped). Its first
 * transfer builds the whole first branch, like our opening state, and stays out of the measurement too.
 */
function referencePayments(count: number, maxUses?: number): { samples: number[]; maxUses: number } {
  const { library, maxUses: used } = loadReference(maxUses);
  const opened = () => {
    const channel = openReference(library, DEPTH + 1, SECURITY, [1000, 1000]);
    referencePay(channel, SECURITY);
    return channel;
  };
  const samples: number[] = [];
  let channel = opened();
  for (let i = 0; i < count; i++) {
    if (!referenceCanPay(channel)) channel = opened();
    const start = process.hrtime.bigint();
    referencePay(channel, SECURITY);
    samples.push(msSince(start));
  }
  return { samples, maxUses: used };
}

export async function run(): Promise<Figures> {
  console.log(`security ${SECURITY}, two parties in one process (each party's share is about half)`);

  console.log(`\npayments: ${SAMPLES} each, a tree whose first branch is a chain of ${DEPTH + 1} nodes, every message through JSON`);
  const ours = ourPayments(SAMPLES);
  console.log(`  after our payments: ${memory()}`);
  const sameTree = referencePayments(SAMPLES, 2);
  console.log(`  after iota.flash.js, MAX_USES ${sameTree.maxUses}: ${memory()}`);
  const shipped = referencePayments(SAMPLES);
  console.log(`  after iota.flash.js, MAX_USES ${shipped.maxUses}: ${memory()}`);
  const payment = timingOf('ours: payment (leaf reuse and tree advance as they come)', ours.all);
  const reference = timingOf(`iota.flash.js 0.0.2, same tree (MAX_USES ${sameTree.maxUses})`, sameTree.samples);
  const referenceShipped = timingOf(`iota.flash.js 0.0.2, as shipped (MAX_USES ${shipped.maxUses})`, shipped.samples);
  report([
    payment,
    timingOf('ours: leaf reuse only (1 new bundle)', ours.reuse),
    timingOf('ours: tree advance only (2+ new bundles)', ours.advance),
    reference,
    referenceShipped,
  ]);
  const ratio = reference.medianMs / payment.medianMs;
  console.log(`reference median / ours: ${ratio.toFixed(2)}x same tree, ${(referenceShipped.medianMs / payment.medianMs).toFixed(2)}x as shipped`);

  // The primitives, against one bare 2-of-2 bundle (keys already derived).
  const digests = SEEDS.map((seed) => deriveDigest(seed, 0, SECURITY));
  const root = multisigAddress(digests[0], digests[1]);
  const unsigned = buildBundle(root, 2000, [{ address: valueAddress('S'), value: 990 }, { address: valueAddress('T'), value: 1010 }], SECURITY, 1_700_000_000);
  const hash = parseBundle(unsigned)[0].bundle;
  console.log('');
  const baseline = await time('baseline: 2 parties sign 1 bundle + isBundle', SAMPLES, () => {
    let signed = addSignature(unsigned, signFragments(SEEDS[0], 0, SECURITY, 0, hash), 0, SECURITY);
    signed = addSignature(signed, signFragments(SEEDS[1], 0, SECURITY, 1, hash), 1, SECURITY);
    if (!isBundle(parseBundle(signed))) throw new Error('baseline bundle is invalid');
  });
  const digest = await time('one WOTS digest (one party, one tree node)', SAMPLES, (i) => deriveDigest(SEEDS[0], 100 + i, SECURITY));
  // The opening state a session signs before its deposits: a payment of zero that builds the whole first branch.
  const fresh = Array.from({ length: SAMPLES }, () => setup(6));
  const opening = await time('opening state, depth 6 (7 new bundles, both parties)', SAMPLES, (i) => pay(fresh[i], 0));
  const setups: Timing[] = [];
  for (const depth of [2, 4, 6]) setups.push(await time(`setup, depth ${depth} (${depth + 1} digests per party)`, SAMPLES, () => setup(depth)));
  report([baseline, digest, opening, ...setups], baseline);

  return { payment_median_ms: payment.medianMs, reference_median_ms: reference.medianMs, ratio };
}
