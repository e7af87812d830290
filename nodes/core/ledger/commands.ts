import { isValidChecksum, removeChecksum } from '@iota/checksum';
import { RequestError } from './errors';
import type { DevTangle } from './ledger';
import { isHash, isTrytes } from './validate';

type Request = Record<string, unknown>;
type Handler = (tangle: DevTangle, request: Request) => Promise<object> | object;

/**
 * The IRI commands this node answers, with IRI's parameter checks. Each handler returns the response body;
 * a RequestError becomes HTTP 400 `{error}`.
 */
const HANDLERS: Record<string, Handler> = {
  getNodeInfo: (tangle) => tangle.nodeInfo(),
  getTransactionsToApprove: (tangle, r) => {
    if (!Number.isInteger(r.depth) || (r.depth as number) <= 0) throw new RequestError('Invalid depth input');
    if (r.reference !== undefined && !isHash(r.reference)) throw new RequestError('Invalid reference hash');
    return tangle.transactionsToApprove(r.reference as string | undefined);
  },
  attachToTangle: async (tangle, r) => {
    const trytes = await tangle.attach(hash(r.trunkTransaction, 'trunkTransaction'), hash(r.branchTransaction, 'branchTransaction'),
      integer(r.minWeightMagnitude, 'minWeightMagnitude'), trytesList(r.trytes));
    return { trytes };
  },
  interruptAttachingToTangle: (tangle) => {
    tangle.interruptAttaching();
    return {};
  },
  storeTransactions: async (tangle, r) => {
    await tangle.store(trytesList(r.trytes));
    return {};
  },
  broadcastTransactions: async (tangle, r) => {
    await tangle.store(trytesList(r.trytes));
    return {};
  },
  findTransactions: (tangle, r) => {
    const query = {
      addresses: optionalList(r.addresses, 'addresses', address),
      bundles: optionalList(r.bundles, 'bundles', (v) => hash(v, 'bundle')),
      tags: optionalList(r.tags, 'tags', tag),
      approvees: optionalList(r.approvees, 'approvees', (v) => hash(v, 'approvee')),
    };
    if (Object.values(query).every((v) => v === undefined)) {
      throw new RequestError('Invalid find input: give addresses, bundles, tags or approvees');
    }
    return { hashes: tangle.findTransactions(query) };
  },
  getTrytes: (tangle, r) => ({ trytes: tangle.getTrytes(list(r.hashes, 'hashes', (v) => hash(v, 'hash'))) }),
  getBalances: (tangle, r) => {
    const result = tangle.balances(list(r.addresses, 'addresses', address));
    return { ...result, balances: result.balances.map(String) };
  },
  getInclusionStates: (tangle, r) => ({ states: tangle.inclusionStates(list(r.transactions, 'transactions', (v) => hash(v, 'transaction'))) }),
  wereAddressesSpentFrom: (tangle, r) => ({ states: tangle.wereAddressesSpentFrom(list(r.addresses, 'addresses', address)) }),
  checkConsistency: (tangle, r) => tangle.checkConsistency(list(r.tails, 'tails', (v) => hash(v, 'tail'))),
  faucet: async (tangle, r) => {
    const target = address(r.address);
    const value = integer(r.value, 'value');
    await tangle.faucet(target, value);
    return { address: target, value, balance: tangle.balances([target]).balances[0] };
  },
};

/** Runs one IRI request body against the ledger. Throws RequestError for anything IRI answers with 400. */
export async function executeCommand(tangle: DevTangle, body: unknown): Promise<object> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('Invalid request: a JSON object');
  const request = body as Request;
  if (typeof request.command !== 'string') throw new RequestError('COMMAND parameter has not been specified in the request.');
  const handler = Object.hasOwn(HANDLERS, request.command) ? HANDLERS[request.command] : undefined;
  if (!handler) throw new RequestError(`Command [${request.command}] is unknown`);
  return handler(tangle, request);
}

function hash(value: unknown, what: string): string {
  if (!isHash(value)) throw new RequestError(`Invalid ${what}: 81 trytes expected`);
  return value;
}

/** IRI takes addresses with or without checksum; the ledger keys them by their 81 trytes. */
function address(value: unknown): string {
  if (isTrytes(value, 90)) {
    if (!isValidChecksum(value)) throw new RequestError(`Invalid address checksum: ${value}`);
    return removeChecksum(value);
  }
  return hash(value, 'address');
}

function tag(value: unknown): string {
  if (typeof value !== 'string' || value.length > 27 || !isTrytes(value, value.length)) throw new RequestError('Invalid tag: up to 27 trytes');
  return value.padEnd(27, '9');
}

function integer(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RequestError(`Invalid ${what}: an integer expected`);
  return value as number;
}

function trytesList(value: unknown): string[] {
  return list(value, 'trytes', (t) => {
    if (!isTrytes(t, 2673)) throw new RequestError('Invalid trytes input');
    return t;
  });
}

function list<T>(value: unknown, what: string, item: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new RequestError(`Invalid ${what}: an array expected`);
  return value.map(item);
}

function optionalList<T>(value: unknown, what: string, item: (v: unknown) => T): T[] | undefined {
  return value === undefined ? undefined : list(value, what, item);
}
