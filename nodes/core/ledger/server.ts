import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { executeCommand } from './commands';
import { RequestError } from './errors';
import type { DevTangle } from './ledger';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
const LEVELS: LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

export interface TangleServerOptions {
  /** Default 127.0.0.1: reachable from this machine only. Use 0.0.0.0 to serve other devices. */
  host?: string;
  /** Default 14265 (IRI's port); 0 picks a free port. */
  port?: number;
  /** Largest request body, bytes. Default 1,000,000 as IRI. */
  maxBodyBytes?: number;
  /** Receives one line per request at 'info' (command, status, ms) and request bodies at 'debug'. */
  log?: (level: Exclude<LogLevel, 'silent'>, message: string) => void;
  logLevel?: LogLevel;
}

export interface TangleServer {
  /** e.g. http://127.0.0.1:14265, the `provider` for composeAPI. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the ledger over HTTP with the IRI API: POST JSON `{command, ...}` with header `X-IOTA-API-Version`.
 * Answers 200 with the result (plus `duration`), 400 `{error}` for a refused request, 500 `{exception}` for a fault.
 */
export function startTangleServer(tangle: DevTangle, options: TangleServerOptions = {}): Promise<TangleServer> {
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const threshold = LEVELS.indexOf(options.logLevel ?? 'info');
  const log = (level: Exclude<LogLevel, 'silent'>, message: string): void => {
    if (options.log && LEVELS.indexOf(level) <= threshold) options.log(level, message);
  };

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const reply = (status: number, body: object, command: string): void => {
      const payload = JSON.stringify({ ...body, duration: Date.now() - started });
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
      const line = `${req.socket.remoteAddress ?? '?'} ${command} -> ${status} (${Date.now() - started} ms)`;
      if (status >= 500) log('error', `${line}: ${(body as { exception?: string }).exception}`);
      else if (status >= 400) log('warn', `${line}: ${(body as { error?: string }).error}`);
      else log('info', line);
    };

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
      // Read on past the limit so the client gets its answer, but not forever.
      else if (size > 16 * maxBodyBytes) req.destroy();
    });
    req.on('end', () => {
      if (req.method !== 'POST') return reply(400, { error: 'Invalid request method: use POST' }, req.method ?? '?');
      if (req.headers['x-iota-api-version'] === undefined) return reply(400, { error: 'Invalid API Version' }, '?');
      if (size > maxBodyBytes) return reply(400, { error: 'Request too long' }, '?');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return reply(400, { error: `Invalid JSON syntax: ${(err as Error).message}` }, '?');
      }
      const command = String((body as { command?: unknown } | null)?.command ?? '?');
      log('debug', `${command} ${abbreviate(body)}`);
      executeCommand(tangle, body).then(
        (result) => reply(200, result, command),
        (err: Error) => reply(err instanceof RequestError ? 400 : 500, err instanceof RequestError ? { error: err.message } : { exception: err.message }, command),
      );
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 14265, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** Request bodies hold 2673-tryte transactions: log only their start. */
function abbreviate(body: unknown): string {
  const text = JSON.stringify(body);
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
}
