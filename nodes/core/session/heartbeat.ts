import { KeyPair, makeEnvelope, ProtocolError, Role, signEnvelope, Stage, topicFor, type AnyEnvelope } from '../protocol';
import type { Outgoing } from './party';
import type { SessionSnapshot } from './types';

/** How often a restarted party sends a heartbeat until its peer answers, ms. */
const PROBE_MS = 1000;

/** What the heartbeat needs of its party. */
export interface HeartbeatHost {
  readonly role: Role;
  readonly peerRole: Role;
  /** Topic prefix of the session's topics, and the station whose topics carry the session. */
  readonly prefix: string;
  stationOf(s: SessionSnapshot): string;
  now(): number;
  /** The current session (undefined until the journal is loaded). */
  current(): SessionSnapshot | undefined;
  /** The key that signs our messages of this session, or null while we have none (a vehicle before its open). */
  signingKeys(s: SessionSnapshot): KeyPair | null;
  send(message: Outgoing): void;
  /** Sends our messages from `fromSeq` on again, from the outbox. */
  resend(fromSeq: number): void;
  /** The peer has been silent past the peer timeout in the current session (called once a session). */
  silent(): void;
  emit(event: string, payload: unknown): void;
}

export interface HeartbeatOptions {
  /** How long the peer may stay silent before `silent`, ms; 0 = never. The heartbeat runs every third of it. */
  peerTimeoutMs: number;
  /** Interval of the heartbeat when no peer timeout is set, ms. */
  heartbeatMs: number;
  /** The largest difference between the peer's clock and ours that we accept, s. */
  clockToleranceS: number;
}

/**
 * The heartbeat of a session: a signed `resend` request every interval, which tells the peer we are here and makes
 * it send again what got lost; the peer's heartbeats (each newer than the last, so none can be replayed), which
 * show its clock; and the peer timeout, counted from the last time the peer proved it is there.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private probe: NodeJS.Timeout | null = null;
  private stopped = false;
  /** When the peer last proved it is there (a new message or a fresh heartbeat), by the wall clock. */
  private lastHeard = Date.now();
  /** The newest heartbeat timestamp of the current session's peer: each session's peer has its own clock. */
  private lastPing = { sessionId: '', ts: 0 };
  private lastPingSent = 0;
  /** Whether the peer's last heartbeat showed its clock beyond our tolerance. */
  private clockOff = false;
  /** The session we gave up on after the peer fell silent: handled once. */
  private abandoned = '';

  constructor(
    private readonly host: HeartbeatHost,
    private readonly options: HeartbeatOptions,
  ) {}

  /** Starts the interval; after a restart into a session (`resumed`), also probes until the peer answers. */
  start(resumed: boolean): void {
    const { peerTimeoutMs, heartbeatMs } = this.options;
    const interval = peerTimeoutMs > 0 ? Math.max(50, Math.floor(peerTimeoutMs / 3)) : heartbeatMs;
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
    if (resumed) this.probeUntilHeard(Math.min(PROBE_MS, interval));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.probe) clearInterval(this.probe);
  }

  /** The peer proved it is there (or a new session starts: its peer gets the whole timeout). */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** A heartbeat of the peer, authenticated. Throws REPLAY unless it is newer than the last of this session. */
  received(ts: number, fromSeq: number): void {
    // Heartbeats are not sequenced; a strictly increasing timestamp keeps a recorded one from being replayed.
    const sessionId = this.host.current()!.sessionId;
    const last = this.lastPing.sessionId === sessionId ? this.lastPing.ts : 0;
    if (ts <= last) throw new ProtocolError('REPLAY', `heartbeat with timestamp ${ts} is not newer than ${last}: replayed`);
    this.lastPing = { sessionId, ts };
    this.heard();
    this.compareClocks(sessionId, ts);
    this.host.resend(fromSeq);
  }

  /**
   * Sends a heartbeat: a signed `resend` request naming the first of the peer's messages we have not seen. It tells
   * the peer we are here, and makes it send again what got lost (a broker restart, a dropped connection).
   */
  ping(stage: Stage = 'settle'): void {
    const { host } = this;
    const s = host.current();
    const keys = s && s.phase !== 'idle' ? host.signingKeys(s) : null;
    if (!s || !keys) return;
    this.lastPingSent = Math.max(host.now(), this.lastPingSent + 1);
    const envelope = signEnvelope(makeEnvelope('resend', host.role, s.sessionId, 0, { fromSeq: s.inbound.lastSeq + 1 }, this.lastPingSent), keys);
    host.send({ stage, topic: topicFor(host.prefix, host.stationOf(s), stage, host.peerRole), payload: envelope as AnyEnvelope, retain: false });
  }

  /**
   * A heartbeat is signed the moment it is sent, so its timestamp shows the peer's clock. Beyond our tolerance
   * every payment would be refused: the `clock` event ({sessionId, skewS, ok}) names the problem (and its end).
   */
  private compareClocks(sessionId: string, ts: number): void {
    const { host } = this;
    const tolerance = this.options.clockToleranceS;
    const skewS = Math.round((ts - host.now()) / 1000);
    const off = Math.abs(skewS) > tolerance;
    if (off === this.clockOff) return;
    this.clockOff = off;
    if (off) host.emit('warning', `the ${host.peerRole}'s clock differs from ours by ${skewS} s, more than the ${tolerance} s accepted: payments will be refused; check NTP (or an RTC) on both devices`);
    host.emit('clock', { sessionId, skewS, ok: !off });
  }

  /**
   * After a restart, what we send at once may be lost: an `mqtt out` node drops messages until its broker
   * connection is up. So until the peer is heard from, a heartbeat goes out every `everyMs` (asking for what we
   * missed); the first message from the peer proves the link, and the outbox goes out once more.
   */
  private probeUntilHeard(everyMs: number): void {
    const since = Date.now();
    this.probe = setInterval(() => {
      if (this.stopped || this.host.current()?.phase === 'idle' || this.lastHeard > since) {
        clearInterval(this.probe!);
        this.probe = null;
        if (!this.stopped && this.lastHeard > since) this.host.resend(1);
        return;
      }
      this.ping();
    }, everyMs);
    this.probe.unref();
  }

  private tick(): void {
    const s = this.host.current();
    if (this.stopped || !s || s.phase === 'idle') return;
    const { peerTimeoutMs } = this.options;
    if (peerTimeoutMs > 0 && Date.now() - this.lastHeard > peerTimeoutMs && this.abandoned !== s.sessionId) {
      this.abandoned = s.sessionId;
      this.host.emit('warning', `the ${this.host.peerRole} has been silent for more than ${Math.round(peerTimeoutMs / 1000)} s in session ${s.sessionId} (phase ${s.phase})`);
      this.host.silent();
      return;
    }
    this.ping();
  }
}
