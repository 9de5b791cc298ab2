// The debugger in a real VS Code (code-server + chromium; see README.md in this folder), as a person would use it:
// a launch.json for the `xdp` debug type (stop on entry), a breakpoint set by a click in the gutter, continue to it,
// the C local `eth` in the Variables view, a step, a step back (the toolbar button) to the same line, continue to the
// fault the capture's third packet causes, continue to the end of the capture.
// The screenshot goes to test-artifacts/e2e/debug-packet.png (the README's).
// Then, after Run on Capture, XDP: Debug This Packet: the debug console says the language server reuses that run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { actUntil, e2eRequired, e2eSkip, goToLine, pickQuickItem, runCommand, waitForCodeLens, waitForStatusBarText, startVSCode, waitForActiveEditor, waitVisible, type VSCodeSession } from './harness/index.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { PACKETS } from '../debug/fixture.ts';

/** A key bound to VS Code's Step Back in the test profile (see the step back below). */
const STEP_BACK_KEY = 'ctrl+alt+shift+b';
const STEP_BACK_KEY_PRESS = 'Control+Alt+Shift+B';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'cli.js'));
const NOT_BUILT = 'dist/client.js or dist/cli.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-debug-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

test('set a breakpoint, start debugging, read a C local, step, step back, continue to the end', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'debug-project');
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  copyFileSync(join(REPO, 'test', 'debug', 'fixtures', 'dbg.c'), join(workspace, 'dbg.c'));
  const w = new PcapWriter(join(workspace, 'capture.pcap'));
  for (const p of PACKETS) w.write(1_000_000_000n + p.tsNs, p.frame);
  w.close();
  writeFileSync(join(workspace, 'maps.json'), JSON.stringify({ jmp: [{ key: '00000000', program: 'tail' }] }));
  writeFileSync(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'xdp', request: 'launch', name: 'XDP: debug a packet', program: '${workspaceFolder}/dbg.c', programName: 'entry',
      capture: '${workspaceFolder}/capture.pcap', maps: '${workspaceFolder}/maps.json', packet: 0, stopOnEntry: true,
    }],
  }, null, 2));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'dbg.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'editor.stickyScroll.enabled': false },
      keybindings: [{ key: STEP_BACK_KEY, command: 'workbench.action.debug.stepBack' }],
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'dbg.c');
    await waitForStatusBarText(page, /XDP native/, 120_000); // the extension is active: the xdp debug type is registered
    // Start from the launch.json configuration (it stops on entry), then set a breakpoint on line 65 and continue.
    await runCommand(page, 'Debug: Select and Start Debugging', 90_000);
    await pickQuickItem(page, /^XDP: debug a packet/);
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*51/ }), 'the stop on entry (line 51)', 120_000);
    await goToLine(page, 65);
    const number = page.locator('.part.editor .monaco-editor .margin-view-overlays > div', { has: page.locator('.line-numbers', { hasText: /^65$/ }) });
    const box = await (await waitVisible(number, 'line number 65')).first().boundingBox();
    assert.ok(box, 'line 65 is on screen');
    // A click in the gutter sets it (and a second one would clear it): clicked again only while line 65 has no
    // breakpoint glyph and the Breakpoints view does not list it.
    const glyph = page.locator('.part.editor .editor-group-container.active .monaco-editor .glyph-margin-widgets .codicon-debug-breakpoint');
    const listed = page.locator('.debug-breakpoints .monaco-list-row', { hasText: /dbg\.c\s*65/ });
    await actUntil(async () => {
      await page.mouse.move(box.x + 8, box.y + box.height / 2);
      await page.mouse.click(box.x + 8, box.y + box.height / 2);
    }, listed, 'the breakpoint in the Breakpoints view', { again: async () => !(await glyph.first().isVisible()) && !(await listed.first().isVisible()), waitMs: 5_000 });
    await runCommand(page, 'Debug: Continue');
    // Stopped on line 65: the call stack names the function, the Variables view has the C locals.
    const variables = page.locator('.debug-variables');
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: 'entry' }), 'the entry frame in the call stack', 60_000);
    await waitVisible(variables.locator('.monaco-list-row', { hasText: 'Locals' }), 'the Locals scope');
    await waitVisible(variables.locator('.monaco-list-row', { hasText: /eth.*packet pointer: data \+ 0/ }), 'eth in the Variables view');
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*65/ }), 'the stop on line 65');
    // For the screenshot, a side bar wide enough to read the locals' values, as a person would drag it (not so wide
    // that the floating debug toolbar covers the editor's tab).
    const bar = await page.locator('.part.sidebar').boundingBox();
    assert.ok(bar, 'the side bar is on screen');
    await page.mouse.move(bar.x + bar.width, bar.y + bar.height / 2);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width + 140, bar.y + bar.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction((w) => (document.querySelector('.part.sidebar')?.getBoundingClientRect().width ?? 0) >= w, bar.width + 100, { timeout: 10_000 });
    await page.mouse.move(bar.x + bar.width + 600, 5); // nothing hovered in the picture
    await page.waitForFunction(() => !document.querySelector('.monaco-sash.hover, .monaco-sash.active'), undefined, { timeout: 10_000 });
    await vs.screenshot('debug-packet');
    await runCommand(page, 'Debug: Step Over');
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*66/ }), 'the step to line 66');
    const on66 = page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*66/ });
    await waitVisible(page.locator('.debug-toolbar .codicon-debug-step-back'), 'the Step Back button');
    // Done again only while the stop is still on line 66 (a step back has moved it). The floating toolbar is laid out
    // again when the side bar changes width and has been seen to take no click for a minute under load; VS Code's
    // Command Palette does not offer Step Back at all, so then a person binds a key to it, and so does this profile.
    const stepBack = page.locator('.debug-toolbar .codicon-debug-step-back');
    let tries = 0;
    await actUntil(
      async (timeout) => {
        if (tries++ === 0 && (await stepBack.first().click({ timeout }).then(() => true, () => false))) return;
        await page.locator('.part.editor .monaco-editor textarea').first().focus();
        await page.keyboard.press(STEP_BACK_KEY_PRESS);
      },
      page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*65/ }),
      'back on line 65',
      { again: () => on66.first().isVisible(), waitMs: 5_000, timeoutMs: 60_000 },
    );
    // Continue: the breakpoint is reached again by the next packets; then with it removed the capture runs out.
    await runCommand(page, 'Remove All Breakpoints');
    await runCommand(page, 'Debug: Continue');
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: /dbg\.c\s*74/ }), 'the fault stop on line 74', 60_000);
    await runCommand(page, 'Debug: Continue');
    await waitVisible(page.locator('.statusbar:not(.debugging)'), 'the end of the debug session', 60_000);
  } catch (e) {
    await vs?.screenshot('debug-packet-failure');
    throw e;
  } finally {
    await vs?.stop();
  }
});

