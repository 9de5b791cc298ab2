// Copy Executed Path in a real VS Code (code-server + chromium; see README.md in this folder): from a packet's row in the
// packets view (its context menu) and from the packet view's Copy button, the clipboard holds the executed path as the
// packet view lists it, line for line. Screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import {
  actUntil, clickUntil, e2eRequired, e2eSkip, panelView, pickQuickItem, runCommand, startVSCode, waitForActiveEditor,
  waitForNotification, waitForNotificationGone, waitForStatusBarText, waitVisible, type VSCodeSession,
} from './harness/index.ts';

const built = ['client.js', 'server.js', 'webview-packet.js'].every((f) => existsSync(join(REPO, 'dist', f)));
const NOT_BUILT = 'dist/client.js, dist/server.js or dist/webview-packet.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-copy-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

test('Copy Executed Path puts the path the packet view lists on the clipboard', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'filter-project');
  mkdirSync(workspace, { recursive: true });
  for (const f of ['xdp_filter.c', 'demo.pcap']) copyFileSync(join(REPO, 'examples', f), join(workspace, f));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1600, height: 1000 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.evaluate(() => navigator.clipboard.writeText('(nothing copied)'));
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForNotificationGone(page, /XDP: running/);

    // The packet view of #1 (the echo request answered with XDP_TX): its executed path, as listed.
    await runCommand(page, 'XDP: Show Packets View');
    const list = panelView(page, /XDP Packets/i);
    const row = list.locator('.monaco-list-row').filter({ hasText: '#1 XDP_TX' });
    await waitVisible(row, 'packet #1 in the packets view', 30_000, list);
    await clickUntil(row, page.locator('.part.editor .tab').filter({ hasText: 'Packet #1' }), 'the packet view tab', { waitMs: 5_000 });
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await waitVisible(frame.locator('.path li').last().filter({ hasText: '← left here' }), 'the executed path');
    const shown = (await frame.locator('.path li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.ok(shown.length > 3, `the path of #1 has several lines: ${shown.join(' | ')}`);
    assert.match(shown.at(-1)!, /^xdp_filter\.c:\d+ return icmp_echo_reply\(eth, ip, icmp\); ← left here$/);
    const asShown = (text: string) => text.split('\n').map((t) => t.replace(/\s+/g, ' ').trim());

    // The row's context menu.
    const copied = /^XDP: copied the executed path of packet #1\.$/;
    await actUntil(() => row.first().click({ button: 'right', timeout: 3_000 }), page.locator('.context-view .action-label').filter({ hasText: 'XDP: Copy Executed Path' }), 'the row\'s context menu');
    const item = page.locator('.context-view .action-label').filter({ hasText: 'XDP: Copy Executed Path' });
    await item.hover({ timeout: 10_000 });
    await item.click({ timeout: 10_000 });
    // A menu that did not take the click (seen on a loaded machine: the item highlighted, the menu still open):
    // Enter chooses the highlighted item, as a keyboard user would.
    await page.waitForTimeout(1_000);
    if (await item.isVisible().catch(() => false)) await page.keyboard.press('Enter');
    await waitForNotification(page, copied);
    assert.deepEqual(asShown(await clipboard(page)), shown, 'the clipboard holds the path the packet view lists');
    await vs.screenshot('copy-path-notified');

    // The packet view's own Copy button.
    await page.evaluate(() => navigator.clipboard.writeText('(nothing copied)'));
    await frame.locator('#copy-path').click({ timeout: 10_000 });
    for (const end = Date.now() + 30_000; (await clipboard(page)) === '(nothing copied)' && Date.now() < end; ) await page.waitForTimeout(200);
    assert.deepEqual(asShown(await clipboard(page)), shown, 'the Copy button copies the same path');
    await waitVisible(frame.locator('.path li').last(), 'the path still open after the click (the button is no toggle)');
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('copy-path-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
