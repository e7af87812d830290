import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { Choice } from './core/selection';
import type { Phase } from './core/session';
import { VehicleParty } from './core/session';
import { phaseStatus, runStageNode } from './support/stage-node';

interface FlashChannelOpenDef extends NodeDef {
  party: string;
}

/**
 * `flash-channel-open`: the open stage. A station publishes its offer (retained) and accepts channels; a vehicle
 * reads offers, opens a channel within its policy and deposits. Either way both deposits are confirmed on the
 * Tangle before charging starts.
 */
export = function (RED: NodeAPI) {
  function FlashChannelOpen(this: Node, def: FlashChannelOpenDef) {
    RED.nodes.createNode(this, def);
    runStageNode(RED, this, def.party, {
      stage: 'open',
      events: ['offer', 'choice', 'opened', 'phase', 'clock'],
      async command(party, msg: NodeMessageInFlow) {
        if (msg.payload === 'start' && party instanceof VehicleParty) return party.startSession();
        throw new Error(RED._('flash-channel-open.errors.unknown-command'));
      },
      status(event, payload, party) {
        if (event === 'clock') {
          const { ok, skewS } = payload as { ok: boolean; skewS: number };
          if (ok) return phaseStatus(RED, 'flash-channel-open', party.phase, party);
          return { fill: 'red', shape: 'ring', text: RED._('flash-channel-open.status.clock', { skew: skewS }) };
        }
        if (event === 'choice') {
          const { chosen, text } = payload as Choice;
          return { fill: chosen ? 'yellow' : 'grey', shape: 'ring', text };
        }
        return event === 'phase' ? phaseStatus(RED, 'flash-channel-open', payload as Phase, party) : null;
      },
    });
  }
  RED.nodes.registerType('flash-channel-open', FlashChannelOpen);
};
