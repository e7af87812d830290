import fs from 'node:fs';
import { checksumBytes, StoreError, writeFileAtomic } from '../store';
import { TRANSACTION_TRYTES } from './validate';

/**
 * Where the ledger keeps the trytes of its transactions: numbered slots of 2673 trytes each, so that its memory
 * holds a slot number per transaction instead of the transaction. Slots are written before the log record that
 * names them, and only that record makes them part of the ledger.
 */
export interface TransactionSlots {
  /** Writes `trytes` into the slots from `first` on (replacing any not yet named by the log); durable on return. */
  write(first: number, trytes: readonly string[]): Promise<void>;
  read(slot: number): string;
  /** The checksum of `count` slots from `first`, as `checksum` computes it from their trytes. */
  checksumOf(first: number, count: number): string;
  /** Forgets every slot from `count` on: written before a crash, never named by the log. */
  truncate(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A batch's checksum, checked when the ledger is opened: the store's checksum of its trytes (a byte each), in hex. */
export function checksum(trytes: readonly string[]): string {
  return checksumBytes(Buffer.from(trytes.join(''), 'latin1')).toString('hex');
}

/** Slots in memory, for a ledger without a data directory. */
export class MemorySlots implements TransactionSlots {
  private readonly slots: string[] = [];

  async write(first: number, trytes: readonly string[]): Promise<void> {
    this.slots.length = first;
    this.slots.push(...trytes);
  }

  read(slot: number): string {
    return this.slots[slot];
  }

  checksumOf(first: number, count: number): string {
    return checksum(this.slots.slice(first, first + count));
  }

  async truncate(count: number): Promise<void> {
    this.slots.length = Math.min(this.slots.length, count);
  }

  async close(): Promise<void> {}
}

/** Slots in a file: slot n is the 2673 bytes (ASCII trytes) at n × 2673. Reads come from the page cache. */
export class FileSlots implements TransactionSlots {
  private constructor(
    readonly file: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  static async open(file: string): Promise<FileSlots> {
    // Created atomically, the directory entry synced: slots acknowledged later never vanish with the file.
    if (!fs.existsSync(file)) await writeFileAtomic(file, new Uint8Array(0));
    return new FileSlots(file, await fs.promises.open(file, 'r+'));
  }

  async write(first: number, trytes: readonly string[]): Promise<void> {
    const data = Buffer.from(trytes.join(''), 'latin1');
    await this.handle.write(data, 0, data.length, first * TRANSACTION_TRYTES);
    await this.handle.datasync();
  }

  read(slot: number): string {
    return this.bytes(slot, 1).toString('latin1');
  }

  checksumOf(first: number, count: number): string {
    return checksumBytes(this.bytes(first, count)).toString('hex');
  }

  async truncate(count: number): Promise<void> {
    if ((await this.handle.stat()).size <= count * TRANSACTION_TRYTES) return;
    await this.handle.truncate(count * TRANSACTION_TRYTES);
    await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private bytes(first: number, count: number): Buffer {
    const data = Buffer.allocUnsafe(count * TRANSACTION_TRYTES);
    const read = fs.readSync(this.handle.fd, data, 0, data.length, first * TRANSACTION_TRYTES);
    if (read < data.length) throw new StoreError(`${this.file} is shorter than its ledger says: slots ${first}..${first + count - 1} are missing`);
    return data;
  }
}
