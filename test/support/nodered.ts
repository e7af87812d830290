import path from 'node:path';
import helper from 'node-red-node-test-helper';
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

export { helper };
