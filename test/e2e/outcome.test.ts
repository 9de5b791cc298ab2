// Outcomes and display filters in a real VS Code (code-server + chromium; see README.md in this folder), as a person
// would meet them: a program that returns XDP_REDIRECT with nothing to redirect to is run on the demo capture, and
// everything that shows its verdicts must say the packets were dropped; then the packets view is narrowed with a
// display filter, a mistyped one first. Checks are on what the window shows; screenshots go to test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import {
  ARTIFACTS_DIR,
  e2eRequired,
  e2eSkip,
  goToLine,
  pickQuickItem,
  runCommand,
  startVSCode,
  waitForActiveEditor,
  waitForCodeLens,
  waitForProblem,
  waitForStatusBarText,
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
async function afterText(page: Page, line: number, want: RegExp, timeoutMs = 15_000): Promise<string> {
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

    // The CodeLens: the three TCP packets are counted as XDP_REDIRECT and, beside that, as dropped.
    await waitForCodeLens(page, '7 XDP_PASS · 3 XDP_REDIRECT · 3 dropped: no redirect target (10 packets of demo.pcap)');
    // The return line says what became of them.
    const ret = lineOf(file, 'return XDP_REDIRECT;');
    await goToLine(page, ret);
    assert.equal(await afterText(page, ret, /XDP_REDIRECT/), '← 3 packets → XDP_REDIRECT, all dropped: no redirect target');
    // A diagnostic on that line, with the packets and why.
    const problem = await waitForProblem(page, /XDP_REDIRECT, dropped: no redirect target .*tx_port.*map empty.*3 packets: #/);
    assert.match(await problem.innerText(), new RegExp(`Ln ${ret}`));
    // The packets view: the dropped ones say so, with an icon of their own.
    
    await vs.screenshot('outcome-problems');
    await runCommand(page, 'XDP: Show Packets View');
    // The view has a panel container of its own, beside Problems: wide enough for whole rows.
    const view = page.locator('.part.panel .pane-body').filter({ has: page.locator('.monaco-list-row') });
    const dropped = view.locator('.monaco-list-row').filter({ hasText: 'XDP_REDIRECT → dropped: no redirect target' });
    await waitVisible(dropped, 'a redirected packet shown as dropped', 30_000, view);
    assert.equal(await dropped.count(), 3);
    assert.equal(await dropped.first().locator('.codicon-debug-disconnect').count(), 1, 'the dropped-instead icon');
    const passed = view.locator('.monaco-list-row').filter({ hasText: /#0 XDP_PASS/ });
    assert.equal(await passed.first().locator('.codicon-pass').count(), 1, 'a passed packet keeps the pass icon');
    await goToLine(page, ret - 6);
    await vs.screenshot('outcome-redirect-dropped');
    await crop(vs, 'outcome-redirect-dropped-crop', [page.locator('.part.editor .monaco-editor').first(), page.locator('.part.panel')]);

    // A display filter: a mistake is shown as it is typed, with its column; a valid one narrows the view.
    await runCommand(page, 'XDP: Filter Packets...');
    const input = page.locator('.quick-input-widget input');
    await input.fill('tcp.dstport = 80');
    await waitVisible(page.locator('.quick-input-widget .quick-input-message').filter({ hasText: "column 13: '=' is not an operator" }), 'the filter error as typed');
    await vs.screenshot('outcome-filter-error');
    await crop(vs, 'outcome-filter-error-crop', [page.locator('.quick-input-widget')]);
    await input.fill('tcp.dstport == 80 && outcome contains "dropped"');
    await page.locator('.quick-input-widget .quick-input-message').filter({ hasText: /column/ }).waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    await input.press('Enter');
    const note = page.locator('.part.panel').getByText(/^Filter: tcp\.dstport == 80 && outcome contains "dropped" \(\d+ of 10 packets\)\.$/);
    await waitVisible(note, 'the filter and its count above the rows');
    const rows = view.locator('.monaco-list-row');
    await waitVisible(rows.filter({ hasText: '→ dropped' }), 'a matching row', 30_000, view);
    const texts = await rows.allInnerTexts();
    assert.ok(texts.length >= 1, 'some rows match');
    for (const t of texts) assert.match(t, /XDP_REDIRECT → dropped: no redirect target.*\.80:/s, `only matching rows: ${t}`);
    assert.match(await note.innerText(), new RegExp(`\\(${texts.length} of 10 packets\\)`));
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
