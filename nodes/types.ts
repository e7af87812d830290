import type { Node } from 'node-red';
import type { Evse } from './core/evse';
import type { Role, Stage } from './core/protocol';
import type { OfferWithdrawal, Outgoing, StationParty, VehicleParty } from './core/session';
import type { SiteBudget } from './core/site';
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

/** What a party publishes: a protocol message, or the empty retained message that withdraws a station's offer. */
export type Published = Outgoing | OfferWithdrawal;

/** A stage node's handler for the party's outgoing messages and events. */
export interface StageOutlet {
  /** Sends a message on the node's first output (to an `mqtt out` node). */
  sendProtocol(message: Published): void;
}

export interface ChargingPartyNode extends Node {
  role: Role;
  /** The party's own id (a station's, or a vehicle's): every event of its nodes names it as `msg.party`. */
  partyId: string;
  /** The party's wallet, as its `iota-wallet` node opens it; rejects when there is none. */
  wallet: Promise<Wallet>;
  /**
   * Every started party by connector id: a station's connectors (`<id>` alone, or `<id>-1` … `<id>-N`), or the
   * vehicle under the id of the station it charges at. Protocol topics name the connector, so messages go by topic.
   * Rejects (once, logged) when the party cannot start.
   */
  parties: Promise<Map<string, StationParty | VehicleParty>>;
  /** The connector ids, known at once (the parties start later): `[<id>]`, or `<id>-1` … `<id>-N`. */
  connectorIds: string[];
  /** The power budget a station's connectors share; null without a site limit, and on a vehicle. */
  site: SiteBudget | null;
  /**
   * The station's chargers by connector id, set by its `evse-control` node, so that a simulated `meter-in` can
   * measure what flows through each. Empty on a vehicle, or before the EVSE node has started.
   */
  evses: Map<string, Evse>;
  /** Registers the node that sends a stage's messages. Messages produced before it registered are delivered then. */
  attachOutlet(stage: Stage, outlet: StageOutlet): void;
  detachOutlet(stage: Stage, outlet: StageOutlet): void;
}
