import { acceptChannel, applyCompletion, cosignProposal, depositAddress, remainingCapacity, settlementBundles } from '../flash';
import type { MeterReading } from '../meter';
import { AnyEnvelope, digestOf, Envelope, makeEnvelope, Offer, ProtocolError, Stage, StopReason, topicFor } from '../protocol';
import { Party, PartyOptions, Step, emptySnapshot } from './party';
import { sessionRecord, paymentEvent, incrementPrice } from './accounting';
import type { SessionSnapshot } from './types';

export interface StationPolicy {
  pricePerKWh: number;
  incrementWh: number;
  maxPowerW: number;
  creditWh: number;
  stationDeposit: number;
  security: 1 | 2 | 3;
  /** The deepest channel tree the station sets up: each level costs a WOTS digest per party at open. */
  maxDepth: number;
  tangleUrl?: string;
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
 * Events: `opened`, `energy` (EnergyEvent), `claim`, `paid` (PaymentEvent), `stopping`, `settled` (SessionRecord).
 */
export class StationParty extends Party {
  readonly role = 'station' as const;
  readonly offer: Offer;

  constructor(
    options: PartyOptions,
    readonly policy: StationPolicy,
  ) {
    super(options);
    this.offer = offerFor(options.id, policy);
  }

  /** Loads the journal and publishes the offer (retained) when no session is under way. */
  override async start(): Promise<void> {
    await super.start();
    if (this.snapshot.phase === 'idle') await this.exclusive(() => this.apply({ snapshot: this.snapshot, send: [this.offerMessage()] }));
  }

  /** A reading of the station's meter. Claims every newly completed increment while charging. */
  meterReading(reading: MeterReading): Promise<void> {
    // The credit gate hears about the energy at once, not after the signing work queued ahead of this reading.
    const s = this.snapshot;
    if (s.phase === 'charging' && s.startRegisterWh >= 0 && reading.registerWh >= s.lastRegisterWh) {
      this.emit('energy', this.energy({ ...s, lastRegisterWh: reading.registerWh }));
    }
    return this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'charging' && s.phase !== 'closing') return;
      if (reading.registerWh < s.lastRegisterWh) throw new ProtocolError('INVALID_FIELD', `meter register went down from ${s.lastRegisterWh} to ${reading.registerWh} Wh`);
      const next: SessionSnapshot = { ...s, lastRegisterWh: reading.registerWh, lastReadAt: reading.timestamp };
      if (s.startRegisterWh < 0) next.startRegisterWh = reading.registerWh;
      const deliveredWh = next.lastRegisterWh - next.startRegisterWh;
      const increments = Math.floor(deliveredWh / this.policy.incrementWh);
      const step: Step = { snapshot: next, events: [['energy', this.energy(next)]] };
      if (increments > s.claimedIncrements && s.phase === 'charging' && !s.stopReason) {
        next.claimedIncrements = increments;
        const claim = { increments, registerWh: next.startRegisterWh + increments * this.policy.incrementWh, startRegisterWh: next.startRegisterWh, readAt: reading.timestamp };
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
      if (s.phase === 'opening') return this.apply({ snapshot: { ...emptySnapshot('station') }, send: [this.offerMessage()], events: [['stopping', { sessionId: s.sessionId, reason }]] });
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
      case 'deposit':
        return { snapshot: { ...s, depositTails: [...s.depositTails, envelope.body.tail] } };
      case 'proposal': {
        if (s.phase !== 'charging' && s.phase !== 'closing') throw new ProtocolError('WRONG_SESSION', `no payment is expected in phase ${s.phase}`);
        const proposal = envelope.body;
        const channel = this.channelOf(s);
        if (proposal.close) {
          const { state, message } = cosignProposal(channel, this.options.wallet, proposal, { now: this.now() });
          return { snapshot: { ...s, channel: state, phase: 'closing' }, send: [{ stage: 'settle', type: 'cosignature', body: message }] };
        }
        const price = incrementPrice(this.offer);
        const unpaid = s.claimedIncrements - s.paidIncrements;
        const k = proposal.transfer.amount / price;
        if (proposal.transfer.from !== 0 || !Number.isInteger(k) || k < 1 || k > unpaid) {
          throw new ProtocolError(
            'INVALID_FIELD',
            `payment of ${proposal.transfer.amount} does not match the claim: ${unpaid} unpaid increment(s) at ${price} tokens each`,
          );
        }
        const { state, message } = cosignProposal(channel, this.options.wallet, proposal, { now: this.now() });
        return { snapshot: { ...s, channel: state }, send: [{ stage: 'pay', type: 'cosignature', body: message }] };
      }
      case 'completion': {
        const before = this.channelOf(s);
        const pending = before.pending;
        const channel = applyCompletion(before, envelope.body);
        if (pending?.close) {
          const next: SessionSnapshot = { ...s, channel, phase: 'settling', stopReason: s.stopReason ?? 'remote-stop', stoppedAt: s.stoppedAt || this.now() };
          return { snapshot: next, after: () => this.settle() };
        }
        const paid = pending ? pending.transfer.amount / incrementPrice(this.offer) : 0;
        const next: SessionSnapshot = { ...s, channel, paidIncrements: s.paidIncrements + paid };
        return {
          snapshot: next,
          events: [
            ['paid', paymentEvent(next, this.offer, pending?.transfer.amount ?? 0, remainingCapacity(channel))],
            ['energy', this.energy(next)],
          ],
        };
      }
      case 'stop':
        if (s.stopReason) return { snapshot: s };
        return {
          snapshot: { ...s, stopReason: envelope.body.reason, stoppedAt: this.now() },
          events: [['stopping', { sessionId: s.sessionId, reason: envelope.body.reason }]],
        };
      case 'resend':
        this.resend(envelope.body.fromSeq);
        return { snapshot: s };
      case 'error':
        this.emit('warning', `vehicle reports ${envelope.body.code}: ${envelope.body.message}`);
        return { snapshot: s };
      default:
        throw new ProtocolError('UNKNOWN_TYPE', `a station does not expect "${envelope.type}" on the ${stage} topic`);
    }
  }

