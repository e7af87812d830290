import { fork } from 'node:child_process';
import path from 'node:path';

/**
 * Runs crash-child in `mode` on `target`, lets it acknowledge at least `acks` writes, kills it with SIGKILL while
 * it keeps writing, and returns everything it had acknowledged.
 */
export function writeUntilKilled<T>(mode: 'log' | 'ledger' | 'records', target: string, acks: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'crash-child.js'), [mode, target], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const acknowledged: T[] = [];
    child.on('message', (message) => {
      acknowledged.push(message as T);
      if (acknowledged.length === acks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`crash child ended by itself (code ${code}) after ${acknowledged.length} writes`));
    });
  });
}
