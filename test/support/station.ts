import path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { emptySnapshot, SessionJournal, SessionSnapshot } from '../../nodes/core/session';
import type { FlowNode } from './nodered';
import { tempDir } from './temp';

/**
 * A station for the stage-node tests without a Tangle: the real `charging-party` config node and StationParty,
 * on a stand-in `iota-wallet` node whose wallet only tells its security level. A station uses its wallet only
 * once a vehicle opens a channel, which these tests never do: they either restore a session that is already
 * charging from its journal, or emit the party's events themselves.
 */
export function stubWalletNode(RED: NodeAPI): void {
  function StubWallet(this: Node & { wallet: Promise<unknown> }, def: NodeDef) {
    RED.nodes.createNode(this, def);
    this.wallet = Promise.resolve({ security: 1, balance: async () => ({ total: 0, addresses: [] }) });
  }
  RED.nodes.registerType('iota-wallet', StubWallet as never);
}

export interface StationSetup {
  /** The charging-party's id; its journal file is named after it. */
  partyId: string;
  role?: 'station' | 'vehicle';
  /** Restores a session in phase `charging` from the journal, as after a restart. */
  charging?: boolean;
  incrementWh?: number;
  creditWh?: number;
  /** The station's site limit in amps (its connectors share it); none without. */
  siteLimitA?: string;
}

/** The wallet and charging-party nodes (ids `w1`, `p1`) of a station, in a fresh data folder. */
export async function stationNodes(setup: StationSetup): Promise<FlowNode[]> {
  const dataDir = tempDir('m2m-station-');
  const role = setup.role ?? 'station';
  if (setup.charging) {
    // Named as charging-party names its journal: <role>-<id>.json in the data folder.
    const journal = new SessionJournal<SessionSnapshot>(path.join(dataDir, `${role}-${setup.partyId}.json`));
    await journal.save({ ...emptySnapshot('station'), phase: 'charging', sessionId: 'S1', peerId: 'EV1', startRegisterWh: -1 });
  }
  const incrementWh = setup.incrementWh ?? 1;
  return [
    { id: 'w1', type: 'iota-wallet' },
    {
      id: 'p1',
      type: 'charging-party',
      role,
      partyId: setup.partyId,
      stationId: setup.partyId,
      wallet: 'w1',
      dataDir,
      // 1000 tokens per kWh: one token per Wh, so any increment costs a whole number of tokens.
      pricePerKWh: '1000',
      incrementWh: String(incrementWh),
      creditWh: String(setup.creditWh ?? incrementWh),
      stationDeposit: '0',
      maxDepth: '4',
      ...(setup.siteLimitA ? { siteLimitA: setup.siteLimitA } : {}),
    },
  ];
}