  private async onOpen(envelope: Envelope<'open'>): Promise<Step> {
    const s = this.snapshot;
    if (s.phase !== 'idle') throw new ProtocolError('WRONG_SESSION', `busy with session ${s.sessionId}: open refused`);
    const { body } = envelope;
    const refusal = this.checkTerms(envelope);
    if (refusal) {
      // Nothing changes for a refused open: the answer goes out without touching our (idle) session.
      const reply = makeEnvelope('open-reject', 'station', envelope.session, 1, refusal, this.now());
      this.emit('send', { stage: 'open', topic: topicFor(this.options.prefix, this.options.stationId, 'open', 'vehicle'), payload: reply, retain: false });
      throw new ProtocolError('INVALID_FIELD', `open refused: ${refusal.message}`);
    }
    const settlementAddress = await this.options.wallet.newAddress();
    const { state, message } = acceptChannel(body.setup, settlementAddress, this.options.wallet);
    const next: SessionSnapshot = {
      ...emptySnapshot('station'),
      phase: 'funding',
      sessionId: envelope.session,
      peerId: body.vehicleId,
      offer: this.offer,
      channel: state,
      targetWh: body.targetWh,
      startedAt: this.now(),
      startRegisterWh: -1,
    };
    return { snapshot: next, send: [{ stage: 'open', type: 'open-accept', body: { setup: message } }], after: () => this.fund() };
  }

