// The Run Summary in a real VS Code (code-server + chromium; see README.md in this folder), as a person would reach it:
// run the demo program on a capture of a few thousand packets with a telnet SYN flood in the middle, over four RX
// queues, then click the chart icon in the packets view's title. The page's numbers are the CLI's for the same run;
// clicking an exit line filters the packets view to its packets. Then Compare Verdicts with the previous run after an
// edit. Screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from '../repo.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { ARTIFACTS_DIR, clickUntil, e2eRequired, e2eSkip, pickQuickItem, replaceLineEndAndSave, runCommand, startVSCode, waitForActiveEditor, waitForStatusBarText, waitVisible, type VSCodeSession } from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js')) && existsSync(join(REPO, 'dist', 'cli.js'));
const NOT_BUILT = 'dist/ is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-summary-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

/**
 * 30 seconds of the demo capture's traffic at about 100 packets a second from many hosts (the last byte of an IPv4
 * source varies, so RSS spreads the flows), and from 10 s to 16 s a flood of telnet SYNs (which the program drops).
 */
function floodCapture(path: string): void {
  const frames: Uint8Array[] = [];
  const reader = openCapture(join(REPO, 'examples', 'demo.pcap'));
  for (let p; (p = reader.next()); ) frames.push(p.frame);
  reader.close();
  const normal = [0, 1, 2, 4, 5, 7, 8, 9];
  const w = new PcapWriter(path);
  const t0 = 1_764_000_000_000_000_000n;
  let k = 0;
  for (let ms = 0; ms < 30_000; ms += 10) {
    const flood = ms >= 10_000 && ms < 16_000;
    for (let j = 0; j < (flood ? 4 : 1); j++, k++) {
      const f = frames[flood && j > 0 ? 3 : normal[k % normal.length]!]!.slice();
      if (f[12] === 0x08 && f[13] === 0x00) f[29] = 1 + (k % 200);
      w.write(t0 + BigInt(ms) * 1_000_000n + BigInt(j) * 1000n, f);
    }
  }
  w.close();
}

