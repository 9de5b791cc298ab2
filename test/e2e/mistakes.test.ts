// Mistakes a new user makes, in a real VS Code (code-server + chromium; see README.md in this folder), each seen the
// way it shows: a program that does not compile (its Problems entry, and the run's error naming the file and line, with
// no second pop-up about the analysis), a program the kernel would refuse (its Problems entry, the refusal's line in a
// short CodeLens, the results marked simulated), a capture that is not one and a capture cut short (the error or
// warning naming the file, not a temporary directory's path), a quick fix applied, and clang missing. Screenshots go to
// test-artifacts/e2e/mistakes-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import {
  actUntil,
  openWorkspaceFile,
  e2eRequired,
  e2eSkip,
  goToLine,
  pickQuickItem,
  runCommand,
  shownWhole,
  startVSCode,
  typeInFileDialog,
  waitForActiveEditor,
  waitForCodeLens,
  waitForNotification,
  waitForProblem,
  waitForNotificationGone,
  waitForStatusBarText,
  waitForCount,
  panelView,
  waitVisible,
  type VSCodeSession,
} from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const NOT_BUILT = 'dist/client.js or dist/server.js is missing: run npm run build (npm test builds first)';

const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-mistakes-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

const openFile = (page: Page, name: string) => openWorkspaceFile(page, name);

