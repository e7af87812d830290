const MS_PER_HOUR = 3_600_000;

/** The most energy a charger of `maxPowerW` can deliver in `elapsedMs`, in (fractional) Wh. */
export function maxPlausibleWh(maxPowerW: number, elapsedMs: number): number {
  if (!Number.isFinite(maxPowerW) || maxPowerW < 0) throw new RangeError(`maxPowerW must be >= 0, got ${maxPowerW}`);
  if (!Number.isFinite(elapsedMs) || elapsedMs < 0) throw new RangeError(`elapsedMs must be >= 0, got ${elapsedMs}`);
  return (maxPowerW * elapsedMs) / MS_PER_HOUR;
}
