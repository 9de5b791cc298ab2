// The packet view in a real VS Code (code-server + chromium; see README.md in this folder), as a person would use it:
// run the example filter on the demo capture, pick the echo request it answers with XDP_TX in the packets view, and in
// the webview select a field (its bytes light up, on both sides) and then a byte (its field is selected). Screenshots
// go to test-artifacts/e2e/ (packet-view-crop.png is docs/images/packet-view.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';
import { ARTIFACTS_DIR, actUntil, clickUntil, collapsePanelView, e2eRequired, e2eSkip, goToLine, pickQuickItem, runCommand, startVSCode, waitForActiveEditor, waitForCodeLens, waitForStatusBarText, panelView, waitVisible, type VSCodeSession } from './harness/index.ts';

const built = ['client.js', 'server.js', 'webview-packet.js'].every((f) => existsSync(join(REPO, 'dist', f)));
const NOT_BUILT = 'dist/client.js, dist/server.js or dist/webview-packet.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-packet-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

/** The packet view's document: VS Code puts a webview in an iframe holding another iframe. */
function packetFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/**
 * A pcapng of an Ethernet interface and a raw IP one (link type 101): Ethernet frames, one cut by the snap length to 20
 * of its 60 bytes, and raw IP datagrams (their Ethernet header made up when they run).
 */
