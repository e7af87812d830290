/**
 * Runs ds18b20-raspi's synchronous API off the main thread. A 1-Wire read blocks for a conversion (~750 ms) and
 * the library's callback API runs the blocking path too, so it may only ever run here. The library's directory is
 * module-global; each meter has its own worker, hence its own copy of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import * as ds18b20 from 'ds18b20-raspi';
import { Ds18b20ErrorCode, ReadRequest, ReadResponse, WorkerConfig } from './ds18b20-protocol';

const config = workerData as WorkerConfig;
ds18b20.setW1Directory(config.w1Directory);

type Result = { ok: true; sensorId: string; temperatureC: number } | { ok: false; code: Ds18b20ErrorCode; message: string; sensorId?: string };

function fail(code: Ds18b20ErrorCode, message: string, sensorId?: string): Result {
  return { ok: false, code, message, sensorId };
}

function readOnce(): Result {
  const sensorId = config.sensorId ?? ds18b20.list()[0];
  if (!sensorId) return fail('no-sensor', `no 1-Wire sensor listed in ${path.join(config.w1Directory, 'w1_master_slaves')}`);
  const file = path.join(config.w1Directory, sensorId, 'w1_slave');
  // stat, not open: checking must not itself start a conversion.
  if (!fs.existsSync(file)) return fail('sensor-not-found', `1-Wire sensor ${sensorId} not found (no ${file})`, sensorId);
  const temperatureC = ds18b20.readC(sensorId, 3);
  return temperatureC === null ? diagnose(sensorId, file) : { ok: true, sensorId, temperatureC };
}

/** The library answers null without saying why; one more read of the raw text tells which of its rules applied. */
function diagnose(sensorId: string, file: string): Result {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return fail('sensor-not-found', `1-Wire sensor ${sensorId} vanished while reading ${file}`, sensorId);
  }
  const firstLine = text.split('\n')[0];
  if (firstLine.includes('crc=00')) return fail('disconnected', `sensor ${sensorId} reports crc=00: disconnected`, sensorId);
  if (!firstLine.includes('YES')) return fail('crc-error', `sensor ${sensorId} failed its CRC check (NO)`, sensorId);
  if (!/t=-?\d+/.test(text)) return fail('unreadable', `sensor ${sensorId}: no temperature in ${file}`, sensorId);
  // On a real bus every read is a new conversion: the library saw a bad one, this one passed.
  return fail('crc-error', `sensor ${sensorId} gave a reading the library rejected (transient CRC error)`, sensorId);
}

parentPort?.on('message', (request: ReadRequest) => {
  const response: ReadResponse = { seq: request.seq, ...readOnce() };
  parentPort?.postMessage(response);
});
