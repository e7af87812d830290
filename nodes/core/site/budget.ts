import { EventEmitter } from 'node:events';
import { IEC_MIN_CURRENT_A } from '../evse/types';

export interface SiteBudgetOptions {
  /** What the site's supply gives all connectors together, whole amps (per phase). */
  limitA: number;
  /** The least current a connector is ever given, whole amps; 6 A by IEC 61851 (below it a charger can only stop). */
  minCurrentA?: number;
  /** Line voltage and phases, to state the site's power in watts; default 230 V, 1 phase. */
  volts?: number;
  phases?: 1 | 3;
}

/**
 * Where a connector stands: `idle` (no session), `queued` (a session waits for the budget to give it the minimum),
 * `charging` (it holds a share), `paused` (it keeps its place but draws nothing, e.g. held by the credit gate).
 */
export type ConnectorState = 'idle' | 'queued' | 'charging' | 'paused';

export interface ConnectorShare {
  connectorId: string;
  state: ConnectorState;
  /** The current this connector may draw now, whole amps (0 unless charging). */
  currentA: number;
  /** The connector's own maximum, whole amps. */
  maxCurrentA: number;
  /** 1 for the first connector waiting, 2 for the next…; 0 when not queued. */
  queuePosition: number;
}

export interface SiteSnapshot {
  limitA: number;
  minCurrentA: number;
  /** The sum of the shares, whole amps; never above limitA. */
  allocatedA: number;
  /** allocatedA as power: amps × volts × phases, whole watts. */
  allocatedW: number;
  limitW: number;
  connectors: ConnectorShare[];
}

interface Connector {
  id: string;
  maxCurrentA: number;
  state: ConnectorState;
  currentA: number;
  /** The order in which connectors asked for power: earlier asks are admitted first and get the odd amps. */
  askedAt: number;
}

function wholeAmps(name: string, value: number, minimum: number): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new RangeError(`${name} must be a whole number of amps >= ${minimum}, got ${String(value)}`);
  }
  return value;
}

/**
 * Shares `limitA` among connectors with these caps, max-min fair in whole amps (water-filling): a connector whose
 * cap is below the equal share gets its cap, the others share the rest equally, and the odd amps go one each to
 * the connectors listed first.
 */
export function waterFill(limitA: number, caps: readonly number[]): number[] {
  const shares = caps.map(() => 0);
  const byCap = caps.map((_, i) => i).sort((a, b) => caps[a] - caps[b] || a - b);
  let left = limitA;
  let open = caps.length;
  while (open > 0 && caps[byCap[caps.length - open]] * open <= left) {
    const i = byCap[caps.length - open];
    shares[i] = caps[i];
    left -= caps[i];
    open--;
  }
  if (open === 0) return shares;
  const uncapped = byCap.slice(caps.length - open).sort((a, b) => a - b);
  const base = Math.floor(left / open);
  uncapped.forEach((i, rank) => (shares[i] = base + (rank < left % open ? 1 : 0)));
  return shares;
}

/**
 * A site's power budget, shared by its connectors as SmartEVSE's load balancing and OCPP's ChargePointMaxProfile
 * do. A connector whose session starts is admitted only if every admitted connector can still get the minimum
 * (k × 6 A ≤ limit); otherwise it waits in a first-come queue and is admitted when a session ends or the limit
 * rises. A running connector is never preempted by a later one. The admitted connectors that draw share the limit
 * max-min fair; a paused one keeps its place (and its minimum in reserve) but its current goes to the others.
 *
 * Emits `share` (ConnectorShare) for every connector whose current or state changed, all decreases before any
 * increase, so that a charger that follows the events in order never makes the site draw more than its limit;
 * then `site` (SiteSnapshot), once per change (of a share or of the limit), for a dashboard.
 */
export class SiteBudget extends EventEmitter {
  readonly minCurrentA: number;
  readonly volts: number;
  readonly phases: 1 | 3;
  private limit: number;
  private readonly connectors = new Map<string, Connector>();
  private asks = 0;

  constructor(options: SiteBudgetOptions) {
    super();
    this.minCurrentA = wholeAmps('minCurrentA', options.minCurrentA ?? IEC_MIN_CURRENT_A, IEC_MIN_CURRENT_A);
    this.limit = wholeAmps('limitA', options.limitA, 0);
    this.volts = options.volts ?? 230;
    this.phases = options.phases ?? 1;
    if (!Number.isSafeInteger(this.volts) || this.volts <= 0) throw new RangeError(`volts must be a whole number > 0, got ${String(options.volts)}`);
    if (this.phases !== 1 && this.phases !== 3) throw new RangeError(`phases must be 1 or 3, got ${String(options.phases)}`);
  }

  get limitA(): number {
    return this.limit;
  }

