import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { connectTangle, TangleConnection } from '../nodes/core/wallet';
import { Pair, tempDir } from '../test/support/parties';
import { countFromEnv, loadAverage } from './timing';

/**
 * `node dist/bench/growth.js` (BENCH_SESSIONS sessions, default 1000): one station and one vehicle, at engine
 * level on the development Tangle (security 1, MWM 5, confirmation at once), run sessions in a row: the vehicle
 * opens, deposits, pays 3 increments and the session settles, then it opens the next one. The ledger runs in a
 * process of its own (`m2m-tangle`, as on a station's Pi), so that the parties' memory is theirs alone. Ten times
 * along the way it prints the parties' heap after a full garbage collection and their RSS, the ledger's RSS, and
 * what is on disk: the ledger (its log and its transactions), the parties' journals (with the vehicle's trust
 * file) and their wallet files. Not part of
 * `npm run bench`: a thousand sessions take a long while. See docs/RELIABILITY.md for a run's figures.
 */
const SESSIONS = countFromEnv('BENCH_SESSIONS', 1000);
const INCREMENTS = 3;

async function main(): Promise<void> {
  console.log(`${SESSIONS} sessions in a row, ${INCREMENTS} paid increments each; node ${process.version}; load average ${loadAverage()}`);
  const ledgerDir = tempDir();
  const ledger = spawn(process.execPath, [path.join(__dirname, '..', 'nodes', 'core', 'ledger', 'cli.js'), '--port', '0', '--data', ledgerDir, '--dev', '--mwm', '5', '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tangle = await connectTo(ledger);
  const clock = { t: Date.now() };
  // The station takes opens as fast as the vehicle sends them (its default limit is for strangers on a broker).
  const pair = new Pair(tangle, { common: { now: () => clock.t }, station: { opensPerMinute: 6000 }, vehicle: { targetWh: INCREMENTS * 10 } });
  let settled = 0;
  const started = Date.now();
  try {
    await pair.wallets.station.topUpFromFaucet(100);
    await pair.wallets.vehicle.topUpFromFaucet(100 + SESSIONS * INCREMENTS);
    pair.makeVehicle();
    pair.makeStation();
    pair.vehicle.on('settled', () => settled++);
    await pair.vehicle.start();
    await pair.station.start();
    console.log('sessions  heap MB  rss MB  ledger txs  ledger rss MB  ledger KB  journals KB  wallets KB  min/session');
    let register = 1000;
    for (let next = 0; settled < SESSIONS; ) {
      if (settled >= next) {
        sample(settled, ledgerDir, ledger, pair, started);
        next += SESSIONS / 10;
      }
      if (pair.errors.length > 0) throw pair.errors[0];
      const s = pair.station.session;
      if (s.phase === 'charging' && !s.stopReason && s.paidIncrements >= s.claimedIncrements) {
        // 10 Wh every 10 s of the parties' clock: 3.6 kW, within the offer's power.
        clock.t += 10_000;
        register += 10;
        await pair.station.meterReading({ registerWh: register, timestamp: clock.t, source: 'bench' }).catch(() => undefined);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The harness keeps every message and event for the tests to read; here they would be the only growth.
      pair.sent.length = 0;
      pair.events.length = 0;
      pair.warnings.length = 0;
      pair.settled.station.length = 0;
      pair.settled.vehicle.length = 0;
    }
    sample(settled, ledgerDir, ledger, pair, started);
    console.log(`load average at the end ${loadAverage()}`);
  } finally {
    pair.close();
    await tangle.close();
    ledger.kill('SIGTERM');
  }
}

/** Connects to the ledger process once it says where it listens. */
function connectTo(ledger: ChildProcess): Promise<TangleConnection> {
  return new Promise((resolve, reject) => {
    ledger.stdout!.on('data', (chunk: Buffer) => {
      const url = /listening on (http:\/\/[^\s]+)/.exec(chunk.toString())?.[1];
      if (url) {
        connectTangle({ mode: 'remote', url, dataDir: '', host: '', port: 0, minWeightMagnitude: 5, depth: 3, milestoneIntervalMs: 0, dev: true, localPow: false, powWorkers: 1 }).then(resolve, reject);
      }
    });
    ledger.on('exit', (code) => reject(new Error(`the ledger process ended (code ${code})`)));
  });
}

/** A process's resident memory, from Linux's /proc. */
function rssOf(pid: number | undefined): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/\d+/.exec(line ?? '')?.[0] ?? NaN) * 1024;
}

function sample(sessions: number, ledgerDir: string, ledger: ChildProcess, pair: Pair, started: number): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  const transactions = sizeOf(path.join(ledgerDir, 'transactions'));
  const ofBoth = (folder: string) => sizeOf(path.join(pair.dirs.station, folder)) + sizeOf(path.join(pair.dirs.vehicle, folder));
  const perSession = sessions > 0 ? ((Date.now() - started) / 60_000 / sessions).toFixed(3) : '';
  const kb = (bytes: number) => (bytes / 1024).toFixed(0);
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const row = [sessions, mb(heapUsed), mb(rss), transactions / 2673, mb(rssOf(ledger.pid)), kb(sizeOf(ledgerDir)), kb(ofBoth('sessions')), kb(ofBoth('wallet')), perSession];
  console.log(row.map((cell, i) => String(cell).padStart([8, 9, 8, 12, 14, 11, 13, 12, 13][i])).join(''));
}

/** Bytes in a file, or in every file under a directory. */
function sizeOf(target: string): number {
  // A temporary file of an atomic write may vanish between the listing and the look.
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(target).reduce((sum, name) => sum + sizeOf(path.join(target, name)), 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
