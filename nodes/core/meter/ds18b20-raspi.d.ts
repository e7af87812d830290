// ds18b20-raspi ships no types; these are the parts of its synchronous API the worker uses.
declare module 'ds18b20-raspi' {
  /** Sets the module-global 1-Wire bus directory (not in its README, but exported). */
  export function setW1Directory(directory: string): void;
  /** Sensor ids listed in w1_master_slaves whose w1_slave exists, sorted; [] on any error. */
  export function list(): string[];
  /** °C rounded to `digits`, or null when the CRC line is not `YES`, shows `crc=00`, or the file is unreadable. */
  export function readC(id: string, digits?: number): number | null;
}
