import { EventEmitter } from 'node:events';
import { MAX_CLOCK_SKEW_S, type ChannelState } from '../flash';
import {
  AnyEnvelope,
  Bodies,
  checkStage,
  classify,
  commit,
  DEFAULT_LIMITS,
  digestOf,
  initialSequencer,
  KeyPair,
  makeEnvelope,
  MessageLimits,
  MessageType,
  parseEnvelope,
  parseTopic,
  ProtocolError,
  RateLimiter,
  Role,
  signEnvelope,
  Stage,
  topicFor,
  verifyEnvelope,
} from '../protocol';
import type { Wallet } from '../wallet';
import { Heartbeat } from './heartbeat';
import { SessionJournal } from './journal';
import { ChannelTangle } from './tangle';
import { ChannelNarrator } from './teaching';
import type { Phase, SessionSnapshot } from './types';

export interface PartyOptions {
  /** Our id: the station id, or the vehicle id. */
  id: string;
  /**
   * A station's own id. On a vehicle: the one station it charges at, or '' to choose among all the stations whose
   * offers it hears (the session's topics are then those of the chosen station).
   */
  stationId: string;
  /** Topic prefix, e.g. `m2m-ev/v1`. */
  prefix: string;
  wallet: Wallet;
  journal: SessionJournal<SessionSnapshot>;
  now?: () => number;
  /** How often to poll the Tangle while waiting for a confirmation. */
  pollMs?: number;
  limits?: MessageLimits;
  /**
   * How long the peer may stay silent during a session before this side gives up on it and settles the latest
   * co-signed state by itself, ms; 0 = never. Each side sends a heartbeat (a `resend` request) every third of it.
   */
  peerTimeoutMs?: number;
  /** Interval of the heartbeat when no peer timeout is set, ms (default 15 s). */
  heartbeatMs?: number;
  /** At most this many messages per second on each of our topics (default 50, bursts of twice that). */
  messagesPerSecond?: number;
  /**
   * The largest difference between the peer's clock and ours that we accept, s (default 600): a proposal
   * timestamped further away is refused, and a heartbeat that shows more raises a `clock` event.
   */
  clockToleranceS?: number;
  /**
   * Called at each step a crash could fall between: after every journal write (before the messages that depend on
   * it leave), and after our own bundles reached the Tangle (before the journal records it). Fault-injection tests
   * crash here.
   */
  onStep?: (step: string) => void;
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
    peerKey: '',
    sessionKeys: null,
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
    ownMeter: null,
    ownDeposit: { state: 'none', tail: '' },
    settlement: null,
  };
}

/**
 * What a station and a vehicle have in common: one session at a time, inputs handled strictly one after the
 * other, every received message checked completely (size, schema, signature, sender, session, sequence) before
 * it is used, and the session persisted before any message that depends on it is sent.
 *
 * Events: `send` (Outgoing), `phase` (Phase), `warning` (string), `resumed` ({sessionId, phase}), plus the role's
 * own events.
 */
export abstract class Party extends EventEmitter {
  abstract readonly role: Role;
  protected snapshot!: SessionSnapshot;
  protected readonly now: () => number;
  protected readonly clockToleranceS: number;
  private queue: Promise<unknown> = Promise.resolve();
  protected closed = false;
  /** The channel's view for teaching, after each step (the `channel` event). */
  private readonly narrator = new ChannelNarrator();
  /** The session that ended last, whose late messages are ignored rather than refused. */
  private ended: { sessionId: string; peerKey: string } | null = null;
  private readonly topicRate: RateLimiter;
  /** Made by `start`, once the role is known. */
  private heartbeat!: Heartbeat;
  protected readonly tangle: ChannelTangle;

  constructor(protected readonly options: PartyOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.clockToleranceS = options.clockToleranceS ?? MAX_CLOCK_SKEW_S;
    const perSecond = options.messagesPerSecond ?? 50;
    this.topicRate = new RateLimiter('messages', perSecond, perSecond * 2);
    this.tangle = new ChannelTangle(options.wallet, options.pollMs ?? 1000, () => this.closed, (label) => this.reached(label));
  }

  get peerRole(): Role {
    return this.role === 'station' ? 'vehicle' : 'station';
  }

  /**
   * The stage of a message addressed to this party on `topic` (topicFor: the open, pay and settle topics of its
   * session's station, and a vehicle's offer topics), or null for any other topic: the other side's, another
   * station's, anything else.
   */
  stageOf(topic: unknown): Stage | null {
    const parsed = parseTopic(topic);
    if (!parsed || (parsed.stage === 'offer' && this.role === 'station')) return null;
    const stationId = this.stationOf(this.snapshot ?? emptySnapshot(this.role));
    return topic === topicFor(this.options.prefix, stationId, parsed.stage, this.role) ? parsed.stage : null;
  }

