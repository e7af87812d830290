import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { StopReason } from './core/protocol';
import type { SessionRecord } from './core/session';
import { runStageNode } from './support/stage-node';

interface ChannelSettleDef extends NodeDef {
  party: string;
}

/**
 * `channel-settle`: the settle stage. Stops the session on request (or when the vehicle is full, unplugged, at
 * its target, or the channel runs out), co-signs the final state, attaches it to the Tangle and emits the
 * session record.
 */
export = function (RED: NodeAPI) {
  function ChannelSettle(this: Node, def: ChannelSettleDef) {
    RED.nodes.createNode(this, def);
    runStageNode(RED, this, def.party, {
      stage: 'settle',
      events: ['stopping', 'settled', 'unpaid', 'old-state'],
      async command(party, msg) {
        if (msg.payload !== 'stop') throw new Error(RED._('channel-settle.errors.unknown-command'));
        await party.stop('local-stop');
      },
      status(event, payload) {
        if (event === 'stopping') {
          const reason = RED._(`channel-settle.reason.${(payload as { reason: StopReason }).reason}`);
          return { fill: 'yellow', shape: 'ring', text: RED._('channel-settle.status.stopping', { reason }) };
        }
        if (event === 'settled') {
          const record = payload as SessionRecord;
          return { fill: 'green', shape: 'dot', text: RED._('channel-settle.status.settled', { wh: record.energy_wh, cost: record.total_cost.excl_vat }) };
        }
        if (event === 'old-state') return { fill: 'red', shape: 'dot', text: RED._('channel-settle.status.old-state') };
        if (event === 'phase' && payload === 'settling') return { fill: 'yellow', shape: 'dot', text: RED._('channel-settle.status.settling') };
        return null;
      },
    });
  }
  RED.nodes.registerType('channel-settle', ChannelSettle);
};
