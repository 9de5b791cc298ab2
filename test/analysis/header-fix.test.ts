// A mistake in a helper defined in a header is reported on the program's line that calls it (issue 10); its quick fix
// still applies where the fix is: in the header. Checked in the finding itself, in `check` (text notes relative to
// the working directory, SARIF fixes on the header's artifact), and in the language server (a WorkspaceEdit on the
// header's URI).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { CodeActionRequest, DidOpenTextDocumentNotification, type Diagnostic, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { initSourceAnalysis, sourceFindings } from '../../simulator/analysis/index.ts';
import { REPO } from '../repo.ts';
import { SERVER, startServer } from '../server/stdio-server.ts';

const DIR = join(REPO, 'test', 'analysis', 'fixtures', 'header-fix');
const PROG = join(DIR, 'prog.c');
const HEADER = join(DIR, 'count.h');
const CLI = join(REPO, 'dist', 'cli.js');
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

/** Applies 1-based, end-exclusive edits to a text. */
function apply(text: string, edits: { line: number; column: number; endLine: number; endColumn: number; newText: string }[]): string {
  const lines = text.split('\n');
  const offset = (line: number, column: number) => lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  let out = text;
  for (const e of [...edits].sort((a, b) => b.line - a.line || b.column - a.column)) out = out.slice(0, offset(e.line, e.column)) + e.newText + out.slice(offset(e.endLine, e.endColumn));
  return out;
}

test('findings in a header helper keep their quick fixes, which edit the header', async () => {
  await initSourceAnalysis();
  const prog = readFileSync(PROG, 'utf8');
  const header = readFileSync(HEADER, 'utf8');
  const findings = sourceFindings(PROG, prog, {});
  const byRule = new Map(findings.map((f) => [String(f.rule), f]));
  const nul = byRule.get('map-value-null');
  const stale = byRule.get('stale-packet-pointer');
  assert.ok(nul && stale, findings.map((f) => `${f.line} ${f.rule}`).join('\n'));
  // On the program's calls, as before.
  assert.equal(nul.file, PROG);
  assert.equal(nul.line, lineOf(prog, 'count(ctx->rx_queue_index)'));
  assert.equal(stale.line, lineOf(prog, 'pop_tag(ctx)'));
  // The NULL check goes after the lookup in the header; applied, it guards the dereference.
  const [nfix] = nul.fixes ?? [];
  assert.ok(nfix, 'map-value-null in the header keeps its quick fix');
  assert.equal(nfix.file, HEADER);
  const fixed = apply(header, nfix.edits);
  assert.match(fixed, /bpf_map_lookup_elem\(&flows, &key\);\n\tif \(!s\)\n\t\treturn;\n\ts->packets\+\+;/);
  // The reload after bpf_xdp_adjust_head() also goes into the header, after the call.
  const [sfix] = stale.fixes ?? [];
  assert.ok(sfix, 'stale-packet-pointer in the header keeps its quick fix');
  assert.equal(sfix.file, HEADER);
  assert.match(apply(header, sfix.edits), /bpf_xdp_adjust_head\(ctx, 4\);\n\tdata = \(void \*\)\(long\)ctx->data;\n\tdata_end = /);
  // A fix in the program's own file names no file (it edits the finding's file).
  for (const f of findings.filter((x) => x.file === PROG)) for (const fx of f.fixes ?? []) if (fx.file) assert.notEqual(fx.file, PROG);
});

const noCli = !existsSync(CLI) && `${CLI} is missing: run npm run build`;

test('check: the note on the header is relative to the working directory; SARIF fixes name the header', { skip: noCli }, () => {
  const text = spawnSync(process.execPath, [CLI, 'check', 'test/analysis/fixtures/header-fix/prog.c', '--source-only'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(text.status, 1, text.stderr);
  const notes = text.stdout.split('\n').filter((l) => l.includes(': note: '));
  assert.ok(notes.length >= 2, text.stdout);
  for (const n of notes) assert.match(n, /^test\/analysis\/fixtures\/header-fix\/count\.h:\d+:\d+: note: /, n);
  // From another directory the path is the absolute one (it is not under the working directory).
  const away = spawnSync(process.execPath, [CLI, 'check', PROG, '--source-only'], { cwd: tmpdir(), encoding: 'utf8' });
  assert.ok(away.stdout.split('\n').some((l) => l.startsWith(`${HEADER}:`)), away.stdout);

  const sarif = spawnSync(process.execPath, [CLI, 'check', 'test/analysis/fixtures/header-fix/prog.c', '--source-only', '--format', 'sarif'], { cwd: REPO, encoding: 'utf8' });
  const results = JSON.parse(sarif.stdout).runs[0].results as { ruleId: string; fixes?: { artifactChanges: { artifactLocation: { uri: string } }[] }[] }[];
  const nul = results.find((r) => r.ruleId === 'map-value-null');
  assert.equal(nul?.fixes?.[0].artifactChanges[0].artifactLocation.uri, 'test/analysis/fixtures/header-fix/count.h');
});

const noServer = !existsSync(SERVER) && `${SERVER} is missing: run npm run build`;

test('language server: the quick fix is a WorkspaceEdit on the header file', { skip: noServer }, async () => {
  const published: PublishDiagnosticsParams[] = [];
  const s = await startServer(() => ({}), { 'textDocument/publishDiagnostics': (p: PublishDiagnosticsParams) => void published.push(p) });
  try {
    const dir = mkdtempSync(join(s.dir, 'fix-'));
    cpSync(DIR, dir, { recursive: true });
    const prog = join(dir, 'prog.c');
    const uri = pathToFileURL(prog).href;
    await s.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text: readFileSync(prog, 'utf8') } });
    let d: Diagnostic | undefined;
    for (let i = 0; i < 400 && !d; i++) {
      d = published.filter((p) => p.uri === uri).flatMap((p) => p.diagnostics).find((x) => x.code === 'map-value-null');
      if (!d) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(d, `map-value-null published: ${JSON.stringify(published)}`);
    const actions = (await s.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: d.range, context: { diagnostics: [d] } })) ?? [];
    const fix = actions.find((a) => 'edit' in a && a.edit);
    assert.ok(fix && 'edit' in fix, `a quick fix is offered: ${JSON.stringify(actions)}`);
    const changes = fix.edit!.changes!;
    assert.deepEqual(Object.keys(changes), [pathToFileURL(join(dir, 'count.h')).href]);
    assert.match(changes[Object.keys(changes)[0]][0].newText, /if \(!s\)/);
  } finally {
    await s.stop();
  }
});
