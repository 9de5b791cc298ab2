// XDP: Run on Live Traffic inside a real VS Code (code-server, through the e2e harness), with a fake tcpdump: see
// host/live-suite.cjs. Skips like the e2e tests when code-server is not installed (bash scripts/setup-e2e.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { e2eSkip, extensionHostLog, runExtensionTests } from '../e2e/harness/index.ts';
import { fakeTcpdump } from '../server/fake-tcpdump.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const skip = e2eSkip() || (!built && 'dist/ is missing: run npm run build');

test('in a real VS Code: Run on Live Traffic grows the counts lens, stops on the stop command, keeps the recorded capture', { skip, timeout: 180_000 }, async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'xdp-lens-host-live-'));
  try {
    copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
    copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
    fakeTcpdump(workspace, 'fake-tcpdump', 'wait', { delayMs: 150 });
    const r = await runExtensionTests({
      extensionDevelopmentPath: REPO,
      extensionTestsPath: join(REPO, 'test', 'client', 'host', 'live-suite.cjs'),
      workspace,
      screenshotName: 'client-host-live-suite',
    });
    assert.equal(r.exitCode, 0, `in-host suite failed\n${extensionHostLog(r)}\n--- window console (the suite's error) ---\n${r.consoleLog.slice(-6000)}\n${r.serverLog.slice(-4000)}`);
    assert.equal(readFileSync(join(workspace, 'host-live-suite-ran.txt'), 'utf8').trim().split('\n').length, 5);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
