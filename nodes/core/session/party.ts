import { EventEmitter } from 'node:events';
import type { ChannelState } from '../flash';
import {
  AnyEnvelope,
  Bodies,
  checkStage,
  classify,
  commit,
  DEFAULT_LIMITS,
  initialSequencer,
  makeEnvelope,
  MessageLimits,
  MessageType,
  parseEnvelope,
  ProtocolError,
  Role,
  Stage,
  topicFor,
} from '../protocol';
import type { Wallet } from '../wallet';
import { SessionJournal } from './journal';
import type { Phase, SessionSnapshot } from './types';

export interface PartyOptions {
  /** Our id: the station id, or the vehicle id. */
  id: string;
  /** The station whose topics carry the session (for a station, its own id). */
  stationId: string;
  /** Topic prefix, e.g. `m2m-ev/v1`. */
  prefix: string;
  wallet: Wallet;
  journal: SessionJournal<SessionSnapshot>;
  now?: () => number;
  /** How often to poll the Tangle while waiting for a confirmation. */
  pollMs?: number;
  limits?: MessageLimits;
}

/** A message for an `mqtt out` node: the adapter of the node that handles `stage` sends it. */
export interface Outgoing {
  stage: Stage;
  topic: string;
  payload: AnyEnvelope;
  retain: boolean;
}

/** A message to send, before it gets its seq and envelope. */
export interface Send<T extends MessageType = MessageType> {
  stage: Stage;
  type: T;
  body: Bodies[T];
}

/** The result of handling one input: the snapshot to persist, then the messages and events that depend on it. */
export interface Step {
  snapshot: SessionSnapshot;
  send?: Send[];
  events?: [string, unknown][];
  /** Slow follow-up work (deposits, confirmations, attaching) that runs after the step is persisted and sent. */
  after?: () => Promise<void>;
}

const OUTBOX_SIZE = 16;

export function emptySnapshot(role: Role): SessionSnapshot {
  return {
    version: 1,
    role,
    phase: 'idle',
    sessionId: '',
    peerId: '',
    offer: null,
    channel: null,
    inbound: initialSequencer(),
    outSeq: 0,
    outbox: [],
    targetWh: 0,
    startedAt: 0,
    readyAt: 0,
    stoppedAt: 0,
    stopReason: null,
    startRegisterWh: 0,
    lastRegisterWh: 0,
    lastReadAt: 0,
    claimedIncrements: 0,
    paidIncrements: 0,
    depositTails: [],
    settlement: null,
  };
}

/**
 * What a station and a vehicle have in common: one session at a time, inputs handled strictly one after the
 * other, every received message checked completely (schema, sender, session, sequence) before it is used, and
 * the session persisted before any message that depends on it is sent.
 *
 * Events: `send` (Outgoing), `phase` (Phase), `warning` (string), plus the role's own events.
 */
export abstract class Party extends EventEmitter {
  abstract readonly role: Role;
  protected snapshot!: SessionSnapshot;
  protected readonly now: () => number;
  protected readonly pollMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(protected readonly options: PartyOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 1000;
  }

  get peerRole(): Role {
    return this.role === 'station' ? 'vehicle' : 'station';
  }

  /** A copy of the current session, for status displays and tests. */
  get session(): Readonly<SessionSnapshot> {
    return structuredClone(this.snapshot);
  }

  get phase(): Phase {
    return this.snapshot.phase;
  }