/** 1-based number of the first line of `file` holding `text`. */
function lineOf(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${file}: no line with ${JSON.stringify(text)}`);
  return i + 1;
}

/** Picks a file in VS Code's own file dialog (the Browse... of a capture pick), as a person would: typed, then Enter. */
async function pickFile(page: Page, path: string, name: string): Promise<void> {
  const dialog = await typeInFileDialog(page, path, name);
  await dialog.locator('input').press('Enter');
}

const BROKEN = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int broken(struct xdp_md *ctx)
{
	int x = undefined_thing + 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

const REFUSED = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	if (eth->h_proto == 0)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('mistakes a new user makes: a compile error, a refused program, broken captures, a quick fix', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  const ws = join(root, 'mistakes');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'broken.c'), BROKEN);
  writeFileSync(join(ws, 'refused.c'), REFUSED);
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(ws, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(ws, 'demo.pcap'));
  copyFileSync(join(REPO, 'test', 'e2e', 'fixtures', 'seeded_mistakes.c'), join(ws, 'seeded_mistakes.c'));
  writeFileSync(join(ws, 'garbage.pcap'), 'hello, this is not a capture\n');
  // The demo capture cut 30 bytes into its second packet's data: one packet, then a truncated record.
  writeFileSync(join(ws, 'trunc.pcap'), readFileSync(join(REPO, 'examples', 'demo.pcap')).subarray(0, 130));
  let vs: VSCodeSession | undefined;
  const t0 = Date.now();
  const timings: string[] = [];
  const mark = (step: string) => timings.push(`${step} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const toasts = () => vs!.page.locator('.notifications-toasts .notification-toast');
  const clearToasts = async () => {
    await runCommand(vs!.page, 'Notifications: Clear All Notifications');
    await waitForCount(toasts(), 0, 'no notification left');
  };
  try {
    vs = await startVSCode({ extensionDevelopmentPath: REPO, workspace: ws, openFile: 'broken.c', viewport: { width: 1440, height: 900 }, settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false } });
    const page = vs.page;
    await waitForActiveEditor(page, 'broken.c');
    await waitForStatusBarText(page, /XDP native/);

    // 1. A program that does not compile: clang's error in Problems on its line. The analysis's note that it could not
    // compile the file goes to the output only (it is sent before the diagnostics, so it would be on screen by now).
    const compileError = await waitForProblem(page, /use of undeclared identifier 'undefined_thing'/, 60_000);
    assert.match(await compileError.innerText(), /compile-error.*Ln 7, Col 10/s);
    assert.deepEqual(await toasts().allInnerTexts(), [], 'no pop-up beside the Problems entry');
    // Run on Capture: the error names the file and line, in words, and offers the Problems panel.
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    const failed = await waitForNotification(page, /XDP: cannot compile broken\.c, line 7: use of undeclared identifier 'undefined_thing'/, 60_000);
    await waitVisible(failed.locator('.monaco-button', { hasText: 'Show Problems' }), 'the Show Problems button');
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('mistakes-compile-error');
    mark('1 compile error');
    await clearToasts();
    // Compare with Kernel: clang's error is said as clang's (not as the kernel's), whole, with the Problems button.
    await runCommand(page, 'XDP: Compare with Kernel');
    await pickQuickItem(page, /demo\.pcap.*default/);
    const noCompare = await waitForNotification(page, /XDP: cannot compare with the kernel: cannot compile broken\.c, line 7: use of undeclared identifier 'undefined_thing'/, 60_000);
    await waitVisible(noCompare.locator('.monaco-button', { hasText: 'Show Problems' }), 'the Show Problems button of the comparison');
    assert.ok(await shownWhole(noCompare), 'the comparison error shown whole');
    await waitForNotificationGone(page, /XDP: comparing/);
    await vs.screenshot('mistakes-compare-compile-error');
    mark('1 compare with kernel');
    await clearToasts();

    // 2. A program the kernel would refuse: the finding in Problems; the run's results say they are simulated only,
    // and a short CodeLens names the refused line in the kernel's words (the whole message is its tooltip).
    await openFile(page, 'refused.c');
    const unchecked = await waitForProblem(page, /`eth` accesses bytes 12\.\.13 of the packet/, 60_000);
    assert.match(await unchecked.innerText(), /unchecked-packet-access.*Ln 11/s);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForCodeLens(page, 'Kernel would refuse this program · simulated only: 10 XDP_PASS (10 packets of demo.pcap)', 60_000);
    await waitForCodeLens(page, 'Refused at line 11: invalid access to packet');
    // Measured in the page, where the lens is now (a lens redrawn meanwhile has no box for a locator taken before).
    const lensWidth = await page
      .waitForFunction(() => {
        const a = [...document.querySelectorAll('.part.editor .monaco-editor .codelens-decoration a')].find((x) => x.textContent?.includes('Refused at line 11'));
        const w = a?.getBoundingClientRect().width;
        return w && w > 0 ? w : undefined;
      }, undefined, { timeout: 30_000 })
      .then((h) => h.jsonValue() as Promise<number>);
    const editorWidth = (await page.locator('.part.editor .editor-group-container.active .monaco-editor').first().boundingBox())?.width ?? 0;
    assert.ok(lensWidth < editorWidth / 2, `the refusal lens is short (${lensWidth} px in an editor of ${editorWidth} px)`);
    await runCommand(page, 'XDP: Show Packets View');
    const view = panelView(page, /XDP Packets/i);
    // At a glance: that it is refused, where; the whole refusal on the row under it (hover), its line on a click.
    await waitVisible(page.locator('.part.panel').getByText(/^The kernel would refuse this program at refused\.c:11\. These results are simulated only\.$/), 'the short refusal banner in the packets view');
    await waitVisible(view.locator('.monaco-list-row').filter({ hasText: /^Refused at line 11: invalid access to packet/ }), 'the refusal row, first in the packets view', 30_000, view);
    await waitVisible(view.locator('.monaco-list-row').filter({ hasText: /#0 XDP_PASS.*ARP, Request who-has/ }), 'the first packet listed under the banner', 30_000, view);
    await waitVisible(page.locator('.part.panel .pane-header').filter({ hasText: /XDP Packets.*10 packets/i }), 'the ten packets counted in the view\'s header');
    await waitVisible(panelView(page, /XDP Maps/i).filter({ hasText: /The run of refused\.c on demo\.pcap: the program has no maps\./ }), 'the maps view saying the program has none');
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('mistakes-refused');
    mark('2 refused program');

    // 3. A file that is not a capture, picked through Browse...: the error names it, not its temporary directory.
    await openFile(page, 'xdp_filter.c');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /Browse/);
    await pickFile(page, join(ws, 'garbage.pcap'), 'garbage.pcap');
    const notCapture = await waitForNotification(page, /XDP: garbage\.pcap: byte offset 0: not a pcap or pcapng capture/, 60_000);
    await waitForNotificationGone(page, /XDP: running/);
    // Shown whole, up to what converts other formats (a notification without a button is cut to one line), with the
    // next step as its button.
    assert.ok(await shownWhole(notCapture), 'the capture error shown whole, not cut to a line');
    await waitVisible(notCapture.locator('.monaco-button', { hasText: 'Run on Another Capture...' }), 'the Run on Another Capture button');
    // The views keep the last run's results, and say whose: not this file's.
    await waitVisible(page.locator('.part.panel .pane-header').filter({ hasText: /XDP Packets.*10 packets · refused\.c on demo\.pcap/i }), 'the packets view naming the run it shows');
    await vs.screenshot('mistakes-not-a-capture');
    mark('3 not a capture');
    await clearToasts();

    // 4. A capture cut short: the packets before the cut run, the warning says where the capture broke.
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /Browse/);
    await pickFile(page, join(ws, 'trunc.pcap'), 'trunc.pcap');
    const cut = await waitForNotification(page, /XDP: trunc\.pcap: record 1, byte offset 100: truncated packet data \(14 of 74 bytes\); the packet before it is shown\./, 60_000);
    assert.ok(await shownWhole(cut), 'the warning shown whole, not cut to a line');
    await waitVisible(cut.locator('.monaco-button', { hasText: 'Run on Another Capture...' }), 'the Run on Another Capture button');
    await goToLine(page, lineOf(join(ws, 'xdp_filter.c'), 'int xdp_filter('));
    await waitForCodeLens(page, '1 XDP_PASS (1 packet of trunc.pcap, capture broken)');
    await waitVisible(page.locator('.part.panel').filter({ hasText: 'Only the first packet ran: trunc.pcap: record 1, byte offset 100: truncated packet data (14 of 74 bytes).' }), 'the packets view saying where the capture broke off');
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('mistakes-truncated-capture');
    mark('4 truncated capture');
    await clearToasts();

    // 5. A quick fix: the tc verdict becomes XDP_DROP and its Problems entry goes.
    await openFile(page, 'seeded_mistakes.c');
    const seeded = join(ws, 'seeded_mistakes.c');
    const tcLine = lineOf(seeded, 'return TC_ACT_SHOT;');
    await waitForProblem(page, /TC_ACT_SHOT. is a tc verdict/, 60_000);
    await goToLine(page, tcLine, readFileSync(seeded, 'utf8').split('\n')[tcLine - 1]!.indexOf('TC_ACT_SHOT') + 2);
    const fix = page.locator('.action-widget .monaco-list-row').filter({ hasText: 'Replace TC_ACT_SHOT with XDP_DROP' });
    await actUntil(() => page.keyboard.press('Control+.'), fix, 'the quick fix offered');
    await vs.screenshot('mistakes-quick-fix');
    // Enter takes the focused (only) fix, as a person picks it from the keyboard; pressed again only while it is offered.
    const fixed = page.locator('.part.editor .editor-group-container.active .monaco-editor .view-line').filter({ hasText: 'return XDP_DROP;' }); // the file has no other
    await actUntil(() => page.keyboard.press('Enter'), fixed, 'the fix applied', { again: () => fix.first().isVisible() });
    await waitForCount(page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'TC_ACT_SHOT' }), 0, 'the tc-verdict entry gone from Problems', 60_000);
    mark('5 quick fix');

    // 6. A packet write on a driver that hands the program a read-only page: the fault is on the line of the write, with
    // the packets it stopped, in the analysis's own finding there; the run's counts say so.
    await openFile(page, 'xdp_filter.c');
    await clearToasts();
    await runCommand(page, 'XDP: Choose Driver Mode');
    await pickQuickItem(page, /readonly-page/);
    await pickQuickItem(page, /Workspace settings/);
    await waitForStatusBarText(page, /XDP readonly-page/);
    await clearToasts(); // the note saying where the mode was saved
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    const filterFile = join(ws, 'xdp_filter.c');
    await goToLine(page, lineOf(filterFile, 'int xdp_filter('));
    // The faulted packets counted once, after the counts.
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_ABORTED (10 packets of demo.pcap) · 2 faults', 60_000);
    // One entry for the mistake: the analysis's finding on the line of the write, with the run's evidence, and no
    // second entry of the run's own for the same fault.
    const writeLine = lineOf(filterFile, '__builtin_memcpy(eth->h_dest');
    await waitForProblem(page, /This store changes the packet.*The last run confirms it: 2 packets faulted here and were aborted: #1, #9\./s, 60_000);
    const onWriteLine = page.locator('.markers-panel .monaco-list-row').filter({ hasText: new RegExp(`\\[Ln ${writeLine}, Col \\d+\\]`) });
    await waitForCount(onWriteLine, 1, `one Problems entry on line ${writeLine}`, 30_000, page.locator('.markers-panel'));
    await goToLine(page, writeLine);
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('mistakes-readonly-fault');
    mark('6 fault');
    assert.deepEqual(vs.blockedRequests(), [], 'the window asked for nothing off this machine');
  } catch (e) {
    await vs?.screenshot('mistakes-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- steps: ${timings.join(', ')}\n--- code-server output ---\n${vs?.serverLog().slice(-4000)}`, { cause: e });
  } finally {
    await vs?.stop();
    t.diagnostic(timings.join(', '));
  }
});

