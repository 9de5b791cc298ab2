// The XDP Maps view in a real VS Code (code-server + chromium; see README.md in this folder), as a person would use it:
// the demo program runs from a map seed (xdpLens.maps), the maps view lists every map after the run with its entries
// decoded through BTF, and the blocklist entry the run counted reads `1  (was 0)`. Checks are on what the window
// shows; screenshots go to test-artifacts/e2e/ (maps-view-crop.png is docs/images/maps-view.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import {
  ARTIFACTS_DIR, clickUntil, e2eRequired, e2eSkip, expandTreeRow, goToLine, openWorkspaceFile, pickQuickItem, runCommand, startVSCode, waitForActiveEditor,
  waitForNotificationGone, waitForStatusBarText, waitVisible, type VSCodeSession,
} from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const NOT_BUILT = 'dist/client.js or dist/server.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-maps-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

test('the maps view shows decoded entries and what the run changed', { skip, timeout: 180_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'maps-project');
  mkdirSync(workspace, { recursive: true });
  for (const f of ['xdp_filter.c', 'demo.pcap', 'blocklist.json']) copyFileSync(join(REPO, 'examples', f), join(workspace, f));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'xdpLens.maps': 'blocklist.json', 'editor.stickyScroll.enabled': false, 'editor.autoClosingQuotes': 'never', 'editor.autoClosingBrackets': 'never' },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await runCommand(page, 'XDP: Show Packets View');
    const pane = page.locator('.part.panel .pane').filter({ has: page.locator('.pane-header', { hasText: /XDP Maps/i }) });
    await waitVisible(pane.getByText(/maps after the run of xdp_filter\.c on demo\.pcap; \d+ entries changed since it started/), 'the maps view message');
    const rows = pane.locator('.monaco-list-row');
    const blocklist = rows.filter({ hasText: /^blocklist/ });
    await waitVisible(blocklist.filter({ hasText: /HASH · __u32 → __u64 · 1 entry, 1 changed/ }), 'the blocklist map row with its entry changed', 30_000, pane);
    // 192.0.2.66 (c0000242 in the seed) as the __u32 the map's BTF says, counted once by the run.
    // The run's progress notification has gone first: its toast may sit over the rows the test clicks.
    const t0 = Date.now();
    await waitForNotificationGone(page, /XDP: running/);
    t.diagnostic(`run's progress notification gone ${Date.now() - t0} ms after the maps were shown`);
    const entry = rows.filter({ hasText: `[${Buffer.from('c0000242', 'hex').readUInt32LE(0)}]` });
    await expandTreeRow(blocklist, entry, 'the blocklist entry', 30_000, pane);
    await waitVisible(entry.filter({ hasText: /1\s+\(was 0\)/ }), 'the blocklist entry counted once (1, was 0)', 10_000, pane);
    const protoCount = rows.filter({ hasText: /^proto_count/ });
    await expandTreeRow(protoCount, rows.filter({ hasText: /^\[6\]/ }), 'proto_count[6] (ICMP, counted by the echo requests)', 30_000, pane);
    await vs.screenshot('maps-view');
    const box = await pane.boundingBox();
    if (box) {
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'maps-view-crop.png'), clip: { x: box.x, y: box.y, width: box.width, height: box.height } });
    }
    // An edit makes the maps stale: the title's button is then Re-run (Refresh Maps would read the same run again),
    // and it brings the maps of the program as it is now.
    await page.locator('.part.editor .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n// edited\n');
    await waitVisible(pane.getByText(/^Stale: xdp_filter\.c changed since this run/), 'the stale notice');
    const header = pane.locator('.pane-header');
    const rerun = header.locator('.action-label[aria-label="XDP: Re-run"]');
    await header.hover();
    await waitVisible(rerun, 'Re-run in the stale maps view\'s title', 10_000, header);
    assert.equal(await header.locator('.action-label[aria-label="XDP: Refresh Maps"]').count(), 0, 'no Refresh Maps while stale');
    await vs.screenshot('maps-view-stale');
    // Bounded clicks (the button goes when the run it starts ends: an unbounded click would wait for it again).
    // Clicked again only while no run is going (a slow run must not be started twice).
    const notRunning = async () => !(await page.locator('.notifications-toasts .notification-toast').filter({ hasText: /XDP: running/ }).first().isVisible().catch(() => false));
    await clickUntil(rerun, pane.getByText(/^\d+ maps after the run of xdp_filter\.c on demo\.pcap/), 'the maps of the re-run, not stale', { waitMs: 10_000, again: notRunning });
    await header.hover();
    await waitVisible(header.locator('.action-label[aria-label="XDP: Refresh Maps"]'), 'Refresh Maps back once fresh', 10_000, header);

    // The seed edited and saved, as a person would: the blocklist entry starts at 5. The run is repeated on the save
    // and the maps view shows the new run's maps: the entry counted once from 5.
    await openWorkspaceFile(page, 'blocklist.json');
    const seedFile = join(workspace, 'blocklist.json');
    const seedLine = readFileSync(seedFile, 'utf8').split('\n').findIndex((l) => l.includes('c0000242')) + 1;
    const digits = readFileSync(seedFile, 'utf8').split('\n')[seedLine - 1]!.indexOf('0000000000000000') + 1;
    // The value's 16 digits selected and typed over (no quote typed: the editor would close it), then saved; again
    // while the file on disk does not have it (keys typed while something else had the focus are lost).
    const saved = () => readFileSync(seedFile, 'utf8').includes('"0500000000000000"');
    for (const end = Date.now() + 90_000; !saved(); ) {
      if (Date.now() > end) throw new Error(`the seed edit was not saved in 90 s: ${readFileSync(seedFile, 'utf8')}`);
      await goToLine(page, seedLine, digits);
      for (let i = 0; i < 16; i++) await page.keyboard.press('Shift+ArrowRight');
      await page.keyboard.type('0500000000000000');
      await page.keyboard.press('Control+S');
      for (const until = Date.now() + 10_000; !saved() && Date.now() < until; ) await page.waitForTimeout(100);
    }
    assert.match(readFileSync(seedFile, 'utf8'), /"key": "c0000242", "value": "0500000000000000" \}/);
    // Saving the seed the last run read re-runs it when that run took under a second (xdpLens.rerunOnSave), as a
    // save of the program does: nothing is clicked. A loaded machine can make the run before it slower (it compiled
    // the edited program): then the maps stay stale, say so, and Re-run brings the same maps.
    const entryAgain = rows.filter({ hasText: `[${Buffer.from('c0000242', 'hex').readUInt32LE(0)}]` });
    const counted = entryAgain.filter({ hasText: /6\s+\(was 5\)/ });
    const countedBySave = await (async () => {
      for (const end = Date.now() + 30_000; Date.now() < end; ) {
        if (await counted.isVisible().catch(() => false)) return true;
        // The view's rows come anew with the run: open the entry's map again when it is collapsed.
        if ((await blocklist.first().getAttribute('aria-expanded', { timeout: 1_000 }).catch(() => null)) === 'false') await blocklist.first().click({ timeout: 2_000 }).catch(() => undefined);
        await page.waitForTimeout(500);
      }
      return false;
    })();
    if (!countedBySave) {
      t.diagnostic('the seed\'s save did not re-run in 30 s (the run before it took a second or more?): Re-run by hand');
      await waitVisible(pane.getByText(/^Stale: the map seed file blocklist\.json changed since this run/), 'the stale notice after the seed was saved');
      await header.hover();
      await clickUntil(rerun, pane.getByText(/^\d+ maps after the run of xdp_filter\.c on demo\.pcap/), 'the maps of the run from the edited seed', { waitMs: 10_000, again: notRunning });
      await expandTreeRow(blocklist, entryAgain, 'the blocklist entry after the re-run', 30_000, pane);
    }
    await waitVisible(counted, 'the blocklist entry counted once from the new seed (6, was 5)', 30_000, pane);
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('maps-view-seed-rerun');
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('maps-view-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
