/** Local proof of work for legacy IOTA transactions, in pure JavaScript on worker threads. */
export { PowPool, PowResult, PowCancelledError } from './pool';
export { attachTrytes, AttachOptions, localAttachToTangle, attachToTangleWith, closeLocalPow } from './attach';
export { searchNonce, MAX_PARTITIONS } from './search';