  /** Adds a connector, idle, with its own maximum current (the cable, the charger). */
  addConnector(id: string, maxCurrentA: number): void {
    if (typeof id !== 'string' || id === '') throw new RangeError('a connector needs an id');
    if (this.connectors.has(id)) throw new RangeError(`connector ${id} is already on this site`);
    wholeAmps(`maxCurrentA of connector ${id}`, maxCurrentA, this.minCurrentA);
    this.connectors.set(id, { id, maxCurrentA, state: 'idle', currentA: 0, askedAt: 0 });
  }

  /** Takes a connector off the site (its share goes to the others); an unknown one is ignored. */
  removeConnector(id: string): void {
    if (!this.connectors.has(id)) return;
    this.stop(id);
    this.connectors.delete(id);
  }

  /** A session started on the connector: it asks for power (and queues if the budget cannot give it the minimum). */
  start(id: string): void {
    const connector = this.get(id);
    if (connector.state !== 'idle') return;
    this.recompute(() => {
      connector.state = 'queued';
      connector.askedAt = ++this.asks;
    });
  }

  /** The session ended: the connector's share and place go to the others. */
  stop(id: string): void {
    const connector = this.get(id);
    if (connector.state === 'idle') return;
    this.recompute(() => (connector.state = 'idle'));
  }

  /** The connector draws nothing for now (the credit gate holds it): the others get its current, it keeps its place. */
  pause(id: string): void {
    const connector = this.get(id);
    if (connector.state !== 'charging') return;
    this.recompute(() => (connector.state = 'paused'));
  }

  /** A paused connector draws again. */
  resume(id: string): void {
    const connector = this.get(id);
    if (connector.state !== 'paused') return;
    this.recompute(() => (connector.state = 'charging'));
  }

  /**
   * A new site limit (the grid connection, a base load that changed). When it cannot give every admitted connector
   * the minimum any more, the connectors admitted last go back to the head of the queue.
   */
  setLimit(limitA: number): void {
    wholeAmps('limitA', limitA, 0);
    this.recompute(() => (this.limit = limitA));
  }

  shareOf(id: string): ConnectorShare {
    const connector = this.get(id);
    return this.shareFor(connector);
  }

  snapshot(): SiteSnapshot {
    const connectors = [...this.connectors.values()].map((c) => this.shareFor(c));
    const allocatedA = connectors.reduce((sum, c) => sum + c.currentA, 0);
    return {
      limitA: this.limit,
      minCurrentA: this.minCurrentA,
      allocatedA,
      allocatedW: this.watts(allocatedA),
      limitW: this.watts(this.limit),
      connectors,
    };
  }

  watts(amps: number): number {
    return amps * this.volts * this.phases;
  }

  private get(id: string): Connector {
    const connector = this.connectors.get(id);
    if (!connector) throw new RangeError(`no connector ${String(id)} on this site`);
    return connector;
  }

  private shareFor(connector: Connector): ConnectorShare {
    return {
      connectorId: connector.id,
      state: connector.state,
      currentA: connector.currentA,
      maxCurrentA: connector.maxCurrentA,
      queuePosition: connector.state === 'queued' ? this.queue().indexOf(connector) + 1 : 0,
    };
  }

  private queue(): Connector[] {
    return [...this.connectors.values()].filter((c) => c.state === 'queued').sort((a, b) => a.askedAt - b.askedAt);
  }

  /** Applies a change, then admits, suspends and shares anew, and reports every connector that changed. */
  private recompute(change: () => void): void {
    const before = new Map([...this.connectors.values()].map((c) => [c.id, { state: c.state, currentA: c.currentA }]));
    const limitBefore = this.limit;
    change();
    const all = [...this.connectors.values()].sort((a, b) => a.askedAt - b.askedAt);
    const admitted = all.filter((c) => c.state === 'charging' || c.state === 'paused');
    const slots = Math.floor(this.limit / this.minCurrentA);
    // A lower limit: the connectors admitted last wait again, keeping their place ahead of later asks.
    for (const c of admitted.splice(slots)) c.state = 'queued';
    for (const c of this.queue()) {
      if (admitted.length >= slots) break;
      c.state = 'charging';
      admitted.push(c);
    }
    const drawing = all.filter((c) => c.state === 'charging');
    const shares = waterFill(this.limit, drawing.map((c) => c.maxCurrentA));
    for (const c of all) c.currentA = 0;
    drawing.forEach((c, i) => (c.currentA = shares[i]));
    const changed = all.filter((c) => before.get(c.id)!.state !== c.state || before.get(c.id)!.currentA !== c.currentA);
    changed.sort((a, b) => a.currentA - before.get(a.id)!.currentA - (b.currentA - before.get(b.id)!.currentA));
    for (const c of changed) this.emit('share', this.shareFor(c));
    if (changed.length > 0 || this.limit !== limitBefore) this.emit('site', this.snapshot());
  }
}
