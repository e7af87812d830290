import { EventEmitter } from 'node:events';
import { depositAddress, MAX_CLOCK_SKEW_S, settlementBundles, type ChannelState } from '../flash';
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
  ProtocolError,
  RateLimiter,
  Role,
  signEnvelope,
  Stage,
  topicFor,
  verifyEnvelope,
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
/** How often a restarted party sends a heartbeat until its peer answers, ms. */
const PROBE_MS = 1000;

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

/** A spend from one of the channel's addresses by a bundle that is not our latest state. */
export class OldStateError extends Error {
  override readonly name = 'OldStateError';
  constructor(readonly bundles: string[]) {
    super(`an older channel state was attached to the Tangle (bundle ${bundles[0]?.slice(0, 12)}…)`);
  }
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
  protected readonly pollMs: number;
  protected readonly peerTimeoutMs: number;
  protected readonly clockToleranceS: number;
  /** Whether the peer's last heartbeat showed its clock beyond our tolerance. */
  private clockOff = false;
  private queue: Promise<unknown> = Promise.resolve();
  protected closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private probe: NodeJS.Timeout | null = null;
  /** When the peer last proved it is there (a new message or a fresh heartbeat), by the wall clock. */
  private lastHeard = Date.now();
  /** The newest heartbeat timestamp of the current session's peer: each session's peer has its own clock. */
  private lastPing = { sessionId: '', ts: 0 };
  private lastPingSent = 0;
  /** The session that ended last, whose late messages are ignored rather than refused. */
  private ended: { sessionId: string; peerKey: string } | null = null;
  /** The session we gave up on after the peer fell silent: handled once. */
  private abandoned = '';
  private readonly topicRate: RateLimiter;

  constructor(protected readonly options: PartyOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 1000;
    this.peerTimeoutMs = options.peerTimeoutMs ?? 0;
    this.clockToleranceS = options.clockToleranceS ?? MAX_CLOCK_SKEW_S;
    const perSecond = options.messagesPerSecond ?? 50;
    this.topicRate = new RateLimiter('messages', perSecond, perSecond * 2);
  }

  get peerRole(): Role {
    return this.role === 'station' ? 'vehicle' : 'station';
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
    const interval = this.peerTimeoutMs > 0 ? Math.max(50, Math.floor(this.peerTimeoutMs / 3)) : (this.options.heartbeatMs ?? 15_000);
    this.heartbeat = setInterval(() => this.tick(), interval);
    this.heartbeat.unref();
    if (saved && saved.phase !== 'idle') {
      this.resumedFrom = { sessionId: saved.sessionId, phase: saved.phase };
      this.emit('resumed', this.resumedFrom);
      this.resend(1);
      this.probeUntilHeard(Math.min(PROBE_MS, interval));
      await this.resume();
    }
  }

