import type { Outgoing, Party } from '../../nodes/core/session';

/** Whether an MQTT subscription (with `+` and `#` wildcards) receives messages on `topic`. */
export function mqttMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/**
 * A broker in a test's memory: parties publish (retained messages kept, an empty retained one clears), each
 * subscription gets what matches its filters, asynchronously and in order, a retained message also when it
 * subscribes. Each party takes what is addressed to it as the stage nodes give it (stageOf, receiveOnTopic).
 */
export class Bus {
  private readonly retained = new Map<string, Outgoing | { topic: string; payload: '' }>();
  private readonly subscribers: { party: Party; filters: string[] }[] = [];
  readonly errors: { party: string; message: string }[] = [];
  /** Everything published, in order. */
  readonly log: { topic: string; payload: unknown }[] = [];
  /** Messages published and not yet taken by every subscriber: 0 when the exchange rests. */
  inFlight = 0;
  /** Drops a message before it is published, when it returns true. */
  drop: (message: { topic: string; payload: unknown }) => boolean = () => false;

  /** Wires the party's messages into the bus, and subscribes it to `filters`. */
  connect(party: Party, filters: string[]): void {
    party.on('send', (out: Outgoing) => this.publish(out, party));
    party.on('withdraw', (out: Outgoing) => this.publish(out, party));
    this.subscribers.push({ party, filters });
    for (const message of this.retained.values()) if (filters.some((f) => mqttMatches(f, message.topic))) this.deliver(party, message);
  }

  disconnect(party: Party): void {
    const i = this.subscribers.findIndex((s) => s.party === party);
    if (i >= 0) this.subscribers.splice(i, 1);
  }

  publish(message: { topic: string; payload: unknown; retain?: boolean }, from?: Party): void {
    if (this.drop(message)) return;
    this.log.push(message);
    if (message.retain && message.payload === '') this.retained.delete(message.topic);
    else if (message.retain) this.retained.set(message.topic, message as Outgoing);
    for (const { party, filters } of this.subscribers) {
      if (party !== from && filters.some((f) => mqttMatches(f, message.topic))) this.deliver(party, message);
    }
  }

  private deliver(party: Party, message: { topic: string; payload: unknown }): void {
    this.inFlight++;
    setImmediate(() => {
      const stage = party.stageOf(message.topic);
      const payload = message.payload === '' ? '' : JSON.stringify(message.payload);
      (stage ? party.receiveOnTopic(message.topic, stage, payload) : Promise.resolve())
        .catch((err: Error) => this.errors.push({ party: party.role, message: err.message }))
        .finally(() => this.inFlight--);
    });
  }
}
