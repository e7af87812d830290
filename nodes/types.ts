import type { Node } from 'node-red';
import type { TangleConnection, Wallet } from './core/wallet';

/** The runtime shapes of our config nodes, as the nodes that use them see them. */

export interface IotaTangleNode extends Node {
  /** Resolves to the open connection; rejects (once, logged) if it cannot be opened. */
  connection: Promise<TangleConnection>;
}

export interface IotaWalletCredentials {
  seed?: string;
}

export interface IotaWalletNode extends Node<IotaWalletCredentials> {
  /** Resolves to the ready wallet; rejects (once, logged) when it has no seed or no Tangle. */
  wallet: Promise<Wallet>;
}
