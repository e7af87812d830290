/**
 * Worker thread body: builds, finalizes and signs a wallet's bundle (@iota/core prepareTransfers, offline: the
 * inputs and the change address are given) off the main thread. Finalizing searches an obsoleteTag with the
 * library's Kerl, some hundred milliseconds on this machine and around a second on a Raspberry Pi 4, which would
 * otherwise stall Node-RED at every deposit.
 */
import { createPrepareTransfers } from '@iota/core';
import { toTrytes } from '../iota/trytes';
import { bundleSignature } from '../iota/wots';
import { serveRequests } from '../worker/serial-worker';
import type { PrepareRequest } from './prepare';

/**
 * The library's signing hook, on our WOTS: the same fragments as @iota/signing (the suite proves it), some hundred
 * times faster.
 */
async function signWithOurWots(seed: number[], index: number, security: number, bundle: number[]): Promise<number[]> {
  return Array.from(bundleSignature(toTrytes(Int8Array.from(seed)), index, security, Int8Array.from(bundle)));
}
type Options = NonNullable<Parameters<ReturnType<typeof createPrepareTransfers>>[2]>;
/** The hook's type asks for a Bluebird promise; the library only calls `then` on what it returns. */
const signFast = signWithOurWots as unknown as Options['nativeGenerateSignatureFunction'];

const prepareOffline = createPrepareTransfers();

serveRequests(async ({ seed, transfers, inputs, remainderAddress }: PrepareRequest) => [
  ...(await prepareOffline(seed, transfers, { inputs, ...(remainderAddress ? { remainderAddress } : {}), nativeGenerateSignatureFunction: signFast })),
]);
