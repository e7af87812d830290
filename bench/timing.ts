import os from 'node:os';

/** Small timing helpers shared by the benches. Figures only: nothing here asserts a speed. */

export interface Timing {
  label: string;
  runs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
}

/** The nearest-rank percentile (p in 0..100) of unsorted samples: always one of the measured values. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

export function timingOf(label: string, samples: readonly number[]): Timing {
  return {
    label,
    runs: samples.length,
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    medianMs: percentile(samples, 50),
    p90Ms: percentile(samples, 90),
    p99Ms: percentile(samples, 99),
  };
}

/** Milliseconds since `start` (a process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function time(label: string, runs: number, fn: (i: number) => unknown | Promise<unknown>): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples.push(msSince(start));
  }
  return timingOf(label, samples);
}

export function report(rows: Timing[], baseline?: Timing): void {
  const width = Math.max(...rows.map((r) => r.label.length), 10);
  const ms = (x: number) => x.toFixed(1).padStart(8);
  for (const r of rows) {
    const ratio = baseline && r !== baseline ? `  (${(r.medianMs / baseline.medianMs).toFixed(2)}x baseline)` : '';
    console.log(
      `${r.label.padEnd(width)}  median ${ms(r.medianMs)} ms  p90 ${ms(r.p90Ms)}  p99 ${ms(r.p99Ms)}` +
        `  mean ${ms(r.meanMs)}  min ${ms(r.minMs)}  max ${ms(r.maxMs)}  n=${r.runs}${ratio}`,
    );
  }
}

/** A sample count from the environment (e.g. BENCH_SAMPLES=3 while the crypto is slow), else the default. */
export function countFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** How many samples each headline figure takes: at least 30 unless overridden for development. */
export const SAMPLES = countFromEnv('BENCH_SAMPLES', 30);

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export function memory(): string {
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  return `rss ${mb(rss)}, heap ${mb(heapUsed)} used of ${mb(heapTotal)}`;
}
