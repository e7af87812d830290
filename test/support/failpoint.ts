/**
 * Preloaded into a Node-RED process (`node --require`) by the fault-injection test: kills the process with
 * SIGKILL at one protocol step, named in the M2M_FAILPOINT environment variable, exactly where the party reports
 * it (`PartyOptions.onStep`: after the journal write, before the messages that depend on it leave; or after our
 * own bundle reached the Tangle). Before dying it appends the step to a log file, with fsync, so the test knows
 * where the process stopped. Test code only: nothing in the package reads the variable.
 */
import fs from 'node:fs';
import type { Party, PartyOptions } from '../../nodes/core/session';

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
  // Node-RED loads the package's node files later; they find this module, patched, in the require cache. The
  // patch must be in place before that, so the module is loaded synchronously.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Party: PartyClass } = require(failpoint.partyModule) as { Party: typeof Party };
  const start = PartyClass.prototype.start;
  PartyClass.prototype.start = function (this: Party) {
    const options = (this as unknown as { options: PartyOptions }).options;
    options.onStep = (step) => {
      if (step.includes(failpoint.step)) dieAt(step, failpoint.log);
    };
    return start.call(this);
  };
}