test('the Run Summary from the packets view: the run in pictures, numbers as the CLI counts them', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'summary-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  floodCapture(join(workspace, 'flood.pcap'));
  const cli = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'run', join(workspace, 'xdp_filter.c'), join(workspace, 'flood.pcap'), '--queues', '4', '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const want = JSON.parse(cli.stdout).summary as { packets: number; actions: Record<string, number> };
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 1000 },
      settings: { 'xdpLens.defaultCapture': 'flood.pcap', 'xdpLens.driver.queues': 4, 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /flood\.pcap.*default/);

    // From the packets view's title, once the run is done: the chart icon.
    await runCommand(page, 'XDP: Show Packets View');
    // Alone in its panel the view's actions are in the panel title; beside other views, in its own header on hover.
    const header = page.locator('.part.panel .pane-header').filter({ hasText: /XDP Packets/i });
    await waitVisible(page.locator('.part.panel').getByText(/^[\d,]+ packets · xdp_filter\.c on flood\.pcap$/), 'the run in the packets view', 90_000, page.locator('.part.panel'));
    const icon = page.locator('.part.panel .action-label[aria-label^="XDP: Show Run Summary"]');
    const summaryTab = page.locator('.part.editor .tabs-container .tab.active').filter({ hasText: 'Run Summary: xdp_filter.c' });
    // The pointer over the header shows the icon; moved there again before each click (a toast or a redraw may take it).
    await clickUntil(icon, summaryTab, 'the Run Summary, opened by the icon in the packets view title', {
      waitMs: 5_000,
      again: async () => {
        if (await summaryTab.first().isVisible()) return false;
        if (await header.count()) await header.first().hover({ timeout: 3_000 }).catch(() => undefined);
        return true;
      },
      area: page.locator('.part.panel'),
    });
    const view = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await waitVisible(view.locator('#timeline-chart'), 'the timeline chart in the webview', 30_000);

    // The tiles and the timeline hold the CLI's counts.
    const tiles = await view.locator('.tile[data-action]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), Number(e.getAttribute('data-n'))]));
    assert.deepEqual(Object.fromEntries(tiles), Object.fromEntries(Object.entries(want.actions).filter(([, n]) => n > 0)));
    const columns = await view.locator('#timeline-chart rect[data-action]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), Number(e.getAttribute('data-n'))] as const));
    const sums: Record<string, number> = {};
    for (const [a, n] of columns) sums[a!] = (sums[a!] ?? 0) + n;
    assert.deepEqual(sums, Object.fromEntries(Object.entries(want.actions).filter(([, n]) => n > 0)));
    assert.equal(await view.locator('#queues-table tr[data-queue]').count(), 4);
    // No tooltip in the picture: the icon's ("XDP: Show Run Summary") stays while the pointer is on it. Moved off,
    // and again while one is still shown (a hover can be drawn late under load).
    const tooltip = page.locator('.monaco-hover:not(.hidden), .workbench-hover-container');
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      await page.mouse.move(2, 2);
      if (await tooltip.first().waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false)) break;
    }
    await vs.screenshot('run-summary');
    // The exit lines at the width of a group beside the source: they fit (the code under its line), nothing cut.
    await view.locator('#exits').scrollIntoViewIfNeeded();
    await vs.screenshot('run-summary-exits-narrow');
    await view.locator('body').evaluate(() => window.scrollTo(0, 0));
    // Room to look at it: the summary's editor group alone, without side bar and panel.
    // (Commands rather than the toggling keys: a key typed while the webview has the focus reaches the workbench late.)
    await runCommand(page, 'View: Toggle Maximize Editor Group');
    await runCommand(page, 'View: Close Primary Side Bar');
    await runCommand(page, 'View: Hide Panel');
    await page.locator('.part.panel').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.locator('.part.sidebar').waitFor({ state: 'hidden', timeout: 10_000 });
    const editor = page.locator('.part.editor');
    await page.mouse.move(2, 2); // no row under the pointer, so none is drawn hovered
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await editor.screenshot({ path: join(ARTIFACTS_DIR, 'run-summary-crop.png') });
    await view.locator('#queues').scrollIntoViewIfNeeded();
    await editor.screenshot({ path: join(ARTIFACTS_DIR, 'run-summary-lower.png') });
    await view.locator('#exits').scrollIntoViewIfNeeded();

    // An exit line: a click shows its packets only.
    const drops = view.locator('#exits-table tr[data-action="XDP_DROP"]').first();
    const line = await drops.getAttribute('data-line');
    const note = page.locator('.part.panel').getByText(new RegExp(`^Filter: exit\\.line == ${line} && action == XDP_DROP \\(([\\d,]+) of [\\d,]+ packets\\)\\.$`));
    await clickUntil(drops, note, 'the packets view filtered to the exit line', { waitMs: 10_000, area: page.locator('.part.panel') });
    assert.match(await note.innerText(), new RegExp(`\\(${want.actions.XDP_DROP.toLocaleString('en-US')} of `));
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('run-summary-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});

test('Compare Verdicts with the previous run: an edit and save, then the changed counts against the run before it', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'previous-run-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  const file = join(workspace, 'xdp_filter.c');
  const lines = readFileSync(file, 'utf8').split('\n');
  const udpReturn = lines.findIndex((l, i) => l.includes('return XDP_PASS;') && lines[i - 1]!.includes('count(P_UDP)')) + 1;
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await runCommand(page, 'XDP: Show Packets View');
    await waitVisible(page.locator('.part.panel').getByText(/^10 packets · xdp_filter\.c on demo\.pcap$/), 'the run in the packets view', 90_000, page.locator('.part.panel'));
    // Edit as a person would: PASS becomes DROP on the UDP return; saving may re-run it (xdpLens.rerunOnSave).
    await replaceLineEndAndSave(page, file, udpReturn, lines[udpReturn - 1]!.indexOf('PASS') + 1, 'DROP;');
    await runCommand(page, 'XDP: Compare Verdicts with...');
    await pickQuickItem(page, /The previous run/);
    await waitVisible(page.locator('.notifications-toasts').filter({ hasText: /1 packet of 10 changed against xdp_filter\.c as of run-1 \(\+1 XDP_DROP, -1 XDP_PASS\)/ }), 'the comparison with the previous run', 60_000, page.locator('.notifications-toasts'));
    await vs.screenshot('verdict-diff-previous-run');
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('verdict-diff-previous-run-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
