import { randomBytes } from 'node:crypto';
import { depthForPayments, depositAddress, mustSettle, offThreadEngine, remainingCapacity, withdrawProposal } from '../flash';
import { maxPlausibleWh, type MeterReading } from '../meter';
import { AnyEnvelope, Claim, digestOf, Envelope, KeyPair, newKeyPair, Offer, parseTopic, ProtocolError, Stage, StopReason, topicFor, verifyEnvelope } from '../protocol';
import { incrementPrice, paymentEvent, sessionRecord } from './accounting';
import type { TrustStore } from './identity';
import { emptySnapshot, Party, PartyOptions, Send, Step } from './party';
import { checkVehiclePolicy } from './policy';
import { OldStateError } from './tangle';
import { offerRefusal, SelectionPolicy, StationChooser } from '../selection';
import type { SessionSnapshot } from './types';

/** A proposal older than this, by our clock, that the station refuses as too far from its clock is stale. */
const STALE_PROPOSAL_MS = 60_000;

/** How long a vehicle that may choose among stations collects their offers before it chooses, unless told. */
const DEFAULT_CHOICE_WINDOW_MS = 2000;
/** How long a station has to answer an open before the vehicle tries the next, unless told. */
const DEFAULT_OPEN_TIMEOUT_MS = 30_000;

export interface VehiclePolicy {
  /** The highest price the vehicle accepts, tokens per kWh. */
  maxPricePerKWh: number;
  /** What the vehicle deposits into each channel; it bounds what one session can cost. */
  deposit: number;
  /** The highest station deposit the vehicle agrees to lock up next to its own (the paper: equal deposits). */
  maxStationDeposit: number;
  /** Energy wanted per session, Wh; 0 = until the station stops (vehicle full, unplugged). */
  targetWh: number;
  /** The vehicle's own limit on charging power, W; claims faster than min(this, the offer's) are refused. */
  maxPowerW: number;
  /** Allowance for a claim against the vehicle's own meter, Wh. */
  meterToleranceWh: number;
  /** The deepest channel tree the vehicle sets up. */
  maxDepth: number;
  security: 1 | 2 | 3;
  /** Open a session by itself as soon as an acceptable offer arrives. */
  autoStart: boolean;
  /** How long to wait for the station to attach the final state before attaching it ourselves, ms (default 60 s). */
  settleGraceMs?: number;
  /** How the vehicle chooses among the stations' offers (default: the cheapest for its target). */
  selection?: Pick<SelectionPolicy, 'strategy' | 'weights' | 'position'>;
  /**
   * How long the vehicle collects offers before it chooses, ms (default 2 s): the retained offers of every station
   * arrive at once when it subscribes. A vehicle with a configured station id opens at once.
   */
  choiceWindowMs?: number;
  /** How long a station may take to answer an open before the vehicle tries the next best, ms (default 30 s). */
  openTimeoutMs?: number;
}

/**
 * The vehicle's half of a charging session: reads the stations' offers, chooses one by its policy (or takes its one
 * configured station), opens a channel within its limits (trying the next best when a station refuses or does
 * not answer), pays
 * each claimed increment after checking it, and closes the channel when it stops. It is channel party 0: it
 * proposes every state, so the two parties never propose at once.
 *
 * Every vehicle message is signed with a key pair made for the session; the station's messages must verify with
 * the station key the vehicle trusts (configured, or pinned on first use in `trust`).
 *
 * Events: `choice` (Choice), `opened`, `paid` (PaymentEvent), `stopping`, `settled` (SessionRecord), `offer` (Offer),
 * `resumed`.
 */
export class VehicleParty extends Party {
  readonly role = 'vehicle' as const;
  /** Every station's verified offer, and the stations passed over. */
  private readonly chooser: StationChooser;
  private choiceTimer: NodeJS.Timeout | null = null;
  private openTimer: NodeJS.Timeout | null = null;
  /** The last choice reported, so that a refreshed offer that changes nothing is not reported again. */
  private lastChoice = '';
  /** The newest reading of the vehicle's own meter, at once; the session persists it with each claim it checks. */
  private ownLatestWh: number | null = null;
  /** A fresh settlement address for the next channel, derived ahead because it costs a WOTS digest. */
  private settlementAddress: string | null = null;
  /** After a rollover: the station the session goes on at, and the energy still wanted there (Wh, 0 = until it stops). */
  private rollover: { stationId: string; remainingWh: number } | null = null;

