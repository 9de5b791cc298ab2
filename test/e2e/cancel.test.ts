// A run cancelled in a real VS Code (code-server + chromium; see README.md in this folder), as a person does it: Run
// on Capture on a capture that takes a while (a program that spends a loop on each packet), Cancel on its progress
// notification. The user is told how many packets ran (shown whole: it has a button), and the counts say they are of
// part of the capture, the same number everywhere: the CodeLens, the packets view's header and a note above its rows.
// Screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import {
  clickUntil, e2eRequired, shownWhole, e2eSkip, panelView, pickQuickItem, runCommand, startVSCode, waitForActiveEditor, waitForCodeLens,
  waitForNotification, waitForNotificationGone, waitForStatusBarText, waitVisible, type VSCodeSession,
} from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const NOT_BUILT = 'dist/client.js or dist/server.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-cancel-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

/** A loop on every packet (about 12,000 instructions): a million packets take many seconds, time enough to cancel. */
const SLOW = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int slow(struct xdp_md *ctx)
{
	volatile __u32 x = 0;
	for (int i = 0; i < 2000; i++)
		x += i;
	return x & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** The demo capture's frames, again and again: `n` packets. */
function bigCapture(path: string, n: number): void {
  const frames: Uint8Array[] = [];
  const reader = openCapture(join(REPO, 'examples', 'demo.pcap'));
  for (let p; (p = reader.next()); ) frames.push(p.frame);
  reader.close();
  const w = new PcapWriter(path);
  for (let i = 0; i < n; i++) w.write(1_700_000_000_000_000_000n + BigInt(i) * 1000n, frames[i % frames.length]!);
  w.close();
}

test('a cancelled run says how many packets ran, and its counts say they are of part of the capture', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'slow-project');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'slow.c'), SLOW);
  // 1,000,000 packets: 20,000 ran to the end before Cancel could be clicked on an idle machine (the engine got faster).
  bigCapture(join(workspace, 'big.pcap'), 1_000_000);
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'slow.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'slow.c');
    await waitForStatusBarText(page, /XDP native/);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /big\.pcap.*in the workspace/);
    // Cancel once it has run some packets (its progress says how far it is).
    const progress = await waitForNotification(page, /XDP: running slow\.c on big\.pcap/, 60_000);
    await waitVisible(progress.filter({ hasText: /\d+%|packets?/ }), 'the run\'s progress', 120_000);
    await vs.screenshot('cancel-progress');
    const said = page.locator('.notifications-toasts .notification-toast').filter({ hasText: /XDP: run cancelled/ });
    await clickUntil(progress.locator('.monaco-button, .action-label').filter({ hasText: /^Cancel$/ }), said, 'the run cancelled', { waitMs: 10_000 });
    const text = (await said.first().innerText()).replace(/\s+/g, ' ');
    const m = /XDP: run cancelled after ([\d,]+) packets: the counts are of those only\./.exec(text);
    assert.ok(m, `the cancel notification says how many packets ran: ${text}`);
    const ran = m[1]!;
    assert.ok(await shownWhole(said.first()), `the cancel notification is shown whole: ${text}`);
    await vs.screenshot('cancel-notified');
    await waitForNotificationGone(page, /XDP: running/);
    // The same count everywhere, each saying the run was cancelled.
    await waitForCodeLens(page, new RegExp(`\\(${ran} packets? of big\\.pcap, cancelled\\)`));
    await runCommand(page, 'XDP: Show Packets View');
    const list = panelView(page, /XDP Packets/i);
    await waitVisible(list.getByText(new RegExp(`^Cancelled after ${ran} packets: the rest of big\\.pcap did not run\\.`)), 'the packets view saying the run was cancelled', 30_000, list);
    const header = page.locator('.part.panel .pane-header').filter({ hasText: /XDP Packets/i });
    await waitVisible(header.filter({ hasText: `${ran} packets (cancelled) · slow.c on big.pcap` }), 'the count in the packets view header, saying the run was cancelled');
    await vs.screenshot('cancel-packets');
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('cancel-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
