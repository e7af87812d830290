import os from 'node:os';
import path from 'node:path';
import type { NodeAPI } from 'node-red';

/**
 * Where this package keeps its files for a Node-RED runtime: `<userDir>/m2m-ev/<part>`, unless the user named a
 * directory. A relative directory is taken from the user directory too, so flows stay portable between devices.
 */
export function dataDir(RED: NodeAPI, configured: string | undefined, part: string): string {
  const userDir = RED.settings.userDir ?? path.join(os.homedir(), '.node-red');
  const chosen = (configured ?? '').trim();
  if (chosen === '') return path.join(userDir, 'm2m-ev', part);
  return path.resolve(userDir, chosen);
}

/** A number from an editor field (they arrive as strings), or the fallback when the field is empty. */
export function numberSetting(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a station with several connectors adds to every message and event it sends: the connector it is about. With
 * one connector, messages keep their shape.
 */
export function connectorField(several: boolean, connectorId: string): { connector?: string } {
  return several ? { connector: connectorId } : {};
}

/** The entry of the connector `msg.connector` names; one it does not know is refused with `unknown(connector, ids)`. */
export function namedConnector<T>(entries: Map<string, T>, connector: unknown, unknown: (connector: string, ids: string) => string): T {
  const entry = entries.get(String(connector));
  if (entry === undefined) throw new Error(unknown(String(connector), [...entries.keys()].join(', ')));
  return entry;
}

/**
 * A message whose topic has a `/` came from an `mqtt in` node: a node takes those addressed to it and ignores the
 * rest, so that one wildcard `mqtt in` per device feeds all its nodes. Any other message is a command or a reading.
 * The topic scheme: docs/PROTOCOL.md.
 */
export function isMqttTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.includes('/');
}
