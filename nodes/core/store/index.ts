/**
 * Durable storage primitives, framework-free: an append-only log of JSON records with a checksum per record,
 * an atomic write-and-rename helper, and a lock file that keeps two processes from writing the same data.
 */
export { AppendLog, AppendLogOptions, checksumBytes, OpenedLog } from './log';
export { writeFileAtomic, writeFileAtomicSync, ensurePrivateDir } from './atomic';
export { DirectoryLock } from './lock';
export { StoreError } from './errors';
