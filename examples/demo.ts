/**
 * `npm start`: the Dashboard demo on this machine. An in-process MQTT broker (aedes) on 127.0.0.1:1883, and
 * Node-RED 4 (the development dependency) in its own process with the user directory `.demo/` of this repository,
 * into which this package and the dashboard are linked. The first start deploys `examples/Dashboard demo.json`
 * with freshly generated wallet seeds; later starts keep the user's flows and continue from the saved state.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateSeed } from '../nodes/core/wallet';

const HOST = '127.0.0.1';
const EDITOR_PORT = 1880;
const MQTT_PORT = 1883;
const TANGLE_PORT = 14265;
const EDITOR_URL = `http://${HOST}:${EDITOR_PORT}/`;
const DASHBOARD_URL = `${EDITOR_URL}dashboard`;

/** dist/examples/demo → the repository. */
const REPO = path.resolve(__dirname, '..', '..');
const USER_DIR = path.join(REPO, '.demo');
const DEMO_FLOW = path.join(REPO, 'examples', 'Dashboard demo.json');

/** A failure the user can act on: printed as it is, without a stack trace. */
class DemoError extends Error {}

const PORTS: { port: number; what: string; free: string }[] = [
  {
    port: EDITOR_PORT,
    what: 'the Node-RED editor and the dashboard',
    free: 'Another Node-RED is probably running: stop it (Ctrl-C in its terminal, or `sudo systemctl stop nodered`).',
  },
  {
    port: MQTT_PORT,
    what: 'its MQTT broker',
    free: 'Probably Mosquitto or another broker: stop it for the demo (e.g. `sudo systemctl stop mosquitto`).',
  },
  {
    port: TANGLE_PORT,
    what: 'the development Tangle (the IOTA node API)',
    free: 'Probably a standalone `m2m-tangle` or another IOTA node: stop it for the demo.',
  },
];

function log(text: string): void {
  console.log(`[demo] ${text}`);
}

/** Resolves when nothing listens on the port: we can bind it ourselves, and release it at once. */
function checkPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err)));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

async function checkPorts(): Promise<void> {
  for (const { port, what, free } of PORTS) {
    if (await checkPortFree(port)) continue;
    throw new DemoError(
      [
        `Port ${port} is already in use. The demo needs it for ${what}.`,
        free,
        `To see what holds it: \`lsof -i :${port}\` (Linux, macOS) or \`netstat -ano | findstr :${port}\` (Windows).`,
      ].join('\n'),
    );
  }
}

function checkNodeVersion(): void {
  const [major, minor] = process.versions.node.split('.').map(Number);
  // aedes (the broker) is an ES module, loaded from CommonJS, which Node.js supports from 20.19 on.
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new DemoError(`The demo needs Node.js 20.19 or newer; this is ${process.version}. Install a current LTS release.`);
  }
}

/** Links a package into the demo's node_modules, replacing a link that points elsewhere (a moved clone). */
function link(name: string, target: string): void {
  const at = path.join(USER_DIR, 'node_modules', name);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  const current = fs.lstatSync(at, { throwIfNoEntry: false });
  if (current) {
    if (current.isSymbolicLink() && path.resolve(path.dirname(at), fs.readlinkSync(at)) === target) return;
    fs.rmSync(at, { recursive: true, force: true });
  }
  fs.symlinkSync(target, at, 'junction');
}

/** The user directory: the two packages linked in, a credential secret made once, and the settings. */
function prepareUserDir(): string {
  fs.mkdirSync(USER_DIR, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(path.join(REPO, 'dist', 'nodes', 'iota-wallet.js'))) {
    throw new DemoError('The package is not built: run `npm install` (or `npm run build`) first.');
  }
  link('@m2m-ev/node-red-flash-charging', REPO);
  link('@flowfuse/node-red-dashboard', path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json')));

  // The key that encrypts the wallet seeds in flows_cred.json: made once, kept next to it, never printed.
  const secretFile = path.join(USER_DIR, 'credential-secret');
  if (!fs.existsSync(secretFile)) fs.writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });

  const settingsFile = path.join(USER_DIR, 'settings.js');
  const settings = `// Written by \`npm start\` on every start; edit examples/demo/start.ts instead.
module.exports = {
  uiHost: ${JSON.stringify(HOST)},
  uiPort: ${EDITOR_PORT},
  flowFile: 'flows.json',
  credentialSecret: require('fs').readFileSync(require('path').join(__dirname, 'credential-secret'), 'utf8').trim(),
  telemetry: { enabled: false },
  editorTheme: { tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
`;
  fs.writeFileSync(settingsFile, settings);
  return settingsFile;
}

