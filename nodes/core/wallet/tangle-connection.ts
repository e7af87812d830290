import { composeAPI } from '@iota/core';
import { leaseTangle, startTangleServer, TangleServer } from '../ledger';
import { attachToTangleWith, PowPool } from '../pow';

export type IotaApi = ReturnType<typeof composeAPI>;

/**
 * Where a device's IOTA traffic goes:
 * - `embedded`: the development ledger inside this process, called directly;
 * - `serve`: the same, and also served over HTTP with the IRI API so other devices can use it;
 * - `remote`: any IRI-compatible node at `url` (another device's `serve`, `m2m-tangle`, or a real node).
 */
export type TangleMode = 'embedded' | 'serve' | 'remote';

export interface TangleSettings {
  mode: TangleMode;
  /** embedded/serve: where the ledger persists. */
  dataDir: string;
  /** serve: the interface and port to listen on. */
  host: string;
  port: number;
  /** remote: the node's URL, e.g. http://station.local:14265. */
  url: string;
  /** The proof of work every transaction carries. Must match the node's. */
  minWeightMagnitude: number;
  /** Tip selection depth for getTransactionsToApprove. */
  depth: number;
  /** embedded/serve: 0 confirms at once; N > 0 confirms with a milestone every N ms. */
  milestoneIntervalMs: number;
  /** embedded/serve: a development ledger (faucet and genesis allowed). */
  dev: boolean;
  /** remote: do the proof of work here instead of asking the node (for nodes without attachToTangle). */
  localPow: boolean;
  /** Worker threads for local proof of work. */
  powWorkers: number;
}

export interface TangleConnection {
  readonly settings: TangleSettings;
  readonly api: IotaApi;
  /**
   * The IRI HTTP endpoint this connection talks to. For `serve`, the one other devices use; for `embedded`, a
   * private loopback port. Every mode goes through the same API, so embedded and remote behave alike (and
   * composeAPI in beta.30 cannot take an in-process provider: its `network` setting is ignored).
   */
  readonly url: string;
  /** Development ledgers only: credits an address from the faucet. */
  faucet(address: string, value: number): Promise<void>;
  close(): Promise<void>;
}

export async function connectTangle(settings: TangleSettings): Promise<TangleConnection> {
  if (settings.mode === 'remote') {
    if (!/^https?:\/\/[^\s/]+/.test(settings.url)) throw new Error(`invalid IOTA node URL "${settings.url}": expected http(s)://host:port`);
    // Each connection owns its proof-of-work workers, so closing one never cancels another's work.
    const pool = settings.localPow ? new PowPool(settings.powWorkers) : null;
    return connection(settings, settings.url, pool, async () => {
      await pool?.close();
    });
  }

  const lease = await leaseTangle({
    dataDir: settings.dataDir,
    minWeightMagnitude: settings.minWeightMagnitude,
    milestoneIntervalMs: settings.milestoneIntervalMs,
    dev: settings.dev,
    powWorkers: settings.powWorkers,
  });
  const listen = settings.mode === 'serve' ? { host: settings.host, port: settings.port } : { host: '127.0.0.1', port: 0 };
  let server: TangleServer;
  try {
    server = await startTangleServer(lease.tangle, { ...listen, logLevel: 'silent' });
  } catch (err) {
    await lease.release();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${listen.port} on ${listen.host} is already in use: pick another port for the Tangle`, { cause: err });
    }
    throw err;
  }
  return connection(settings, server.url, null, async () => {
    await server.close();
    await lease.release();
  });
}

function connection(settings: TangleSettings, url: string, pool: PowPool | null, close: () => Promise<void>): TangleConnection {
  const attachToTangle = pool ? attachToTangleWith(() => pool) : undefined;
  return {
    settings,
    url,
    api: composeAPI({ provider: url, ...(attachToTangle ? { attachToTangle } : {}) }),
    // The development ledger offers the faucet as an extra IRI command; a real node answers it with an error.
    faucet: async (address, value) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-IOTA-API-Version': '1' },
        body: JSON.stringify({ command: 'faucet', address, value }),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: string };
        throw new Error(`faucet refused: ${body.error ?? response.statusText}`);
      }
    },
    close,
  };
}
