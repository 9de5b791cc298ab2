// `*.xdptest.yaml` files in VS Code's Test Explorer: each file and its cases, a run button on each, failures on the
// line of the expectation with an expected/actual diff. Runs are `xdp-lens test --format json` (dist/cli.js under
// VS Code's own Node), so the editor reports exactly what CI reports. Continuous run (the eye button) re-runs the
// tests when a test file or a C file is saved.
import * as vscode from 'vscode';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendCase, listCases, newTestFile, readReport, type FileOutcome, type SavedPacket } from './test-files.ts';

const PATTERN = '**/*.xdptest.{yaml,yml}';

export function registerTesting(context: vscode.ExtensionContext, log: (line: string) => void): vscode.Disposable[] {
  const ctrl = vscode.tests.createTestController('xdpLens.tests', 'XDP tests');
  const disposables: vscode.Disposable[] = [ctrl];

  const fileItem = (uri: vscode.Uri): vscode.TestItem => {
    const existing = ctrl.items.get(uri.toString());
    if (existing) return existing;
    const item = ctrl.createTestItem(uri.toString(), vscode.workspace.asRelativePath(uri), uri);
    item.canResolveChildren = true;
    ctrl.items.add(item);
    return item;
  };

  const parseFile = async (uri: vscode.Uri): Promise<vscode.TestItem> => {
    const item = fileItem(uri);
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      ctrl.items.delete(uri.toString());
      return item;
    }
    const children = listCases(text).map((c) => {
      const child = ctrl.createTestItem(`${uri.toString()}#${c.name}`, c.name, uri);
      child.range = new vscode.Range(c.line, c.column, c.line, c.column);
      return child;
    });
    item.children.replace(children);
    item.error = undefined;
    return item;
  };

  const discover = async () => {
    for (const uri of await vscode.workspace.findFiles(PATTERN, '**/node_modules/**')) await parseFile(uri);
  };

  ctrl.resolveHandler = async (item) => {
    if (!item) await discover();
    else if (item.uri) await parseFile(item.uri);
  };
  ctrl.refreshHandler = async () => {
    ctrl.items.replace([]);
    await discover();
  };

  const watcher = vscode.workspace.createFileSystemWatcher(PATTERN);
  disposables.push(
    watcher,
    watcher.onDidCreate((uri) => void parseFile(uri)),
    watcher.onDidChange((uri) => void parseFile(uri)),
    watcher.onDidDelete((uri) => ctrl.items.delete(uri.toString())),
  );

  /** Runs one file's cases (all, or those named) and reports each to `run`. */
  const runFile = async (run: vscode.TestRun, file: vscode.TestItem, only: vscode.TestItem[] | undefined, token: vscode.CancellationToken) => {
    const uri = file.uri!;
    const cases = only ?? [...iterate(file.children)];
    for (const c of cases) run.started(c);
    const args = [context.asAbsolutePath('dist/cli.js'), 'test', uri.fsPath, '--format', 'json', ...(only ?? []).flatMap((c) => ['--case', c.label])];
    const started = Date.now();
    const { stdout, stderr, code } = await execCli(args, token);
    if (token.isCancellationRequested) {
      for (const c of cases) run.skipped(c);
      return;
    }
    const report = readReport(stdout);
    const f: FileOutcome | undefined = report?.[0];
    if (!f) {
      const msg = new vscode.TestMessage(`xdp-lens test failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
      for (const c of cases) run.errored(c, msg);
      return;
    }
    if (f.error) {
      const msg = new vscode.TestMessage(f.error.message);
      if (f.error.line !== undefined) msg.location = new vscode.Location(uri, new vscode.Position(f.error.line, f.error.column ?? 0));
      for (const c of cases) run.errored(c, msg);
      return;
    }
    const took = Date.now() - started;
    for (const c of cases) {
      const o = f.cases.find((x) => x.name === c.label);
      if (!o) {
        run.skipped(c);
        continue;
      }
      if (o.passed) run.passed(c, took);
      else {
        run.failed(
          c,
          o.failures.map((x) => {
            const m = vscode.TestMessage.diff(x.message, x.expected, x.actual);
            m.location = new vscode.Location(uri, new vscode.Position(x.line, x.column));
            return m;
          }),
          took,
        );
      }
    }
  };

  const runHandler = async (request: vscode.TestRunRequest, token: vscode.CancellationToken) => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('XDP Lens runs tests (clang, the simulator) only in a trusted workspace.');
      return;
    }
    const run = ctrl.createTestRun(request);
    try {
      // Group the request by file: a file item runs whole, case items run through --case.
      const byFile = new Map<string, { file: vscode.TestItem; only?: vscode.TestItem[] }>();
      const roots = request.include ?? [...iterate(ctrl.items)];
      for (const item of roots) {
        if (request.exclude?.includes(item)) continue;
        if (!item.parent) {
          if (!item.children.size && item.uri) await parseFile(item.uri);
          byFile.set(item.id, { file: item });
          continue;
        }
        const e = byFile.get(item.parent.id);
        if (e && !e.only) continue; // the whole file runs already
        byFile.set(item.parent.id, { file: item.parent, only: [...(e?.only ?? []), item] });
      }
      for (const { file, only } of byFile.values()) {
        if (token.isCancellationRequested) break;
        const excluded = [...iterate(file.children)].filter((c) => request.exclude?.includes(c));
        const cases = only ?? (excluded.length ? [...iterate(file.children)].filter((c) => !excluded.includes(c)) : undefined);
        await runFile(run, file, cases, token);
      }
    } catch (e) {
      log(`test run failed: ${(e as Error).message}`);
    } finally {
      run.end();
    }
  };

  const profile = ctrl.createRunProfile(
    'Run',
    vscode.TestRunProfileKind.Run,
    async (request, token) => {
      if (!request.continuous) return runHandler(request, token);
      // Continuous: run now, then again whenever a test file or a C source is saved, until cancelled.
      await runHandler(request, token);
      const sub = vscode.workspace.onDidSaveTextDocument((doc) => {
        if (/\.xdptest\.ya?ml$/.test(doc.fileName) || doc.languageId === 'c') void runHandler(new vscode.TestRunRequest(request.include, request.exclude, request.profile), token);
      });
      token.onCancellationRequested(() => sub.dispose());
    },
    true,
    undefined,
    true,
  );
  // Debug: the case's packet in the `xdp` debugger, after the cases since the last fresh one (their map state).
  const debugProfile = ctrl.createRunProfile('Debug', vscode.TestRunProfileKind.Debug, async (request, token) => {
    const item = request.include?.find((i) => i.parent);
    if (!item?.parent?.uri) {
      void vscode.window.showInformationMessage('XDP Lens debugs one case at a time: use the debug button of a case.');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'xdp-lens-case-'));
    const { stdout, stderr, code } = await execCli([context.asAbsolutePath('dist/cli.js'), 'test', item.parent.uri.fsPath, '--export-case', item.label, '--out-dir', dir], token);
    if (code !== 0) throw new Error(`cannot prepare the case for the debugger: ${stderr.trim() || stdout.trim()}`);
    const e = JSON.parse(stdout) as { program: string; programName?: string; capture: string; packet: number; maps?: string; driver: string };
    await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(item.parent.uri), {
      type: 'xdp',
      request: 'launch',
      name: `XDP test: ${item.label}`,
      program: e.program,
      ...(e.programName ? { programName: e.programName } : {}),
      capture: e.capture,
      packet: e.packet,
      ...(e.maps ? { maps: e.maps } : {}),
      driver: e.driver,
      stopOnEntry: true,
    });
  });
  disposables.push(profile, debugProfile);
  void discover();
  return disposables;
}

function* iterate(c: vscode.TestItemCollection): Generator<vscode.TestItem> {
  const all: vscode.TestItem[] = [];
  c.forEach((i) => all.push(i));
  yield* all;
}

/** dist/cli.js under VS Code's Node (ELECTRON_RUN_AS_NODE), killed on cancellation. */
function execCli(args: string[], token: vscode.CancellationToken): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sub = token.onCancellationRequested(() => child.kill());
    child.on('error', (e) => {
      sub.dispose();
      resolve({ stdout, stderr: stderr + e.message, code: null });
    });
    child.on('close', (code) => {
      sub.dispose();
      resolve({ stdout, stderr, code });
    });
  });
}

/**
 * "Save as Test Case" on a packet of the packets view: the packet appended as a case to `<program>.xdptest.yaml`
 * beside the program (created when missing), then shown at the new case.
 */
export async function saveAsTestCase(program: vscode.Uri, capture: string, driver: string | undefined, packet: SavedPacket, mapsFile?: string): Promise<void> {
  const base = program.path.replace(/\.[^./]+$/, '');
  const target = program.with({ path: `${base}.xdptest.yaml` });
  let text: string;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(target));
  } catch {
    // The run's map seed (xdpLens.maps) seeds the new file's cases too.
    text = newTestFile(program.path.slice(program.path.lastIndexOf('/') + 1), driver, mapsFile);
  }
  const r = appendCase(text, packet, capture);
  if (typeof r === 'string') throw new Error(`cannot add the case to ${vscode.workspace.asRelativePath(target)}: ${r}`);
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(r.text));
  const doc = await vscode.workspace.openTextDocument(target);
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  const at = new vscode.Position(r.line, 0);
  editor.selection = new vscode.Selection(at, at);
  editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenter);
}