  /** Handles one message as an MQTT subscription delivers it: `stage` is its topic's stageOf. */
  receiveOnTopic(_topic: string, stage: Stage, payload: unknown): Promise<'handled' | 'duplicate'> {
    return this.receive(stage, payload);
  }

  /** A copy of the current session, for status displays and tests. */
  get session(): Readonly<SessionSnapshot> {
    return structuredClone(this.snapshot);
  }

  /**
   * The session this instance restored from its journal when it started, or null. The `resumed` event says the
   * same while `start` runs; this is for listeners that can only attach after it (the Node-RED stage nodes).
   */
  resumedFrom: { sessionId: string; phase: Phase } | null = null;

  get phase(): Phase {
    return this.snapshot.phase;
  }

  /**
   * Loads the journal and resumes a session a crash left open: resends what the peer may not have, and finishes
   * the step that was under way. A damaged journal rejects with a JournalError, and this party stays stopped.
   */
  async start(): Promise<void> {
    const saved = await this.options.journal.load();
    this.snapshot = saved ?? emptySnapshot(this.role);
    this.heartbeat = new Heartbeat(
      {
        role: this.role,
        peerRole: this.peerRole,
        prefix: this.options.prefix,
        stationOf: (s) => this.stationOf(s),
        now: () => this.now(),
        current: () => this.snapshot,
        signingKeys: (s) => (this.role === 'station' || s.sessionKeys !== null ? this.signingKeys(s) : null),
        send: (message) => this.emit('send', message),
        resend: (fromSeq) => this.resend(fromSeq),
        silent: () => this.exclusive(() => this.onPeerSilent()).catch((err) => this.emit('warning', (err as Error).message)),
        emit: (event, payload) => this.emit(event, payload),
      },
      { peerTimeoutMs: this.options.peerTimeoutMs ?? 0, heartbeatMs: this.options.heartbeatMs ?? 15_000, clockToleranceS: this.clockToleranceS },
    );
    const resumed = saved !== null && saved.phase !== 'idle';
    this.heartbeat.start(resumed);
    if (resumed) {
      this.resumedFrom = { sessionId: saved.sessionId, phase: saved.phase };
      this.emit('resumed', this.resumedFrom);
      this.resend(1);
      await this.resume();
    }
  }

  /**
   * Stops the timers at once; resolves once the step under way is saved and the journal's file is closed, so that
   * a party that takes over the same journal (a redeployed node) starts only after this one's last append.
   */
  close(): Promise<void> {
    this.closed = true;
    this.heartbeat?.stop();
    // A file that fails to close loses nothing: every append was synced.
    return this.queue.then(() => this.options.journal.close()).catch(() => undefined);
  }

