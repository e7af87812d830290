import assert from 'node:assert/strict';
import fs from 'node:fs';
import { DevTangle } from '../../../nodes/core/ledger';
import { writeUntilKilled } from '../store/crash';
import { tempDir } from './support';

describe('ledger: crash safety', function () {
  it('keeps every transaction it confirmed when the process is killed with SIGKILL while storing', async () => {
    const dir = tempDir();
    try {
      const confirmed = await writeUntilKilled<string>('ledger', dir, 15);
      const tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: 1 });
      try {
        assert.deepEqual(tangle.inclusionStates(confirmed), confirmed.map(() => true));
        assert.deepEqual(tangle.checkConsistency(confirmed), { state: true, info: '' });
      } finally {
        await tangle.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
