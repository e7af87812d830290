import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { parseTopic, type Stage } from '../core/protocol';
import type { Phase, StationParty, VehicleParty } from '../core/session';
import type { ChargingPartyNode, StageOutlet } from '../types';
import { connectorField, isMqttTopic, messageOf, namedConnector } from './runtime';

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

/**
 * The party a command or meter reading is for: the only one, or on a station with several connectors the one
 * `msg.connector` names.
 */
function partyFor(parties: Map<string, AnyParty>, connectorId: unknown): AnyParty {
  if (parties.size === 1) return [...parties.values()][0];
  return namedConnector(parties, connectorId, (connector, ids) => `no connector "${connector}": msg.connector must be one of ${ids}`);
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

  const outlet: StageOutlet = {
    sendProtocol: (message) =>
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
        (balance) => node.send([null, { topic: 'wallet', payload: { total: balance.total }, party: partyNode.partyId } as NodeMessage]),
        (err) => node.warn(RED._(`${node.type}.errors.balance`, { message: messageOf(err) })),
      );
  };

  const listeners: [AnyParty, string, (payload: unknown) => void][] = [];
  // A node closed before its party started (a redeploy, a stop) must not listen to it when it starts.
  let closed = false;
  partyNode.parties.then(
    (parties) => {
      if (closed) return;
      // Every event names its party (a dashboard of a site tells its vehicles apart); with several connectors,
      // every event and status names its connector too.
      const several = parties.size > 1;
      const whose = (connectorId: string) => ({ party: partyNode.partyId, ...connectorField(several, connectorId) });
      const show = (status: NodeStatus | null, connectorId: string) => {
        if (status) node.status(several ? { ...status, text: `${connectorId}: ${String(status.text)}` } : status);
      };
      for (const [connectorId, party] of parties) {
        for (const event of new Set([...spec.events, 'phase'])) {
          const listener = (payload: unknown) => {
            if (spec.events.includes(event)) node.send([null, { topic: event, payload, ...whose(connectorId) } as NodeMessage]);
            show(spec.status(event, payload, party), connectorId);
            if (spec.stage === 'open' && event === 'phase' && (payload === 'idle' || payload === 'charging')) reportBalance();
          };
          party.on(event, listener);
          listeners.push([party, event, listener]);
        }
        show(spec.status('phase', party.phase, party), connectorId);
        // The party emitted `resumed` while it started, before any node could listen: the open stage reports it once.
        if (spec.stage === 'open' && party.resumedFrom && !reportedResumes.has(party)) {
          reportedResumes.add(party);
          node.send([null, { topic: 'resumed', payload: party.resumedFrom, ...whose(connectorId) } as NodeMessage]);
        }
      }
      if (spec.stage === 'open') reportBalance();
    },
    // The charging-party node logs why its party did not start.
    () => {
      if (!closed) node.status({ fill: 'red', shape: 'ring', text: RED._(`${prefix}.party-failed`) });
    },
  );

  node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
    partyNode.parties
      .then(async (parties) => {
        if (!isMqttTopic(msg.topic)) return spec.command(partyFor(parties, (msg as { connector?: unknown }).connector), msg);
        // The topic names the connector (a station's parties are keyed by it): the party it is addressed to takes
        // it. A vehicle has one party, whichever station it charges at.
        const party = parties.size === 1 ? [...parties.values()][0] : parties.get(parseTopic(msg.topic)?.stationId ?? '');
        const stage = party?.stageOf(msg.topic) ?? null;
        if (!party || stage === null || (stage !== spec.stage && !(stage === 'offer' && spec.stage === 'open'))) return;
        return party.receiveOnTopic(msg.topic, stage, msg.payload);
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
    closed = true;
    partyNode.detachOutlet(spec.stage, outlet);
    for (const [party, event, listener] of listeners) party.off(event, listener);
    done();
  });
}

/** The status a node of either role shows for a phase of the session. */
export function phaseStatus(RED: NodeAPI, type: string, phase: Phase, party: AnyParty): NodeStatus {
  const key = phase === 'idle' ? `idle-${party.role}` : phase;
  const fill = phase === 'charging' ? 'green' : phase === 'idle' ? 'grey' : 'yellow';
  return { fill, shape: phase === 'charging' ? 'dot' : 'ring', text: RED._(`${type}.status.${key}`) };
}
