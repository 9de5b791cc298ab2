// The Test Explorer in a real VS Code (code-server + chromium; see README.md in this folder): a workspace with the
// example program and a test file with one failing case. Running all tests must list the file's cases, mark the
// failing one, and show its failure (expected/actual) at the expectation's line of the test file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { e2eRequired, e2eSkip, expandTreeRow, waitForCount, goToLine, runCommand, startVSCode, waitForActiveEditor, waitVisible, type VSCodeSession } from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'cli.js'));
const NOT_BUILT = 'dist/client.js or dist/cli.js is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  if (!skip) root = mkdtempSync(join(tmpdir(), 'xdp-lens-testing-e2e-'));
});
after(() => {
  if (root && process.env.XDP_LENS_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

test('Test Explorer: a test file with one failing case shows the failure on its line', { skip, timeout: 180_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  const workspace = join(root, 'tests-project');
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  const text = readFileSync(join(REPO, 'examples', 'xdp_filter.xdptest.yaml'), 'utf8').replace('{key: 4, value: 2}', '{key: 4, value: 7}');
  writeFileSync(join(workspace, 'filter.xdptest.yaml'), text);
  const failLine = text.split('\n').findIndex((l) => l.includes('{key: 4, value: 7}')) + 1;
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'filter.xdptest.yaml',
      viewport: { width: 1440, height: 900 },
      settings: { 'testing.automaticallyOpenPeekView': 'failureAnywhere', 'editor.stickyScroll.enabled': false },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'filter.xdptest.yaml');
    // The Testing container appears once a test controller holds tests (the extension's discovery found the file).
    await waitVisible(page.locator('.part.activitybar .action-item').filter({ has: page.locator('[aria-label^="Testing"]') }), 'the Testing view in the activity bar', 90_000);
    await runCommand(page, 'View: Show Testing');
    const tree = page.locator('.test-explorer .monaco-list');
    await waitVisible(tree.locator('.monaco-list-row').filter({ hasText: 'filter.xdptest.yaml' }), 'the test file in the Test Explorer', 60_000);
    await runCommand(page, 'Test: Run All Tests');
    // The failure opens in a peek at the expectation: the message says what was expected and what came.
    const peek = page.locator('.monaco-editor .peekview-widget');
    await waitVisible(peek.filter({ hasText: /proto_count key 4: expected 7, actual 2/ }), 'the failure peek with its message', 120_000);
    // The peek is anchored on the expectation's line: the line just above it in the editor is that line.
    const top = await peek.first().boundingBox();
    const lineTop = await page.evaluate((n) => {
      const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
      for (const m of editor?.querySelectorAll<HTMLElement>('.margin-view-overlays > div') ?? []) {
        if (Number(m.querySelector('.line-numbers')?.textContent?.trim()) === n) return m.getBoundingClientRect().bottom;
      }
      return -1;
    }, failLine);
    assert.ok(top && lineTop > 0 && Math.abs(top.y - lineTop) < 40, `peek at y ${top?.y}, line ${failLine} ends at ${lineTop}`);
    await vs.screenshot('testing-failure-peek');
    // The tree: the file expands to its cases; one failed, four passed.
    await goToLine(page, 1);
    await runCommand(page, 'View: Show Testing');
    const file = tree.locator('.monaco-list-row').filter({ hasText: 'filter.xdptest.yaml' });
    const web = tree.locator('.monaco-list-row').filter({ hasText: 'web traffic passes' });
    await expandTreeRow(file, web, 'the failing case in the tree', 30_000, tree);
    await waitVisible(web.locator('.codicon-testing-failed-icon'), 'the failed icon on the failing case', 30_000);
    const passedRows = tree.locator('.monaco-list-row').filter({ has: page.locator('.codicon-testing-passed-icon') });
    await waitVisible(passedRows.filter({ hasText: 'telnet is dropped' }), 'a passed case', 30_000);
    await waitForCount(passedRows.filter({ hasNotText: 'filter.xdptest.yaml' }), 4, 'passed cases', 30_000, tree);
    await vs.screenshot('testing-explorer');
  } finally {
    await vs?.stop();
  }
});