function mixedCapture(): Buffer {
  const udp = (id: number, port: number) => {
    const b = Buffer.alloc(46);
    b.set([0x45, 0, 0, 46, 0, id, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
    b.writeUInt16BE(1234, 20);
    b.writeUInt16BE(port, 22);
    b.writeUInt16BE(26, 24);
    return b;
  };
  const eth = (p: Buffer) => Buffer.concat([Buffer.from('0200000000020200000000010800', 'hex'), p]);
  const parts = [pcapngSectionHeader()];
  for (const lt of [1, 101]) {
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(lt, 0);
    idb.writeUInt32LE(262144, 4);
    parts.push(pcapngBlock(1, idb));
  }
  const packets: [number, Buffer, number][] = [[0, eth(udp(1, 53)), 60], [0, eth(udp(2, 53)).subarray(0, 20), 60], [1, udp(3, 53), 46], [1, udp(4, 9999), 46], [0, eth(udp(5, 9999)), 60]];
  packets.forEach(([iface, d, wire], i) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(1_000 + i * 1000, 8);
    fixed.writeUInt32LE(d.length, 12);
    fixed.writeUInt32LE(wire, 16);
    parts.push(pcapngBlock(6, Buffer.concat([fixed, d, Buffer.alloc((4 - (d.length % 4)) % 4)])));
  });
  return Buffer.concat(parts);
}

/**
 * A pcap of a `tcpdump -i any` capture (Linux cooked v1, link type 113): UDP datagrams behind cooked headers, the third
 * sent by the capturing host (packet type 4).
 */
function cookedCapture(): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(113, 20);
  const parts = [head];
  for (let i = 0; i < 4; i++) {
    const sll = Buffer.alloc(16);
    sll.writeUInt16BE(i === 2 ? 4 : 0, 0);
    sll.writeUInt16BE(1, 2);
    sll.writeUInt16BE(6, 4);
    sll.set([2, 0, 0, 0, 0, 1], 6);
    sll.writeUInt16BE(0x0800, 14);
    const ip = Buffer.alloc(46);
    ip.set([0x45, 0, 0, 46, 0, i + 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
    ip.writeUInt16BE(1234, 20);
    ip.writeUInt16BE(i % 2 ? 9999 : 53, 22);
    ip.writeUInt16BE(26, 24);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1 + i, 0);
    rec.writeUInt32LE(62, 8);
    rec.writeUInt32LE(62, 12);
    parts.push(rec, sll, ip);
  }
  return Buffer.concat(parts);
}

test('the packet view: decoded layers before and after, a field selects its bytes and a byte its field', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'filter-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  writeFileSync(join(workspace, 'mixed.pcapng'), mixedCapture());
  writeFileSync(join(workspace, 'cooked.pcap'), cookedCapture());
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
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    // The lenses sit above the function, below the maps: bring it on screen.
    await goToLine(page, readFileSync(join(workspace, 'xdp_filter.c'), 'utf8').split('\n').findIndex((l) => l.includes('int xdp_filter(')) + 1);
    await waitForCodeLens(page, 'Run on capture');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap)');

    // The echo request in the packets view opens the packet view beside the source.
    await runCommand(page, 'XDP: Show Packets View');
    const list = panelView(page, /XDP Packets/i);
    const row = list.locator('.monaco-list-row').filter({ hasText: '#1 XDP_TX' });
    await waitVisible(row, 'packet #1 in the packets view', 30_000, list);
    await clickUntil(row, page.locator('.part.editor .tab').filter({ hasText: 'Packet #1' }), 'the packet view tab', { waitMs: 5_000 });
    const frame = packetFrame(page);
    const beforeSide = frame.locator('.side[data-side="before"]');
    const afterSide = frame.locator('.side[data-side="after"]');
    await waitVisible(beforeSide.locator('.node').filter({ hasText: 'Echo (ping) request (8)' }), 'the decoded ICMP type as received');
    await waitVisible(afterSide.locator('.node').filter({ hasText: 'Echo (ping) reply (0)' }), 'the decoded ICMP type as it left');
    await waitVisible(frame.locator('.verdict').filter({ hasText: /XDP_TX\s*→ transmitted/ }), 'the verdict and outcome');
    // Packets are numbered from 0 (as the CLI and jsonl number them); the header says where that is counted from 1, as
    // Wireshark numbers the capture's frames.
    await waitVisible(frame.locator('h1').filter({ hasText: /^Packet #1 0\.250017 s · the capture's 2nd packet$/ }), 'the header placing #1 in the capture');
    // The type changed: marked on both sides; the TTL did not.
    assert.match((await afterSide.locator('.node[data-id="icmp#0/icmp.type#0"]').getAttribute('class')) ?? '', /\bchg\b/);
    assert.doesNotMatch((await afterSide.locator('.node[data-id="ip#0/ip.ttl#0"]').getAttribute('class')) ?? '', /\bchg\b/);

    // A field selects its bytes: the TTL is byte 22, 0x40, on both sides.
    const selected = beforeSide.locator('.hexpane .hex .b.sel');
    await clickUntil(beforeSide.locator('.node[data-id="ip#0/ip.ttl#0"]'), selected.and(beforeSide.locator('.b[data-i="22"]')), 'the TTL byte selected in the hex pane');
    assert.deepEqual(await selected.evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.i}=${e.textContent}`)), ['22=40']);
    assert.deepEqual(await afterSide.locator('.hexpane .hex .b.peer').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.i)), ['22']);
    // The destination address: four bytes.
    await clickUntil(beforeSide.locator('.node[data-id="ip#0/ip.dst#0"]'), selected.and(beforeSide.locator('.b[data-i="30"]')), 'the destination address selected in the hex pane');
    assert.deepEqual(await beforeSide.locator('.hexpane .hex .b.sel').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.i)), ['30', '31', '32', '33']);

    // A byte selects its field: byte 34 as it left is the ICMP type.
    const field = afterSide.locator('.tree .node.sel');
    await clickUntil(afterSide.locator('.hexpane .hex .b[data-i="34"]'), field.and(afterSide.locator('.node[data-id="icmp#0/icmp.type#0"]')), 'the field of byte 34');
    assert.match(await field.innerText(), /^Type: Echo \(ping\) reply \(0\)$/);
    assert.equal(await field.getAttribute('data-id'), 'icmp#0/icmp.type#0');
    await waitVisible(beforeSide.locator('.tree .node.peer').filter({ hasText: 'Echo (ping) request (8)' }), 'the same field as received');

    // For the screenshot, room as a user would make it: no side bar, no panel.
    // (Keys typed while the webview has the focus reach the workbench late: give the focus back to the source first.)
    const sourceTab = page.locator('.part.editor .tab').filter({ hasText: 'xdp_filter.c' });
    // Every group has an active tab: the source's group must be the active one (the webview keeps the focus otherwise).
    const sourceActive = page.locator('.part.editor .editor-group-container.active .tab.active').filter({ hasText: 'xdp_filter.c' });
    await clickUntil(sourceTab, sourceActive, 'the source tab active');
    await runCommand(page, 'View: Close Primary Side Bar');
    await runCommand(page, 'View: Hide Panel');
    await page.locator('.part.panel').waitFor({ state: 'hidden' });
    await waitVisible(frame.locator('.path a.src').last(), 'the executed path');
    await frame.locator('body').evaluate(() => window.scrollTo(0, 0)); // the clicks above scrolled the page down
    await page.mouse.move(1, 1); // no hover highlight in the picture
    await vs.screenshot('packet-view');
    const group = page.locator('.part.editor .editor-group-container').filter({ has: page.locator('.tab').filter({ hasText: 'Packet #1' }) });
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'packet-view-crop.png'), clip: (await group.boundingBox())! });

    // An executed line opens the source there (the source becomes the focused group's tab; clicked again while not).
    const sourceFocused = page.locator('.part.editor .editor-group-container.active .tab.active').filter({ hasText: 'xdp_filter.c' });
    await clickUntil(frame.locator('.path a.src').last(), sourceFocused, 'the source opened from an executed line', { waitMs: 5_000 });

    // It follows the selection in the packets view, by keyboard too: down from #1 to #2, Enter.
    await runCommand(page, 'XDP: Show Packets View');
    await waitVisible(list.locator('.monaco-list-row.selected').filter({ hasText: '#1 XDP_TX' }), 'the selected packet row');
    // Keys go where the focus is: once the list has it, down moves the focus to #2 (pressed again only while #1 has
    // it), and Enter opens it (pressed again only while #2 has the focus and its view is not there).
    await page.waitForFunction(() => !!document.activeElement?.closest('.part.panel .monaco-list'), undefined, { timeout: 30_000 });
    const focused = (n: string) => list.locator('.monaco-list-row.focused').filter({ hasText: new RegExp(`#${n} XDP_`) });
    await actUntil(() => page.keyboard.press('ArrowDown'), focused('2'), 'the focus on packet #2', { again: () => focused('1').first().isVisible() });
    const tab2 = page.locator('.part.editor .tab').filter({ hasText: 'Packet #2' });
    await actUntil(() => page.keyboard.press('Enter'), tab2, 'the packet view following the selection to #2', {
      again: async () => (await focused('2').first().isVisible()) && !(await tab2.first().isVisible()),
      waitMs: 5_000,
    });
    await waitVisible(packetFrame(page).locator('h1').filter({ hasText: 'Packet #2' }), 'packet #2 drawn');

    // Never silently stale: an edit of the source marks it, its Re-run button runs again and redraws it from the new run.
    await clickUntil(sourceTab, sourceActive, 'the source tab active');
    const banner = packetFrame(page).locator('.banner.stale').filter({ hasText: 'Stale: xdp_filter.c changed since this run' });
    // Typed again only while the line does not show the edit (keys typed while something else had the focus are lost).
    const edited = page.locator('.part.editor .monaco-editor .view-line').filter({ hasText: '(edited)' });
    await actUntil(
      async () => {
        await goToLine(page, 1);
        await page.keyboard.press('End');
        await page.keyboard.type(' (edited)');
      },
      banner,
      'the stale mark in the packet view',
      { timeoutMs: 60_000, waitMs: 10_000, again: async () => !(await edited.first().isVisible().catch(() => false)) },
    );
    await waitVisible(page.locator('.part.editor .tab').filter({ hasText: 'Packet #2 (stale)' }), 'the stale tab title');
    // Re-run: clicked again only if the click did not start a run (no progress, the banner still there).
    for (const end = Date.now() + 60_000; ; ) {
      await packetFrame(page).locator('#rerun').click({ timeout: 5_000 }).catch(() => undefined);
      if (await banner.waitFor({ state: 'detached', timeout: 10_000 }).then(() => true, () => false)) break;
      if (await page.locator('.notifications-toasts .notification-toast').filter({ hasText: /XDP: running/ }).first().isVisible().catch(() => false)) {
        await banner.waitFor({ state: 'detached', timeout: Math.max(1, end - Date.now()) });
        break;
      }
      if (Date.now() > end) throw new Error('the Re-run button did not start a run: the stale mark is still there after 60 s');
    }
    await waitVisible(packetFrame(page).locator('h1').filter({ hasText: 'Packet #2' }), 'packet #2 redrawn from the new run');
    await waitVisible(page.locator('.part.editor .tab').filter({ hasText: /^Packet #2$/ }), 'the tab title without (stale)');

    // A capture of raw IP datagrams beside Ethernet frames, one of those cut by the snap length: their rows say so,
    // and a made-up header's row says from which link type in its tooltip. (The capture is the workspace's, listed
    // by the pick without a setting.)
    await clickUntil(sourceTab, sourceActive, 'the source tab active');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /mixed\.pcapng.*in the workspace/);
    await runCommand(page, 'XDP: Show Packets View');
    const madeRow = list.locator('.monaco-list-row').filter({ hasText: '#2 XDP_PASS [Ethernet header made up]' });
    await waitVisible(madeRow, 'a raw IP packet\'s row in the packets view', 60_000, list);
    await waitVisible(list.locator('.monaco-list-row').filter({ hasText: '#1 XDP_DROP [20 of 60 bytes captured]' }), 'the cut packet\'s row', 10_000, list);
    await collapsePanelView(page, /XDP Maps/i, /XDP Packets/i);
    const tip = page.locator('.monaco-hover:not(.hidden), .workbench-hover-container').filter({ hasText: 'captured as raw IP (101): Ethernet header made up' });
    // Hovered again (from off the row) while no tooltip shows: one can be lost to a redraw of the list.
    await actUntil(async () => {
      await page.mouse.move(1, 1);
      await madeRow.first().hover({ timeout: 3_000 });
    }, tip, 'the made-up header in the row\'s tooltip', { waitMs: 5_000 });
    await vs.screenshot('packets-made-header');

    // A `tcpdump -i any` capture: every row's header is made from its cooked header, said once above the rows; the
    // rows stay short.
    await clickUntil(sourceTab, sourceActive, 'the source tab active');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /cooked\.pcap.*in the workspace/);
    await runCommand(page, 'XDP: Show Packets View');
    const cookedNote = page.locator('.part.panel').getByText(/^All packets captured as Linux cooked capture v1 \(SLL, 113\): Ethernet header made from the cooked header \(README "Captures"\)\.$/);
    await waitVisible(cookedNote, 'the cooked header said once above the rows', 60_000, list);
    const rows = list.locator('.monaco-list-row');
    await waitVisible(rows.filter({ hasText: '#2 (outgoing: not run)' }), 'the outgoing packet\'s row', 10_000, list);
    const labels = await rows.locator('.label-name').allInnerTexts();
    assert.deepEqual(labels, ['#0 XDP_PASS', '#1 XDP_PASS', '#2 (outgoing: not run)', '#3 XDP_PASS'], 'short rows, no header mark on each');
    // The packet view showed #2 of the last run: #2 is not run in this one, so that packet stays, saying why.
    await waitVisible(packetFrame(page).locator('.banner').filter({ hasText: /^The new run \(.*\): packet 2 was sent by the capturing host \(outgoing\): not run, XDP runs only on received frames\. Showing the previous run's\.$/ }), 'the packet view saying #2 did not run in the new run');
    await waitVisible(packetFrame(page).locator('.verdict .badge').filter({ hasText: 'XDP_PASS' }), 'the previous run\'s verdict of #2 still shown');
    await waitVisible(page.locator('.part.editor .tab').filter({ hasText: 'Packet #2 (stale)' }), 'the stale tab title');
    await page.mouse.move(1, 1);
    await vs.screenshot('packets-cooked');
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('packet-view-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
