// XDP Lens itself in a real VS Code (code-server 4.100.3 + Debian chromium, see README.md in this folder), used the
// way a person would: through the Command Palette, the editor, the Problems panel, hovers and the XDP Packets view,
// with every check made on what the window shows. The extension is the repository (it loads dist/client.js and
// dist/server.js, so the build must have run; `npm test` builds first).
//
// One session covers the trusted workflow step by step (a seeded mistake in Problems, an action's hover, a run on
// the bundled capture with its counts, a packet's path, the Debug lens on its return); a second one has Workspace
// Trust on and the folder untrusted.
// "Nothing was compiled" is seen in the session's directories: the trusted session finds the objects its run compiled
// there, the untrusted one finds none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Locator, Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import {
  ARTIFACTS_DIR,
  clickUntil,
  e2eRequired,
  e2eSkip,
  goToLine,
  openWorkspaceFile,
  pickQuickItem,
  runCommand,
  showHover,
  startVSCode,
  typeInFileDialog,
  waitForActiveEditor,
  waitForCodeLens,
  waitForEditorText,
  waitForNotification,
  waitForNotificationGone,
  waitForProblem,
  waitForStatusBarText,
  panelView,
  waitVisible,
  type VSCodeSession,
} from './harness/index.ts';

const FIXTURES = join(REPO, 'test', 'e2e', 'fixtures');
const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js'));
const NOT_BUILT = 'dist/client.js or dist/server.js is missing: run npm run build (npm test builds first)';
// Without a build the tests skip, unless they are required (CI), where a missing build is a failure like a missing VS Code.
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';

/** A workspace folder holding the seeded program, the demo program and the demo capture. */
function makeWorkspace(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(FIXTURES, 'seeded_mistakes.c'), join(dir, 'seeded_mistakes.c'));
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(dir, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(dir, 'demo.pcap'));
  return dir;
}

/**
 * The BPF objects compiled for a session: every `.o` under its root (home, XDG and temporary directories, where the
 * language server's clang object cache lives). A spy clang would not do: the extension host takes PATH from a login
 * shell, and `xdpLens.clang.path` is machine-overridable, which a code-server window honours from user settings only
 * until the extension's configuration is registered (and never from an untrusted workspace's settings).
 */
function compiledObjects(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...compiledObjects(p));
    else if (e.name.endsWith('.o')) out.push(p);
  }
  return out;
}

/** 1-based number of the first line of `file` holding `text` (below the first line holding `below`, if given). */
function lineOf(file: string, text: string, below?: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const from = below === undefined ? 0 : lines.findIndex((l) => l.includes(below)) + 1;
  const i = from === 0 && below !== undefined ? -1 : lines.findIndex((l, n) => n >= from && l.includes(text));
  if (i < 0) throw new Error(`${file}: no line with ${JSON.stringify(text)}${below ? ` below ${JSON.stringify(below)}` : ''}`);
  return i + 1;
}

interface RenderedLine {
  line: number;
  text: string;
  /** Text drawn after the line by decorations (CSS ::after content), joined. */
  after: string;
  /** The line carries a whole-line decoration with a background (the extension's executed-path highlight). */
  highlighted: boolean;
}

/**
 * The lines of the active editor as rendered: number (from the gutter), text, the text decorations draw after it and
 * whether a decoration colours its background. Decoration text is CSS `::after` content, which no text query sees.
 */
