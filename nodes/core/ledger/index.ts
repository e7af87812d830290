/**
 * The embedded development Tangle: a validating, durable ledger that speaks the IRI HTTP API used by @iota/core.
 * Framework-free. See docs/LEDGER.md.
 */
export { DevTangle, DevTangleOptions, GenesisFunding, NodeInfo, FindQuery } from './ledger';
export { startTangleServer, TangleServer, TangleServerOptions, LogLevel } from './server';
export { leaseTangle, TangleLease } from './shared';
export { executeCommand } from './commands';
export { RequestError } from './errors';
export { SUPPLY } from './validate';