test('Debug This Packet after a run: the language server reuses that run (same program, capture and seed)', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'reuse-project');
  mkdirSync(workspace, { recursive: true });
  for (const f of ['xdp_filter.c', 'demo.pcap', 'blocklist.json']) copyFileSync(join(REPO, 'examples', f), join(workspace, f));
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'xdpLens.maps': 'blocklist.json', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/, 120_000);
    await goToLine(page, readFileSync(join(workspace, 'xdp_filter.c'), 'utf8').split('\n').findIndex((l) => l.includes('int xdp_filter(')) + 1);
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForCodeLens(page, /\(10 packets of demo\.pcap\)/, 120_000);
    // No breakpoints: Debug This Packet stops on entry of packet 0, in the run the server holds.
    await runCommand(page, 'XDP: Debug This Packet', 90_000);
    await waitVisible(page.locator('.debug-call-stack .monaco-list-row', { hasText: /xdp_filter\.c/ }), 'the stop on entry', 120_000);
    await runCommand(page, 'Debug Console: Focus on Debug Console View');
    await waitVisible(page.locator('.repl').getByText(/reusing run run-\d+ of the language server/), 'the reuse line in the debug console', 60_000);
    await runCommand(page, 'Debug: Stop');
    await waitVisible(page.locator('.statusbar:not(.debugging)'), 'the end of the debug session', 60_000);
  } catch (e) {
    await vs?.screenshot('debug-reuse-failure').catch(() => undefined);
    throw e;
  } finally {
    await vs?.stop();
  }
});
