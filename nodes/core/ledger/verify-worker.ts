/** Worker thread body: checks bundle signatures (the costly part of accepting a bundle) off the main thread. */
import { parentPort } from 'node:worker_threads';
import type { Transaction } from '@iota/core';
import { isBundle } from '../iota/bundle-validator';

const port = parentPort;
if (!port) throw new Error('ledger/verify-worker must run as a worker thread');
port.on('message', (bundle: Transaction[]) => port.postMessage(isBundle(bundle)));
