import type { Node } from 'node-red';
import type { Evse } from './core/evse';
import type { Role, Stage } from './core/protocol';
import type { Outgoing, StationParty, VehicleParty } from './core/session';
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

/** A stage node's handler for the party's outgoing messages and events. */
export interface StageOutlet {
  /** Sends a protocol message on the node's first output (to an `mqtt out` node). */
  sendProtocol(message: Outgoing): void;
}

export interface ChargingPartyNode extends Node {
  role: Role;
  /** The party's wallet, as its `iota-wallet` node opens it; rejects when there is none. */
  wallet: Promise<Wallet>;
  /** Resolves to the started station or vehicle; rejects (once, logged) when it cannot start. */
  party: Promise<StationParty | VehicleParty>;
  /**
   * The station's EVSE, set by its `evse-control` node, so that a simulated `meter-in` can measure what flows
   * through it. Null on a vehicle, or before the EVSE node has started.
   */
  evse: Evse | null;
  /** Registers the node that sends a stage's messages. Messages produced before it registered are delivered then. */
  attachOutlet(stage: Stage, outlet: StageOutlet): void;
  detachOutlet(stage: Stage, outlet: StageOutlet): void;
}
