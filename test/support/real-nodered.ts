import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, BrowserContext } from 'playwright-core';
import { tempDir } from './temp';
import { valueOf } from './wait';

/**
 * Real processes for the end-to-end tests: Node-RED started the way a user starts it, with this package installed
 * from its packed tarball, and Debian's mosquitto. Every process started here is stopped when the test run ends,
 * whatever happened; the tests stop them earlier themselves.
 */

const repoRoot = path.resolve(__dirname, '../../..');
export const MODULE = '@m2m-ev/node-red-flash-charging';
/** Where the tests leave screenshots and logs for a human to look at (git-ignored). */
export const OUTPUT_DIR = path.join(repoRoot, 'test-output');
/**
 * Where the screenshots that the docs show are written: docs/images with UPDATE_DOC_IMAGES=1, to refresh them,
 * and otherwise next to the other output, so that a test run leaves the checkout as it was.
 */
export const DOC_IMAGES = process.env.UPDATE_DOC_IMAGES === '1' ? path.join(repoRoot, 'docs', 'images') : OUTPUT_DIR;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// A run stopped from outside (a CI timeout) exits through the handler above too.
process.once('SIGTERM', () => process.exit(143));

export { tempDir };

/** A system program the suite needs: its path, or an error that says how to install it. Never a skip. */
export function systemTool(file: string, aptPackage: string): string {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: the end-to-end tests need Debian's ${aptPackage} (apt-get install -y ${aptPackage}; see docs/TESTING.md)`);
  }
  return file;
}

/** A TCP port on the loopback interface that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A Node-RED to run: its `red.js` and the Node.js that runs it. */
export interface NodeRedRuntime {
  /** How the tests name it, e.g. "Node-RED 4.1.15 on Node.js 20.19.0". */
  label: string;
  node: string;
  redJs: string;
}

/** The node-red dev dependency, on the Node.js that runs the tests. */
export function devNodeRed(): NodeRedRuntime {
  const nodeRedDir = path.dirname(require.resolve('node-red/package.json'));
  const version = JSON.parse(fs.readFileSync(path.join(nodeRedDir, 'package.json'), 'utf8')).version;
  return { label: `Node-RED ${version} on Node.js ${process.versions.node}`, node: process.execPath, redJs: path.join(nodeRedDir, 'red.js') };
}

/** The Node-RED 5 release the editor tests run, and the Node.js major a fresh Raspberry Pi gets with it. */
export const NODE_RED_5 = '5.0.7';
const NODE_FOR_NODE_RED_5 = '22';

let nodeRed5Ready: Promise<NodeRedRuntime> | undefined;

/**
 * Node-RED 5 on Node.js 22, as a fresh Raspberry Pi runs it. Both come from the npm registry and are cached after
 * the first run: Node.js as npm's `node` package in npm's own exec cache (`npm exec --package=node@22`), Node-RED
 * (with Dashboard 2.0, at the version of our dev dependency, for the Dashboard demo) in
 * `~/.cache/m2m-ev-tests/node-red-<version>`.
 */
export function nodeRed5(): Promise<NodeRedRuntime> {
  nodeRed5Ready ??= (async () => {
    const node = execFileSync('npm', ['exec', '--yes', `--package=node@${NODE_FOR_NODE_RED_5}`, '--call', 'node -p process.execPath'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const nodeVersion = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const dir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'm2m-ev-tests', `node-red-${NODE_RED_5}`);
    const complete = path.join(dir, '.installed');
    if (!fs.existsSync(complete)) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-5-for-tests', private: true }));
      const dashboard = JSON.parse(fs.readFileSync(require.resolve('@flowfuse/node-red-dashboard/package.json'), 'utf8')).version;
      // npm runs on the Node.js of the test run; Node-RED 5 asks for Node.js 22 only to run.
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--engine-strict=false', `node-red@${NODE_RED_5}`, `@flowfuse/node-red-dashboard@${dashboard}`], { cwd: dir, stdio: 'pipe' });
      fs.writeFileSync(complete, '');
    }
    return { label: `Node-RED ${NODE_RED_5} on Node.js ${nodeVersion}`, node, redJs: path.join(dir, 'node_modules', 'node-red', 'red.js') };
  })();
  return nodeRed5Ready;
}

