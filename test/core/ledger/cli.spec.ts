import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { composeAPI, generateAddress } from '@iota/core';
import { DevTangle } from '../../../nodes/core/ledger';
import { post, seed, tempDir } from './support';

const CLI = path.join(__dirname, '../../../nodes/core/ledger/cli.js');

describe('ledger: m2m-tangle CLI', function () {
  it('prints its help', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--help']);
    assert.match(stdout, /^Usage: m2m-tangle \[options\]/);
    assert.match(stdout, /--milestone-interval/);
  });

  it('refuses a bad option value with its name and the usage, exit code 2, and serves nothing', async () => {
    for (const [option, value] of [['--milestone-interval', 'soon'], ['--milestone-interval', '-1'], ['--mwm', '9.5'], ['--port', '']]) {
      const failed = await promisify(execFile)(process.execPath, [CLI, `${option}=${value}`, '--data', tempDir()], { timeout: 20_000 }).then(
        () => assert.fail(`${option}=${value} was taken`),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(failed.code, 2, `${option}=${value}`);
      assert.match(failed.stderr, new RegExp(`^m2m-tangle: ${option} must be a .+, got "${value}"`));
      assert.match(failed.stderr, /Usage: m2m-tangle \[options\]/);
    }
  });

  it('serves a funded development ledger, logs requests, and shuts down cleanly on SIGTERM', async () => {
    const dir = tempDir();
    const address = generateAddress(seed('CLI'), 0, 2);
    const child = spawn(process.execPath, [CLI, '--port', '0', '--data', dir, '--dev', '--fund', `${address}:1000`, '--mwm', '9'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`m2m-tangle exited early (${code}): ${output}`)));
      });
      const api = composeAPI({ provider: url });
      assert.match((await api.getNodeInfo()).appName, /DEVELOPMENT/);
      assert.deepEqual((await api.getBalances([address])).balances, [1000]);
      assert.equal((await post(url, JSON.stringify({ command: 'faucet', address, value: 5 }))).status, 200);

      // 'close' comes after the output streams are drained, unlike 'exit'.
      const exitCode = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      assert.equal(await exitCode, 0);
      assert.match(output, /\[info\] \S+ getBalances -> 200/);

      const reopened = await DevTangle.open({ dataDir: dir });
      assert.deepEqual(reopened.balances([address]).balances, [1005]);
      await reopened.close();
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