  private checkTerms(envelope: Envelope<'open'>): { code: string; message: string } | null {
    const { setup, offerDigest } = envelope.body;
    if (envelope.session !== setup.channelId) return { code: 'bad-session', message: 'the session id must be the channel id' };
    if (offerDigest !== digestOf(this.offer)) return { code: 'stale-offer', message: 'the terms differ from the current offer' };
    if (setup.security !== this.policy.security) return { code: 'security', message: `security must be ${this.policy.security}` };
    if (setup.depth > this.policy.maxDepth) return { code: 'depth', message: `channel depth ${setup.depth} exceeds ${this.policy.maxDepth}` };
    if (setup.deposits[1] !== this.policy.stationDeposit) return { code: 'deposit', message: `the station deposits ${this.policy.stationDeposit}` };
    if (setup.deposits[0] < incrementPrice(this.offer)) return { code: 'deposit', message: 'the vehicle deposit does not cover one increment' };
    return null;
  }

  /** Deposits our share, then waits for the Tangle to confirm both deposits, then starts charging. */
  private async fund(): Promise<void> {
    const channel = this.channelOf(this.snapshot);
    const address = depositAddress(channel);
    if (this.policy.stationDeposit > 0) {
      const sent = await this.options.wallet.send(address, this.policy.stationDeposit);
      await this.exclusive(() =>
        this.apply({
          snapshot: { ...this.snapshot, depositTails: [...this.snapshot.depositTails, sent.tail] },
          send: [{ stage: 'open', type: 'deposit', body: { tail: sent.tail, value: this.policy.stationDeposit } }],
        }),
      );
    }
    await this.waitFunded(address, channel.deposits[0] + channel.deposits[1]);
    await this.exclusive(async () => {
      const s = this.snapshot;
      if (s.phase !== 'funding') return;
      await this.apply({
        snapshot: { ...s, phase: 'charging', readyAt: this.now() },
        send: [{ stage: 'open', type: 'ready', body: {} }],
        events: [['opened', { sessionId: s.sessionId, vehicleId: s.peerId, depositAddress: address, deposits: { vehicle: channel.deposits[0], station: channel.deposits[1] } }]],
      });
    });
  }

  /** Attaches the co-signed final state, waits for confirmation, reports it and offers again. */
  private async settle(): Promise<void> {
    const channel = this.channelOf(this.snapshot);
    const tails = await this.attach(settlementBundles(channel));
    await this.waitConfirmed(tails);
    await this.exclusive(async () => {
      const s = this.snapshot;
      const settlement = { bundles: channel.chain.map((b) => b.hash), tails };
      const record = sessionRecord({ ...s, settlement }, this.options.id, s.peerId, this.now());
      await this.apply({
        snapshot: { ...s, settlement },
        send: [{ stage: 'settle', type: 'settled', body: settlement }],
        events: [['settled', record]],
      });
      await this.apply({ snapshot: emptySnapshot('station'), send: [this.offerMessage()] });
    });
  }

  private energy(s: SessionSnapshot): { sessionId: string; deliveredWh: number; paidWh: number } {
    const deliveredWh = s.startRegisterWh < 0 ? 0 : s.lastRegisterWh - s.startRegisterWh;
    return { sessionId: s.sessionId, deliveredWh, paidWh: s.paidIncrements * this.policy.incrementWh };
  }

  private offerMessage() {
    return { stage: 'offer' as const, type: 'offer' as const, body: this.offer };
  }
}

/** The station's public terms; refuses terms under which an increment would cost a fraction of a token. */
export function offerFor(stationId: string, policy: StationPolicy): Offer {
  const offer: Offer = {
    stationId,
    pricePerKWh: policy.pricePerKWh,
    incrementWh: policy.incrementWh,
    maxPowerW: policy.maxPowerW,
    creditWh: policy.creditWh,
    stationDeposit: policy.stationDeposit,
    security: policy.security,
    ...(policy.tangleUrl ? { tangleUrl: policy.tangleUrl } : {}),
  };
  const price = incrementPrice(offer);
  if (!Number.isSafeInteger(price) || price < 1) {
    throw new RangeError(`price × increment must be a whole number of tokens ≥ 1 per increment: ${policy.pricePerKWh} × ${policy.incrementWh} Wh / 1000 = ${price}`);
  }
  return offer;
}
