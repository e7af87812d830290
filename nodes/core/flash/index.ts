/**
 * IOTA Flash payment channels between two parties: the public API. See docs/FLASH.md.
 *
 * Setup:    openChannel (party 0) → SetupOffer → acceptChannel (party 1) → SetupAccept → completeSetup (party 0)
 * Payment:  proposeTransfer → Proposal → cosignProposal → Cosignature → completeProposal → Completion → applyCompletion
 * Close:    proposeClose, then the same three messages; settlementBundles gives what to attach.
 */
export {
  acceptChannel,
  applyCompletion,
  type ChannelTerms,
  completeProposal,
  completeSetup,
  type CosignOptions,
  cosignProposal,
  depositAddress,
  MAX_CLOCK_SKEW_S,
  openChannel,
  type Outcome,
  proposeClose,
  proposeTransfer,
  settlementBundles,
  type TimeOptions,
  withdrawProposal,
} from './channel';
export { FlashError, type FlashErrorCode } from './errors';
export { OffThreadEngine, offThreadEngine } from './off-thread';
export { depthForPayments, MAX_USES, mustSettle, paymentCapacity, remainingCapacity } from './tree';
export type {
  ChannelState,
  Completion,
  Cosignature,
  KeyHolder,
  NodeDigest,
  Party,
  PendingBundle,
  PendingState,
  Proposal,
  SecurityLevel,
  SetupAccept,
  SetupOffer,
  SignedBundle,
  Transfer,
  TreeNode,
} from './types';
