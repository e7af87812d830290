import path from 'node:path';
import type { Transaction } from '@iota/core';
import { SerialWorker } from '../worker/serial-worker';

/** The compiled worker sits next to this module. */
const WORKER_FILE = path.join(__dirname, 'verify-worker.js');

/**
 * Runs the bundle validator (bundle hash, values, signatures; `iota/bundle-validator.ts`, which decides exactly as
 * @iota/bundle-validator does) on a worker thread: a bundle with two signed inputs still takes some milliseconds,
 * which would otherwise stall the event loop (Node-RED's, when the ledger is embedded). One bundle at a time.
 */
export class BundleVerifier {
  private readonly worker = new SerialWorker<readonly Transaction[], boolean>(WORKER_FILE, 'bundle verifier');

  isBundle(bundle: readonly Transaction[]): Promise<boolean> {
    return this.worker.run(bundle);
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
