import { randomBytes } from 'node:crypto';
import { depositAddress, offThreadEngine, remainingCapacity, type ChannelState, type Proposal } from '../flash';
import type { MeterReading } from '../meter';
import { AnyEnvelope, Bodies, digestOf, Envelope, KeyPair, makeEnvelope, Offer, ProtocolError, RateLimiter, signEnvelope, Stage, StopReason, topicFor } from '../protocol';
import { Party, PartyOptions, Send, Step, emptySnapshot } from './party';
import { checkStationPolicy } from './policy';
import { OldStateError } from './tangle';
import { sessionRecord, paymentEvent, incrementPrice, deliveredWh } from './accounting';
import type { SessionSnapshot } from './types';

/** The station's terms, as its offer publishes them, and the limits it keeps to itself. */
/** How long the station waits for the vehicle's deposit to be confirmed, unless its policy says otherwise. */
const DEFAULT_FUNDING_WAIT_MS = 120_000;

/** How long an offer is valid unless the policy says otherwise; the station publishes it again at half of that. */
const DEFAULT_OFFER_VALIDITY_MS = 600_000;

export interface StationPolicy extends Omit<Offer, 'stationId' | 'stationKey' | 'nonce' | 'connectors' | 'freeConnectors' | 'notAfter'> {
  /** How long each published offer is valid, ms (default 10 min); the station publishes it again at half of that. */
  offerValidityMs?: number;
  /** The deepest channel tree the station sets up: each level costs a WOTS digest per party at open. */
  maxDepth: number;
  /**
   * The most the station may lose if the vehicle attaches an older co-signed state (Flash has no revocation):
   * the tokens received in the channel so far. The station rolls the channel over (settles it; the vehicle opens
   * a new one) before the next payment could pass it, and refuses any payment that would. 0 or absent: half the
   * vehicle's deposit in each channel, never less than the credit plus two increments (see `riskCap`).
   */
  maxAtRisk?: number;
  /** How often to look on the Tangle for an older state of the open channel, ms; 0 = never (default 30 s). */
  watchMs?: number;
  /**
   * How long the station waits, once the opening state is co-signed, for the vehicle's deposit to be confirmed
   * before it gives the session up, ms (default 120 s). The station deposits only after that, so a vehicle that
   * never deposits costs it at most this long and no tokens.
   */
  fundingWaitMs?: number;
  /** At most this many `open` requests per minute are considered (each costs WOTS digests); default 6. */
  opensPerMinute?: number;
}

/** The empty retained message that withdraws the station's offer from the broker, for an `mqtt out` node. */
export interface OfferWithdrawal {
  stage: 'offer';
  topic: string;
  payload: '';
  retain: true;
}

/** The station's energy account for its EVSE credit gate, emitted after every reading and every payment. */
export interface EnergyEvent {
  sessionId: string;
  deliveredWh: number;
  paidWh: number;
}

/**
 * The station's half of a charging session: offers its terms, accepts a vehicle's channel, claims each completed
 * increment from its meter, verifies and co-signs each payment, and attaches the final state.
 *
 * Events: `withdraw` (OfferWithdrawal, when it closes), `opened`, `energy` (EnergyEvent), `claim`, `paid` (PaymentEvent), `stopping` ({sessionId, reason}),
 * `settled` (SessionRecord), `unpaid` ({sessionId, unpaidWh, deliveredWh, paidWh}), `old-state` ({sessionId,
 * bundles, atRisk}), `resumed`.
 */
export class StationParty extends Party {
  readonly role = 'station' as const;
  /** The newest meter register announced to the credit gate, which may run ahead of the journaled one. */
  private announced = { sessionId: '', registerWh: 0 };
  /** The current offer; a fresh nonce for every session. */
  offer!: Offer;
  /**
   * The offers a vehicle may open against: the current one, and the one it refreshed (the same terms), each with
   * its digest (made once, not for every open).
   */
  private acceptable: { offer: Offer; digest: string }[] = [];
  private refresher: NodeJS.Timeout | null = null;
  private readonly opens: RateLimiter;
  private watcher: NodeJS.Timeout | null = null;
  private watching = false;

