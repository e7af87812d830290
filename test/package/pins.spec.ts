import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { listInstalled, wrongIotaVersions } from '../support/installed';
import { tempDir } from '../support/temp';

const repoRoot = path.resolve(__dirname, '../../..');

describe('package: @iota version pins', function () {
  it('installs only @iota 1.0.0-beta.30 (curl beta.19) in this repository', function () {
    const iota = listInstalled(path.join(repoRoot, 'node_modules')).filter((p) => p.name.startsWith('@iota/'));
    assert.ok(iota.length >= 10, `expected the @iota packages to be installed, found ${iota.length}`);
    assert.deepEqual(wrongIotaVersions(path.join(repoRoot, 'node_modules')), []);
  });

  it('keeps the pins when the packed tarball is installed as a dependency', function () {
    this.timeout(300000);
    const work = tempDir('m2m-pack-');
    try {
      // dist/ is fresh: `npm test` builds before it runs the suite.
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
          cwd: repoRoot,
          encoding: 'utf8',
        }),
      )[0];
      const shipped: string[] = packed.files.map((f: { path: string }) => f.path);
      assert.ok(shipped.some((f) => f.startsWith('dist/nodes/')), 'the tarball ships dist/nodes');
      assert.ok(!shipped.some((f) => f.startsWith('dist/test/')), 'the tarball does not ship tests');

      const consumer = path.join(work, 'consumer');
      fs.mkdirSync(consumer);
      fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      execFileSync(
        'npm',
        ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(work, packed.filename)],
        { cwd: consumer, stdio: 'pipe' },
      );
      const installed = listInstalled(path.join(consumer, 'node_modules'));
      assert.ok(installed.some((p) => p.name === '@m2m-ev/node-red-flash-charging'));
      assert.ok(installed.some((p) => p.name === '@iota/core'), '@iota/core came along');
      assert.deepEqual(wrongIotaVersions(path.join(consumer, 'node_modules')), []);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
