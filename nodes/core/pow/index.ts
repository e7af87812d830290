/** Local proof of work for legacy IOTA transactions on worker threads: WebAssembly SIMD, or plain JavaScript. */
export { PowPool, PowResult, PowCancelledError } from './pool';
export { attachTrytes, AttachOptions, localAttachToTangle, attachToTangleWith, closeLocalPow } from './attach';
export { searchNonce, powBackend, PowBackend, MAX_PARTITIONS, transactionHashTrits } from './search';
