// Outcomes and display filters in a real VS Code (code-server + chromium; see README.md in this folder), as a person
// would meet them: a program that returns XDP_REDIRECT with nothing to redirect to is run on the demo capture, and
// everything that shows its verdicts must say the packets were dropped; then the packets view is narrowed with a
// display filter, a mistyped one first. Checks are on what the window shows; screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Locator, Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import {
  ARTIFACTS_DIR,
  actUntil,
  e2eRequired,
  e2eSkip,
  goToLine,
  pickQuickItem,
  replaceLineEndAndSave,
  runCommand,
  shownWhole,
  startVSCode,
  waitForActiveEditor,
  waitForCodeLens,
  waitForNotificationGone,
  waitForProblem,
  waitForStatusBarText,
  collapsePanelView,
  panelView,
  waitForCount,
  waitVisible,
  type VSCodeSession,
} from './harness/index.ts';

const FIXTURES = join(REPO, 'test', 'e2e', 'fixtures');
const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const NOT_BUILT = 'dist/client.js or dist/server.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-outcome-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

function lineOf(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${file}: no line with ${JSON.stringify(text)}`);
  return i + 1;
}

/** The text decorations draw after `line` of the active editor (CSS ::after content), once it is rendered. */
async function afterText(page: Page, line: number, want: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = await page.evaluate((n) => {
      const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
      if (!editor) return '';
      let top = '';
      for (const m of editor.querySelectorAll<HTMLElement>('.margin-view-overlays > div')) {
        if (Number(m.querySelector('.line-numbers')?.textContent?.trim()) === n) top = m.style.top;
      }
      const l = [...editor.querySelectorAll<HTMLElement>('.view-lines > .view-line')].find((x) => x.style.top === top);
      if (!l) return '';
      let after = '';
      for (const span of l.querySelectorAll('span')) {
        const c = getComputedStyle(span, '::after').content;
        if (c && c.startsWith('"')) after += JSON.parse(c) as string;
      }
      return after.replace(/\s+/g, ' ').trim();
    }, line);
    if (want.test(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${want} after line ${line}; it shows ${JSON.stringify(last)}`);
    await page.waitForTimeout(200);
  }
}

async function crop(vs: VSCodeSession, name: string, locators: Locator[], pad = 4): Promise<string> {
  const boxes = (await Promise.all(locators.map((l) => l.first().boundingBox()))).filter((b) => b !== null);
  if (!boxes.length) throw new Error(`nothing to crop for ${name}`);
  const x = Math.max(0, Math.min(...boxes.map((b) => b.x)) - pad);
  const y = Math.max(0, Math.min(...boxes.map((b) => b.y)) - pad);
  const right = Math.max(...boxes.map((b) => b.x + b.width)) + pad;
  const bottom = Math.max(...boxes.map((b) => b.y + b.height)) + pad;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await vs.page.screenshot({ path, clip: { x, y, width: right - x, height: bottom - y } });
  return path;
}