  /**
   * Handles one message from the peer, received on `stage`'s topic. Resolves 'duplicate' for a redelivery it
   * ignored (or a late message of the session that just ended); rejects (with a ProtocolError or FlashError naming the problem) for anything it refused, in which
   * case nothing changed.
   */
  receive(stage: Stage, payload: unknown): Promise<'handled' | 'duplicate'> {
    try {
      this.topicRate.take(stage);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.exclusive(async () => {
      if (!this.snapshot) throw new Error(`the ${this.role} has not started (see its journal error)`);
      const envelope = parseEnvelope(payload, this.options.limits ?? DEFAULT_LIMITS);
      checkStage(envelope.type, stage);
      if (envelope.from !== this.peerRole) {
        throw new ProtocolError('WRONG_SENDER', `a ${this.role} takes messages from a ${this.peerRole}, not from a ${envelope.from}`);
      }
      const opensSession = this.opensSession(envelope);
      if (!opensSession && envelope.type !== 'offer' && (envelope.session !== this.snapshot.sessionId || this.snapshot.phase === 'idle')) {
        // A heartbeat or a report that crossed the end of its session (the peer's `settled` after we saw the
        // settlement on the Tangle ourselves, say) is no error: authentic, it is ignored.
        if (this.ended && envelope.session === this.ended.sessionId) {
          verifyEnvelope(envelope, this.ended.peerKey);
          return 'duplicate';
        }
        if (await this.overhear(envelope)) return 'duplicate';
        throw new ProtocolError('WRONG_SESSION', `message for session "${envelope.session}", ours is "${this.snapshot.sessionId || 'none'}"`);
      }
      // Authenticate before the sequencer sees the message: a forgery must not use up a sequence number.
      verifyEnvelope(envelope, await this.keyFor(envelope));
      if (envelope.type === 'resend') {
        this.heartbeat.received(envelope.ts, envelope.body.fromSeq);
        return 'handled';
      }
      // The open of the session under way, sent again after the peer restarted: already handled.
      if (opensSession && this.snapshot.phase !== 'idle' && envelope.session === this.snapshot.sessionId && this.snapshot.inbound.recent[String(envelope.seq)] === digestOf(envelope)) return 'duplicate';
      const sequenced = !opensSession && envelope.type !== 'offer';
      if (sequenced) {
        try {
          if (classify(this.snapshot.inbound, envelope.seq, envelope).kind === 'duplicate') return 'duplicate';
        } catch (err) {
          if (err instanceof ProtocolError && err.code === 'SEQ_GAP') this.heartbeat.ping(stage);
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
        this.heartbeat.heard();
      }
      await this.apply(step, `received ${envelope.type}`);
      return 'handled';
    });
  }

  /** The station whose topics carry this session: our own id on a station; the chosen station on a vehicle. */
  protected stationOf(_s: SessionSnapshot): string {
    return this.options.stationId;
  }

  /** The public key the message must be signed with; throws UNTRUSTED_KEY for a key this side does not trust. */
  protected keyFor(_envelope: AnyEnvelope): Promise<string> | string {
    if (!this.snapshot.peerKey) throw new ProtocolError('UNTRUSTED_KEY', 'no peer key is bound to this session');
    return this.snapshot.peerKey;
  }

  /**
   * A message of a session not ours, on our topics: whether it is another party's authentic traffic that we only
   * overheard (then it is ignored, after any conclusion drawn from it). False leaves it refused as WRONG_SESSION.
   */
  protected overhear(_envelope: AnyEnvelope): Promise<boolean> | boolean {
    return false;
  }

  /** The key that signs what we send. */
  protected abstract signingKeys(snapshot: SessionSnapshot): KeyPair;

  /**
   * Continues the journal's session after a restart (the outbox has already been sent again): finishes funding
   * once the opening state is co-signed (until then the outbox brings it), or finishes settling.
   */
  private async resume(): Promise<void> {
    const s = this.snapshot;
    if (s.phase === 'funding' && s.channel?.chain.length) this.background(() => this.fund());
    if (s.phase === 'settling') this.background(() => this.finishSettling());
  }

  /** Deposits our share (once, also across a crash) and goes on once the channel is funded. */
  protected abstract fund(): Promise<void>;

  /** Brings the latest co-signed state to a confirmed settlement on the Tangle, and reports the session. */
  protected abstract finishSettling(): Promise<void>;

  /** Gives up on a peer that has been silent past the peer timeout: settles what is co-signed. */
  protected abstract onPeerSilent(): Promise<void>;

  private async refuse(stage: Stage, envelope: AnyEnvelope, err: Error): Promise<void> {
    const code = (err as { code?: string }).code ?? 'REFUSED';
    await this.apply(
      {
        snapshot: { ...this.snapshot, inbound: commit(this.snapshot.inbound, envelope.seq, envelope) },
        send: envelope.type === 'error' ? [] : [{ stage, type: 'error', body: { code: code.slice(0, 64), message: err.message.slice(0, 500) } }],
      },
      `refused ${envelope.type}`,
    );
  }

  /** Does this message start a new session (and so carry no session we know yet)? */
  protected abstract opensSession(envelope: AnyEnvelope): boolean;

  /** Decides what a checked message does. Must not change `this.snapshot`: return the next one instead. */
  protected abstract handle(stage: Stage, envelope: AnyEnvelope): Promise<Step>;

  /** The messages both roles treat alike; anything else is not for this role. */
  protected handleCommon(stage: Stage, envelope: AnyEnvelope): Step {
    const s = this.snapshot;
    switch (envelope.type) {
      case 'deposit':
        // A notice only: each side checks the deposit address on the Tangle itself, so nothing is kept of it.
        return { snapshot: s };
      case 'error':
        this.emit('warning', `${this.peerRole} reports ${envelope.body.code}: ${envelope.body.message}`);
        return { snapshot: s };
      default:
        throw new ProtocolError('UNKNOWN_TYPE', `a ${this.role} does not expect "${envelope.type}" on the ${stage} topic`);
    }
  }

  /** Runs a local action (a meter reading, a stop) in turn with the messages. */
  protected exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Persist (with fsync), then send, then tell the flow, then start the follow-up work. */
  protected async apply(step: Step, label = 'step'): Promise<void> {
    let next = step.snapshot;
    const outgoing: Outgoing[] = [];
    for (const message of step.send ?? []) {
      const isOffer = message.type === 'offer';
      const seq = isOffer ? 0 : next.outSeq + 1;
      const unsigned = makeEnvelope(message.type, this.role, isOffer ? '' : next.sessionId, seq, message.body, this.now());
      const envelope = signEnvelope(unsigned, this.signingKeys(next)) as AnyEnvelope;
      if (!isOffer) next = { ...next, outSeq: seq, outbox: [...next.outbox, { stage: message.stage, envelope }].slice(-OUTBOX_SIZE) };
      const to = message.stage === 'offer' ? 'vehicle' : this.peerRole;
      outgoing.push({ stage: message.stage, topic: topicFor(this.options.prefix, this.stationOf(next), message.stage, to), payload: envelope, retain: isOffer });
    }
    const phaseChanged = next.phase !== this.snapshot?.phase;
    if (next.phase === 'idle' && this.snapshot && this.snapshot.phase !== 'idle') this.ended = { sessionId: this.snapshot.sessionId, peerKey: this.snapshot.peerKey };
    if (next.sessionId !== this.snapshot?.sessionId) this.heartbeat.heard();
    await this.options.journal.save(next);
    const previous = this.snapshot as SessionSnapshot | undefined;
    this.snapshot = next;
    this.reached(`${label}${outgoing.length ? ` → ${outgoing.map((o) => o.payload.type).join(', ')}` : ''}`);
    for (const message of outgoing) this.emit('send', message);
    if (phaseChanged) this.emit('phase', next.phase);
    for (const [event, payload] of step.events ?? []) this.emit(event, payload);
    // Only for a listener (a teaching dashboard): the view copies the tree, which no payment needs.
    if (this.listenerCount('channel') > 0) for (const view of this.narrator.views(previous, next, Date.now())) this.emit('channel', view);
    if (step.after) this.background(step.after);
  }

  /** Names a step for `onStep`: role, what happened, phase. */
  protected reached(label: string): void {
    this.options.onStep?.(`${this.role}: ${label} [${this.snapshot.phase}]`);
  }

  /** Runs slow follow-up work (deposits, confirmations) off the message queue; a failure becomes a warning. */
  protected background(work: () => Promise<void>): void {
    work().catch((err) => {
      if (!this.closed) this.emit('warning', (err as Error).message);
    });
  }

  /** Answers a resend request: the messages from `fromSeq` on, as sent, from the outbox. */
  protected resend(fromSeq: number): void {
    for (const { stage, envelope } of this.snapshot.outbox.filter((m) => m.envelope.seq >= fromSeq)) {
      this.emit('send', { stage, topic: topicFor(this.options.prefix, this.stationOf(this.snapshot), stage, this.peerRole), payload: envelope, retain: false });
    }
  }

  /**
   * Whether the peer vanished during funding with our deposit recoverable: the opening state is co-signed and
   * both deposits are in, so attaching it pays each side its deposit back.
   */
  protected async canRefund(s: SessionSnapshot): Promise<boolean> {
    return s.channel !== null && s.channel.chain.length > 0 && (await this.tangle.fullyFunded(s.channel));
  }

  /**
   * Sends our deposit once, also across crashes: 'sending' is journaled before the wallet sends, and the wallet
   * sends to the deposit address at most once, keeping the receipt until 'sent' is journaled. A journal of an
   * earlier version left in 'sending' asks the Tangle too (a transfer of our amount to the deposit address from
   * one of the addresses our wallet still knows).
   */
  protected async depositOnce(address: string, value: number): Promise<string | null> {
    const own = this.snapshot.ownDeposit;
    const session = this.snapshot.sessionId;
    if (own.state === 'sent') return null;
    let tail = own.state === 'sending' ? await this.tangle.findOwnDeposit(address, value) : null;
    if (!tail) {
      await this.exclusive(() => {
        // The peer may have given the session up meanwhile (a stop during funding): then nothing goes in.
        if (this.snapshot.sessionId !== session || this.snapshot.phase !== 'funding' || this.snapshot.stopReason) throw new Error(`session ${session} ended before our deposit: nothing deposited`);
        return this.apply({ snapshot: { ...this.snapshot, ownDeposit: { state: 'sending', tail: '' } } }, 'deposit sending');
      });
      tail = (await this.options.wallet.send(address, value, { once: true })).tail;
      this.reached('deposit attached');
    }
    await this.exclusive(() =>
      this.apply(
        {
          snapshot: { ...this.snapshot, ownDeposit: { state: 'sent', tail } },
          send: [{ stage: 'open', type: 'deposit', body: { tail, value } }],
        },
        'deposit sent',
      ),
    );
    this.options.wallet.forgetSentOnce(address);
    return tail;
  }

  protected channelOf(snapshot: SessionSnapshot): ChannelState {
    if (!snapshot.channel) throw new ProtocolError('WRONG_SESSION', 'no channel is open');
    return snapshot.channel;
  }
}
