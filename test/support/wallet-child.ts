/**
 * A second process on a wallet file, for the key-counter tests: `node wallet-child.js <dir> <fingerprint> <mode>`.
 * `hold`: opens the store, allocates an index (so it holds the lock), prints "open" and runs until killed. `allocate-and-die`: opens it, allocates
 * one key index, prints it, and kills itself with SIGKILL before it can use it (or release anything).
 * Any error is printed as `error: <message>`.
 */
import { WalletStore } from '../../nodes/core/wallet';

const [dir, fingerprint, mode] = process.argv.slice(2);
try {
  const store = WalletStore.open(dir, fingerprint);
  if (mode === 'hold') {
    store.allocate(1);
    process.stdout.write('open\n');
    setInterval(() => undefined, 1000);
  } else {
    const [index] = store.allocate(1);
    process.stdout.write(`${index}\n`, () => process.kill(process.pid, 'SIGKILL'));
  }
} catch (err) {
  process.stdout.write(`error: ${(err as Error).message}\n`);
}
