/**
 * A request the ledger refuses, answered like IRI: HTTP 400 `{"error": message}`. Anything else thrown while
 * serving a command is a fault of the node and becomes HTTP 500 `{"exception": message}`.
 */
export class RequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestError';
  }
}
