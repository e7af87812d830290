import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Curl from '@iota/curl';
import { trits } from '@iota/converter';
import { isTransaction, transactionHash } from '@iota/transaction';
import { PowPool, powBackend, searchNonce, transactionHashTrits } from '../../../nodes/core/pow';
import { JsLaneCurl } from '../../../nodes/core/pow/curl-js';
import { compiledCurlWasm, WasmLaneCurl } from '../../../nodes/core/pow/curl-wasm';
import { type LaneCurl, laneTrit, type PowBackend, setLaneTrit, STATE_LENGTH } from '../../../nodes/core/pow/lanes';

const NONCE_OFFSET = 8019 - 81;
const BACKENDS: PowBackend[] = ['wasm-simd', 'js'];

/** @iota/curl's own transform of a whole 729-trit state. */
function referenceTransform(state: Int8Array): Int8Array {
  const curl = new Curl(81) as unknown as Pick<Curl, 'absorb'> & { state: Int8Array };
  curl.state = state.slice(); // initialize() zeroes what it is given, so the state goes in directly
  curl.absorb(new Int8Array(0), 0, 0); // absorbing nothing is exactly one transform
  return curl.state;
}

/** Deterministic random trits (xorshift32), so a failure can be replayed. */
function randomStates(count: number, seed: number): Int8Array[] {
  let x = seed;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return Array.from({ length: count }, () => Int8Array.from({ length: STATE_LENGTH }, () => (next() % 3) - 1));
}

function laneCurl(backend: PowBackend): LaneCurl {
  if (backend === 'js') return new JsLaneCurl();
  const module = compiledCurlWasm();
  assert.ok(module, 'WebAssembly SIMD validates on this engine');
  return new WasmLaneCurl(module);
}

function transactionTrits(name: string): Int8Array {
  return trits(name.replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]).padEnd(2673, '9'));
}

describe('pow: Curl-P-81 transforms on many lanes', function () {
  const edgeStates = [-1, 0, 1].map((trit) => new Int8Array(STATE_LENGTH).fill(trit));
  const states = [...edgeStates, ...randomStates(253, 0x9e3779b9)];

  for (const backend of BACKENDS) {
    it(`${backend}: every lane transforms its own state exactly like @iota/curl (${states.length} states, all -1/0/+1 among them)`, () => {
      const curl = laneCurl(backend);
      for (let first = 0; first < states.length; first += curl.lanes) {
        const batch = states.slice(first, first + curl.lanes);
        batch.forEach((state, lane) => state.forEach((trit, i) => setLaneTrit(curl.state, i, lane, trit)));
        const input = [curl.state.low.slice(), curl.state.high.slice()];
        curl.transform();
        assert.deepEqual([curl.state.low, curl.state.high], input, 'the input state is left as it is');
        batch.forEach((state, lane) => {
          const lanes = Int8Array.from({ length: STATE_LENGTH }, (_, i) => laneTrit(curl.result, i, lane));
          assert.deepEqual(lanes, referenceTransform(state), `state ${first + lane}`);
        });
      }
    });
  }
});

describe('pow: transaction hashes on the lane transform', function () {
  const edges = [-1, 0, 1].map((trit) => new Int8Array(8019).fill(trit));
  const transactions = [...edges, ...randomStates(33, 0x2545f491).map((state) => Int8Array.from({ length: 8019 }, (_, i) => state[i % STATE_LENGTH] * (i % 7 === 0 ? -1 : 1)))];

  for (const backend of BACKENDS) {
    it(`${backend}: equals @iota/transaction transactionHash on ${transactions.length} transactions (all -1/0/+1 among them)`, () => {
      for (const [n, tx] of transactions.entries()) assert.deepEqual(transactionHashTrits(tx, backend), transactionHash(tx), `transaction ${n}`);
    });
  }
});

describe('pow: nonce search backends', function () {
  it('runs WebAssembly SIMD on this engine, and plain JavaScript where WebAssembly is missing (node --jitless)', () => {
    assert.equal(powBackend(), 'wasm-simd');
    const script = `
      const { searchNonce, powBackend } = require(${JSON.stringify(path.join(__dirname, '../../../nodes/core/pow/search.js'))});
      const { isTransaction } = require(${JSON.stringify(require.resolve('@iota/transaction'))});
      const tx = new Int8Array(8019);
      const { nonce, backend } = searchNonce({ trits: tx, minWeightMagnitude: 4, partition: 0, shouldStop: () => false });
      tx.set(nonce, ${NONCE_OFFSET});
      console.log(JSON.stringify({ detected: powBackend(), backend, valid: isTransaction(tx, 4) }));`;
    const output = execFileSync(process.execPath, ['--jitless', '--no-warnings', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.deepEqual(JSON.parse(output), { detected: 'js', backend: 'js', valid: true });
  });

  for (const backend of BACKENDS) {
    const weights = backend === 'js' ? [1, 4, 7, 9] : [1, 4, 7, 9, 12];
    it(`${backend}: finds nonces that Curl accepts at MWM ${weights.join(', ')}, in the partition asked for`, () => {
      for (const mwm of weights) {
        const partition = (mwm * 7) % 81;
        const tx = transactionTrits(`NONCE${mwm}`);
        const result = searchNonce({ trits: tx, minWeightMagnitude: mwm, partition, shouldStop: () => false, backend });
        assert.ok(result.nonce, 'found');
        assert.equal(result.backend, backend);
        const done = tx.slice();
        done.set(result.nonce, NONCE_OFFSET);
        assert.ok(isTransaction(done, mwm), `MWM ${mwm}`);
        const partitionTrits = result.nonce.slice(5, 9).reduce((n, trit, t) => n + (trit + 1) * 3 ** t, 0);
        assert.equal(partitionTrits, partition, 'nonce trits 5..8 are the partition');
      }
    });
  }

  it('stops when asked, and reports what it tried', () => {
    let polls = 0;
    const result = searchNonce({ trits: transactionTrits('STOP'), minWeightMagnitude: 243, partition: 0, shouldStop: () => ++polls > 3 });
    assert.deepEqual([result.nonce, result.tried], [null, 3 * 128]);
  });

  it('a pool forced onto the JavaScript fallback finds valid nonces too', async () => {
    const pool = new PowPool(2, 'js');
    try {
      const tx = transactionTrits('POOLJS');
      const { nonce, backend } = await pool.search(tx, 6);
      assert.equal(backend, 'js');
      const done = tx.slice();
      done.set(nonce, NONCE_OFFSET);
      assert.ok(isTransaction(done, 6));
    } finally {
      await pool.close();
    }
  });
});