  constructor(
    options: PartyOptions,
    readonly policy: VehiclePolicy,
    private readonly trust: TrustStore,
  ) {
    super(options);
    checkVehiclePolicy(policy);
    const selection = { strategy: 'cheapest' as const, ...policy.selection, maxPowerW: policy.maxPowerW, energyWh: policy.targetWh };
    this.chooser = new StationChooser(policy, selection, options.stationId);
  }

  /** Loads the journal, resumes a session left open, and derives the settlement address for the next session. */
  override async start(): Promise<void> {
    await super.start();
    await this.prepare();
  }

  override close(): Promise<void> {
    if (this.choiceTimer) clearTimeout(this.choiceTimer);
    if (this.openTimer) clearTimeout(this.openTimer);
    return super.close();
  }

  /** Every station's offer topic (only the configured station's, with one), and the other topics of its session's station. */
  override stageOf(topic: unknown): Stage | null {
    const parsed = parseTopic(topic);
    if (parsed?.stage === 'offer' && this.chooser.hears(parsed.stationId) && topic === topicFor(this.options.prefix, parsed.stationId, 'offer', 'vehicle')) return 'offer';
    return super.stageOf(topic);
  }

  /** An empty payload on an offer topic (an empty retained message) withdraws that station's offer. */
  override async receiveOnTopic(topic: string, stage: Stage, payload: unknown): Promise<'handled' | 'duplicate'> {
    if (stage !== 'offer' || !(payload === '' || (Buffer.isBuffer(payload) && payload.length === 0))) return super.receiveOnTopic(topic, stage, payload);
    await this.offerWithdrawn(parseTopic(topic)!.stationId);
    return 'handled';
  }

  /** The station of the session, once chosen; before that the configured one (or none). */
  protected override stationOf(s: SessionSnapshot): string {
    return s.peerId || this.options.stationId;
  }

  protected signingKeys(s: SessionSnapshot): KeyPair {
    if (!s.sessionKeys) throw new Error('no session key: no session is open');
    return s.sessionKeys;
  }

  protected override async keyFor(envelope: AnyEnvelope): Promise<string> {
    if (envelope.type !== 'offer') return super.keyFor(envelope);
    // Only the configured station's offer topic reaches a vehicle that has one: an offer there naming another
    // station is refused, not silently dropped.
    if (!this.chooser.hears(envelope.body.stationId)) {
      throw new ProtocolError('INVALID_FIELD', `offer names station "${envelope.body.stationId}", and this vehicle takes offers of its configured station only: refused`);
    }
    const trusted = await this.trust.keyOf(envelope.body.stationId);
    if (trusted && trusted !== envelope.body.stationKey) {
      throw new ProtocolError('UNTRUSTED_KEY', `offer for station "${envelope.body.stationId}" signed with a key that is not the one this vehicle trusts: refused`);
    }
    return envelope.body.stationKey;
  }

  /**
   * The station fell silent: once a co-signed state can be attached (any after the deposits are in, the opening
   * state included), attach the latest and confirm it ourselves; before that, drop the session.
   */
  protected async onPeerSilent(): Promise<void> {
    const s = this.snapshot;
    if (s.phase === 'opening' || (s.phase === 'funding' && !(await this.canRefund(s)))) {
      if (s.ownDeposit.state !== 'none') this.emit('warning', `session ${s.sessionId}: our deposit stays in ${depositAddress(this.channelOf(s))} until the station returns`);
      return this.apply({ snapshot: emptySnapshot('vehicle'), events: [['stopping', { sessionId: s.sessionId, reason: 'peer-silent' }]] }, 'peer silent');
    }
    if (s.phase === 'settling') {
      this.background(() => this.settleAlone());
      return;
    }
    await this.apply(
      {
        snapshot: { ...s, phase: 'settling', stopReason: s.stopReason ?? 'peer-silent', stoppedAt: s.stoppedAt || this.now() },
        events: [['stopping', { sessionId: s.sessionId, reason: 'peer-silent' }]],
        after: () => this.settleAlone(),
      },
      'settle alone',
    );
  }

