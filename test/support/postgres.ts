import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './real-nodered';
import { until } from './wait';
import { tempDir } from './temp';

export interface TestPostgres {
  /** Connection settings for `pg`: user `m2m`, database `postgres`, no password (trust on loopback). */
  config: { host: string; port: number; user: string; database: string };
  stop(): Promise<void>;
}

/** The newest installed server binaries of Debian's `postgresql` package. */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

/**
 * A private PostgreSQL cluster in a temporary folder on a free loopback port, started for a test and removed after
 * it. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user of the Debian package.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = serverBin();
  const dir = tempDir('m2m-pg-');
  // As root, the server's processes run as the postgres user (spawned with its ids, so that signals reach them).
  const owner = process.getuid?.() === 0 ? { uid: idOf('-u'), gid: idOf('-g') } : {};
  if ('uid' in owner) fs.chownSync(dir, owner.uid!, owner.gid!);
  execFileSync(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'm2m', '--no-sync', '-E', 'UTF8'], { stdio: 'ignore', ...owner });
  const port = await freePort();
  // fsync off: the test checks what arrives, not PostgreSQL's durability.
  const args = ['-D', path.join(dir, 'data'), '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-F'];
  const server: ChildProcess = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...owner });
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  let exited = false;
  server.on('exit', () => (exited = true));
  const config = { host: '127.0.0.1', port, user: 'm2m', database: 'postgres' };
  let ready = false;
  let probing = false;
  const probe = () => {
    probing = true;
    const client = new Client(config);
    client
      .connect()
      .then(() => (ready = true), () => undefined)
      .finally(() => {
        probing = false;
        client.end().catch(() => undefined);
      });
  };
  await until(() => {
    if (exited) throw new Error(`PostgreSQL did not start:\n${log}`);
    if (!ready && !probing) probe();
    return ready;
  }, 'PostgreSQL to accept connections', 30_000);
  return {
    config,
    async stop() {
      if (!exited) {
        server.kill('SIGINT'); // fast shutdown
        await until(() => exited, 'PostgreSQL to stop', 30_000);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
