import path from 'node:path';
import type { Node } from 'node-red';
import helper from 'node-red-node-test-helper';
import type { StationParty, VehicleParty } from '../../nodes/core/session';
import type { ChargingPartyNode } from '../../nodes/types';
import { tempDir } from './temp';

/**
 * node-red-node-test-helper bound to the node-red package installed as a dev dependency, with a throw-away user
 * directory, so that nodes writing to their default data folders never touch the real ~/.node-red.
 */
export const testUserDir = tempDir('m2m-nr-user-');
helper.init(require.resolve('node-red'), { userDir: testUserDir } as unknown as Parameters<typeof helper.init>[1]);

/** Node-RED's own core MQTT nodes (`mqtt in`, `mqtt out`, `mqtt-broker`), loaded from node-red's package. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a path inside node-red's own package
export const coreMqttNodes = require(
  require.resolve('@node-red/nodes/core/network/10-mqtt.js', { paths: [path.dirname(require.resolve('node-red'))] }),
);

/** A flow as plain objects: the helper's own typing knows only a few node properties. */
export type FlowNode = Record<string, unknown> & { id: string; type: string };

export function loadFlow(nodes: unknown, flow: FlowNode[], credentials: Record<string, object> = {}): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return helper.load(nodes as any, flow as any, credentials as any) as unknown as Promise<void>;
}

interface SpyCall {
  thisValue: unknown;
  args: unknown[];
}

/** The arguments of every call of a spied Node method (the test helper spies status, error, warn, send) on `node`. */
export function callsOf(node: Node, method: 'status' | 'error' | 'warn' | 'send'): unknown[][] {
  const spy = (node as unknown as Record<string, { getCalls(): SpyCall[] }>)[method];
  return spy
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => call.args);
}

/** The texts of every status the node showed, in order. */
export function statusTexts(node: Node): (string | undefined)[] {
  return callsOf(node, 'status').map(([status]) => (status as { text?: string } | undefined)?.text);
}

/** The text of the node's latest status. */
export function statusText(node: Node): string | undefined {
  return statusTexts(node).at(-1);
}

/** The started party of the `charging-party` node `id`: its vehicle, or a station's (first) connector. */
export async function startedParty<T extends StationParty | VehicleParty>(id: string): Promise<T> {
  const [party] = (await (helper.getNode(id) as ChargingPartyNode).parties).values();
  return party as T;
}

export { helper };