function renderedLines(page: Page): Promise<RenderedLine[]> {
  // No named functions inside: tsx compiles them with a helper the page does not have.
  return page.evaluate(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
    if (!editor) return [];
    const numbers = new Map<string, number>();
    for (const m of editor.querySelectorAll<HTMLElement>('.margin-view-overlays > div')) {
      const n = Number(m.querySelector('.line-numbers')?.textContent?.trim());
      if (n) numbers.set(m.style.top, n);
    }
    const highlighted = new Set<string>();
    for (const o of editor.querySelectorAll<HTMLElement>('.view-overlays > div')) {
      for (const d of o.querySelectorAll('.cdr')) {
        if (![...d.classList].some((c) => c.startsWith('ced-'))) continue;
        const bg = getComputedStyle(d).backgroundColor;
        if (bg && bg !== 'transparent' && bg !== 'rgba(0, 0, 0, 0)') highlighted.add(o.style.top);
      }
    }
    const out: { line: number; text: string; after: string; highlighted: boolean }[] = [];
    for (const l of editor.querySelectorAll<HTMLElement>('.view-lines > .view-line')) {
      const line = numbers.get(l.style.top);
      if (!line) continue;
      let after = '';
      for (const span of l.querySelectorAll('span')) {
        const c = getComputedStyle(span, '::after').content;
        if (c && c.startsWith('"')) after += JSON.parse(c) as string;
      }
      out.push({
        line,
        text: (l.textContent ?? '').replace(/\s+/g, ' ').trim(),
        after: after.replace(/\s+/g, ' ').trim(),
        highlighted: highlighted.has(l.style.top),
      });
    }
    return out.sort((a, b) => a.line - b.line);
  });
}

/** Waits until the active editor renders `line` and `check` accepts it; the error shows what was rendered. */
async function waitForLine(page: Page, line: number, what: string, check: (l: RenderedLine) => boolean, timeoutMs = 30_000): Promise<RenderedLine> {
  const end = Date.now() + timeoutMs;
  let last: RenderedLine[] = [];
  for (;;) {
    last = await renderedLines(page);
    const l = last.find((x) => x.line === line);
    if (l && check(l)) return l;
    if (Date.now() > end) {
      const shown = last.map((x) => `${x.line}${x.highlighted ? '*' : ' '} ${x.text}${x.after ? `   [${x.after}]` : ''}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on line ${line}; rendered lines (* = highlighted):\n${shown}`);
    }
    // Wait for the editor's DOM to change rather than polling on a timer.
    await page
      .waitForFunction(
        (before) => (document.querySelector('.part.editor .editor-group-container.active .monaco-editor .view-lines')?.innerHTML.length ?? -1) !== before,
        await page.evaluate(() => document.querySelector('.part.editor .editor-group-container.active .monaco-editor .view-lines')?.innerHTML.length ?? -1),
        { timeout: Math.max(1, end - Date.now()), polling: 'raf' },
      )
      .catch(() => undefined);
  }
}

/** A screenshot of just the area covering `locators` (for the docs), next to the full-window artifacts. */
async function crop(vs: VSCodeSession, name: string, locators: Locator[], pad = 4, timeoutMs = 30_000): Promise<string> {
  const boxes = (await Promise.all(locators.map((l) => l.first().boundingBox({ timeout: timeoutMs })))).filter((b) => b !== null);
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

/** Opens a workspace file through Quick Open, as a person would. */
const openFile = (page: Page, name: string) => openWorkspaceFile(page, name);

const activeEditor = (page: Page) => page.locator('.part.editor .editor-group-container.active .monaco-editor').first();

before(() => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), 'xdp-lens-extension-e2e-'));
});

after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