  /** Loads the journal. A session left open by a crash is reported; resuming it is the caller's decision. */
  async start(): Promise<void> {
    const saved = await this.options.journal.load();
    this.snapshot = saved ?? emptySnapshot(this.role);
    if (saved && saved.phase !== 'idle') this.emit('warning', `session ${saved.sessionId} was left in phase ${saved.phase}`);
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Handles one message from the peer, received on `stage`'s topic. Resolves 'duplicate' for a redelivery it
   * ignored; rejects (with a ProtocolError or FlashError naming the problem) for anything it refused, in which
   * case nothing changed.
   */
  receive(stage: Stage, payload: unknown): Promise<'handled' | 'duplicate'> {
    return this.exclusive(async () => {
      const envelope = parseEnvelope(payload, this.options.limits ?? DEFAULT_LIMITS);
      checkStage(envelope.type, stage);
      if (envelope.from !== this.peerRole) {
        throw new ProtocolError('WRONG_SENDER', `a ${this.role} takes messages from a ${this.peerRole}, not from a ${envelope.from}`);
      }
      const opensSession = this.opensSession(envelope);
      const sequenced = !opensSession && envelope.type !== 'offer';
      if (sequenced) {
        if (envelope.session !== this.snapshot.sessionId || this.snapshot.phase === 'idle') {
          throw new ProtocolError('WRONG_SESSION', `message for session "${envelope.session}", ours is "${this.snapshot.sessionId || 'none'}"`);
        }
        try {
          if (classify(this.snapshot.inbound, envelope.seq, envelope).kind === 'duplicate') return 'duplicate';
        } catch (err) {
          if (err instanceof ProtocolError && err.code === 'SEQ_GAP') await this.requestResend(stage);
          throw err;
        }
      }
      let step: Step;
      try {
        step = await this.handle(stage, envelope);
      } catch (err) {
        // A refused message changes nothing but its place in the sequence: the peer hears why, and its next
        // messages are not held up behind it.
        if (sequenced) await this.refuse(stage, envelope, err as Error);
        throw err;
      }
      if (envelope.type !== 'offer') {
        const inbound = opensSession ? initialSequencer() : step.snapshot.inbound;
        step.snapshot = { ...step.snapshot, inbound: commit(inbound, envelope.seq, envelope) };
      }
      await this.apply(step);
      return 'handled';
    });
  }

  private async refuse(stage: Stage, envelope: AnyEnvelope, err: Error): Promise<void> {
    const code = (err as { code?: string }).code ?? 'REFUSED';
    await this.apply({
      snapshot: { ...this.snapshot, inbound: commit(this.snapshot.inbound, envelope.seq, envelope) },
      send: envelope.type === 'error' ? [] : [{ stage, type: 'error', body: { code: code.slice(0, 64), message: err.message.slice(0, 500) } }],
    });
  }

  private async requestResend(stage: Stage): Promise<void> {
    await this.apply({ snapshot: this.snapshot, send: [{ stage, type: 'resend', body: { fromSeq: this.snapshot.inbound.lastSeq + 1 } }] });
  }

  /** Does this message start a new session (and so carry no session we know yet)? */
  protected abstract opensSession(envelope: AnyEnvelope): boolean;

  /** Decides what a checked message does. Must not change `this.snapshot`: return the next one instead. */
  protected abstract handle(stage: Stage, envelope: AnyEnvelope): Promise<Step>;

  /** Runs a local action (a meter reading, a stop) in turn with the messages. */
  protected exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Persist, then send, then tell the flow, then start the follow-up work. */
  protected async apply(step: Step): Promise<void> {
    let next = step.snapshot;
    const outgoing: Outgoing[] = [];
    for (const message of step.send ?? []) {
      const isOffer = message.type === 'offer';
      const seq = isOffer ? 0 : next.outSeq + 1;
      const envelope = makeEnvelope(message.type, this.role, isOffer ? '' : next.sessionId, seq, message.body, this.now()) as AnyEnvelope;
      if (!isOffer) next = { ...next, outSeq: seq, outbox: [...next.outbox, { stage: message.stage, envelope }].slice(-OUTBOX_SIZE) };
      const to = message.stage === 'offer' ? 'vehicle' : this.peerRole;
      outgoing.push({ stage: message.stage, topic: topicFor(this.options.prefix, this.options.stationId, message.stage, to), payload: envelope, retain: isOffer });
    }
    const phaseChanged = next.phase !== this.snapshot?.phase;
    await this.options.journal.save(next);
    this.snapshot = next;
    for (const message of outgoing) this.emit('send', message);
    if (phaseChanged) this.emit('phase', next.phase);
    for (const [event, payload] of step.events ?? []) this.emit(event, payload);
    if (step.after) {
      step.after().catch((err) => {
        if (!this.closed) this.emit('warning', (err as Error).message);
      });
    }
  }

  /** Answers a resend request: the messages from `fromSeq` on, as sent, from the outbox. */
  protected resend(fromSeq: number): void {
    for (const { stage, envelope } of this.snapshot.outbox.filter((m) => m.envelope.seq >= fromSeq)) {
      this.emit('send', { stage, topic: topicFor(this.options.prefix, this.options.stationId, stage, this.peerRole), payload: envelope, retain: false });
    }
  }

  /** Polls the Tangle until every tail is confirmed. */
  protected async waitConfirmed(tails: readonly string[]): Promise<void> {
    while (!this.closed) {
      const states = await this.options.wallet.api.getInclusionStates(tails as string[]);
      if (states.every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    throw new Error('stopped while waiting for the Tangle');
  }

  /** Polls until the channel's deposit address holds the whole deposit. */
  protected async waitFunded(address: string, total: number): Promise<void> {
    while (!this.closed) {
      const { balances } = await this.options.wallet.api.getBalances([address]);
      if (Number(balances[0]) >= total) return;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    throw new Error('stopped while waiting for the deposits');
  }

  /** Attaches the channel's final bundles (as settlementBundles orders them: root first) and returns their tails. */
  protected async attach(bundles: string[][]): Promise<string[]> {
    const { depth, minWeightMagnitude } = this.options.wallet.tangleSettings;
    const tails: string[] = [];
    for (const trytes of bundles) {
      // Each bundle approves its parent's tail, so a node sees the chain in one cone, as the engine advises.
      const reference = tails.at(-1);
      const sent = await this.options.wallet.api.sendTrytes(trytes, depth, minWeightMagnitude, ...(reference ? [reference] : []));
      tails.push(sent.find((tx) => tx.currentIndex === 0)!.hash);
    }
    return tails;
  }

  protected channelOf(snapshot: SessionSnapshot): ChannelState {
    if (!snapshot.channel) throw new ProtocolError('WRONG_SESSION', 'no channel is open');
    return snapshot.channel;
  }
}