interface Broker {
  close(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    // Each message at once, as Mosquitto's `set_tcp_nodelay true` (docs/PERFORMANCE.md).
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(MQTT_PORT, HOST, resolve);
  });
  log(`MQTT broker (aedes) listening on ${HOST}:${MQTT_PORT}`);
  return {
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

function startNodeRed(settingsFile: string): ChildProcess {
  const redJs = path.join(path.dirname(require.resolve('node-red/package.json')), 'red.js');
  return spawn(process.execPath, [redJs, '-u', USER_DIR, '-s', settingsFile], { cwd: USER_DIR, stdio: 'inherit' });
}

/** Polls the admin API until Node-RED answers; fails if Node-RED exits first. */
async function waitForNodeRed(child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new DemoError(`Node-RED exited (code ${child.exitCode}) before it started: see its output above.`);
    try {
      if ((await fetch(`${EDITOR_URL}settings`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new DemoError(`Node-RED did not answer on ${EDITOR_URL} within ${timeoutMs / 1000} s.`);
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

/**
 * The Dashboard demo (on its own tab), with a new seed for each wallet. Node-RED takes the seeds as inline
 * credentials and stores them encrypted in flows_cred.json, never in flows.json.
 */
function demoFlow(): FlowNode[] {
  const nodes = JSON.parse(fs.readFileSync(DEMO_FLOW, 'utf8')) as FlowNode[];
  return nodes.map((node) => (node.type === 'iota-wallet' ? { ...node, credentials: { seed: generateSeed() } } : node));
}

async function deployDemo(): Promise<void> {
  const response = await fetch(`${EDITOR_URL}flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(demoFlow()),
  });
  if (!response.ok) throw new DemoError(`Deploying the demo flow failed: HTTP ${response.status} ${await response.text()}`);
  log('deployed the Dashboard demo with two new wallets (their seeds are stored encrypted in .demo/flows_cred.json)');
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 0)));
}

/** Asks Node-RED to stop (it saves and closes every node), and kills it if it has not gone after a while. */
async function stopNodeRed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited(child);
  clearTimeout(timer);
}

async function main(): Promise<number> {
  checkNodeVersion();
  await checkPorts();
  const settingsFile = prepareUserDir();
  const firstStart = !fs.existsSync(path.join(USER_DIR, 'flows.json'));
  const broker = await startBroker();
  const child = startNodeRed(settingsFile);

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping Node-RED, then the broker`);
      resolve(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Node-RED ending by itself (a crash, or a stop from elsewhere) ends the demo too.
    exited(child).then((code) => {
      if (!stopping) {
        stopping = true;
        log(`Node-RED exited with code ${code}`);
        resolve(code === 0 ? 0 : 1);
      }
    });
  });

  const started = (async () => {
    await waitForNodeRed(child);
    if (firstStart) await deployDemo();
    log(`Node-RED editor: ${EDITOR_URL}`);
    log(`Dashboard:       ${DASHBOARD_URL} (pages: charging session, billing, Flash channel for teaching)`);
    log('A charging session starts by itself in a few seconds. After each one, the records are reconciled with the Tangle');
    log('and the result is printed here ("reconciliation"). Stop the demo with Ctrl-C.');
  })();

  let code: number;
  try {
    code = await Promise.race([stopped, started.then(() => stopped)]);
  } catch (err) {
    code = 1;
    console.error(`[demo] ${describe(err)}`);
  }
  await stopNodeRed(child);
  await broker.close();
  return code;
}

/** A DemoError as its message; anything unexpected with its stack, for a bug report. */
function describe(err: unknown): string {
  if (err instanceof DemoError) return err.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] ${describe(err)}`);
    process.exit(1);
  },
);