test('a redirect with no target reads as dropped everywhere; a display filter narrows the packets view', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'redirect-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(FIXTURES, 'redirect_nowhere.c'), join(workspace, 'redirect_nowhere.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  const file = join(workspace, 'redirect_nowhere.c');
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'redirect_nowhere.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'redirect_nowhere.c');
    await waitForStatusBarText(page, /XDP native/);
    await waitForCodeLens(page, 'Run on capture');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);

    // The CodeLens: the three TCP packets are counted as XDP_REDIRECT, and as the part of the capture that was dropped.
    await waitForCodeLens(page, '7 XDP_PASS · 3 XDP_REDIRECT (10 packets of demo.pcap; 3 of them dropped: no redirect target)');
    // The return line says what became of them.
    const ret = lineOf(file, 'return XDP_REDIRECT;');
    await goToLine(page, ret);
    assert.equal(await afterText(page, ret, /XDP_REDIRECT/), '← 3 packets → XDP_REDIRECT, all dropped: no redirect target');
    // One diagnostic on that line for the one mistake: the source analysis's finding, with the run's evidence in it.
    const problem = await waitForProblem(page, /XDP_REDIRECT is returned although the result of bpf_redirect_map\(\) on line 29 is ignored.*The last run confirms it: 3 packets returned XDP_REDIRECT here and were dropped \(no redirect target\): #2, #3, #8\./);
    assert.match(await problem.innerText(), new RegExp(`redirect-without-target.*Ln ${ret}`, 's'));
    await waitForCount(page.locator('.markers-panel .monaco-list-row').filter({ hasText: new RegExp(`Ln ${ret}, Col`) }), 1, `Problems entries on line ${ret}`, 10_000, page.locator('.markers-panel'));
    await vs.screenshot('outcome-problems');
    // The packets view: the dropped ones say so, with an icon of their own.
    await runCommand(page, 'XDP: Show Packets View');
    // The view is in a panel of its own beside Problems, which it shares with XDP Maps: its rows are its pane's.
    const view = panelView(page, /XDP Packets/i);
    const dropped = view.locator('.monaco-list-row').filter({ hasText: 'XDP_REDIRECT → dropped: no redirect target' });
    await waitVisible(dropped, 'a redirected packet shown as dropped', 30_000, view);
    await waitForCount(dropped, 3, 'the redirected packets shown as dropped', 30_000, view);
    assert.equal(await dropped.first().locator('.codicon-debug-disconnect').count(), 1, 'the dropped-instead icon');
    const passed = view.locator('.monaco-list-row').filter({ hasText: /#0 XDP_PASS/ });
    assert.equal(await passed.first().locator('.codicon-pass').count(), 1, 'a passed packet keeps the pass icon');
    // Room for whole rows, as a person would make it: the XDP Maps view beside it (one DEVMAP, empty) collapsed.
    await collapsePanelView(page, /XDP Maps/i, /XDP Packets/i);
    await goToLine(page, ret - 6);
    await waitForNotificationGone(page, /XDP: running/);
    await vs.screenshot('outcome-redirect-dropped');
    await crop(vs, 'outcome-redirect-dropped-crop', [page.locator('.part.editor .monaco-editor').first(), page.locator('.part.panel')]);

    // A display filter: a mistake is shown as it is typed, with its column; a valid one narrows the view.
    await runCommand(page, 'XDP: Filter Packets...');
    const input = page.locator('.quick-input-widget input');
    // Typed again while the box does not show the error (the box can take its text, the current filter, after it opened).
    const typedError = page.locator('.quick-input-widget .quick-input-message').filter({ hasText: "column 13: '=' is not an operator" });
    await actUntil((timeout) => input.fill('tcp.dstport = 80', { timeout }), typedError, 'the filter error as typed', { waitMs: 5_000 });
    await vs.screenshot('outcome-filter-error');
    await crop(vs, 'outcome-filter-error-crop', [page.locator('.quick-input-widget')]);
    await input.fill('tcp.dstport == 80 && outcome contains "dropped"');
    // Enter once the box no longer shows the error of the text before (pressed again only while the box is open).
    await page.locator('.quick-input-widget .quick-input-message').filter({ hasText: /column/ }).waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    const note = page.locator('.part.panel').getByText(/^Filter: tcp\.dstport == 80 && outcome contains "dropped" \(\d+ of 10 packets\)\.$/);
    await actUntil(() => input.press('Enter', { timeout: 3_000 }), note, 'the filter and its count above the rows', { again: () => input.isVisible(), waitMs: 5_000 });
    const matched = Number(/\((\d+) of 10 packets\)/.exec(await note.innerText())![1]);
    assert.ok(matched >= 1, 'some packets match');
    // The rows follow the count: wait until only the matching ones are listed.
    const rows = view.locator('.monaco-list-row');
    const matching = rows.filter({ hasText: /XDP_REDIRECT → dropped: no redirect target.*\.80:/s });
    await waitForCount(matching, matched, 'rows matching the filter', 30_000, view);
    await waitForCount(rows, matched, 'rows in the filtered view (no others)', 30_000, view);
    await vs.screenshot('outcome-filter');
    await crop(vs, 'outcome-filter-crop', [page.locator('.part.panel')]);
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('outcome-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});

test('a verdict diff between the committed file and an edited one shows the changed counts at the return', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'diff-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  const git = (...a: string[]) => spawnSync('git', ['-C', workspace, ...a], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  assert.equal(git('init', '-q').status, 0);
  git('add', 'xdp_filter.c');
  assert.equal(git('commit', '-qm', 'v1').status, 0);
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
      // The comparison opens as a plain-text document whose packet lines are wider than half the window: wrapped, they
      // read whole in the screenshot.
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false, 'git.enabled': false, '[plaintext]': { 'editor.wordWrap': 'on' } },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    // Edit as a person would: select PASS on the UDP return and type DROP, then save.
    const column = lines[udpReturn - 1]!.indexOf('PASS') + 1;
    await replaceLineEndAndSave(page, file, udpReturn, column, 'DROP;');
    await runCommand(page, 'XDP: Compare Verdicts with...');
    await pickQuickItem(page, /Last committed version/);
    await pickQuickItem(page, /demo\.pcap.*default/);
    const summary = await waitVisible(page.locator('.notifications-toasts .notification-toast').filter({ hasText: /1 packet of 10 changed against xdp_filter\.c@HEAD \(\+1 XDP_DROP, -1 XDP_PASS\)/ }), 'the comparison summary', 60_000);
    // Shown whole (VS Code cuts a notification without a button to one line), with a way back to the changed packets.
    await waitVisible(summary.locator('.monaco-button', { hasText: 'Show Changes' }), 'the Show Changes button');
    assert.ok(await shownWhole(summary), 'the comparison summary shown whole, not cut to a line');
    await page.locator('.part.editor .editor-group-container').first().click({ position: { x: 200, y: 200 } });
    await goToLine(page, udpReturn);
    assert.equal(await afterText(page, udpReturn, /⇄/), '⇄ +1 XDP_DROP, -1 XDP_PASS');
    // Room for the changed packets' lines beside the source: no side bar.
    await runCommand(page, 'View: Close Primary Side Bar');
    await page.locator('.part.sidebar').waitFor({ state: 'hidden' });
    await goToLine(page, udpReturn);
    await afterText(page, udpReturn, /⇄/);
    await vs.screenshot('verdict-diff');
    await crop(vs, 'verdict-diff-crop', [page.locator('.part.editor')]);
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot('verdict-diff-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
