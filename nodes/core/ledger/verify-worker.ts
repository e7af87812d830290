/** Worker thread body: checks bundle signatures (the costly part of accepting a bundle) off the main thread. */
import type { Transaction } from '@iota/core';
import { isBundle } from '../iota/bundle-validator';
import { serveRequests } from '../worker/serial-worker';

serveRequests((bundle: Transaction[]) => isBundle(bundle));
