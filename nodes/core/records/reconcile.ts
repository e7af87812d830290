import type { ChargeDetailRecord } from './cdr';

/** The part of an IRI client (composeAPI of @iota/core) that reconciliation reads. */
export interface TangleReader {
  findTransactionObjects(query: { bundles: readonly string[] }): PromiseLike<readonly { hash: string; address: string; value: number; currentIndex: number }[]>;
  getInclusionStates(hashes: readonly string[]): PromiseLike<readonly boolean[]>;
}

export interface Difference {
  sessionId: string;
  /** What disagrees, e.g. "station payout". */
  what: string;
  records: unknown;
  tangle: unknown;
}

export interface Reconciliation {
  /** Settled sessions checked against the Tangle. */
  checked: number;
  /** Sessions still charging: their money is off the Tangle, in open channels. */
  open: string[];
  /** Tokens the checked sessions moved to their stations, by the Tangle. */
  tokensOnTangle: number;
  differences: Difference[];
}

/**
 * Compares settled records with the Tangle, token by token: every settlement bundle is there and confirmed, the
 * root bundle spends exactly both deposits from the deposit address, and the leaf bundle pays each party exactly
 * its recorded final balance, and nothing to anyone else. It also checks each record against itself: the cost is
 * what the vehicle's balance lost, and the price of the increments paid.
 */
export async function reconcile(records: readonly ChargeDetailRecord[], tangle: TangleReader): Promise<Reconciliation> {
  const result: Reconciliation = { checked: 0, open: [], tokensOnTangle: 0, differences: [] };
  for (const record of records) {
    if (record.status === 'charging') {
      result.open.push(record.session_id);
      continue;
    }
    result.checked++;
    const differ = (what: string, inRecords: unknown, onTangle: unknown) => result.differences.push({ sessionId: record.session_id, what, records: inRecords, tangle: onTangle });
    checkItself(record, differ);
    result.tokensOnTangle += await checkTangle(record, tangle, differ);
  }
  return result;
}

type Differ = (what: string, records: unknown, tangle: unknown) => void;

function checkItself(record: ChargeDetailRecord, differ: Differ): void {
  const { deposits, final_balances: final } = record.settlement;
  const cost = record.total_cost.excl_vat;
  if (final && deposits.vehicle !== null && deposits.vehicle - final.vehicle !== cost) differ('cost against the vehicle balance', cost, deposits.vehicle - final.vehicle);
  if (final && deposits.station !== null && final.station - deposits.station !== cost) differ('cost against the station balance', cost, final.station - deposits.station);
  const { price_per_kwh: price, increment_wh: step } = record.tariff;
  if (price !== null && step !== null && (record.increments * price * step) / 1000 !== cost) differ('cost against the increments paid', cost, (record.increments * price * step) / 1000);
}

/** Returns the tokens the settlement paid the station beyond its deposit, as the Tangle has it. */
async function checkTangle(record: ChargeDetailRecord, tangle: TangleReader, differ: Differ): Promise<number> {
  const { bundles, deposit_address: depositAddress, deposits, final_balances: final, addresses } = record.settlement;
  if (bundles.length === 0) {
    differ('settlement bundles', 'none recorded', null);
    return 0;
  }
  const found = [];
  for (const bundle of bundles) {
    const txs = await tangle.findTransactionObjects({ bundles: [bundle.hash] });
    if (txs.length === 0) {
      differ(`bundle ${bundle.hash}`, 'settled', 'absent');
      return 0;
    }
    // One attachment of the bundle: its transactions from index 0 up (a reattachment repeats them).
    const confirmedTx = (await tangle.getInclusionStates(txs.map((tx) => tx.hash))).some(Boolean);
    if (confirmedTx !== bundle.confirmed) differ(`confirmation of bundle ${bundle.hash}`, bundle.confirmed, confirmedTx);
    const oneAttachment = new Map<number, { address: string; value: number }>();
    for (const tx of txs) oneAttachment.set(tx.currentIndex, tx);
    found.push([...oneAttachment.values()]);
  }
  const spent = -found[0].filter((tx) => tx.address === depositAddress && tx.value < 0).reduce((sum, tx) => sum + tx.value, 0);
  const deposited = (deposits.vehicle ?? 0) + (deposits.station ?? 0);
  if (spent !== deposited) differ('deposits spent from the deposit address', deposited, spent);

  const payouts = new Map<string, number>();
  for (const tx of found.at(-1)!) if (tx.value > 0) payouts.set(tx.address, (payouts.get(tx.address) ?? 0) + tx.value);
  const toStation = addresses.station ? (payouts.get(addresses.station) ?? 0) : 0;
  const toVehicle = addresses.vehicle ? (payouts.get(addresses.vehicle) ?? 0) : 0;
  if (final?.station !== toStation) differ('station payout', final?.station ?? null, toStation);
  if (final?.vehicle !== toVehicle) differ('vehicle payout', final?.vehicle ?? null, toVehicle);
  for (const [address, value] of payouts) {
    if (address !== addresses.station && address !== addresses.vehicle) differ(`payout to ${address}`, 0, value);
  }
  return toStation - (deposits.station ?? 0);
}
