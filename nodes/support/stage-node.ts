import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { Stage } from '../core/protocol';
import type { Phase, StationParty, VehicleParty } from '../core/session';
import type { ChargingPartyNode } from '../types';
import { isMqttTopic, messageOf } from './runtime';

export type AnyParty = StationParty | VehicleParty;

export interface StageNodeSpec {
  /** The stage whose topic this node reads and whose messages it sends. */
  stage: Exclude<Stage, 'offer'>;
  /**
   * Party events forwarded on the second output, with `msg.topic` set to the event name. `phase` among them sends
   * each phase of the session (`idle`, `opening`, `funding`, `charging`, `closing`, `settling`) for a dashboard.
   */
  events: readonly string[];
  /** Handles an input that is not a protocol message (a command, a meter reading). */
  command(party: AnyParty, msg: NodeMessageInFlow): Promise<void>;
  /** The node status after a party event (its text already translated), or null to keep the current one. */
  status(event: string, payload: unknown, party: AnyParty): NodeStatus | null;
}

/** Parties whose restored session was reported: a redeployed stage node does not report it again. */
const reportedResumes = new WeakSet<AnyParty>();

/**
 * What the three stage nodes (`flash-channel-open`, `pay-increment`, `channel-settle`) share: they find their
 * `charging-party`, feed it the protocol messages of their stage, send its outgoing messages of that stage on
 * output 1 (for an `mqtt out` node), and its events on output 2 (for the flow).
 */
export function runStageNode(RED: NodeAPI, node: Node, partyId: string, spec: StageNodeSpec): void {
  const partyNode = RED.nodes.getNode(partyId) as ChargingPartyNode | null;
  const prefix = `${node.type}.status`;
  if (!partyNode) {
    node.status({ fill: 'red', shape: 'ring', text: RED._(`${prefix}.no-party`) });
    node.on('input', (_msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => done(new Error(RED._(`${node.type}.errors.no-party`))));
    return;
  }

  const outlet = {
    sendProtocol: (message: { topic: string; payload: unknown; retain: boolean }) =>
      node.send([{ topic: message.topic, payload: message.payload, qos: 1, retain: message.retain } as NodeMessage, null]),
  };
  partyNode.attachOutlet(spec.stage, outlet);

  /**
   * The open stage sends the wallet's balance as a `wallet` event (payload `{ total }`, in tokens) when it starts,
   * and whenever the deposits (charging) or the settlement (idle) have moved tokens: a dashboard shows it without
   * asking Node-RED over HTTP.
   */
  const reportBalance = () => {
    partyNode.wallet
      .then((wallet) => wallet.balance())
      .then(
        (balance) => node.send([null, { topic: 'wallet', payload: { total: balance.total } } as NodeMessage]),
        (err) => node.warn(RED._(`${node.type}.errors.balance`, { message: messageOf(err) })),
      );
  };

  const listeners: [string, (payload: unknown) => void][] = [];
  partyNode.party.then(
    (party) => {
      for (const event of new Set([...spec.events, 'phase'])) {
        const listener = (payload: unknown) => {
          if (spec.events.includes(event)) node.send([null, { topic: event, payload } as NodeMessage]);
          const status = spec.status(event, payload, party);
          if (status) node.status(status);
          if (spec.stage === 'open' && event === 'phase' && (payload === 'idle' || payload === 'charging')) reportBalance();
        };
        party.on(event, listener);
        listeners.push([event, listener]);
      }
      node.status(spec.status('phase', party.phase, party) ?? {});
      if (spec.stage === 'open') reportBalance();
      // The party emitted `resumed` while it started, before any node could listen: the open stage reports it once.
      if (spec.stage === 'open' && party.resumedFrom && !reportedResumes.has(party)) {
        reportedResumes.add(party);
        node.send([null, { topic: 'resumed', payload: party.resumedFrom } as NodeMessage]);
      }
    },
    (err) => node.status({ fill: 'red', shape: 'ring', text: messageOf(err).slice(0, 30) }),
  );

  node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
    partyNode.party
      .then(async (party) => {
        if (!isMqttTopic(msg.topic)) return spec.command(party, msg);
        const stage = party.stageOf(msg.topic);
        if (stage === null || (stage !== spec.stage && !(stage === 'offer' && spec.stage === 'open'))) return;
        await party.receive(stage, msg.payload);
      })
      .then(
        () => done(),
        (err: Error) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._(`${prefix}.error`) });
          done(err);
        },
      );
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    partyNode.detachOutlet(spec.stage, outlet);
    partyNode.party
      .then((party) => {
        for (const [event, listener] of listeners) party.off(event, listener);
      }, () => undefined)
      .finally(done);
  });
}

/** The status a node of either role shows for a phase of the session. */
export function phaseStatus(RED: NodeAPI, type: string, phase: Phase, party: AnyParty): NodeStatus {
  const key = phase === 'idle' ? `idle-${party.role}` : phase;
  const fill = phase === 'charging' ? 'green' : phase === 'idle' ? 'grey' : 'yellow';
  return { fill, shape: phase === 'charging' ? 'dot' : 'ring', text: RED._(`${type}.status.${key}`) };
}