test('a person uses XDP Lens in VS Code: Problems, hover, run on a capture, a packet\'s path, debug it', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  const workspace = makeWorkspace('xdp-project');
  const seeded = join(workspace, 'seeded_mistakes.c');
  const filter = join(workspace, 'xdp_filter.c');
  let vs: VSCodeSession | undefined;
  const t0 = Date.now();
  const timings: string[] = [];
  const mark = (step: string) => timings.push(`${step} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'seeded_mistakes.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'seeded_mistakes.c');
    await waitForStatusBarText(page, /XDP native/);
    mark('window up, extension active');

    // 1. The seeded mistakes, in the Problems panel with their rule codes.
    const tcShot = await waitForProblem(page, /TC_ACT_SHOT. is a tc verdict.*which the XDP driver reads as XDP_PASS.*XDP_DROP was likely meant/);
    assert.match(await tcShot.innerText(), /invalid-action/, 'the rule code is shown with the message');
    assert.match(await tcShot.innerText(), new RegExp(`Ln ${lineOf(seeded, 'return TC_ACT_SHOT')}`), 'on the return line');
    const ctxWrite = await waitForProblem(page, /ctx->rx_queue_index.*read-only/);
    assert.match(await ctxWrite.innerText(), /ctx-write/);
    assert.match(await ctxWrite.innerText(), new RegExp(`Ln ${lineOf(seeded, 'ctx->rx_queue_index = 0')}`));
    const rows = page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'xdp-lens' });
    assert.equal(await rows.count(), 2, `exactly the two seeded mistakes: ${(await rows.allInnerTexts()).join(' | ')}`);
    await vs.screenshot('extension-problems');
    await crop(vs, 'extension-problems-crop', [activeEditor(page), page.locator('.part.panel')]);
    mark('1 problems');

    // 2. Hover an action: its documentation.
    const txLine = lineOf(seeded, 'return XDP_TX;');
    await goToLine(page, txLine, readFileSync(seeded, 'utf8').split('\n')[txLine - 1]!.indexOf('XDP_TX') + 2);
    let hover = await showHover(page, 'XDP_TX = 3');
    assert.match(await hover.innerText(), /Send the frame back out of the interface it arrived on/);
    // The pictures hold the hover: a hover that closed meanwhile (the editor redrawn under it) is shown again first.
    for (let tries = 1; ; tries++) {
      await vs.screenshot('extension-hover');
      const taken = await crop(vs, 'extension-hover-crop', [hover, page.locator('.part.editor .monaco-editor .view-line').filter({ hasText: 'return XDP_TX' })], 4, 5_000).then(() => true, () => false);
      if (taken && (await hover.isVisible())) break;
      if (tries === 3) throw new Error('the hover closed three times before its picture was taken');
      hover = await showHover(page, 'XDP_TX = 3');
    }
    await page.keyboard.press('Escape');
    await hover.waitFor({ state: 'hidden' });
    mark('2 hover');

    // 3. Run the demo program on the bundled capture from the Command Palette; the workspace default is offered.
    await openFile(page, 'xdp_filter.c');
    await goToLine(page, lineOf(filter, 'int xdp_filter('));
    await waitForCodeLens(page, 'Run on capture');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap)');
    mark('3 run finished (lens)');
    // The counts at the return statements: each return that packets left through says how many, with which action.
    const exits: [number, string][] = [
      [lineOf(filter, 'return XDP_PASS;', 'count(P_ARP);'), '← 1 packet → XDP_PASS'],
      [lineOf(filter, 'return XDP_PASS;', 'count(P_IPV6);'), '← 1 packet → XDP_PASS'],
      [lineOf(filter, 'return XDP_DROP;', 'if (tcp->dest == bpf_htons(blocked_port))'), '← 2 packets → XDP_DROP'],
      [lineOf(filter, 'return XDP_PASS;', 'if (tcp->dest == bpf_htons(blocked_port))'), '← 3 packets → XDP_PASS'],
      [lineOf(filter, 'return XDP_PASS;', 'count(P_UDP);'), '← 1 packet → XDP_PASS'],
      [lineOf(filter, 'return icmp_echo_reply(eth, ip, icmp);'), '← 2 packets → XDP_TX'],
    ];
    // Returns no packet took carry no count.
    const silent = [lineOf(filter, 'return XDP_DROP;', 'if (cursor > data_end)'), lineOf(filter, 'return XDP_DROP;', 'hits')];
    for (const [line, label] of exits) {
      await goToLine(page, line);
      const l = await waitForLine(page, line, `the exit count "${label}"`, (x) => x.after === label);
      assert.match(l.text, /return/, `line ${line} is a return statement`);
    }
    for (const line of silent) {
      await goToLine(page, line);
      const l = await waitForLine(page, line, 'a return no packet took', (x) => /return XDP_DROP/.test(x.text));
      assert.equal(l.after, '', `line ${line} (no packets left there) has no count`);
    }
    // For the screenshot: the lens above the function and the first counts below it, with the panel out of the way.
    await runCommand(page, 'View: Hide Panel');
    await page.locator('.part.panel').waitFor({ state: 'hidden' });
    await goToLine(page, lineOf(filter, 'int xdp_filter(') + 16); // Go to Line centres: the function's head near the top
    await waitForLine(page, exits[1]![0], 'the IPv6 count', (x) => x.after === exits[1]![1]);
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX');
    await waitForNotificationGone(page, /XDP: running/); // the run's progress would cover the editor's corner
    await vs.screenshot('extension-run-counts');
    await crop(vs, 'extension-run-counts-crop', [activeEditor(page)]);
    assert.ok(compiledObjects(vs.root).length > 0, `the run compiled the program: no .o under ${vs.root}`);
    mark('3 counts at returns');

    // 4. A packet from the XDP Packets view: its path is highlighted in the source, its detail opens beside it.
    // The view has a panel of its own (beside Problems); bring it up as its command does.
    await runCommand(page, 'XDP: Show Packets View');
    const view = panelView(page, /XDP Packets/i);
    const packet = view.locator('.monaco-list-row').filter({ hasText: '#1 XDP_TX' });
    await waitVisible(packet, 'packet #1 in the XDP Packets view', 30_000, view);
    assert.match(await packet.innerText(), /ICMP echo request/);
    await clickUntil(packet, page.locator('.part.editor .tab').filter({ hasText: 'Packet #1' }), 'the packet view tab', { waitMs: 5_000 });
    // The packet view (a webview, see packet-view.test.ts): the verdict, and the decoded ICMP type before and after.
    const packetView = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await waitVisible(packetView.locator('.verdict').filter({ hasText: /XDP_TX\s*→ transmitted\s*returned 3 at xdp_filter\.c:\d+/ }), 'the verdict in the packet view');
    await waitVisible(packetView.locator('.side[data-side="before"] .node.chg').filter({ hasText: 'Echo (ping) request (8)' }), 'the ICMP type as received, marked changed');
    await waitVisible(packetView.locator('.side[data-side="after"] .node.chg').filter({ hasText: 'Echo (ping) reply (0)' }), 'the ICMP type as it left, marked changed');
    await waitForActiveEditor(page, 'xdp_filter.c'); // the source keeps the focus, the detail is beside it
    const txExit = exits[5]![0];
    await waitForLine(page, txExit, 'the packet\'s exit', (x) => x.after.includes('packet #1 → XDP_TX'));
    // Executed lines are highlighted, lines the ICMP echo never reached are not.
    // (Which lines count as executed follows clang's line info: conditions and returns, not every statement.)
    // count(P_ICMP); is an inlined call, whose instructions carry the lines of count()'s body: its line is on the path too.
    const path = [lineOf(filter, 'if ((void *)(icmp + 1) > data_end)'), lineOf(filter, 'count(P_ICMP);'), lineOf(filter, 'if (icmp->type == ICMP_ECHO')];
    const notPath = [lineOf(filter, 'count(P_UDP);'), lineOf(filter, 'count(P_TCP);')];
    for (const line of path) await waitForLine(page, line, 'the executed-path highlight', (x) => x.highlighted);
    const lines = await renderedLines(page);
    for (const line of notPath) {
      const l = lines.find((x) => x.line === line);
      if (l) assert.equal(l.highlighted, false, `line ${line} (${l.text}) was not executed by packet #1`);
    }
    assert.ok(lines.some((x) => notPath.includes(x.line)), 'a line off the path is on screen to compare with');
    await vs.screenshot('extension-packet-path');
    mark('4 packet path');

    // 5. The Debug lens above that return: the debugger starts on the first packet that left there (#1), stopped at
    // the program's entry (no breakpoints are set), and the debug console names the packet.
    const debugLens = await waitForCodeLens(page, 'Debug first packet (#1)');
    // Clicked again only while no debug session has started (a lens redrawn under the click loses it).
    await clickUntil(debugLens.locator('a', { hasText: 'Debug first packet (#1)' }), page.locator('.debug-call-stack .monaco-list-row', { hasText: /xdp_filter\s*xdp_filter\.c\s*\d+:\d+/ }), 'the debugger stopped in xdp_filter', {
      timeoutMs: 60_000,
      waitMs: 10_000,
      again: async () => !(await page.locator('.statusbar.debugging').isVisible()),
      area: page.locator('.debug-call-stack'),
    });
    await runCommand(page, 'Debug Console: Focus on Debug Console View');
    const repl = page.locator('.repl .monaco-list-row');
    await waitVisible(repl.filter({ hasText: /starting at packet 1 \(IP 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request/ }), 'the debug console naming packet #1', 30_000, repl);
    await runCommand(page, 'Debug: Stop');
    await waitVisible(page.locator('.statusbar:not(.debugging)'), 'the end of the debug session');
    mark('5 debug lens');
    assert.deepEqual(vs.blockedRequests(), [], 'the window asked for nothing off this machine');
  } catch (e) {
    await vs?.screenshot('extension-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- steps: ${timings.join(', ')}\n--- code-server output ---\n${vs?.serverLog().slice(-4000)}`, { cause: e });
  } finally {
    await vs?.stop();
    t.diagnostic(timings.join(', '));
  }
});

