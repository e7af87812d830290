/** Why the engine refused an operation or a message. The state passed in is never changed when one is thrown. */
export type FlashErrorCode =
  /** A caller-side argument is invalid (depth, security, deposits, seed, amount...). */
  | 'INVALID_ARGUMENT'
  /** A settlement address is not 81 trytes ending in a 0 trit, or collides with a channel address. */
  | 'INVALID_ADDRESS'
  /** The message is not well formed (missing fields, wrong lengths, not trytes). */
  | 'MALFORMED_MESSAGE'
  /** The message belongs to another channel. */
  | 'WRONG_CHANNEL'
  /** The message does not fit the current step of the protocol (e.g. a co-signature without a proposal). */
  | 'UNEXPECTED_MESSAGE'
  /** Both parties proposed the same state at once; party 0's proposal wins. */
  | 'CONCURRENT_PROPOSAL'
  /** The channel is closed: no further state can be signed. */
  | 'CHANNEL_CLOSED'
  /** The sequence number is not newer than the latest state (old or replayed message). */
  | 'SEQ_REPLAY'
  /** The sequence number skips states. */
  | 'SEQ_GAP'
  /** The proposal makes us pay, and the caller's `approve` did not agree to it. */
  | 'NOT_APPROVED'
  /** The payer does not hold the amount. */
  | 'INSUFFICIENT_BALANCE'
  /** No payment is left in the tree (only the close is); settle the channel. */
  | 'CAPACITY_EXHAUSTED'
  /** The proposer's timestamp is outside the accepted window or older than the latest state. */
  | 'TIMESTAMP_INVALID'
  /** A bundle spends from an address that has already signed two distinct bundles. */
  | 'ADDRESS_OVERUSE'
  /** The bundles do not follow the expected tree path (wrong node, skipped node, wrong count). */
  | 'PATH_MISMATCH'
  /** A bundle's values do not sum to zero, or its input does not move the whole channel balance. */
  | 'VALUE_NOT_CONSERVED'
  /** A bundle pays an address that is neither the expected child nor a settlement address. */
  | 'UNEXPECTED_OUTPUT'
  /** An output the state requires is missing. */
  | 'OUTPUT_DROPPED'
  /** An output carries another value than the state requires. */
  | 'OUTPUT_VALUE_MISMATCH'
  /** A bundle hash normalizes to 13 ("M") in a signed fragment: signing it would reveal private key chunks. */
  | 'INSECURE_BUNDLE_HASH'
  /** A bundle differs from the one rebuilt from our state in another field (tag, timestamp, index, hash...). */
  | 'BUNDLE_MISMATCH'
  /** A signature fragment does not match the signer's digest for that node. */
  | 'SIGNATURE_INVALID'
  /** A digest the next step needs has not been received. */
  | 'DIGEST_MISSING'
  /** A digest differs from the one received earlier for the same node, or is sent for an unexpected node. */
  | 'DIGEST_MISMATCH';

export class FlashError extends Error {
  override readonly name = 'FlashError';

  constructor(
    readonly code: FlashErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
