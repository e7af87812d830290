#!/usr/bin/env node
/**
 * m2m-records: exports the session records and reconciles them with the Tangle, from the database file (while
 * Node-RED is stopped: the database belongs to one process) or from a running Node-RED's JSON export.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { composeAPI } from '@iota/core';
import type { ChargeDetailRecord } from './cdr';
import { chargeDetailRecords, toCsv } from './export';
import { reconcile } from './reconcile';
import { RecordStore } from './store';

const HELP = `Usage: m2m-records <command> [options]

Commands:
  export       print the sessions as CSV (or JSON with --json)
  reconcile    compare settled sessions with the Tangle, token by token; exit 1 when anything differs

Where the records come from (one of):
  --db <file>        the records database (Node-RED stopped)
  --records <src>    a JSON export: a file, or http(s)://host:1880/m2m-ev/records/sessions.json
  --token <token>    bearer token for --records over HTTP, when the editor has a login

Options:
  --provider <url>   IOTA node for reconcile (default http://127.0.0.1:14265, as m2m-tangle serves)
  --from <date>      sessions that started at or after this ISO date
  --to <date>        sessions that started before this ISO date
  --json             print JSON instead of CSV (export) or text (reconcile)
  -h, --help         show this help`;

async function loadRecords(values: Record<string, string | boolean | undefined>): Promise<ChargeDetailRecord[]> {
  const range = { from: dateOption(values.from, '--from'), to: dateOption(values.to, '--to') };
  if (typeof values.db === 'string') {
    const store = await RecordStore.open(values.db);
    try {
      return chargeDetailRecords(store, range);
    } finally {
      await store.close();
    }
  }
  if (typeof values.records !== 'string') throw new UsageError('give --db <file> or --records <file or URL>');
  const source = values.records;
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const url = new URL(source);
    if (range.from !== undefined) url.searchParams.set('from', String(range.from));
    if (range.to !== undefined) url.searchParams.set('to', String(range.to));
    const response = await fetch(url, { headers: typeof values.token === 'string' ? { Authorization: `Bearer ${values.token}` } : {} });
    if (!response.ok) throw new Error(`${source}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    text = fs.readFileSync(source, 'utf8');
  }
  const records = JSON.parse(text) as ChargeDetailRecord[];
  if (!Array.isArray(records)) throw new Error(`${source} holds no list of session records`);
  return records.filter((r) => (range.from === undefined || Date.parse(r.start_date_time) >= range.from) && (range.to === undefined || Date.parse(r.start_date_time) < range.to));
}

class UsageError extends Error {}

function dateOption(value: unknown, name: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be an ISO date, got "${value}"`);
  return ms;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      records: { type: 'string' },
      token: { type: 'string' },
      provider: { type: 'string', default: 'http://127.0.0.1:14265' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  if (command !== 'export' && command !== 'reconcile') throw new UsageError(`unknown command "${command}"`);
  const records = await loadRecords(values);
  if (command === 'export') {
    process.stdout.write(values.json ? `${JSON.stringify(records, null, 2)}\n` : toCsv(records));
    return 0;
  }
  const report = await reconcile(records, composeAPI({ provider: values.provider }));
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`${report.checked} settled sessions checked, ${report.open.length} still open; the stations gained ${report.tokensOnTangle} tokens on the Tangle`);
    for (const d of report.differences) console.log(`DIFFERENT ${d.sessionId}: ${d.what}: records ${JSON.stringify(d.records)}, Tangle ${JSON.stringify(d.tangle)}`);
    if (report.differences.length === 0) console.log('records and Tangle agree');
  }
  return report.differences.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`m2m-records: ${err.message}${err instanceof UsageError || err.name === 'TypeError' ? `\n\n${HELP}` : ''}`);
    process.exit(2);
  },
);