// Each step's wait bounds it and says what was on screen; the test's own bound is only a guard against a hang, as
// long as the other whole-session tests' (a loaded machine takes minutes to start a window and its extension host).
test('in an untrusted workspace the run is refused and nothing is compiled', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  const workspace = makeWorkspace('untrusted-project');
  const t0 = Date.now();
  const timings: string[] = [];
  const mark = (what: string) => timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      workspaceTrust: true,
      openFile: 'xdp_filter.c',
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP restricted/);
    mark('window up, restricted');

    // Only the source analysis runs: its findings still appear.
    await openFile(page, 'seeded_mistakes.c');
    await waitForProblem(page, /TC_ACT_SHOT. is a tc verdict/);
    mark('1 problems');

    // The Command Palette does not offer the run; other XDP commands are there.
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await waitVisible(input, 'the Command Palette');
    await input.fill('>XDP: ');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await waitVisible(rows.filter({ hasText: 'XDP: Choose Driver Mode' }), 'XDP commands in the palette', 30_000, rows);
    const offered = await rows.allInnerTexts();
    assert.ok(!offered.some((r) => r.includes('XDP: Run on Capture')), `the run is not offered: ${offered.join(' | ')}`);
    await vs.screenshot('extension-untrusted-palette');
    await page.keyboard.press('Escape');
    mark('2 palette');

    // The CodeLens is there, but clicking it is refused with the reason.
    await openFile(page, 'xdp_filter.c');
    await goToLine(page, lineOf(join(workspace, 'xdp_filter.c'), 'int xdp_filter('));
    const runLens = await waitForCodeLens(page, 'Run on capture');
    const refusalText = /Running on a capture compiles and runs code from this workspace, which is not trusted/;
    await clickUntil(runLens.locator('a', { hasText: 'Run on capture' }), page.locator('.notifications-toasts .notification-toast').filter({ hasText: refusalText }), 'the refusal', { waitMs: 5_000 });
    const refusal = await waitForNotification(page, refusalText);
    await refusal.click({ trial: true, timeout: 10_000 }); // waits until the toast has finished sliding in, for the screenshot
    await vs.screenshot('extension-untrusted-refused');
    mark('3 refused');
    await page.mouse.move(2, 2); // off the toast: its tooltip is no hover of the editor's
    // The server has answered a request after opening both files (a hover), so an on-open compile would have run.
    await openFile(page, 'seeded_mistakes.c');
    const seeded = join(workspace, 'seeded_mistakes.c');
    const tx = lineOf(seeded, 'return XDP_TX;');
    await goToLine(page, tx, readFileSync(seeded, 'utf8').split('\n')[tx - 1]!.indexOf('XDP_TX') + 2);
    await showHover(page, 'XDP_TX = 3');
    assert.deepEqual(compiledObjects(vs.root), [], 'nothing was compiled in the untrusted workspace');
    await waitForStatusBarText(page, /XDP restricted/);
    mark('4 nothing compiled');
  } catch (e) {
    await vs?.screenshot('extension-untrusted-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- steps: ${timings.join(', ')}\n--- code-server output ---\n${vs?.serverLog().slice(-4000)}`, { cause: e });
  } finally {
    await vs?.stop();
    t.diagnostic(timings.join(', '));
  }
});

