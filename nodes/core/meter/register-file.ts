import fs from 'node:fs';
import path from 'node:path';
import type { MeterReading } from './reading';
import { ensurePrivateDir, writeFileAtomic } from '../store';

/**
 * The last register of a polled meter, kept on disk so that it survives a restart: a session that goes on after a
 * redeploy compares the new readings with the register it last saw, and a register may never go back.
 */
export class RegisterFile {
  private savedWh = -1;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** The saved register in whole Wh; 0 when nothing was saved yet. Rejects for a damaged file, never guesses. */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let registerWh: unknown;
    try {
      registerWh = (JSON.parse(text) as { registerWh?: unknown }).registerWh;
    } catch {
      registerWh = undefined;
    }
    if (typeof registerWh !== 'number' || !Number.isSafeInteger(registerWh) || registerWh < 0) {
      throw new Error(`${this.file} holds no valid register; delete it only if the meter may start again from 0 Wh`);
    }
    this.savedWh = registerWh;
    return registerWh;
  }

  /** Saves a reading whose register is above the saved one. Writes run one after the other, never interleaved. */
  save(reading: MeterReading): Promise<void> {
    const run = this.writing.then(async () => {
      if (reading.registerWh <= this.savedWh) return;
      await ensurePrivateDir(path.dirname(this.file));
      await writeFileAtomic(this.file, `${JSON.stringify(reading)}\n`);
      this.savedWh = reading.registerWh;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every save asked for so far has ended, so that a redeployed node reads the latest register. */
  settled(): Promise<void> {
    return this.writing;
  }
}
