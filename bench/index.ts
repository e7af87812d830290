import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm run bench`: runs every `*.bench.js` next to this file, one after the other so that they do not compete
 * for the CPU. Each bench module exports `run(): Promise<void>` and prints its own figures, with a baseline
 * measured in the same run. Optional arguments filter the benches by file name.
 */
export interface BenchModule {
  run(): Promise<void>;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
    .sort();
  console.log(`node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs`);
  for (const file of files) {
    console.log(`\n== ${file.replace(/\.bench\.js$/, '')}`);
    const bench = (await import(path.join(__dirname, file))) as BenchModule;
    await bench.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