  private async prepare(): Promise<void> {
    this.settlementAddress ??= await this.options.wallet.newAddress();
  }

  /** Chooses a station and opens a session with it now (when autoStart is off, or to start the next session at once). */
  startSession(): Promise<void> {
    return this.exclusive(async () => {
      if (this.snapshot.phase !== 'idle') throw new Error(`a session is already ${this.snapshot.phase}`);
      await this.apply(await this.choose(this.snapshot, true), 'choose');
      if (this.snapshot.phase === 'idle') throw new Error(this.lastChoice);
    });
  }

  /**
   * The station withdrew its offer: an empty retained message on its offer topic (it shut down, or the broker
   * published its Last Will). If our open to it is unanswered, the next best is tried.
   */
  offerWithdrawn(stationId: string): Promise<void> {
    return this.exclusive(async () => {
      if (!this.chooser.book.remove(stationId)) return;
      const s = this.snapshot;
      if (s.phase === 'opening' && s.peerId === stationId) await this.tryNext(s, 'went away');
    });
  }

  /** Stops charging: pays what is claimed, then closes the channel. */
  stop(reason: StopReason): Promise<void> {
    return this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'charging' || s.stopReason) return;
      await this.apply(await this.proceed({ ...s, stopReason: reason, stoppedAt: this.now() }, [{ stage: 'settle', type: 'stop', body: { reason } }], [['stopping', { sessionId: s.sessionId, reason }]]));
    });
  }

  /**
   * A reading of the vehicle's own meter (BMS, a meter on its side): claims beyond it are refused. The first
   * reading of a session is its starting point and goes to the journal at once, so that after a restart the
   * vehicle still measures from there (and never pays a claim its meter did not see).
   */
  ownMeterReading(reading: MeterReading): Promise<void> {
    this.ownLatestWh = Math.max(this.ownLatestWh ?? reading.registerWh, reading.registerWh);
    return this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'charging' || s.ownMeter) return;
      await this.apply({ snapshot: { ...s, ownMeter: { atReadyWh: reading.registerWh, lastWh: reading.registerWh } } }, 'own meter start');
    });
  }

  protected opensSession(): boolean {
    return false;
  }

  protected async handle(stage: Stage, envelope: AnyEnvelope): Promise<Step> {
    const s = this.snapshot;
    switch (envelope.type) {
      case 'offer':
        return this.onOffer(envelope);
      case 'open-accept': {
        if (s.phase !== 'opening') throw new ProtocolError('WRONG_SESSION', 'no open is pending');
        const channel = await offThreadEngine.completeSetup(this.channelOf(s), envelope.body.setup);
        // The opening state comes before any deposit: a payment of zero that pays each side its deposit back, so
        // that a deposit can always be recovered, even if the station vanishes before the first payment.
        const { state, message } = await offThreadEngine.proposeTransfer(channel, this.options.wallet, { amount: 0 }, { now: this.now() });
        // Trust on first use: the key of the first station that accepted a session is the one we accept from now on
        // (pinned last, so that a refused open-accept pins nothing).
        await this.trust.pin(s.peerId, s.peerKey);
        return { snapshot: { ...s, channel: state, phase: 'funding' }, send: [{ stage: 'pay', type: 'proposal', body: message }] };
      }
      case 'open-reject': {
        if (s.phase !== 'opening') throw new ProtocolError('WRONG_SESSION', 'no open is pending');
        const { message } = envelope.body;
        this.emit('warning', `station ${s.peerId} refused the session: ${message}`);
        this.chooser.skip(s.offer!, `refused (${message})`);
        // The next open starts a session of its own, after this refusal has taken its place in this one's sequence.
        return { snapshot: emptySnapshot('vehicle'), after: () => this.chooseNow() };
      }
      case 'ready': {
        if (s.phase !== 'funding') throw new ProtocolError('WRONG_SESSION', `not waiting for the deposits (phase ${s.phase})`);
        const channel = this.channelOf(s);
        const address = depositAddress(channel);
        // Trust, but verify: charging starts only once our own look at the Tangle shows the whole deposit.
        const held = await this.tangle.depositHeld(channel);
        const total = channel.deposits[0] + channel.deposits[1];
        if (held < total) throw new ProtocolError('INVALID_FIELD', `"ready" but the deposit address holds ${held} of ${total}`);
        return {
          snapshot: { ...s, phase: 'charging', readyAt: this.now() },
          events: [['opened', { sessionId: s.sessionId, stationId: s.peerId, depositAddress: address, deposits: { vehicle: channel.deposits[0], station: channel.deposits[1] } }]],
        };
      }
      case 'claim':
        return this.onClaim(envelope.body);
      case 'cosignature': {
        const before = this.channelOf(s);
        const pending = before.pending;
        const { state, message } = await offThreadEngine.completeProposal(before, this.options.wallet, envelope.body);
        const send: Send[] = [{ stage: pending?.close ? 'settle' : 'pay', type: 'completion', body: message }];
        // The opening state is ours to attach now: our deposit can go in.
        if (s.phase === 'funding') return { snapshot: { ...s, channel: state }, send, after: () => this.fund() };
        if (pending?.close) return { snapshot: { ...s, channel: state, phase: 'settling' }, send, after: () => this.finishSettling() };
        const next: SessionSnapshot = { ...s, channel: state, paidIncrements: s.paidIncrements + (pending?.transfer.amount ?? 0) / incrementPrice(s.offer!) };
        return this.proceed(next, send, [['paid', paymentEvent(next, s.offer!, pending?.transfer.amount ?? 0, remainingCapacity(state))]]);
      }
      case 'stop': {
        if (s.phase === 'funding') return this.onFundingStopped(s, envelope.body.reason);
        if (s.stopReason) return { snapshot: s };
        const next: SessionSnapshot = { ...s, stopReason: envelope.body.reason, stoppedAt: this.now() };
        return this.proceed(next, [], [['stopping', { sessionId: s.sessionId, reason: envelope.body.reason }]]);
      }
      case 'settled': {
        const expected = this.channelOf(s).chain.map((b) => b.hash);
        if (s.phase !== 'settling' || envelope.body.bundles.join() !== expected.join()) {
          throw new ProtocolError('INVALID_FIELD', 'the settled bundles are not the final state of this channel');
        }
        // The station's word is only a hint: confirmSettlement asks the Tangle about our own final bundles.
        return { snapshot: s, after: () => this.confirmSettlement() };
      }
      case 'error':
        if (envelope.body.code === 'TIMESTAMP_INVALID' && this.isStale(s)) return this.proposeAgain(s);
        return this.handleCommon(stage, envelope);
      default:
        return this.handleCommon(stage, envelope);
    }
  }

  /**
   * Whether our pending proposal has aged past the point where a refusal of it as "too far from the station's
   * clock" is about its age (an outage held it back) rather than about the two clocks.
   */
  private isStale(s: SessionSnapshot): boolean {
    const pending = s.channel?.pending;
    return pending?.role === 'proposer' && this.now() - pending.timestamp * 1000 > STALE_PROPOSAL_MS;
  }

  /**
   * The station refused our pending proposal as stale. A refused proposal was never co-signed (the station answers
   * a repeat of one it co-signed with that co-signature) and reveals no signature: we withdraw it and propose the
   * same state again with a fresh timestamp, and the channel moves on.
   */
  private async proposeAgain(s: SessionSnapshot): Promise<Step> {
    const pending = s.channel!.pending!;
    const channel = withdrawProposal(s.channel!);
    this.emit('warning', `session ${s.sessionId}: the station refused our proposal of state ${pending.seq} as stale; proposed again`);
    const { state, message } = pending.close
      ? await offThreadEngine.proposeClose(channel, this.options.wallet, { now: this.now() })
      : await offThreadEngine.proposeTransfer(channel, this.options.wallet, { amount: pending.transfer.amount }, { now: this.now() });
    return { snapshot: { ...s, channel: state }, send: [{ stage: pending.close ? 'settle' : 'pay', type: 'proposal', body: message }] };
  }

  /**
   * A station's topics are shared by every vehicle that talks to it: before our session runs there (idle with a
   * configured station, or with our open unanswered), its messages to another vehicle are no error. Its open-accept
   * of another session means that vehicle's open came first: the next best is tried at once, not after the open
   * timeout. Only what the station signed counts; a replay of its old accept could make us skip it, which costs
   * no more than a withdrawn offer does (PROTOCOL.md).
   */
  protected override async overhear(envelope: AnyEnvelope): Promise<boolean> {
    const s = this.snapshot;
    if (s.phase !== 'idle' && s.phase !== 'opening') return false;
    const stationId = this.stationOf(s);
    const key = s.phase === 'opening' ? s.peerKey : (await this.trust.keyOf(stationId)) ?? this.chooser.book.get(stationId)?.stationKey;
    if (!key) return false;
    verifyEnvelope(envelope, key);
    if (s.phase === 'opening' && envelope.type === 'open-accept') await this.tryNext(s, 'taken by another vehicle');
    return true;
  }

  private async onOffer(envelope: Envelope<'offer'>): Promise<Step> {
    const offer = envelope.body;
    const s = this.snapshot;
    if (offer.notAfter <= this.expiryClock()) {
      this.emit('warning', `the offer of ${offer.stationId} expired ${Math.round((this.now() - offer.notAfter) / 1000)} s ago by our clock: ignored`);
      return { snapshot: s };
    }
    this.chooser.book.put(offer);
    this.emit('offer', offer);
    // A new offer while our open to its station is unanswered: the station restarted, or we read a stale retained
    // offer. Nothing is signed or deposited yet, so the open is dropped and the choice made again.
    if (s.phase === 'opening' && offer.stationId === s.peerId && offer.nonce !== s.offer?.nonce) return this.choose(emptySnapshot('vehicle'));
    // A session keeps the terms it opened with, whatever its station offers meanwhile.
    if (s.phase !== 'idle' || !this.policy.autoStart) return { snapshot: s };
    const windowMs = this.options.stationId ? 0 : (this.policy.choiceWindowMs ?? DEFAULT_CHOICE_WINDOW_MS);
    if (windowMs === 0) return this.choose(s);
    this.choiceTimer ??= setTimeout(() => {
      this.choiceTimer = null;
      this.chooseNow().catch((err: Error) => this.emit('warning', err.message));
    }, windowMs);
    return { snapshot: s };
  }

  /** Chooses in turn with the messages, from the session as it is then. */
  private chooseNow(): Promise<void> {
    return this.exclusive(async () => this.apply(await this.choose(this.snapshot), 'choose'));
  }

  /**
   * From an idle session `s`: chooses the best offer and opens a session with it, or stays idle when none can be
   * taken. Reports the choice when it opens, or when what it says has changed (`always`: in any case).
   */
  private async choose(s: SessionSnapshot, always = false): Promise<Step> {
    if (s.phase !== 'idle' || this.closed) return { snapshot: s };
    const { best, choice } = this.chooser.choose(this.expiryClock());
    const report = always || best !== null || choice.text !== this.lastChoice;
    this.lastChoice = choice.text;
    const events: [string, unknown][] = report ? [['choice', choice]] : [];
    if (!best) return { snapshot: s, events };
    await this.prepare();
    const step = await this.open(best);
    return { ...step, events };
  }

  /**
   * The time against which offers expire: ours, less the clock tolerance, so that a station whose clock is behind
   * ours by no more than we accept elsewhere is not taken for gone (and its clock problem gets named in a session).
   */
  private expiryClock(): number {
    return this.now() - this.clockToleranceS * 1000;
  }

  /** The station of our unanswered open refused, fell silent or went away: the next best is tried. */
  private async tryNext(s: SessionSnapshot, reason: string): Promise<void> {
    this.chooser.skip(s.offer!, reason);
    await this.apply(await this.choose(emptySnapshot('vehicle')), `${s.peerId} ${reason}`);
  }

  /** Gives the station of our open `openTimeoutMs` to answer. */
  private watchOpen(sessionId: string): void {
    const timeoutMs = this.policy.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = setTimeout(() => {
      this.exclusive(async () => {
        const s = this.snapshot;
        if (s.phase === 'opening' && s.sessionId === sessionId) await this.tryNext(s, `no answer in ${+(timeoutMs / 1000).toFixed(1)} s`);
      }).catch((err: Error) => this.emit('warning', err.message));
    }, timeoutMs);
  }

  private async open(offer: Offer): Promise<Step> {
    const targetWh = this.rollover?.stationId === offer.stationId ? this.rollover.remainingWh : this.policy.targetWh;
    const sessionId = `${this.options.id}-${randomBytes(6).toString('hex')}`;
    const payments = Math.ceil(this.policy.deposit / incrementPrice(offer));
    // One state more than the payments: the opening state.
    const depth = Math.min(this.policy.maxDepth, depthForPayments(payments + 1));
    const settlement = this.settlementAddress;
    if (!settlement) throw new Error('no settlement address yet: call prepare() first');
    const terms = { channelId: sessionId, depth, security: offer.security, deposits: [this.policy.deposit, offer.stationDeposit] as [number, number] };
    this.settlementAddress = null;
    const { state, message } = await offThreadEngine.openChannel(terms, settlement, this.options.wallet);
    const sessionKeys = newKeyPair();
    return {
      snapshot: {
        ...emptySnapshot('vehicle'),
        phase: 'opening',
        sessionId,
        peerId: offer.stationId,
        peerKey: offer.stationKey,
        sessionKeys,
        offer,
        channel: state,
        targetWh,
        startedAt: this.now(),
      },
      send: [{ stage: 'open', type: 'open', body: { vehicleId: this.options.id, offerDigest: digestOf(offer), targetWh, setup: message, vehicleKey: sessionKeys.publicKey } }],
      after: async () => this.watchOpen(sessionId),
    };
  }


  /**
   * The most energy a claim may count now: what the agreed power (the offer's, at most ours) could have delivered
   * since the channel was ready, plus the credit and one increment; 0 while no session is charging.
   */
  plausibleWh(): number {
    const s = this.snapshot;
    if (s.phase !== 'charging' || !s.offer) return 0;
    const maxPowerW = Math.min(s.offer.maxPowerW, this.policy.maxPowerW);
    return maxPlausibleWh(maxPowerW, Math.max(0, this.now() - s.readyAt)) + s.offer.creditWh + s.offer.incrementWh;
  }

  private async onClaim(claim: Claim): Promise<Step> {
    const s = this.snapshot;
    // A claim the station sent before it heard our close: the session is over, the credit covers it.
    if (s.phase === 'closing' || s.phase === 'settling') return { snapshot: s };
    if (s.phase !== 'charging') throw new ProtocolError('WRONG_SESSION', `no claim is expected in phase ${s.phase}`);
    const offer = s.offer!;
    const deliveredWh = claim.registerWh - claim.startRegisterWh;
    if (claim.increments < s.claimedIncrements) throw new ProtocolError('INVALID_FIELD', `claim of ${claim.increments} increments after one of ${s.claimedIncrements}`);
    if (s.claimedIncrements > 0 && claim.startRegisterWh !== s.startRegisterWh) throw new ProtocolError('INVALID_FIELD', 'the session start register changed');
    if (deliveredWh !== claim.increments * offer.incrementWh) throw new ProtocolError('INVALID_FIELD', `${claim.increments} increments of ${offer.incrementWh} Wh do not make ${deliveredWh} Wh`);
    if (deliveredWh > this.plausibleWh()) {
      const maxPowerW = Math.min(offer.maxPowerW, this.policy.maxPowerW);
      throw new ProtocolError('INVALID_FIELD', `over-claim: ${deliveredWh} Wh in ${Math.round((this.now() - s.readyAt) / 1000)} s is more than ${maxPowerW} W can deliver`);
    }
    // After a restart the journaled register stands in until the meter's next reading.
    const ownMeter = s.ownMeter ? { ...s.ownMeter, lastWh: Math.max(s.ownMeter.lastWh, this.ownLatestWh ?? 0) } : null;
    if (ownMeter) {
      const measuredWh = ownMeter.lastWh - ownMeter.atReadyWh;
      if (deliveredWh > measuredWh + this.policy.meterToleranceWh + offer.incrementWh) {
        throw new ProtocolError('INVALID_FIELD', `over-claim: ${deliveredWh} Wh claimed, our meter measured ${measuredWh} Wh`);
      }
    }
    const next: SessionSnapshot = { ...s, ownMeter, claimedIncrements: claim.increments, startRegisterWh: claim.startRegisterWh, lastRegisterWh: claim.registerWh, lastReadAt: claim.readAt };
    return this.proceed(next, [], []);
  }

  /**
   * With no state being signed, does the next thing: pay what is claimed and unpaid, or, once the session must
   * stop (asked to, target reached, channel nearly exhausted, deposit spent), propose the close.
   */
  private async proceed(next: SessionSnapshot, send: Send[], events: [string, unknown][]): Promise<Step> {
    const channel = this.channelOf(next);
    if (channel.pending || next.phase !== 'charging') return { snapshot: next, send, events };
    const offer = next.offer!;
    const price = incrementPrice(offer);
    const unpaid = Math.min(next.claimedIncrements - next.paidIncrements, Math.floor(channel.balances[0] / price));
    let stopReason = next.stopReason;
    if (!stopReason && next.targetWh > 0 && next.claimedIncrements * offer.incrementWh >= next.targetWh) stopReason = 'target-reached';
    if (!stopReason && mustSettle(channel)) stopReason = 'capacity';
    if (!stopReason && channel.balances[0] - unpaid * price < price) stopReason = 'capacity';
    if (stopReason && !next.stopReason) {
      // Tell the station first, so that it stops the energy while the last payment and the close are signed.
      next = { ...next, stopReason, stoppedAt: this.now() };
      send = [...send, { stage: 'settle', type: 'stop', body: { reason: stopReason } }];
      events = [...events, ['stopping', { sessionId: next.sessionId, reason: stopReason }]];
    }
    if (unpaid > 0 && remainingCapacity(channel) > 0) {
      const { state, message } = await offThreadEngine.proposeTransfer(channel, this.options.wallet, { amount: unpaid * price }, { now: this.now() });
      return { snapshot: { ...next, channel: state }, send: [...send, { stage: 'pay', type: 'proposal', body: message }], events };
    }
    if (stopReason) {
      const { state, message } = await offThreadEngine.proposeClose(channel, this.options.wallet, { now: this.now() });
      return { snapshot: { ...next, channel: state, phase: 'closing' }, send: [...send, { stage: 'settle', type: 'proposal', body: message }], events };
    }
    return { snapshot: next, send, events };
  }

  /** We deposit first: the station deposits only once the Tangle confirms ours (see StationParty.fund). */
  protected async fund(): Promise<void> {
    const channel = this.channelOf(this.snapshot);
    await this.prepare();
    await this.depositOnce(depositAddress(channel), channel.deposits[0]);
  }

  /** The station gave the session up before charging (our deposit came too late, or not at all): we drop it too. */
  private onFundingStopped(s: SessionSnapshot, reason: StopReason): Step {
    const drop = () =>
      this.exclusive(async () => {
        const now = this.snapshot;
        if (now.sessionId !== s.sessionId || now.phase !== 'funding') return;
        if (now.ownDeposit.state !== 'none') {
          this.emit('warning', `session ${s.sessionId}: the station gave up (${reason}); a deposit of ours that went out stays in ${depositAddress(this.channelOf(now))} unless the station resumes the session`);
        }
        await this.apply({ snapshot: emptySnapshot('vehicle') }, 'funding stopped');
        await this.prepare();
      });
    // The stop takes its place in the sequence first; the session is dropped right after.
    return { snapshot: { ...s, stopReason: reason, stoppedAt: this.now() }, events: [['stopping', { sessionId: s.sessionId, reason }]], after: drop };
  }

  /**
   * The station attaches the final state. Meanwhile we watch the Tangle for it, so a `settled` message we missed
   * (while restarting, say) costs nothing; if it is not there within the grace period, we attach it ourselves.
   */
  protected async finishSettling(): Promise<void> {
    const session = this.snapshot.sessionId;
    const channel = this.channelOf(this.snapshot);
    const grace = Date.now() + (this.policy.settleGraceMs ?? 60_000);
    const settling = () => this.snapshot.sessionId === session && this.snapshot.phase === 'settling' && !this.closed;
    while (settling() && Date.now() < grace) {
      if (channel.chain.length > 0 && (await this.tangle.isAttached(channel))) return this.confirmSettlement();
      await this.tangle.sleep();
    }
    if (settling()) await this.settleAlone();
  }

  private async settleAlone(): Promise<void> {
    // Every channel past its opening holds a co-signed state: at least the opening state.
    try {
      await this.tangle.attachLatest(this.channelOf(this.snapshot));
    } catch (err) {
      if (!(err instanceof OldStateError)) throw err;
    }
    await this.confirmSettlement();
  }

  /** Waits until the Tangle confirms our own final bundles (by bundle hash), then reports the session. */
  private async confirmSettlement(): Promise<void> {
    const s = this.snapshot;
    let oldState: string[] = [];
    try {
      await this.tangle.waitSettled(this.channelOf(s));
    } catch (err) {
      if (!(err instanceof OldStateError)) throw err;
      oldState = err.bundles;
    }
    await this.exclusive(async () => {
      if (this.snapshot.sessionId !== s.sessionId || this.snapshot.phase !== 'settling') return;
      if (oldState.length > 0) this.emit('warning', `session ${s.sessionId}: another state of the channel was confirmed instead of the latest`);
      await this.finish(oldState);
    });
  }

  private async finish(oldState: string[]): Promise<void> {
    const s = this.snapshot;
    const channel = this.channelOf(s);
    const settled: SessionSnapshot = { ...s, settlement: { bundles: channel.chain.map((b) => b.hash), tails: [] }, stopReason: oldState.length > 0 ? 'old-state' : s.stopReason };
    const record = sessionRecord(settled, s.peerId, this.options.id, this.now());
    await this.apply({ snapshot: emptySnapshot('vehicle'), events: [['settled', record]] }, 'settled');
    // The offer this session opened with is spent: its station takes the next session only with a new one.
    if (this.chooser.book.get(s.peerId)?.nonce === s.offer?.nonce) this.chooser.book.remove(s.peerId);
    // After a rollover (the station settled to bound its risk) the session goes on at the same station, in a new
    // channel, for the rest of the target: at once when the station's next offer has arrived meanwhile, else when
    // it does (remembered until then, so that a late offer does not start the whole target again).
    const doneWh = s.paidIncrements * s.offer!.incrementWh;
    const goesOn = s.stopReason === 'rollover' && !(s.targetWh > 0 && s.targetWh <= doneWh);
    this.rollover = goesOn ? { stationId: s.peerId, remainingWh: s.targetWh > 0 ? s.targetWh - doneWh : 0 } : null;
    if (!this.policy.autoStart) return;
    await this.prepare();
    if (!goesOn) {
      if (s.stopReason !== 'rollover') await this.apply(await this.choose(this.snapshot), 'open the next session');
      return;
    }
    const offer = this.chooser.book.get(s.peerId);
    if (!offer || offerRefusal(offer, this.policy, this.expiryClock())) return;
    await this.apply(await this.open(offer), 'open the next session');
  }
}
