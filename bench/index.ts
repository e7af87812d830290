import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAverage } from './timing';

/**
 * `npm run bench`: runs every `*.bench.js` next to this file, one after the other so that they do not compete
 * for the CPU, each in a process of its own so that its memory figures are its own. Each bench module exports
 * `run()`, prints its own figures with a baseline measured in the same run where one exists, and returns its
 * headline figures. Optional arguments filter the benches by file name. The last line sums up the headline
 * figures in a fixed form, so that runs can be compared.
 *
 * Environment, for development while the crypto is slow (the defaults are the figures to publish):
 * BENCH_SAMPLES (payments and increments per figure, default 30), BENCH_SESSIONS (concurrent sessions, default
 * 100), BENCH_SECONDS (how long those sessions are metered, default 30).
 */
export interface Figures {
  payment_median_ms?: number;
  reference_median_ms?: number;
  ratio?: number;
  mqtt_increment_median_ms?: number;
  sessions?: number;
  p99_ms?: number;
  pow_nonces_per_s?: number;
}

export interface BenchModule {
  run(): Promise<Figures | void>;
}

/** The headline line, in exactly this form; a figure this run did not measure (filtered out) reads n/a. */
function resultLine(figures: Figures): string {
  const show = (value: number | undefined, digits: number) => (value === undefined ? 'n/a' : value.toFixed(digits));
  return (
    `BENCH RESULT payment_median_ms=${show(figures.payment_median_ms, 1)} reference_median_ms=${show(figures.reference_median_ms, 1)}` +
    ` ratio=${show(figures.ratio, 2)} mqtt_increment_median_ms=${show(figures.mqtt_increment_median_ms, 1)} sessions=${show(figures.sessions, 0)}` +
    ` p99_ms=${show(figures.p99_ms, 1)} pow_nonces_per_s=${show(figures.pow_nonces_per_s, 0)}`
  );
}

/** dist/bench → the repository. */
const REPO = path.resolve(__dirname, '..', '..');

/** An installed package's version, read from its folder (some packages do not export their package.json). */
function versionOf(pkg: string): string {
  return (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const selected = (name: string) => filters.length === 0 || filters.some((w) => name.includes(w));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter(selected)
    .sort();
  const ours = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  console.log(`node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`);
  console.log(
    `versions: this package ${ours.version}, node-red ${versionOf('node-red')}, iota.flash.js ${versionOf('iota.flash.js')}` +
      ` (iota.crypto.js ${versionOf('iota.crypto.js')}), @iota/kerl ${versionOf('@iota/kerl')}, aedes ${versionOf('aedes')}, mqtt ${versionOf('mqtt')}`,
  );
  console.log(`load average at start: ${loadAverage()}`);
  const figures: Figures = {};
  for (const file of files) {
    console.log(`\n== ${file.replace(/\.bench\.js$/, '')}`);
    Object.assign(figures, await runInChild(file));
  }
  console.log(`\nload average at end: ${loadAverage()}`);
  console.log(resultLine(figures));
}

/** Runs one bench module in a child process (this file with `--run`), which answers with its figures. */
function runInChild(file: string): Promise<Figures> {
  return new Promise((resolve, reject) => {
    let figures: Figures | undefined;
    const child = fork(__filename, ['--run', file]);
    child.on('message', (message: Figures) => (figures = message));
    child.on('exit', (code) => (code === 0 && figures ? resolve(figures) : reject(new Error(`bench ${file} failed (exit code ${code})`))));
  });
}

async function runHere(file: string): Promise<void> {
  const bench = (await import(path.join(__dirname, file))) as BenchModule;
  const figures = (await bench.run()) ?? {};
  // A bench may leave handles open (the Node-RED test runtime does): once its figures are sent, it ends here.
  process.send!(figures, () => process.exit(0));
}

const benchProcess = process.argv[2] === '--run';
(benchProcess ? runHere(process.argv[3]) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
