// Proves the real-VS Code harness with a throwaway extension written by the test: VS Code starts and loads it, a file
// opens, the extension's status bar text appears and changes when its command runs from the Command Palette, a
// screenshot is saved; an in-host suite that passes exits 0 and one that fails exits non-zero.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  VSCODE_VERSION,
  e2eSkip,
  extensionHostLog,
  goToLine,
  runCommand,
  showHover,
  runExtensionTests,
  startVSCode,
  waitForActiveEditor,
  waitForEditorText,
  waitForProblem,
  waitForStatusBarText,
} from './harness/index.ts';

const skip = e2eSkip();
let root = '';
let extension = '';
let workspace = '';

const EXTENSION_JS = `
const vscode = require('vscode');
const path = require('path');
exports.activate = function (context) {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 1000);
  item.text = 'Smoke: ready';
  item.show();
  require('./features.js').register(context);
  context.subscriptions.push(item, vscode.commands.registerCommand('xdpLensSmoke.hello', () => {
    const editor = vscode.window.activeTextEditor;
    item.text = editor
      ? 'Smoke: hello ' + path.basename(editor.document.fileName) + ' (' + editor.document.lineCount + ' lines)'
      : 'Smoke: no editor';
    return item.text;
  }));
};
exports.deactivate = function () {};
`;

// A diagnostic and a hover, so the harness's Problems and hover waits are proven before the real extension uses them.
const EXTENSION_FEATURES_JS = `
const vscode = require('vscode');
exports.register = function (context) {
  const diagnostics = vscode.languages.createDiagnosticCollection('smoke');
  const publish = (doc) => {
    if (doc.languageId !== 'c') return;
    const line = doc.getText().split('\\n').findIndex((l) => l.includes('return 2'));
    if (line < 0) return;
    const d = new vscode.Diagnostic(new vscode.Range(line, 2, line, 8), 'smoke: return 2 is XDP_PASS', vscode.DiagnosticSeverity.Warning);
    diagnostics.set(doc.uri, [d]);
  };
  vscode.workspace.textDocuments.forEach(publish);
  context.subscriptions.push(diagnostics, vscode.workspace.onDidOpenTextDocument(publish),
    vscode.languages.registerHoverProvider('c', {
      provideHover(doc, pos) {
        const range = doc.getWordRangeAtPosition(pos);
        if (range && doc.getText(range) === 'xdp_smoke_marker') return new vscode.Hover('**smoke hover**: the marker function', range);
      },
    }));
};
`;

// The suite a test runner module would hold: it drives the extension through the vscode API inside the extension
// host, and leaves a file behind so the test can tell the suite really ran.
const PASSING_SUITE = `
const vscode = require('vscode');
const assert = require('assert');
const fs = require('fs');
const path = require('path');
exports.run = async function () {
  const ext = vscode.extensions.getExtension('xdp-lens-test.smoke');
  assert.ok(ext, 'the smoke extension is loaded as a development extension');
  await ext.activate();
  const folder = vscode.workspace.workspaceFolders[0].uri;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'hello.c'));
  await vscode.window.showTextDocument(doc);
  const text = await vscode.commands.executeCommand('xdpLensSmoke.hello');
  assert.strictEqual(text, 'Smoke: hello hello.c (4 lines)');
  fs.writeFileSync(path.join(folder.fsPath, 'passing-suite-ran.txt'), text + ' in VS Code ' + vscode.version);
};
`;

const FAILING_SUITE = `
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
exports.run = async function () {
  fs.writeFileSync(path.join(vscode.workspace.workspaceFolders[0].uri.fsPath, 'failing-suite-ran.txt'), 'ran');
  throw new Error('deliberate failure from the smoke suite');
};
`;

before(() => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), 'xdp-lens-smoke-'));
  extension = join(root, 'extension');
  workspace = join(root, 'workspace');
  mkdirSync(extension);
  mkdirSync(workspace);
  writeFileSync(
    join(extension, 'package.json'),
    JSON.stringify({
      name: 'smoke',
      publisher: 'xdp-lens-test',
      version: '0.0.1',
      engines: { vscode: `^${VSCODE_VERSION.replace(/\.\d+$/, '.0')}` },
      main: './extension.js',
      activationEvents: ['onStartupFinished'],
      contributes: { commands: [{ command: 'xdpLensSmoke.hello', title: 'Smoke: Say Hello' }] },
    }),
  );
  writeFileSync(join(extension, 'extension.js'), EXTENSION_JS);
  writeFileSync(join(extension, 'features.js'), EXTENSION_FEATURES_JS);
  writeFileSync(join(extension, 'passing-suite.js'), PASSING_SUITE);
  writeFileSync(join(extension, 'failing-suite.js'), FAILING_SUITE);
  writeFileSync(join(workspace, 'hello.c'), '// smoke\nint xdp_smoke_marker(void)\n{ return 2; }\n');
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

test('VS Code loads the extension, opens a file, shows and updates its status bar text', { skip, timeout: 120_000 }, async () => {
  const vs = await startVSCode({ extensionDevelopmentPath: extension, workspace, openFile: 'hello.c' });
  try {
    await waitForActiveEditor(vs.page, 'hello.c');
    await waitForEditorText(vs.page, 'xdp_smoke_marker');
    await waitForStatusBarText(vs.page, 'Smoke: ready');
    await runCommand(vs.page, 'Smoke: Say Hello');
    await waitForStatusBarText(vs.page, 'Smoke: hello hello.c (4 lines)');
    const png = await vs.screenshot('smoke-status-bar');
    assert.ok(statSync(png).size > 10_000, `${png} is too small to be a screenshot of the window`);
    assert.deepEqual([...readFileSync(png).subarray(1, 4)], [...Buffer.from('PNG')]);

    await goToLine(vs.page, 2, 8);
    await showHover(vs.page, 'smoke hover: the marker function');
    await vs.screenshot('smoke-hover');
    await vs.page.keyboard.press('Escape');
    await waitForProblem(vs.page, 'smoke: return 2 is XDP_PASS');
    await vs.screenshot('smoke-problems');
    assert.deepEqual(vs.blockedRequests(), [], 'the window asked for nothing off this machine');
  } catch (e) {
    await vs.screenshot('smoke-status-bar-failure').catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs.serverLog()}`, { cause: e });
  } finally {
    await vs.stop();
  }
  assert.ok(!existsSync(vs.root), 'stop() removes the session directory');
});

test('an in-host test suite that passes returns exit code 0', { skip, timeout: 120_000 }, async () => {
  const r = await runExtensionTests({
    extensionDevelopmentPath: extension,
    extensionTestsPath: join(extension, 'passing-suite.js'),
    workspace,
  });
  assert.equal(r.exitCode, 0, `exit code ${r.exitCode}\n${extensionHostLog(r)}\n${r.serverLog}`);
  assert.match(readFileSync(join(workspace, 'passing-suite-ran.txt'), 'utf8'), /^Smoke: hello hello\.c \(4 lines\) in VS Code 1\.100\./);
});

test('an in-host test suite that fails returns a non-zero exit code', { skip, timeout: 120_000 }, async () => {
  const r = await runExtensionTests({
    extensionDevelopmentPath: extension,
    extensionTestsPath: join(extension, 'failing-suite.js'),
    workspace,
  });
  assert.ok(existsSync(join(workspace, 'failing-suite-ran.txt')), 'the failing suite ran');
  assert.notEqual(r.exitCode, 0, 'a rejected run() must not exit 0');
  assert.match(r.consoleLog, /deliberate failure from the smoke suite/, "the suite's error reaches the window console");
});