  /**
   * Stops the timers at once; resolves once the step under way is saved and the journal's file is closed, so that
   * a party that takes over the same journal (a redeployed node) starts only after this one's last append.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.probe) clearInterval(this.probe);
    // A file that fails to close loses nothing: every append was synced.
    return this.queue.then(() => this.options.journal.close()).catch(() => undefined);
  }

  /**
   * After a restart, what we send at once may be lost: an `mqtt out` node drops messages until its broker
   * connection is up. So until the peer is heard from, a heartbeat goes out every `everyMs` (asking for what we
   * missed); the first message from the peer proves the link, and the outbox goes out once more.
   */
  private probeUntilHeard(everyMs: number): void {
    const since = Date.now();
    this.probe = setInterval(() => {
      if (this.closed || this.snapshot.phase === 'idle' || this.lastHeard > since) {
        clearInterval(this.probe!);
        this.probe = null;
        if (!this.closed && this.lastHeard > since) this.resend(1);
        return;
      }
      this.ping();
    }, everyMs);
    this.probe.unref();
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
        throw new ProtocolError('WRONG_SESSION', `message for session "${envelope.session}", ours is "${this.snapshot.sessionId || 'none'}"`);
      }
      // Authenticate before the sequencer sees the message: a forgery must not use up a sequence number.
      verifyEnvelope(envelope, await this.keyFor(envelope));
      if (envelope.type === 'resend') return this.onHeartbeat(envelope.ts, envelope.body.fromSeq);
      // The open of the session under way, sent again after the peer restarted: already handled.
      if (opensSession && this.snapshot.phase !== 'idle' && envelope.session === this.snapshot.sessionId && this.snapshot.inbound.recent[String(envelope.seq)] === digestOf(envelope)) return 'duplicate';
      const sequenced = !opensSession && envelope.type !== 'offer';
      if (sequenced) {
        try {
          if (classify(this.snapshot.inbound, envelope.seq, envelope).kind === 'duplicate') return 'duplicate';
        } catch (err) {
          if (err instanceof ProtocolError && err.code === 'SEQ_GAP') this.ping(stage);
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
        this.lastHeard = Date.now();
      }
      await this.apply(step, `received ${envelope.type}`);
      return 'handled';
    });
  }

  /** The public key the message must be signed with; throws UNTRUSTED_KEY for a key this side does not trust. */
  protected keyFor(_envelope: AnyEnvelope): Promise<string> | string {
    if (!this.snapshot.peerKey) throw new ProtocolError('UNTRUSTED_KEY', 'no peer key is bound to this session');
    return this.snapshot.peerKey;
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

  private onHeartbeat(ts: number, fromSeq: number): 'handled' {
    // Heartbeats are not sequenced; a strictly increasing timestamp keeps a recorded one from being replayed.
    const last = this.lastPing.sessionId === this.snapshot.sessionId ? this.lastPing.ts : 0;
    if (ts <= last) throw new ProtocolError('REPLAY', `heartbeat with timestamp ${ts} is not newer than ${last}: replayed`);
    this.lastPing = { sessionId: this.snapshot.sessionId, ts };
    this.lastHeard = Date.now();
    this.compareClocks(ts);
    this.resend(fromSeq);
    return 'handled';
  }

  /**
   * A heartbeat is signed the moment it is sent, so its timestamp shows the peer's clock. Beyond our tolerance
   * every payment would be refused: the `clock` event ({sessionId, skewS, ok}) names the problem (and its end).
   */
  private compareClocks(ts: number): void {
    const skewS = Math.round((ts - this.now()) / 1000);
    const off = Math.abs(skewS) > this.clockToleranceS;
    if (off === this.clockOff) return;
    this.clockOff = off;
    if (off) this.emit('warning', `the ${this.peerRole}'s clock differs from ours by ${skewS} s, more than the ${this.clockToleranceS} s accepted: payments will be refused; check NTP (or an RTC) on both devices`);
    this.emit('clock', { sessionId: this.snapshot.sessionId, skewS, ok: !off });
  }

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

  /**
   * The heartbeat: a signed `resend` request naming the first of the peer's messages we have not seen. It tells
   * the peer we are here, and makes it send again what got lost (a broker restart, a dropped connection).
   */
  private ping(stage: Stage = 'settle'): void {
    const s = this.snapshot;
    if (s.phase === 'idle' || !this.canSign(s)) return;
    this.lastPingSent = Math.max(this.now(), this.lastPingSent + 1);
    const envelope = signEnvelope(makeEnvelope('resend', this.role, s.sessionId, 0, { fromSeq: s.inbound.lastSeq + 1 }, this.lastPingSent), this.signingKeys(s));
    this.emit('send', { stage, topic: topicFor(this.options.prefix, this.options.stationId, stage, this.peerRole), payload: envelope as AnyEnvelope, retain: false });
  }

  private canSign(s: SessionSnapshot): boolean {
    return this.role === 'station' || s.sessionKeys !== null;
  }

  private tick(): void {
    const s = this.snapshot;
    if (this.closed || !s || s.phase === 'idle') return;
    if (this.peerTimeoutMs > 0 && Date.now() - this.lastHeard > this.peerTimeoutMs && this.abandoned !== s.sessionId) {
      this.abandoned = s.sessionId;
      this.emit('warning', `the ${this.peerRole} has been silent for more than ${Math.round(this.peerTimeoutMs / 1000)} s in session ${s.sessionId} (phase ${s.phase})`);
      this.exclusive(() => this.onPeerSilent()).catch((err) => this.emit('warning', (err as Error).message));
      return;
    }
    this.ping();
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
      outgoing.push({ stage: message.stage, topic: topicFor(this.options.prefix, this.options.stationId, message.stage, to), payload: envelope, retain: isOffer });
    }
    const phaseChanged = next.phase !== this.snapshot?.phase;
    if (next.phase === 'idle' && this.snapshot && this.snapshot.phase !== 'idle') this.ended = { sessionId: this.snapshot.sessionId, peerKey: this.snapshot.peerKey };
    if (next.sessionId !== this.snapshot?.sessionId) this.lastHeard = Date.now();
    await this.options.journal.save(next);
    this.snapshot = next;
    this.reached(`${label}${outgoing.length ? ` → ${outgoing.map((o) => o.payload.type).join(', ')}` : ''}`);
    for (const message of outgoing) this.emit('send', message);
    if (phaseChanged) this.emit('phase', next.phase);
    for (const [event, payload] of step.events ?? []) this.emit(event, payload);
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
      this.emit('send', { stage, topic: topicFor(this.options.prefix, this.options.stationId, stage, this.peerRole), payload: envelope, retain: false });
    }
  }

  protected sleep(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.pollMs));
  }

  /** What the channel's deposit address holds, confirmed. */
  protected async depositHeld(channel: ChannelState): Promise<number> {
    const { balances } = await this.options.wallet.api.getBalances([depositAddress(channel)]);
    return Number(balances[0]);
  }

  /** Whether the channel's deposit address holds both deposits. */
  protected async fullyFunded(channel: ChannelState): Promise<boolean> {
    return (await this.depositHeld(channel)) >= channel.deposits[0] + channel.deposits[1];
  }

  /** Polls until the channel's deposit address holds both deposits. */
  protected async waitFunded(channel: ChannelState): Promise<void> {
    while (!this.closed) {
      if (await this.fullyFunded(channel)) return;
      await this.sleep();
    }
    throw new Error('stopped while waiting for the deposits');
  }

  /**
   * Whether the peer vanished during funding with our deposit recoverable: the opening state is co-signed and
   * both deposits are in, so attaching it pays each side its deposit back.
   */
  protected async canRefund(s: SessionSnapshot): Promise<boolean> {
    return s.channel !== null && s.channel.chain.length > 0 && (await this.fullyFunded(s.channel));
  }

  /**
   * Sends our deposit once, also across crashes: 'sending' is journaled before the wallet sends; after a crash
   * in between, the Tangle tells whether the bundle left (a transfer of our amount to the deposit address from
   * one of our wallet's addresses).
   */
  protected async depositOnce(address: string, value: number): Promise<string | null> {
    const own = this.snapshot.ownDeposit;
    const session = this.snapshot.sessionId;
    if (own.state === 'sent') return null;
    let tail = own.state === 'sending' ? await this.findOwnDeposit(address, value) : null;
    if (!tail) {
      await this.exclusive(() => {
        // The peer may have given the session up meanwhile (a stop during funding): then nothing goes in.
        if (this.snapshot.sessionId !== session || this.snapshot.phase !== 'funding' || this.snapshot.stopReason) throw new Error(`session ${session} ended before our deposit: nothing deposited`);
        return this.apply({ snapshot: { ...this.snapshot, ownDeposit: { state: 'sending', tail: '' } } }, 'deposit sending');
      });
      tail = (await this.options.wallet.send(address, value)).tail;
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
    return tail;
  }

  private async findOwnDeposit(address: string, value: number): Promise<string | null> {
    const api = this.options.wallet.api;
    const ours = new Set(this.options.wallet.addresses().map((a) => a.address));
    const incoming = await api.getTransactionObjects(await api.findTransactions({ addresses: [address] }));
    for (const bundle of new Set(incoming.filter((tx) => tx.value === value).map((tx) => tx.bundle))) {
      const txs = await api.getTransactionObjects(await api.findTransactions({ bundles: [bundle] }));
      if (txs.some((tx) => tx.value < 0 && ours.has(tx.address))) return txs.find((tx) => tx.currentIndex === 0)!.hash;
    }
    return null;
  }

  /**
   * Attaches the channel's latest co-signed state (as settlementBundles orders it: root first) and returns the
   * tails. A bundle already on the Tangle (attached by the peer, or by us before a crash) is not attached again.
   */
  protected async attachLatest(channel: ChannelState): Promise<string[]> {
    const { depth, minWeightMagnitude } = this.options.wallet.tangleSettings;
    const bundles = settlementBundles(channel);
    const tails: string[] = [];
    for (let i = 0; i < bundles.length; i++) {
      const existing = await this.tailsOf(channel.chain[i].hash);
      if (existing.length > 0) {
        tails.push(existing[0]);
        continue;
      }
      // Each bundle approves its parent's tail, so a node sees the chain in one cone, as the engine advises.
      const reference = tails.at(-1);
      try {
        const sent = await this.options.wallet.api.sendTrytes(bundles[i], depth, minWeightMagnitude, ...(reference ? [reference] : []));
        tails.push(sent.find((tx) => tx.currentIndex === 0)!.hash);
      } catch (err) {
        // The peer attached the same bundle a moment earlier (the ledger refuses it twice), or an older state won.
        const attached = await this.tailsOf(channel.chain[i].hash);
        if (attached.length > 0) {
          tails.push(attached[0]);
          continue;
        }
        const foreign = await this.foreignSpends(channel, true);
        if (foreign.length > 0) throw new OldStateError(foreign);
        throw err;
      }
    }
    this.reached('settlement attached');
    return tails;
  }

  /** Whether every bundle of the channel's latest state is on the Tangle, attached by either side. */
  protected async isAttached(channel: ChannelState): Promise<boolean> {
    for (const { hash } of channel.chain) if ((await this.tailsOf(hash)).length === 0) return false;
    return true;
  }

  private async tailsOf(bundle: string): Promise<string[]> {
    const api = this.options.wallet.api;
    const hashes = await api.findTransactions({ bundles: [bundle] });
    if (hashes.length === 0) return [];
    return (await api.getTransactionObjects(hashes)).filter((tx) => tx.currentIndex === 0).map((tx) => tx.hash);
  }

  /**
   * Whether every bundle of the latest state is confirmed, by bundle hash (any of its attachments counts: a
   * reattachment of an accepted bundle is never confirmed itself). Throws OldStateError when another bundle
   * spending one of the channel's addresses is confirmed instead.
   */
  protected async isSettled(channel: ChannelState): Promise<boolean> {
    const api = this.options.wallet.api;
    for (const { hash } of channel.chain) {
      const hashes = await api.findTransactions({ bundles: [hash] });
      if (hashes.length === 0 || !(await api.getInclusionStates(hashes)).some(Boolean)) {
        const foreign = await this.foreignSpends(channel, true);
        if (foreign.length > 0) throw new OldStateError(foreign);
        return false;
      }
    }
    return true;
  }

  /** Polls until the latest state is confirmed (see isSettled). */
  protected async waitSettled(channel: ChannelState): Promise<void> {
    while (!this.closed) {
      if (await this.isSettled(channel)) return;
      await this.sleep();
    }
    throw new Error('stopped while waiting for the Tangle');
  }

  /**
   * Bundles on the Tangle that spend one of the channel's used addresses and are not part of its latest state
   * (nor of the state being signed): an older state, attached by the peer.
   */
  protected async foreignSpends(channel: ChannelState, confirmedOnly = false): Promise<string[]> {
    const api = this.options.wallet.api;
    const addresses = Object.values(channel.nodes)
      .filter((n) => n.signedBundles.length > 0 && n.address)
      .map((n) => n.address!);
    if (addresses.length === 0) return [];
    const known = new Set([...channel.chain.map((b) => b.hash), ...(channel.pending ? [...channel.pending.bundles, ...channel.pending.reused].map((b) => b.hash) : [])]);
    const hashes = await api.findTransactions({ addresses });
    if (hashes.length === 0) return [];
    const txs = await api.getTransactionObjects(hashes);
    const spends = txs.filter((tx) => tx.value < 0 && !known.has(tx.bundle));
    if (spends.length === 0) return [];
    const states = confirmedOnly ? await api.getInclusionStates(spends.map((tx) => tx.hash)) : spends.map(() => true);
    return [...new Set(spends.filter((_, i) => states[i]).map((tx) => tx.bundle))];
  }

  protected channelOf(snapshot: SessionSnapshot): ChannelState {
    if (!snapshot.channel) throw new ProtocolError('WRONG_SESSION', 'no channel is open');
    return snapshot.channel;
  }
}
