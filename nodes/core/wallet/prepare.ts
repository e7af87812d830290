import path from 'node:path';
import { SerialWorker } from '../worker/serial-worker';

export interface PrepareRequest {
  seed: string;
  transfers: { address: string; value: number }[];
  inputs: { address: string; keyIndex: number; security: number; balance: number }[];
  /** Where the change goes; none when the inputs hold exactly what is sent. */
  remainderAddress?: string;
}

/**
 * The process's bundle preparer: one worker thread, shared by every wallet, one bundle at a time. The seed goes to
 * it as it goes to the channel engine's workers: in memory, within this process.
 */
export const bundlePreparer = new SerialWorker<PrepareRequest, string[]>(path.join(__dirname, 'prepare-worker.js'), 'wallet bundle preparer');