let installed: Promise<string> | undefined;

/**
 * This repository packed with `npm pack` and installed from the tarball with `npm install` into a fresh folder, as
 * a user installs it into ~/.node-red; done once per test run. Resolves with that folder.
 */
export function installedPackage(): Promise<string> {
  installed ??= new Promise<string>((resolve, reject) => {
    try {
      const work = tempDir('m2m-e2e-pack-');
      // dist/ is fresh: `npm test` builds before it runs the suite.
      const [packed] = JSON.parse(
        execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      const consumer = path.join(work, 'consumer');
      fs.mkdirSync(consumer);
      fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', path.join(work, packed.filename)], { cwd: consumer, stdio: 'pipe' });
      resolve(consumer);
    } catch (err) {
      reject(err);
    }
  });
  return installed;
}

/** As `valueOf`, with the process's output so far in the error. */
function waitFor<T>(check: () => T | undefined, what: string, timeoutMs: number, log: () => string): Promise<T> {
  return valueOf(check, what, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}; output so far:\n${log()}`);
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      running.delete(child);
      resolve();
    });
    child.kill(signal);
  });
}

/** One Node-RED process of the node-red dev dependency, on its own user directory and an ephemeral loopback port. */
export class NodeRed {
  private output = '';

  private constructor(
    readonly name: string,
    readonly userDir: string,
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /**
   * Starts Node-RED on a user directory that holds what `installDir` holds after `npm install` (its package.json,
   * and its node_modules as a link), so several processes share one install: a fresh one, or `options.userDir`
   * again (a restart: the flows deployed there before start again). `options.preload` is a module for
   * `node --require`; `options.env` adds to the environment; `options.runtime` is the Node-RED and Node.js to run
   * (the dev dependency on this Node.js by default). Resolves once the flows have started, or, with
   * `options.mayDie`, also when the process dies first (a fault-injection test's failpoint fired).
   */
  static async start(name: string, installDir: string, options: { userDir?: string; preload?: string; env?: NodeJS.ProcessEnv; mayDie?: boolean; runtime?: NodeRedRuntime } = {}): Promise<NodeRed> {
    const userDir = options.userDir ?? tempDir(`m2m-e2e-${name}-`);
    if (!fs.existsSync(path.join(userDir, 'node_modules'))) {
      fs.copyFileSync(path.join(installDir, 'package.json'), path.join(userDir, 'package.json'));
      fs.symlinkSync(path.join(installDir, 'node_modules'), path.join(userDir, 'node_modules'), 'dir');
    }
    const port = await freePort();
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: port,
      flowFile: 'flows.json',
      credentialSecret: 'e2e-test-secret',
      // The first-load "Enable Update Notifications" modal and the welcome tour would block every click.
      telemetry: { enabled: false },
      editorTheme: { tours: false },
      logging: { console: { level: 'info', metrics: false, audit: false } },
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    // The info sidebar's tips are off: on a page that loads slowly, Node-RED 5's tip timer can fire before the tip
    // box exists and throws a page error of the editor's own ('reading html'). "_" is the user when none logs in.
    fs.writeFileSync(path.join(userDir, '.config.users.json'), JSON.stringify({ _: { editor: { view: { 'view-show-tips': false } } } }));
    const { node, redJs } = options.runtime ?? devNodeRed();
    const child = spawn(node, [...(options.preload ? ['--require', options.preload] : []), redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
      cwd: userDir,
      env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    const nodeRed = new NodeRed(name, userDir, `http://127.0.0.1:${port}`, child);
    try {
      await waitFor(
        () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            if (options.mayDie) return true;
            throw new Error(`Node-RED (${name}) exited with ${child.exitCode ?? child.signalCode}:\n${nodeRed.log}`);
          }
          return nodeRed.log.includes('Started flows') ? true : undefined;
        },
        `Node-RED (${name}) to start`,
        60_000,
        () => nodeRed.log,
      );
    } catch (err) {
      await nodeRed.stop();
      throw err;
    }
    return nodeRed;
  }

  /** Resolves with the signal that ended the process (null for a normal exit) once it has ended. */
  exited(): Promise<NodeJS.Signals | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.signalCode);
    return new Promise((resolve) => this.child.once('exit', (_code, signal) => resolve(signal)));
  }

  /** Everything Node-RED printed so far. */
  get log(): string {
    return this.output;
  }

  /** An admin API request; JSON bodies are sent as JSON. */
  async request(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url + route, {
      method,
      headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async json<T = unknown>(route: string, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.request('GET', route, undefined, { Accept: 'application/json', ...headers });
    if (!response.ok) throw new Error(`GET ${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Replaces all flows, as the editor's Deploy (full) does; credentials travel inline on their nodes. */
  async deploy(flow: object[]): Promise<void> {
    const before = this.output.length;
    const response = await this.request('POST', '/flows', flow, { 'Node-RED-Deployment-Type': 'full' });
    if (response.status !== 204 && response.status !== 200) throw new Error(`deploy failed: ${response.status} ${await response.text()}`);
    await waitFor(() => (this.output.slice(before).includes('Started flows') ? true : undefined), `${this.name} to start its flows`, 60_000, () => this.log);
  }

  /** Resolves once the log (from its start) matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<true> {
    return waitFor(() => (pattern.test(this.output) ? true : undefined), `${this.name} to log ${pattern}`, timeoutMs, () => this.log);
  }

  /** Saves the log next to the screenshots, for a human to read after a failure. */
  saveLog(): void {
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    fs.writeFileSync(path.join(OUTPUT_DIR, `node-red-${this.name}.log`), this.output);
  }

  /** SIGKILL, as a power cut or the OOM killer: nothing is closed or saved. */
  kill(): Promise<void> {
    return stopChild(this.child, 'SIGKILL');
  }

  /** SIGINT, as Ctrl-C: Node-RED stops its flows (closing our nodes) and exits. */
  stop(): Promise<void> {
    return stopChild(this.child, 'SIGINT');
  }
}

/** Debian's mosquitto on an ephemeral loopback port, with its own config file. */
export class Mosquitto {
  private output = '';

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static async start(): Promise<Mosquitto> {
    const binary = systemTool('/usr/sbin/mosquitto', 'mosquitto');
    const dir = tempDir('m2m-e2e-mosquitto-');
    const port = await freePort();
    const config = path.join(dir, 'mosquitto.conf');
    // mosquitto 2 listens on loopback only without a listener, and refuses anonymous clients with one.
    // set_tcp_nodelay as the README's configuration for a station.
    fs.writeFileSync(config, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'persistence false', 'log_dest stderr', ''].join('\n'));
    const child = spawn(binary, ['-c', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    const broker = new Mosquitto(port, child);
    try {
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${broker.output}`);
          return broker.output.includes(' running') ? true : undefined;
        },
        'mosquitto to start',
        10_000,
        () => broker.output,
      );
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM');
  }
}

/** The example flows of the repository, by file name; the package ships them all. */
export function exampleFiles(): string[] {
  const dir = path.join(repoRoot, 'examples');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
}

export function readExample(file: string): object[] {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', file), 'utf8'));
}

/** How the end-to-end tests start Debian's Chromium: headless, and quiet (no updates, sync or first-run pages). */
export function chromiumOptions() {
  return {
    executablePath: systemTool('/usr/bin/chromium', 'chromium'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  };
}

/** Debian's Chromium on a fresh profile: the browser of the end-to-end tests. */
export function launchChromium(viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('m2m-e2e-chromium-'), { ...chromiumOptions(), viewport });
}