test('clang missing: one pop-up, the run\'s, says what to install and which setting names clang, with no line 0 nor Problems button; the status item says it from the start', { skip, timeout: 300_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const ws = join(root, 'no-clang');
  mkdirSync(ws, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(ws, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(ws, 'demo.pcap'));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace: ws,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'xdpLens.clang.path': join(ws, 'no-such-clang'), 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    // At the file's opening the analysis finds no clang: the status item says so (its tooltip how to fix it), with no
    // pop-up of its own; the run's pop-up is the one a missing clang makes.
    await waitForStatusBarText(page, /XDP native · no clang/, 90_000);
    const noClangToasts = page.locator('.notifications-toasts .notification-toast').filter({ hasText: /clang not found/ });
    assert.equal(await noClangToasts.count(), 0, 'no pop-up at the opening of the file');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    // No line of the source to name and nothing in Problems: the error says what to install and which setting to set.
    const failed = await waitForNotification(page, /XDP: cannot compile xdp_filter\.c: cannot run '.*no-such-clang': clang is needed to compile BPF C\. Install it with 'apt-get install clang llvm libbpf-dev' \(Debian\/Ubuntu\) or set xdpLens\.clang\.path to its path/, 60_000);
    await waitForNotificationGone(page, /XDP: running/);
    assert.equal(await failed.locator('.monaco-button', { hasText: 'Show Problems' }).count(), 0, 'no Show Problems button: Problems has nothing to show');
    await waitVisible(failed.locator('.monaco-button', { hasText: 'Show Output' }), 'the Show Output button');
    assert.ok(await shownWhole(failed), 'the error shown whole, not cut to a line');
    assert.equal(await page.locator('.notifications-toasts .notification-toast').filter({ hasText: /clang/ }).count(), 1, 'one pop-up for one missing clang');
    await vs.screenshot('mistakes-no-clang');
  } catch (e) {
    await vs?.screenshot('mistakes-no-clang-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-4000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