test('the packaged .vsix installs from the Extensions menu, shows its README with the screenshots, and runs', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  const t0 = Date.now();
  const pack = spawnSync('npm', ['run', '--silent', 'package'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(pack.status, 0, `npm run package failed:\n${pack.stdout}\n${pack.stderr}`);
  const packMs = Date.now() - t0;
  const workspace = makeWorkspace('vsix-project');
  copyFileSync(join(REPO, 'dist', 'xdp-lens.vsix'), join(workspace, 'xdp-lens.vsix'));
  // The harness loads a development extension; here it is one that only says when the extension host is up (by then
  // the Extensions commands are registered), so the XDP Lens that runs is the installed one.
  const placeholder = join(root, 'placeholder-extension');
  mkdirSync(placeholder, { recursive: true });
  writeFileSync(
    join(placeholder, 'package.json'),
    JSON.stringify({ name: 'placeholder', publisher: 'xdp-lens-test', version: '0.0.1', engines: { vscode: '^1.90.0' }, main: './extension.js', activationEvents: ['onStartupFinished'] }),
  );
  writeFileSync(
    join(placeholder, 'extension.js'),
    "exports.activate = (c) => { const i = require('vscode').window.createStatusBarItem(); i.text = 'extension host up'; i.show(); c.subscriptions.push(i); };\n",
  );
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: placeholder,
      workspace,
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForStatusBarText(page, 'extension host up');
    await runCommand(page, 'Extensions: Install from VSIX...');
    const target = join(workspace, 'xdp-lens.vsix');
    // The dialog accepts once it has listed the folder the typed path is in; then its Install button.
    const dialog = await typeInFileDialog(page, target, 'xdp-lens.vsix');
    const input = dialog.locator('input');
    assert.equal(await input.inputValue(), target, 'the file dialog still holds the typed path');
    const install = dialog.locator('.monaco-button', { hasText: /^Install$/ });
    await clickUntil(install, page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'Completed installing extension' }), 'the installation', {
      timeoutMs: 60_000,
      waitMs: 10_000,
      again: () => install.first().isVisible(),
    });

    // The details page: the README is the extension's, and every screenshot in it loads.
    await runCommand(page, 'Extensions: Show Enabled Extensions');
    const entry = page.locator('.extensions-viewlet .monaco-list-row').filter({ hasText: 'XDP Lens' });
    await waitVisible(entry, 'XDP Lens among the enabled extensions', 30_000, page.locator('.extensions-viewlet'));
    const readme = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await clickUntil(entry, readme.locator('h2', { hasText: 'Run on a capture' }), 'the README in the extension details', { waitMs: 10_000 });
    const images = readme.locator('img');
    const alts = await images.evaluateAll((els) => els.map((e) => e.getAttribute('alt') ?? ''));
    // Every screenshot of docs/extension-README.md is there (inlined by docs/build-extension-readme.mjs).
    const shots = (readFileSync(join(REPO, 'docs', 'extension-README.md'), 'utf8').match(/!\[[^\]]+\]\(/g) ?? []).length;
    assert.equal(alts.filter((a) => a).length, shots, `${shots} screenshots in the README: ${JSON.stringify(alts)}`);
    for (let i = 0; i < alts.length; i++) {
      if (!alts[i]) continue;
      // decode() settles once the image is loaded and decoded, and rejects for a broken one.
      const width = await images.nth(i).evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth, () => 0));
      assert.ok(width > 100, `the screenshot "${alts[i]}" loads in the details view (natural width ${width})`);
    }
    await vs.screenshot('extension-vsix-readme');

    // The installed extension works: diagnostics, and a run with its counts.
    await openFile(page, 'seeded_mistakes.c');
    await waitForStatusBarText(page, /XDP native/);
    await waitForProblem(page, /TC_ACT_SHOT. is a tc verdict/);
    await openFile(page, 'xdp_filter.c');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await goToLine(page, lineOf(join(workspace, 'xdp_filter.c'), 'int xdp_filter('));
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap)');
    await vs.screenshot('extension-vsix-run');
    assert.deepEqual(vs.blockedRequests(), [], 'the window asked for nothing off this machine');
    t.diagnostic(`npm run package ${(packMs / 1000).toFixed(1)} s, whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    await vs?.screenshot('extension-vsix-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-4000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
});
