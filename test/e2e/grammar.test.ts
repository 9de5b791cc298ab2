// The grammars as VS Code itself applies them: an extension holding only the project's `contributes.grammars` and
// `contributes.languages` (and the built JSON) is loaded into the real VS Code, a C file and a bytecode listing are
// opened, and the scope inspector shows the XDP scopes on top of VS Code's own C grammar.
import { test, before, after } from 'node:test';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from '../repo.ts';
import { e2eSkip, goToLine, openWorkspaceFile, runCommand, startVSCode, waitForActiveEditor, waitVisible, type VSCodeSession } from './harness/index.ts';

const skip = e2eSkip();
let root = '';
let extension = '';
let workspace = '';

before(() => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), 'xdp-lens-grammar-e2e-'));
  extension = join(root, 'extension');
  workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  mkdirSync(extension, { recursive: true });
  writeFileSync(
    join(extension, 'package.json'),
    JSON.stringify({
      name: 'xdp-lens-grammars',
      publisher: 'xdp-lens-test',
      version: '0.0.1',
      engines: { vscode: '^1.90.0' },
      contributes: { grammars: pkg.contributes.grammars, languages: pkg.contributes.languages },
    }),
  );
  cpSync(join(REPO, 'syntaxes'), join(extension, 'syntaxes'), { recursive: true });
  cpSync(join(REPO, 'test', 'grammar', 'fixtures', 'xdp_sample.c'), join(workspace, 'xdp_sample.c'));
  cpSync(join(REPO, 'test', 'grammar', 'fixtures', 'verifier_log.xdp-bytecode'), join(workspace, 'listing.xdp-bytecode'));
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Puts the cursor on a token and waits for the scope inspector to list `scope` for it. */
async function inspectScope(page: Page, line: number, column: number, scope: string): Promise<void> {
  await goToLine(page, line, column);
  const widget = page.locator('.token-inspect-widget');
  // The inspector is a toggle on the editor. On a loaded machine the palette's command has once left no inspector at
  // all (CI, 30 s with nothing there): while none is on the page, the command is run again, within the same 30 s.
  const end = Date.now() + 30_000;
  for (;;) {
    await runCommand(page, 'Developer: Inspect Editor Tokens and Scopes');
    const there = await widget.first().waitFor({ state: 'attached', timeout: 5_000 }).then(() => true, () => false);
    if (there || Date.now() > end) break;
  }
  await waitVisible(widget.filter({ hasText: scope }), `scope ${scope} at ${line}:${column} in the token inspector`, Math.max(end - Date.now(), 5_000), widget);
  await page.keyboard.press('Escape');
  await widget.waitFor({ state: 'hidden' });
}

function lineCol(file: string, lineHas: string, token: string): [number, number] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(lineHas));
  if (i < 0) throw new Error(`${file}: no line contains ${lineHas}`);
  // Columns in Go to Line count a tab as one character, like the file.
  return [i + 1, lines[i].indexOf(token, lines[i].indexOf(lineHas)) + 2];
}

test('VS Code applies the XDP injection on its C grammar and the bytecode grammar', { skip, timeout: 120_000 }, async () => {
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({ extensionDevelopmentPath: extension, workspace, openFile: 'xdp_sample.c' });
    const c = join(workspace, 'xdp_sample.c');
    await waitForActiveEditor(vs.page, 'xdp_sample.c');
    await inspectScope(vs.page, ...lineCol(c, 'return XDP_DROP;', 'XDP_DROP'), 'variable.other.enummember.xdp-action.c');
    await inspectScope(vs.page, ...lineCol(c, 'return bpf_redirect_map', 'bpf_redirect_map'), 'support.function.bpf-helper.redirect.c');
    await inspectScope(vs.page, ...lineCol(c, 'SEC("xdp")', 'xdp'), 'entity.name.section.xdp.c');
    await inspectScope(vs.page, ...lineCol(c, 'ctx -> data_end', 'data_end;'), 'variable.other.member.xdp-md.c');
    await vs.screenshot('grammar-c-injection');

    await openWorkspaceFile(vs.page, 'listing.xdp-bytecode');
    const bc = join(workspace, 'listing.xdp-bytecode');
    await inspectScope(vs.page, ...lineCol(bc, 'call bpf_map_lookup_elem#1', 'bpf_map_lookup_elem'), 'support.function.bpf-helper.xdp-bytecode');
    await inspectScope(vs.page, ...lineCol(bc, '; prog.c:44', 'prog.c'), 'entity.name.filename.xdp-bytecode');
    await vs.screenshot('grammar-bytecode');
  } catch (e) {
    await vs?.screenshot('grammar-failure').catch(() => undefined);
    // The window console carries VS Code's own warnings (the token inspector logs why it closed itself).
    if (vs && e instanceof Error) e.message += `\n--- window console ---\n${vs.consoleLog().slice(-4000)}`;
    throw e;
  } finally {
    await vs?.stop();
  }
});
