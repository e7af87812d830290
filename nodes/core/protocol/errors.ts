/** Why a protocol message was refused. Each code names one check; docs/PROTOCOL.md lists them. */
export type ProtocolErrorCode =
  | 'MALFORMED_JSON'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_TYPE'
  | 'INVALID_FIELD'
  | 'WRONG_SESSION'
  | 'WRONG_SENDER'
  | 'DUPLICATE_CONFLICT'
  | 'STALE_SEQ'
  | 'SEQ_GAP'
  | 'BAD_SIGNATURE'
  | 'UNTRUSTED_KEY'
  | 'REPLAY'
  | 'RATE_LIMITED';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
