#!/usr/bin/env node
/**
 * m2m-tangle: runs the development Tangle as a standalone IRI-compatible node, e.g. on the station's Pi, so that
 * other devices (the vehicle's Pi) point their provider at it.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DevTangle, GenesisFunding } from './ledger';
import { LogLevel, startTangleServer } from './server';

const HELP = `Usage: m2m-tangle [options]

A validating development Tangle speaking the IRI HTTP API (legacy IOTA), for @iota/core clients.

Options:
  --port <n>                  port to listen on (default 14265; 0 = any free port)
  --host <addr>               address to listen on (default 127.0.0.1; 0.0.0.0 serves other devices)
  --data <dir>                data directory (default ./tangle); created owner-only (0700)
  --mwm <n>                   minimum weight magnitude of proof of work (default 9; mainnet used 14)
  --milestone-interval <s>    confirm accepted bundles every <s> seconds (default 0 = immediately)
  --pow-workers <n>           worker threads for attachToTangle (default 1)
  --dev                       development mode: genesis funding and the faucet command (test tokens!)
  --fund <address>:<value>    development mode: fund an address when the ledger is created (repeatable)
  --log-level <level>         silent | error | warn | info | debug (default info)
  -h, --help                  show this help

Stop it with Ctrl-C (SIGINT) or SIGTERM: it finishes pending writes and exits 0.`;

interface Parsed {
  port: number;
  host: string;
  dataDir: string;
  mwm: number;
  milestoneIntervalMs: number;
  powWorkers: number;
  dev: boolean;
  genesis: GenesisFunding[];
  logLevel: LogLevel;
}

function parse(argv: string[]): Parsed | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '14265' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: './tangle' },
      mwm: { type: 'string', default: '9' },
      'milestone-interval': { type: 'string', default: '0' },
      'pow-workers': { type: 'string', default: '1' },
      dev: { type: 'boolean', default: false },
      fund: { type: 'string', multiple: true, default: [] },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const logLevel = values['log-level'] as LogLevel;
  if (!['silent', 'error', 'warn', 'info', 'debug'].includes(logLevel)) throw new Error(`unknown log level: ${logLevel}`);
  const genesis = (values.fund as string[]).map((spec): GenesisFunding => {
    const [address, value] = spec.split(':');
    return { address, value: wholeNumber(value, '--fund value') };
  });
  return {
    port: wholeNumber(values.port as string, '--port'),
    host: values.host as string,
    dataDir: path.resolve(values.data as string),
    mwm: wholeNumber(values.mwm as string, '--mwm'),
    milestoneIntervalMs: seconds(values['milestone-interval'] as string, '--milestone-interval'),
    powWorkers: wholeNumber(values['pow-workers'] as string, '--pow-workers'),
    dev: values.dev as boolean,
    genesis,
    logLevel,
  };
}

/** A number of seconds >= 0 (fractions allowed), in milliseconds. */
function seconds(text: string, what: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0) throw new Error(`${what} must be a number of seconds >= 0, got "${text}"`);
  return Math.round(s * 1000);
}

function wholeNumber(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a whole number, got "${text}"`);
  return n;
}

async function main(): Promise<void> {
  let options: Parsed | 'help';
  try {
    options = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`m2m-tangle: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(HELP);
    return;
  }
  const tangle = await DevTangle.open({
    dataDir: options.dataDir,
    minWeightMagnitude: options.mwm,
    milestoneIntervalMs: options.milestoneIntervalMs,
    dev: options.dev,
    genesis: options.genesis,
    powWorkers: options.powWorkers,
    log: (level, message) => console.error(`[${level}] ${message}`),
  });
  const server = await startTangleServer(tangle, {
    host: options.host,
    port: options.port,
    logLevel: options.logLevel,
    log: (level, message) => (level === 'error' || level === 'warn' ? console.error : console.log)(`[${level}] ${message}`),
  });
  const info = tangle.nodeInfo();
  console.log(`m2m-tangle listening on ${server.url} (data ${options.dataDir}, mwm ${tangle.minWeightMagnitude}, ` +
    `milestone ${options.milestoneIntervalMs === 0 ? 'immediate' : `every ${options.milestoneIntervalMs / 1000} s`})`);
  if (info.development) console.log('DEVELOPMENT ledger: genesis funds and the faucet command create test tokens from nothing.');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`m2m-tangle: ${signal}, shutting down`);
    // Stop PoW, let requests in flight finish (their writes are fsynced), then close the ledger.
    tangle.interruptAttaching();
    server.close().then(() => tangle.close()).then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`m2m-tangle: shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  console.error(`m2m-tangle: ${err.message}`);
  process.exit(1);
});