  constructor(
    options: PartyOptions,
    readonly policy: StationPolicy,
    private readonly identity: KeyPair,
  ) {
    super(options);
    checkStationPolicy(policy);
    this.newOffer();
    const perMinute = policy.opensPerMinute ?? 6;
    this.opens = new RateLimiter('open requests', perMinute / 60, perMinute);
    const atRisk = policy.maxAtRisk ?? 0;
    if (atRisk > 0 && atRisk < smallestCap(this.offer)) {
      throw new RangeError(`maxAtRisk ${atRisk} is too small: it must cover the credit plus two increments (${smallestCap(this.offer)} tokens)`);
    }
  }

  /** Loads the journal, resumes a session left open, and publishes the offer (retained) when idle. */
  override async start(): Promise<void> {
    await super.start();
    const watchMs = this.policy.watchMs ?? 30_000;
    if (watchMs > 0) {
      this.watcher = setInterval(() => void this.watch(), watchMs);
      this.watcher.unref();
    }
    this.refresher = setInterval(() => void this.refreshOffer(), this.offerValidityMs() / 2);
    this.refresher.unref();
    await this.exclusive(() => this.apply({ snapshot: this.snapshot, send: [this.offerMessage()] }, 'offer'));
  }

  /** Stops, and withdraws the retained offer (an empty retained message), so that no vehicle chooses us any more. */
  override close(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    if (this.refresher) clearInterval(this.refresher);
    if (!this.closed) this.emit('withdraw', { stage: 'offer', topic: topicFor(this.options.prefix, this.options.stationId, 'offer', 'vehicle'), payload: '', retain: true } satisfies OfferWithdrawal);
    return super.close();
  }

