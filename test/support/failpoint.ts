/**
 * Preloaded into a Node-RED process (`node --require`) by the fault-injection test: kills the process with
 * SIGKILL at one protocol step, named in the M2M_FAILPOINT environment variable, exactly where the party reports
 * it (`PartyOptions.onStep`: after the journal write, before the messages that depend on it leave; or after our
 * own bundle reached the Tangle), or inside the wallet ("wallet: inputs marked spent"). Before dying it appends the step to a log file, with fsync, so the test knows
 * where the process stopped. Test code only: nothing in the package reads the variable.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Party, PartyOptions } from '../../nodes/core/session';
import type { WalletStore } from '../../nodes/core/wallet';

export interface Failpoint {
  /** The installed package's `dist/nodes/core/session/party.js`, as Node-RED loads it (a real path). */
  partyModule: string;
  /** A substring of the step, as onStep names it, e.g. "station: received proposal → cosignature". */
  step: string;
  /** Where the step that fired is recorded. */
  log: string;
}

export const FAILPOINT_ENV = 'M2M_FAILPOINT';

function dieAt(step: string, log: string): never {
  const fd = fs.openSync(log, 'a');
  fs.writeSync(fd, `${step}\n`);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  process.kill(process.pid, 'SIGKILL');
  // The signal is on its way: let no other line of JavaScript run meanwhile.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}

const configured = process.env[FAILPOINT_ENV];
if (configured) {
  const failpoint = JSON.parse(configured) as Failpoint;
  const check = (step: string) => {
    if (step.includes(failpoint.step)) dieAt(step, failpoint.log);
  };
  // Node-RED loads the package's node files later; they find these modules, patched, in the require cache. The
  // patches must be in place before that, so the modules are loaded synchronously.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Party: PartyClass } = require(failpoint.partyModule) as { Party: typeof Party };
  const start = PartyClass.prototype.start;
  PartyClass.prototype.start = function (this: Party) {
    (this as unknown as { options: PartyOptions }).options.onStep = check;
    return start.call(this);
  };
  // One step inside the wallet: a transfer's inputs are marked spent (with the signed bundle), nothing is sent yet.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { WalletStore: StoreClass } = require(path.join(path.dirname(failpoint.partyModule), '../wallet/wallet-store')) as { WalletStore: typeof WalletStore };
  const markSpent = StoreClass.prototype.markSpent;
  StoreClass.prototype.markSpent = function (this: WalletStore, ...args: Parameters<WalletStore['markSpent']>) {
    markSpent.apply(this, args);
    check('wallet: inputs marked spent');
  };
}
