import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { MeterReading } from './core/meter';
import { PaymentEvent, StationParty } from './core/session';
import { runStageNode } from './support/stage-node';

interface PayIncrementDef extends NodeDef {
  party: string;
  /** Also send the channel's view after every step (`channel`), for a teaching dashboard. */
  teach?: boolean;
}

function readingOf(msg: NodeMessageInFlow): MeterReading | null {
  const payload = msg.payload as Partial<MeterReading> | null;
  if (!payload || typeof payload !== 'object' || !Number.isSafeInteger(payload.registerWh)) return null;
  const timestamp = Number.isSafeInteger(payload.timestamp) ? (payload.timestamp as number) : Date.now();
  return { registerWh: payload.registerWh as number, timestamp, source: String(payload.source ?? 'msg') };
}

/**
 * `pay-increment`: the pay stage. On a station, meter readings become claims for each completed increment, and
 * each payment the vehicle proposes is verified and co-signed. On a vehicle, each claim is checked against the
 * agreed price, the maximum power and (when wired) its own meter, then paid.
 */
export = function (RED: NodeAPI) {
  function PayIncrement(this: Node, def: PayIncrementDef) {
    RED.nodes.createNode(this, def);
    runStageNode(RED, this, def.party, {
      stage: 'pay',
      events: def.teach === true ? ['claim', 'paid', 'energy', 'channel'] : ['claim', 'paid', 'energy'],
      async command(party, msg) {
        const reading = readingOf(msg);
        if (!reading) throw new Error(RED._('pay-increment.errors.not-a-reading'));
        if (party instanceof StationParty) return party.meterReading(reading);
        return party.ownMeterReading(reading);
      },
      status(event, payload) {
        if (event === 'paid') {
          const paid = payload as PaymentEvent;
          return { fill: 'green', shape: 'dot', text: RED._('pay-increment.status.paid', { wh: paid.paidWh, total: paid.totalPaid }) };
        }
        if (event === 'claim') return { fill: 'blue', shape: 'dot', text: RED._('pay-increment.status.claimed', { n: (payload as { increments: number }).increments }) };
        if (event === 'phase') return { fill: 'grey', shape: 'ring', text: RED._(`pay-increment.status.${payload === 'charging' ? 'waiting' : 'idle'}`) };
        return null;
      },
    });
  }
  RED.nodes.registerType('pay-increment', PayIncrement);
};