  /**
   * Publishes the offer again before it expires, with the same terms and nonce: a vehicle that read the previous
   * one may still open against it. While busy, the offer says so (no free connector), and takes no open.
   */
  private refreshOffer(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      if (this.snapshot.phase === 'idle') {
        this.offer = { ...this.offer, notAfter: this.now() + this.offerValidityMs() };
        this.acceptable = [{ offer: this.offer, digest: digestOf(this.offer) }, this.acceptable[0]];
      }
      await this.apply({ snapshot: this.snapshot, send: [this.offerMessage()] }, 'offer refreshed');
    });
  }

  protected signingKeys(): KeyPair {
    return this.identity;
  }

  protected override keyFor(envelope: AnyEnvelope): Promise<string> | string {
    return envelope.type === 'open' ? envelope.body.vehicleKey : super.keyFor(envelope);
  }

  /** The vehicle fell silent: stop the energy, settle the latest co-signed state, report what went unpaid. */
  protected async onPeerSilent(): Promise<void> {
    const s = this.snapshot;
    if (s.phase === 'funding' && (await this.canRefund(s))) return this.settleAlone(s, 'peer-silent');
    if (s.phase === 'funding' && s.ownDeposit.state !== 'none') {
      // We deposited after the vehicle's deposit was confirmed: once ours is too, the opening state pays both back.
      this.background(async () => {
        await this.tangle.waitFunded(this.channelOf(s));
        await this.exclusive(async () => {
          const now = this.snapshot;
          if (now.sessionId === s.sessionId && (now.phase === 'funding' || now.phase === 'charging')) await this.settleAlone(now, 'peer-silent');
        });
      });
      return;
    }
    if (s.phase === 'funding') {
      // Nothing of ours is in the channel: the vehicle deposits first (see fund).
      return this.apply({ snapshot: emptySnapshot('station'), send: [this.newOffer()], events: [['stopping', { sessionId: s.sessionId, reason: 'peer-silent' }]] }, 'peer silent');
    }
    if (s.phase === 'charging' || s.phase === 'closing') await this.settleAlone(s, 'peer-silent');
  }

  private settleAlone(s: SessionSnapshot, reason: StopReason): Promise<void> {
    return this.apply(
      {
        snapshot: { ...s, phase: 'settling', stopReason: reason, stoppedAt: s.stoppedAt || this.now() },
        // The vehicle, if it hears this, stops paying; the station no longer co-signs in this channel.
        send: [{ stage: 'settle', type: 'stop', body: { reason } }],
        events: [['stopping', { sessionId: s.sessionId, reason }]],
        after: () => this.finishSettling(),
      },
      `settle alone (${reason})`,
    );
  }

  /** Looks for an older state of our channel on the Tangle; pauses the energy at once when one appears. */
  private async watch(): Promise<void> {
    const s = this.snapshot;
    if (this.watching || this.closed || !s || (s.phase !== 'charging' && s.phase !== 'closing') || !s.channel) return;
    this.watching = true;
    try {
      const bundles = await this.tangle.foreignSpends(s.channel);
      if (bundles.length === 0) return;
      await this.exclusive(async () => {
        const now = this.snapshot;
        if (now.sessionId !== s.sessionId || (now.phase !== 'charging' && now.phase !== 'closing')) return;
        const channel = this.channelOf(now);
        const atRisk = channel.balances[1] - channel.deposits[1];
        this.emit('warning', `session ${now.sessionId}: the vehicle attached an older channel state (up to ${atRisk} tokens at risk): charging stopped`);
        this.emit('old-state', { sessionId: now.sessionId, bundles, atRisk });
        await this.settleAlone(now, 'old-state');
      });
    } catch (err) {
      this.emit('warning', `watching the Tangle: ${(err as Error).message}`);
    } finally {
      this.watching = false;
    }
  }

  /** A reading of the station's meter. Claims every newly completed increment while charging. */
  meterReading(reading: MeterReading): Promise<void> {
    // The credit gate hears about the energy at once, not after the signing work queued ahead of this reading.
    const s = this.snapshot;
    if (s.phase === 'charging' && s.startRegisterWh >= 0 && reading.registerWh >= s.lastRegisterWh) {
      this.announced = { sessionId: s.sessionId, registerWh: Math.max(this.announced.registerWh, reading.registerWh) };
      this.emit('energy', this.energy(s));
    }
    return this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'charging' && s.phase !== 'closing') return;
      if (reading.registerWh < s.lastRegisterWh) throw new ProtocolError('INVALID_FIELD', `meter register went down from ${s.lastRegisterWh} to ${reading.registerWh} Wh`);
      const next: SessionSnapshot = { ...s, lastRegisterWh: reading.registerWh, lastReadAt: reading.timestamp };
      if (s.startRegisterWh < 0) next.startRegisterWh = reading.registerWh;
      const deliveredWh = next.lastRegisterWh - next.startRegisterWh;
      const { incrementWh } = this.termsOf(s);
      const increments = Math.floor(deliveredWh / incrementWh);
      const step: Step = { snapshot: next, events: [['energy', this.energy(next)]] };
      if (increments > s.claimedIncrements && s.phase === 'charging' && !s.stopReason) {
        next.claimedIncrements = increments;
        const claim = { increments, registerWh: next.startRegisterWh + increments * incrementWh, startRegisterWh: next.startRegisterWh, readAt: reading.timestamp };
        step.send = [{ stage: 'pay', type: 'claim', body: claim }];
        step.events!.push(['claim', { sessionId: s.sessionId, ...claim }]);
      }
      await this.apply(step);
    });
  }

  /** Stops the session (unplugged, full, a local stop): asks the vehicle to close the channel. */
  stop(reason: StopReason): Promise<void> {
    return this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase === 'idle' || s.stopReason) return;
      await this.apply({
        snapshot: { ...s, stopReason: reason, stoppedAt: this.now() },
        send: [{ stage: 'settle', type: 'stop', body: { reason } }],
        events: [['stopping', { sessionId: s.sessionId, reason }]],
      });
    });
  }

  protected opensSession(envelope: AnyEnvelope): boolean {
    return envelope.type === 'open';
  }

  protected async handle(stage: Stage, envelope: AnyEnvelope): Promise<Step> {
    const s = this.snapshot;
    switch (envelope.type) {
      case 'open':
        return this.onOpen(envelope);
      case 'proposal': {
        const proposal = envelope.body;
        if (s.phase === 'funding') return this.onOpeningState(s, proposal);
        if (s.phase !== 'charging' && s.phase !== 'closing') throw new ProtocolError('WRONG_SESSION', `no payment is expected in phase ${s.phase}`);
        const channel = this.channelOf(s);
        if (proposal.close) {
          const { state, message } = await this.cosign(channel, proposal);
          return { snapshot: { ...s, channel: state, phase: 'closing' }, send: [{ stage: 'settle', type: 'cosignature', body: message }] };
        }
        const price = incrementPrice(s.offer!);
        const unpaid = s.claimedIncrements - s.paidIncrements;
        const k = proposal.transfer.amount / price;
        if (proposal.transfer.from !== 0 || !Number.isInteger(k) || k < 1 || k > unpaid) {
          throw new ProtocolError(
            'INVALID_FIELD',
            `payment of ${proposal.transfer.amount} does not match the claim: ${unpaid} unpaid increment(s) at ${price} tokens each`,
          );
        }
        const received = channel.balances[1] - channel.deposits[1];
        const cap = this.riskCap(channel, s.offer!);
        if (received + proposal.transfer.amount > cap) {
          throw new ProtocolError('INVALID_FIELD', `payment of ${proposal.transfer.amount} would put ${received + proposal.transfer.amount} tokens at risk, more than maxAtRisk ${cap}: close the channel`);
        }
        const { state, message } = await this.cosign(channel, proposal);
        return { snapshot: { ...s, channel: state }, send: [{ stage: 'pay', type: 'cosignature', body: message }] };
      }
      case 'completion': {
        const before = this.channelOf(s);
        const pending = before.pending;
        const channel = await offThreadEngine.applyCompletion(before, envelope.body);
        // The opening state is complete: now the deposits can go in.
        if (s.phase === 'funding') return { snapshot: { ...s, channel }, after: () => this.fund() };
        if (pending?.close) {
          const next: SessionSnapshot = { ...s, channel, phase: 'settling', stopReason: s.stopReason ?? 'remote-stop', stoppedAt: s.stoppedAt || this.now() };
          return { snapshot: next, after: () => this.finishSettling() };
        }
        const paid = pending ? pending.transfer.amount / incrementPrice(s.offer!) : 0;
        const next: SessionSnapshot = { ...s, channel, paidIncrements: s.paidIncrements + paid };
        const step: Step = {
          snapshot: next,
          events: [
            ['paid', paymentEvent(next, s.offer!, pending?.transfer.amount ?? 0, remainingCapacity(channel))],
            ['energy', this.energy(next)],
          ],
        };
        if (this.mustRollOver(next)) {
          // The next payments (the credit, one more increment) could pass the cap: settle and start afresh.
          next.stopReason = 'rollover';
          next.stoppedAt = this.now();
          step.send = [{ stage: 'settle', type: 'stop', body: { reason: 'rollover' } }];
          step.events!.push(['stopping', { sessionId: s.sessionId, reason: 'rollover' }]);
        }
        return step;
      }
      case 'stop':
        if (s.stopReason) return { snapshot: s };
        return {
          snapshot: { ...s, stopReason: envelope.body.reason, stoppedAt: this.now() },
          events: [['stopping', { sessionId: s.sessionId, reason: envelope.body.reason }]],
        };
      default:
        return this.handleCommon(stage, envelope);
    }
  }

  private async onOpen(envelope: Envelope<'open'>): Promise<Step> {
    const s = this.snapshot;
    // Busy: its offer says so (no free connector). An open nobody should have sent gets no answer, so that a flood of
    // them costs the station no messages; a vehicle that raced another to the connector tries its next choice.
    if (s.phase !== 'idle') throw new ProtocolError('WRONG_SESSION', `busy with session ${s.sessionId}: open refused`);
    const { body } = envelope;
    this.opens.take('the open topic');
    const refusal = this.checkTerms(envelope);
    if (refusal) {
      // Nothing changes for a refused open: the answer goes out without touching our (idle) session.
      const reply = signEnvelope(makeEnvelope('open-reject', 'station', envelope.session, 1, refusal, this.now()), this.identity) as AnyEnvelope;
      this.emit('send', { stage: 'open', topic: topicFor(this.options.prefix, this.options.stationId, 'open', 'vehicle'), payload: reply, retain: false });
      throw new ProtocolError('INVALID_FIELD', `open refused: ${refusal.message}`);
    }
    const settlementAddress = await this.options.wallet.newAddress();
    const { state, message } = await offThreadEngine.acceptChannel(body.setup, settlementAddress, this.options.wallet);
    const next: SessionSnapshot = {
      ...emptySnapshot('station'),
      phase: 'funding',
      sessionId: envelope.session,
      peerId: body.vehicleId,
      peerKey: body.vehicleKey,
      offer: this.acceptable.find((a) => a.digest === body.offerDigest)!.offer,
      channel: state,
      targetWh: body.targetWh,
      startedAt: this.now(),
      startRegisterWh: -1,
    };
    return { snapshot: next, send: [{ stage: 'open', type: 'open-accept', body: { setup: message } }, this.offerMessage(next)] };
  }

  /**
   * The opening state: before anything is deposited, the vehicle proposes a payment of zero, which pays each side
   * its deposit back. Once co-signed it is what either side attaches if the other vanishes before the first
   * payment, so no deposit can be stuck in the channel.
   */
  private async onOpeningState(s: SessionSnapshot, proposal: Bodies['proposal']): Promise<Step> {
    const channel = this.channelOf(s);
    if (channel.chain.length > 0 || proposal.close || proposal.transfer.amount !== 0) {
      throw new ProtocolError('INVALID_FIELD', 'before the deposits only the opening state (a payment of zero) is co-signed');
    }
    const { state, message } = await this.cosign(channel, proposal);
    return { snapshot: { ...s, channel: state }, send: [{ stage: 'pay', type: 'cosignature', body: message }] };
  }

  private checkTerms(envelope: Envelope<'open'>): { code: string; message: string } | null {
    const { setup, offerDigest } = envelope.body;
    if (envelope.session !== setup.channelId) return { code: 'bad-session', message: 'the session id must be the channel id' };
    if (!this.acceptable.some((a) => a.digest === offerDigest)) return { code: 'stale-offer', message: 'the terms differ from the current offer' };
    if (setup.security !== this.policy.security) return { code: 'security', message: `security must be ${this.policy.security}` };
    if (setup.depth > this.policy.maxDepth) return { code: 'depth', message: `channel depth ${setup.depth} exceeds ${this.policy.maxDepth}` };
    if (setup.deposits[1] !== this.policy.stationDeposit) return { code: 'deposit', message: `the station deposits ${this.policy.stationDeposit}` };
    if (setup.deposits[0] < incrementPrice(this.offer)) return { code: 'deposit', message: 'the vehicle deposit does not cover one increment' };
    return null;
  }

  /**
   * Funds the channel in an order no one can grief: the vehicle deposits first, and only once the Tangle confirms
   * its deposit do we deposit ours (once, also across a crash). A vehicle that never deposits costs us at most
   * `fundingWaitMs` and no tokens; once both deposits are in, the co-signed opening state pays each back.
   */
  protected async fund(): Promise<void> {
    const session = this.snapshot.sessionId;
    const channel = this.channelOf(this.snapshot);
    const address = depositAddress(channel);
    if (this.snapshot.ownDeposit.state === 'none') {
      const vehicleDeposited = await this.waitVehicleDeposit(session, channel);
      if (vehicleDeposited === null) return;
      if (!vehicleDeposited) return this.exclusive(() => this.giveUpFunding(session));
    }
    if (channel.deposits[1] > 0) await this.depositOnce(address, channel.deposits[1]);
    await this.tangle.waitFunded(channel);
    await this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'funding' || s.sessionId !== session) return;
      await this.apply({
        snapshot: { ...s, phase: 'charging', readyAt: this.now() },
        send: [{ stage: 'open', type: 'ready', body: {} }],
        events: [['opened', { sessionId: s.sessionId, vehicleId: s.peerId, depositAddress: address, deposits: { vehicle: channel.deposits[0], station: channel.deposits[1] } }]],
      });
      // The watch starts with the channel: the opening state is an older state as soon as the first payment lands.
      if (this.watcher) void this.watch();
    });
  }

  /**
   * Polls the deposit address until it holds the vehicle's deposit (true), the funding wait runs out (false), or
   * the session ended meanwhile (null: the vehicle fell silent and the session was dropped).
   */
  private async waitVehicleDeposit(session: string, channel: ChannelState): Promise<boolean | null> {
    const deadline = Date.now() + this.fundingWaitMs();
    while (!this.closed && this.snapshot.sessionId === session && this.snapshot.phase === 'funding') {
      if ((await this.tangle.depositHeld(channel)) >= channel.deposits[0]) return true;
      if (Date.now() >= deadline) return false;
      await this.tangle.sleep();
    }
    return null;
  }

  /** The vehicle's deposit did not come in time: nothing of ours is in the channel, so the session is dropped. */
  private async giveUpFunding(session: string): Promise<void> {
    const s = this.snapshot;
    if (s.sessionId !== session || s.phase !== 'funding' || s.ownDeposit.state !== 'none') return;
    const seconds = Math.round(this.fundingWaitMs() / 1000);
    this.emit('warning', `session ${session}: the vehicle's deposit was not confirmed within ${seconds} s; session dropped, nothing deposited`);
    // Told first, so that a vehicle still there deposits nothing more into a channel we left.
    await this.apply({ snapshot: { ...s, stopReason: 'funding-timeout', stoppedAt: this.now() }, send: [{ stage: 'settle', type: 'stop', body: { reason: 'funding-timeout' } }], events: [['stopping', { sessionId: session, reason: 'funding-timeout' }]] }, 'funding timeout');
    await this.apply({ snapshot: emptySnapshot('station'), send: [this.newOffer()] }, 'offer');
  }

  /**
   * Attaches the latest co-signed state (the final one after a close), waits until the Tangle confirms it, reports
   * the session and offers again. Safe to run again after a crash: bundles already attached are not resent.
   */
  protected async finishSettling(): Promise<void> {
    // Every channel past its opening holds a co-signed state: at least the opening state.
    const channel = this.channelOf(this.snapshot);
    let tails: string[] = [];
    let oldState: string[] = [];
    try {
      tails = await this.tangle.attachLatest(channel);
      await this.tangle.waitSettled(channel);
    } catch (err) {
      if (!(err instanceof OldStateError)) throw err;
      oldState = err.bundles;
    }
    await this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'settling' || s.channel?.channelId !== channel.channelId) return;
      const settlement = { bundles: channel.chain.map((b) => b.hash), tails };
      const settled: SessionSnapshot = { ...s, settlement, stopReason: oldState.length > 0 ? 'old-state' : s.stopReason };
      const record = sessionRecord(settled, this.options.id, s.peerId, this.now());
      const events: [string, unknown][] = [['settled', record]];
      if (record.unpaid_energy_wh > 0) {
        events.push(['unpaid', { sessionId: s.sessionId, unpaidWh: record.unpaid_energy_wh, deliveredWh: deliveredWh(s), paidWh: record.energy_wh }]);
      }
      await this.apply({ snapshot: settled, send: tails.length > 0 ? [{ stage: 'settle', type: 'settled', body: settlement }] : [], events }, 'settled');
      await this.apply({ snapshot: emptySnapshot('station'), send: [this.newOffer()] }, 'offer');
    });
  }

  /** Co-signs a proposal that the session's own checks passed; the engine checks the rest, with our clock's tolerance. */
  private cosign(channel: ChannelState, proposal: Proposal) {
    return offThreadEngine.cosignProposal(channel, this.options.wallet, proposal, { now: this.now(), maxClockSkewS: this.clockToleranceS });
  }

  private mustRollOver(s: SessionSnapshot): boolean {
    if (s.stopReason) return false;
    const channel = this.channelOf(s);
    const received = channel.balances[1] - channel.deposits[1];
    return received + incrementPrice(s.offer!) * (creditIncrements(s.offer!) + 1) > this.riskCap(channel, s.offer!);
  }

  /**
   * The most this channel may put at risk: `maxAtRisk` when set, otherwise half the vehicle's deposit. Never less
   * than the credit plus two increments, the least that lets one payment through before the rollover.
   */
  riskCap(channel: Pick<ChannelState, 'deposits'>, offer: Offer = this.offer): number {
    const configured = this.policy.maxAtRisk ?? 0;
    return configured > 0 ? configured : Math.max(smallestCap(offer), Math.floor(channel.deposits[0] / 2));
  }

  private fundingWaitMs(): number {
    return this.policy.fundingWaitMs ?? DEFAULT_FUNDING_WAIT_MS;
  }


  /**
   * The energy account for the credit gate. It counts up to the newest reading already announced, even one still
   * queued behind signing work, so that delivered energy never appears to go back.
   */
  private energy(s: SessionSnapshot): { sessionId: string; deliveredWh: number; paidWh: number } {
    const registerWh = this.announced.sessionId === s.sessionId ? Math.max(s.lastRegisterWh, this.announced.registerWh) : s.lastRegisterWh;
    return { sessionId: s.sessionId, deliveredWh: deliveredWh({ ...s, lastRegisterWh: registerWh }), paidWh: s.paidIncrements * this.termsOf(s).incrementWh };
  }

  /** The terms a session counts with: those it opened with, whatever the station offers now. */
  private termsOf(s: SessionSnapshot): Offer {
    return s.offer ?? this.offer;
  }

  private offerValidityMs(): number {
    return this.policy.offerValidityMs ?? DEFAULT_OFFER_VALIDITY_MS;
  }

  /** A new offer (a fresh nonce) for the next session, and the message that publishes it. */
  private newOffer(): Send<'offer'> {
    const nonce = randomBytes(8).toString('hex');
    this.offer = offerFor(this.options.id, this.policy, this.identity.publicKey, nonce, { freeConnectors: 1, notAfter: this.now() + this.offerValidityMs() });
    this.acceptable = [{ offer: this.offer, digest: digestOf(this.offer) }];
    return { stage: 'offer', type: 'offer', body: this.offer };
  }

  /** The current offer as published: while a session runs (`s` not idle), with no free connector. */
  private offerMessage(s: SessionSnapshot | undefined = this.snapshot): Send<'offer'> {
    const busy = s !== undefined && s.phase !== 'idle';
    const body = busy ? { ...this.offer, freeConnectors: 0, notAfter: this.now() + this.offerValidityMs() } : this.offer;
    return { stage: 'offer', type: 'offer', body };
  }
}

