import mqtt, { type MqttClient } from 'mqtt';
import type { Outgoing, StationParty, VehicleParty } from '../nodes/core/session';

export const PREFIX = 'm2m-ev/v1';

/**
 * Core session parties of one process on one MQTT connection, each on its station's topics, as the stage nodes and
 * the core `mqtt in`/`mqtt out` nodes wire them in a flow: JSON payloads at QoS 1, the station's offer retained.
 * A message a party refuses, or one that could not be published, is kept in `errors`, as a node would report it.
 */
export class MqttLink {
  private readonly parties = new Map<string, StationParty | VehicleParty>();
  readonly errors: string[] = [];

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const party = this.parties.get(this.keyOf(topic));
      const stage = party?.stageOf(topic);
      if (!stage || !party) return;
      party.receive(stage, payload.toString()).catch((err: Error) => this.errors.push(`${topic}: ${err.message}`));
    });
  }

  static async connect(port: number): Promise<MqttLink> {
    return new MqttLink(await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clean: true }));
  }

  /** `${stationId}/${role}` of the party a topic is for: the offer goes to vehicles, other stages name their role. */
  private keyOf(topic: string): string {
    const [stationId, ...rest] = topic.slice(PREFIX.length + 1).split('/');
    return `${stationId}/${rest[0] === 'offer' ? 'vehicle' : rest[1]}`;
  }

  /** Links a party of the session at `stationId` (a vehicle's or the station's own id). */
  async add(party: StationParty | VehicleParty, stationId: string): Promise<void> {
    this.parties.set(`${stationId}/${party.role}`, party);
    party.on('send', (out: Outgoing) => {
      this.client.publishAsync(out.topic, JSON.stringify(out.payload), { qos: 1, retain: out.retain }).catch((err: Error) => this.errors.push(`publish ${out.topic}: ${err.message}`));
    });
    const topics = party.role === 'station' ? [`${PREFIX}/${stationId}/+/station`] : [`${PREFIX}/${stationId}/offer`, `${PREFIX}/${stationId}/+/vehicle`];
    // As the examples' `mqtt in` nodes: published at QoS 1, delivered at QoS 0 (docs/PERFORMANCE.md says why).
    await this.client.subscribeAsync(topics, { qos: 0 });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
