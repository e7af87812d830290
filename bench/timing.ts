/** Small timing helpers shared by the benches. Figures only: nothing here asserts a speed. */

export interface Timing {
  label: string;
  runs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

export async function time(label: string, runs: number, fn: (i: number) => unknown | Promise<unknown>): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const meanMs = samples.reduce((a, b) => a + b, 0) / runs;
  return { label, runs, meanMs, minMs: Math.min(...samples), maxMs: Math.max(...samples) };
}

export function report(rows: Timing[], baseline?: Timing): void {
  const width = Math.max(...rows.map((r) => r.label.length), 10);
  for (const r of rows) {
    const ratio = baseline && r !== baseline ? `  (${(r.meanMs / baseline.meanMs).toFixed(2)}x baseline)` : '';
    console.log(
      `${r.label.padEnd(width)}  mean ${r.meanMs.toFixed(1).padStart(8)} ms  min ${r.minMs.toFixed(1).padStart(8)}` +
        `  max ${r.maxMs.toFixed(1).padStart(8)}  n=${r.runs}${ratio}`,
    );
  }
}