/** The credit in whole increments. A session counts with the terms it opened with, whatever the station offers now. */
function creditIncrements(offer: Offer): number {
  return Math.ceil(offer.creditWh / offer.incrementWh);
}

/** The least risk cap: the credit plus two increments. */
function smallestCap(offer: Offer): number {
  return incrementPrice(offer) * (creditIncrements(offer) + 2);
}

/** The station's public terms; refuses terms under which an increment would cost a fraction of a token. */
export function offerFor(
  stationId: string,
  policy: StationPolicy,
  stationKey: string,
  nonce: string,
  now: { freeConnectors: number; notAfter: number },
): Offer {
  const offer: Offer = {
    stationId,
    pricePerKWh: policy.pricePerKWh,
    incrementWh: policy.incrementWh,
    maxPowerW: policy.maxPowerW,
    creditWh: policy.creditWh,
    stationDeposit: policy.stationDeposit,
    security: policy.security,
    ...(policy.tangleUrl ? { tangleUrl: policy.tangleUrl } : {}),
    stationKey,
    nonce,
    connectors: 1,
    freeConnectors: now.freeConnectors,
    ...(policy.location ? { location: policy.location } : {}),
    ...(policy.geohash ? { geohash: policy.geohash } : {}),
    notAfter: now.notAfter,
  };
  const price = incrementPrice(offer);
  if (!Number.isSafeInteger(price) || price < 1) {
    throw new RangeError(`price × increment must be a whole number of tokens ≥ 1 per increment: ${policy.pricePerKWh} × ${policy.incrementWh} Wh / 1000 = ${price}`);
  }
  return offer;
}
