/**
 * 2-of-2 multisig built from @iota/signing primitives, independently of the Flash engine: digests, the address as
 * Kerl over the digests in party order, and co-signing with normalized fragment (signerOffset + j) % 3.
 */
import { addSignatureOrMessage } from '@iota/bundle';
import { trits, trytes } from '@iota/converter';
import Kerl from '@iota/kerl';
import { digests, key, normalizedBundle, signatureFragment, subseed } from '@iota/signing';
import { BUNDLE_OFFSET, TRANSACTION_LENGTH } from '@iota/transaction';

const FRAGMENT = 6561;

export interface Signer {
  seed: string;
  index: number;
  security: number;
}

export function digestOf(signer: Signer): Int8Array {
  return digests(key(subseed(trits(signer.seed), signer.index), signer.security));
}

export function multisigAddress(signers: readonly Signer[]): string {
  const kerl = new Kerl();
  kerl.initialize();
  for (const signer of signers) {
    const digest = digestOf(signer);
    kerl.absorb(digest, 0, digest.length);
  }
  const address = new Int8Array(243);
  kerl.squeeze(address, 0, 243);
  return trytes(address);
}

/**
 * Adds every signer's signature to the input transactions starting at `inputIndex`. With `fragmentRule` 'shifted'
 * (correct), signer fragment j uses normalized fragment (offset + j) % 3; 'naive' restarts at 0 for each signer.
 */
export function cosign(bundle: Int8Array, inputIndex: number, signers: readonly Signer[], fragmentRule: 'shifted' | 'naive' = 'shifted'): Int8Array {
  const normalized = normalizedBundle(bundle.slice(BUNDLE_OFFSET, BUNDLE_OFFSET + 243));
  let signed = bundle;
  let offset = 0;
  for (const signer of signers) {
    const privateKey = key(subseed(trits(signer.seed), signer.index), signer.security);
    const signature = new Int8Array(signer.security * FRAGMENT);
    for (let j = 0; j < signer.security; j++) {
      const f = fragmentRule === 'shifted' ? (offset + j) % 3 : j;
      signature.set(signatureFragment(normalized.slice(f * 27, f * 27 + 27), privateKey.slice(j * FRAGMENT, (j + 1) * FRAGMENT)), j * FRAGMENT);
    }
    signed = addSignatureOrMessage(signed, signature, inputIndex + offset);
    offset += signer.security;
  }
  return signed;
}

/** The bundle's transactions as trytes, head first (the order @iota/core hands to sendTrytes). */
export function headFirstTrytes(bundle: Int8Array): string[] {
  const txs: string[] = [];
  for (let offset = 0; offset < bundle.length; offset += TRANSACTION_LENGTH) txs.push(trytes(bundle.slice(offset, offset + TRANSACTION_LENGTH)));
  return txs.reverse();
}
