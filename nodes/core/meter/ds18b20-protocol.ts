/** Messages between Ds18b20Meter and its worker thread. */

export interface WorkerConfig {
  w1Directory: string;
  /** Undefined: the first sensor the bus lists. */
  sensorId?: string;
}

export interface ReadRequest {
  seq: number;
}

export type Ds18b20ErrorCode =
  /** No sensor listed on the bus (sensor id not configured). */
  | 'no-sensor'
  /** The configured sensor has no w1_slave file. */
  | 'sensor-not-found'
  /** The CRC line ends in NO: the bits were corrupted on the wire. */
  | 'crc-error'
  /** The CRC line shows crc=00: the sensor is disconnected (all-zero scratchpad). */
  | 'disconnected'
  /** 85 °C: the value the sensor holds after power-on, before its first conversion. */
  | 'power-on-value'
  /** The file could be read but held no temperature. */
  | 'unreadable'
  /** The worker did not answer within readTimeoutMs (a hung bus). */
  | 'timeout'
  /** The worker thread died. */
  | 'worker-failed'
  /** The meter was closed. */
  | 'closed';

export type ReadResponse =
  | { seq: number; ok: true; sensorId: string; temperatureC: number }
  | { seq: number; ok: false; code: Ds18b20ErrorCode; message: string; sensorId?: string };
