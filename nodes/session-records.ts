import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { ChargeDetailRecord, chargeDetailRecord, chargeDetailRecords, Place, reconcile, Reconciliation, RecordError, RecordStore, toCsv } from './core/records';
import type { PaymentEvent, SessionRecord } from './core/session';
import type { IotaTangleNode } from './types';
import { dataDir, messageOf } from './support/runtime';

interface SessionRecordsDef extends NodeDef {
  role: 'station' | 'vehicle';
  file: string;
  evseUid: string;
  connectorId: string;
  /** An `iota-tangle` config node: when set, each settled session is reconciled with the Tangle. */
  tangle?: string;
  wires?: string[][];
}

interface OpenedEvent {
  sessionId: string;
  vehicleId?: string;
  stationId?: string;
  depositAddress?: string;
  deposits?: { vehicle: number; station: number };
}

/** The stores of the deployed `session-records` nodes, by node id, for the HTTP export. */
const stores = new Map<string, Promise<RecordStore>>();

/**
 * `session-records`: writes the charging nodes' events (`opened`, `paid`, `settled` from their second outputs)
 * to the records database, and passes each message on with the session's record once it is on disk (a settled
 * one with its reconciliation, when a Tangle is configured). Its second output sends the billing summary after
 * each recorded event, and on `msg.topic` `billing`.
 */
export = function (RED: NodeAPI) {
  function SessionRecords(this: Node, def: SessionRecordsDef) {
    RED.nodes.createNode(this, def);
    const place: Place = { role: def.role === 'vehicle' ? 'vehicle' : 'station', evseUid: def.evseUid?.trim() || undefined, connectorId: def.connectorId?.trim() || undefined };
    // A database folder belongs to one node (it is locked): by default each side has its own, so that a station
    // and a vehicle can record in one Node-RED (the single-machine demo).
    const file = (def.file ?? '').trim() === '' ? path.join(dataDir(RED, '', 'records'), place.role, 'records.sqlite') : dataDir(RED, def.file, 'records');
    const store = RecordStore.open(file);
    stores.set(this.id, store);
    const tangleNode = def.tangle ? (RED.nodes.getNode(def.tangle) as IotaTangleNode | null) : null;
    // The summary is a few queries over the whole database: made only when someone listens.
    const billingWired = (def.wires?.[1]?.length ?? 0) > 0;
    const billing = (s: RecordStore): NodeMessage => ({ topic: 'billing', payload: s.billing() });
    store.then(
      (s) => this.status({ fill: 'grey', shape: 'ring', text: RED._('session-records.status.ready', { sessions: s.sessionCount() }) }),
      (err) => {
        this.status({ fill: 'red', shape: 'ring', text: RED._('session-records.status.error') });
        this.error(RED._('session-records.errors.open', { file, message: messageOf(err) }));
      },
    );

    this.on('input', (msg: NodeMessageInFlow, send: (msgs: (NodeMessage | null)[]) => void, done: (err?: Error) => void) => {
      const at = Date.now();
      store
        .then(async (s) => {
          if (msg.topic === 'billing') return send([null, billing(s)]);
          // A station with several connectors names each event's connector.
          const connector = (msg as { connector?: unknown }).connector;
          const sessionId = await write(s, msg, typeof connector === 'string' ? { ...place, connectorId: connector } : place, at);
          if (sessionId === null) return;
          const session = s.session(sessionId)!;
          const record = chargeDetailRecord(session, s.increments(sessionId), s.settlements(sessionId));
          this.status({ fill: record.status === 'charging' ? 'green' : 'grey', shape: 'dot', text: RED._('session-records.status.written', { wh: record.energy_wh, cost: record.total_cost.excl_vat }) });
          const reconciliation = msg.topic === 'settled' && tangleNode ? await reconcileWithTangle(record, tangleNode) : undefined;
          send([{ ...msg, record, ...(reconciliation ? { reconciliation } : {}) }, billingWired ? billing(s) : null]);
        })
        .then(
          () => done(),
          (err: Error) => {
            this.status({ fill: 'red', shape: 'ring', text: RED._('session-records.status.error') });
            done(err instanceof RecordError ? new Error(RED._('session-records.errors.bad-event', { topic: String(msg.topic), message: err.message })) : err);
          },
        );
    });

    /** Checks a settled session against the Tangle, token by token; every difference is a warning. */
    const reconcileWithTangle = async (record: ChargeDetailRecord, tangleNode: IotaTangleNode): Promise<Reconciliation> => {
      const result = await reconcile([record], (await tangleNode.connection).api);
      for (const d of result.differences) {
        this.warn(RED._('session-records.errors.difference', { session: d.sessionId, what: d.what, records: JSON.stringify(d.records), tangle: JSON.stringify(d.tangle) }));
      }
      const ok = result.differences.length === 0;
      this.status({ fill: ok ? 'green' : 'red', shape: ok ? 'dot' : 'ring', text: RED._(`session-records.status.${ok ? 'reconciled' : 'differs'}`, { tokens: result.tokensOnTangle, n: result.differences.length }) });
      return result;
    };

    this.on('close', (_removed: boolean, done: () => void) => {
      stores.delete(this.id);
      store.then((s) => s.close(), () => undefined).finally(done);
    });
  }

  /** Writes one event; returns its session, or null for an event that is not recorded (claims, energy readings). */
  async function write(store: RecordStore, msg: NodeMessageInFlow, place: Place, at: number): Promise<string | null> {
    const payload = msg.payload as Record<string, unknown> | null;
    switch (msg.topic) {
      case 'opened': {
        const opened = payload as unknown as OpenedEvent;
        await store.started({ ...place, ...opened, at });
        return opened.sessionId;
      }
      case 'paid':
        await store.paid(payload as unknown as PaymentEvent, place, at);
        return (payload as unknown as PaymentEvent).sessionId;
      case 'settled':
        await store.settled(payload as unknown as SessionRecord, place, at);
        return (payload as unknown as SessionRecord).session_id;
      default:
        return null;
    }
  }

  RED.nodes.registerType('session-records', SessionRecords);

  // The export lives on the admin API: records name vehicles and revenue, so they are behind the editor's login
  // (adminAuth) and its permissions, never on the public httpNode side.
  for (const format of ['csv', 'json'] as const) {
    RED.httpAdmin.get(`/m2m-ev/records/sessions.${format}`, RED.auth.needsPermission('session-records.read'), (req, res) => {
      const range = { from: timeParam(req.query.from), to: timeParam(req.query.to) };
      if (Number.isNaN(range.from) || Number.isNaN(range.to)) {
        res.status(400).json({ error: RED._('session-records.errors.bad-range') });
        return;
      }
      const wanted = typeof req.query.node === 'string' ? [req.query.node] : [...stores.keys()];
      Promise.all(wanted.map((id) => stores.get(id) ?? Promise.reject(new Error(RED._('session-records.errors.not-deployed', { id })))))
        .then((open) => open.flatMap((s) => chargeDetailRecords(s, range)).sort((a, b) => a.start_date_time.localeCompare(b.start_date_time)))
        .then(
          (records) => {
            if (format === 'json') res.json(records);
            else res.type('text/csv; charset=utf-8').attachment('sessions.csv').send(toCsv(records));
          },
          (err) => res.status(404).json({ error: messageOf(err) }),
        );
    });
  }
};

/** A query parameter as Unix ms: an ISO date or a number of ms; absent is undefined, anything else NaN. */
function timeParam(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return NaN;
  return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
}
