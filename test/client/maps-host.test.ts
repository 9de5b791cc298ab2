// The XDP Maps view and the seed commands inside a real VS Code (code-server, through the e2e harness): the in-host
// suite in host/maps-suite.cjs. Skips like the e2e tests when code-server is not installed (bash scripts/setup-e2e.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { e2eSkip, extensionHostLog, runExtensionTests } from '../e2e/harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const skip = e2eSkip() || (!built && 'dist/ is missing: run npm run build');

test('in a real VS Code: choose a map seed, the maps view after a run, save the maps as a seed, stale after an edit', { skip, timeout: 180_000 }, async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'xdp-lens-host-maps-'));
  try {
    for (const f of ['xdp_filter.c', 'demo.pcap', 'blocklist.json']) copyFileSync(join(REPO, 'examples', f), join(workspace, f));
    const r = await runExtensionTests({
      extensionDevelopmentPath: REPO,
      extensionTestsPath: join(REPO, 'test', 'client', 'host', 'maps-suite.cjs'),
      workspace,
      screenshotName: 'client-host-maps',
    });
    assert.equal(r.exitCode, 0, `in-host suite failed\n${extensionHostLog(r)}\n--- window console ---\n${r.consoleLog.slice(-6000)}\n${r.serverLog.slice(-4000)}`);
    assert.equal(readFileSync(join(workspace, 'host-maps-suite-ran.txt'), 'utf8').trim().split('\n').length, 4);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
