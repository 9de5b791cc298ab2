// The language server driven over stdio by the protocol client library VS Code itself uses
// (vscode-languageserver-protocol): diagnostics as you type and on save, hover, quick fixes, the bytecode request,
// and robustness against half-typed code and binary garbage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidSaveTextDocumentNotification,
  PublishDiagnosticsNotification,
  HoverRequest,
  CodeActionRequest,
  ShutdownRequest,
  ExitNotification,
  ConfigurationRequest,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Diagnostic,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const FIX = join(REPO, 'test', 'server', 'fixtures');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const noServer = !existsSync(SERVER) && `${SERVER} is missing: run npm run build`;

let child: ChildProcess;
let conn: ProtocolConnection;
let dir: string;
const diagnostics = new Map<string, PublishDiagnosticsParams[]>();
const waiters: (() => void)[] = [];
let settings: Record<string, unknown> = {};

/** Resolves with the first diagnostics for `uri` (published after `since`) that satisfy `pred`. */
function waitDiagnostics(uri: string, pred: (d: Diagnostic[]) => boolean, what: string, since = 0): Promise<Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(diagnostics.get(uri)?.at(-1)?.diagnostics ?? null)}`)), 20000);
    const check = () => {
      const list = (diagnostics.get(uri) ?? []).slice(since);
      const hit = list.find((p) => pred(p.diagnostics));
      if (hit) {
        clearTimeout(timer);
        resolve(hit.diagnostics);
        return true;
      }
      return false;
    };
    if (check()) return;
    const w = () => {
      if (!check()) waiters.push(w);
    };
    waiters.push(w);
  });
}

let version = 1;
function open(path: string, text = readFileSync(path, 'utf8')): string {
  const uri = pathToFileURL(path).href;
  void conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: version++, text } });
  return uri;
}

before(async () => {
  if (noServer) return;
  dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lsp-'));
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const list = diagnostics.get(p.uri) ?? [];
    list.push(p);
    diagnostics.set(p.uri, list);
    for (const w of waiters.splice(0)) w();
  });
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => settings));
  conn.onNotification('window/showMessage', () => {});
  conn.onNotification('window/logMessage', () => {});
  conn.onNotification('xdpLens/status', () => {});
  conn.onRequest('window/showMessageRequest', () => null);
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: { workspace: { configuration: true } },
  });
  assert.ok(init.capabilities.hoverProvider);
  await conn.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (noServer) return;
  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  await new Promise((r) => child.once('exit', r));
});

test('as you type: a foreign return constant is an invalid-action error on its line', { skip: noServer }, async () => {
  const path = join(dir, 'invalid_action.c');
  copyFileSync(join(FIX, 'invalid_action.c'), path);
  const uri = open(path);
  const diags = await waitDiagnostics(uri, (d) => d.some((x) => x.code === 'invalid-action'), 'invalid-action');
  const d = diags.find((x) => x.code === 'invalid-action')!;
  assert.equal(d.range.start.line, 9, 'line 10 (0-based 9): return TC_ACT_SHOT;');
  assert.equal(d.severity, 1);
  assert.equal(d.source, 'xdp-lens');
  assert.match(d.message, /TC_ACT_SHOT/);

  const actions = await conn.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: d.range,
    context: { diagnostics: [d] },
  });
  const fix = (actions ?? []).find((a) => 'edit' in a && a.edit);
  assert.ok(fix, 'a quick fix is offered');
  const edits = 'edit' in fix! ? Object.values(fix.edit!.changes!)[0]! : [];
  assert.ok(edits.some((e) => e.newText.includes('XDP_DROP')), `the fix returns XDP_DROP: ${JSON.stringify(edits)}`);

  // Typing the fix clears the finding.
  const since = diagnostics.get(uri)!.length;
  const fixed = readFileSync(path, 'utf8').replace('return TC_ACT_SHOT;', 'return XDP_DROP;');
  void conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version: version++ }, contentChanges: [{ text: fixed }] });
  await waitDiagnostics(uri, (ds) => !ds.some((x) => x.code === 'invalid-action'), 'the finding to clear', since);
});

test('a clean program gets no diagnostics from either tier', { skip: noServer }, async () => {
  const path = join(dir, 'clean.c');
  copyFileSync(join(FIX, 'clean.c'), path);
  const uri = open(path);
  // Wait for the on-open bytecode pass as well (its publish comes second) when clang is present.
  const diags = await waitDiagnostics(uri, () => true, 'diagnostics');
  assert.deepEqual(diags, []);
  if (haveClang) {
    await new Promise((r) => setTimeout(r, 0));
    const all = diagnostics.get(uri)!;
    for (const p of all) assert.deepEqual(p.diagnostics, []);
  }
});

test('on save: the bytecode tier reports a ctx write through the compiled object', { skip: noServer || (!haveClang && 'clang is not installed') }, async () => {
  const path = join(dir, 'ctx_write.c');
  copyFileSync(join(FIX, 'ctx_write.c'), path);
  const uri = open(path);
  const diags = await waitDiagnostics(uri, (d) => d.some((x) => x.code === 'ctx-write'), 'ctx-write');
  const hits = diags.filter((x) => x.code === 'ctx-write');
  assert.equal(hits.length, 1, 'one diagnostic even when both tiers find it');
  assert.equal(hits[0]!.range.start.line, 6);
  void conn.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
});

test('driver mode setting: readonly-page reports packet writes, native does not', { skip: noServer }, async () => {
  const path = join(dir, 'writer.c');
  writeFileSync(
    path,
    readFileSync(join(FIX, 'clean.c'), 'utf8').replace('if (eth->h_proto == bpf_htons(ETH_P_ARP))', 'eth->h_dest[0] = 0xff;\n\tif (eth->h_proto == bpf_htons(ETH_P_ARP))'),
  );
  settings = { driver: { mode: 'readonly-page' } };
  const uri = open(path);
  const diags = await waitDiagnostics(uri, (d) => d.some((x) => x.code === 'readonly-page-write'), 'readonly-page-write');
  assert.equal(diags.find((x) => x.code === 'readonly-page-write')!.range.start.line, 14);
  settings = {};
  const since = diagnostics.get(uri)!.length;
  void conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
  await waitDiagnostics(uri, (d) => !d.some((x) => x.code === 'readonly-page-write'), 'the finding to go in native mode', since);
});

test('hover explains actions, helpers, xdp_md fields and section names', { skip: noServer }, async () => {
  const path = join(dir, 'hover.c');
  const text = readFileSync(join(FIX, 'clean.c'), 'utf8');
  writeFileSync(path, text);
  const uri = open(path, text);
  const lines = text.split('\n');
  const at = (needle: string, offset = 1) => {
    const line = lines.findIndex((l) => l.includes(needle));
    return { line, character: lines[line]!.indexOf(needle) + offset };
  };
  const hover = async (pos: { line: number; character: number }) => {
    const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: pos });
    return h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
  };
  assert.match(await hover(at('XDP_DROP')), /page pool|recycled/i);
  assert.match(await hover(at('XDP_PASS')), /build_skb/);
  assert.match(await hover(at('data_end;', 2)), /data_end/);
  assert.match(await hover(at('"xdp"', 2)), /XDP program/);
  assert.match(await hover(at('bpf_htons')), /^$/, 'no hover for things we do not document');
});

test('hover over a finding gives the longer explanation of its rule; the diagnostic stays short', { skip: noServer }, async () => {
  const path = join(dir, 'hover_finding.c');
  const text = readFileSync(join(FIX, 'invalid_action.c'), 'utf8');
  writeFileSync(path, text);
  const uri = open(path, text);
  const diags = await waitDiagnostics(uri, (d) => d.some((x) => x.code === 'invalid-action'), 'invalid-action');
  const d = diags.find((x) => x.code === 'invalid-action')!;
  assert.ok(d.message.split(/\. /).length <= 3, `one or two sentences: ${d.message}`);
  const h = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: d.range.start.line, character: d.range.start.character + 1 } });
  const value = h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
  assert.match(value, /\*\*invalid-action\*\*: .*bpf_warn_invalid_xdp_action/);
});

test('half-typed code, non-C text and binary garbage never crash the server', { skip: noServer }, async () => {
  const inputs = [
    'SEC("xdp") int prog(struct xdp_md *ctx) { return XDP_',
    'int f( { { { ) ) return 7;; }}}} #define',
    '<html><body>not C at all</body></html>',
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'),
    'SEC("xdp") int p(struct xdp_md *c) {\n' + '  if (c->data) {\n'.repeat(2000) + '  return 9;\n',
  ];
  for (const [i, text] of inputs.entries()) {
    const path = join(dir, `garbage${i}.c`);
    writeFileSync(path, text);
    const uri = open(path, text);
    await waitDiagnostics(uri, () => true, `diagnostics for garbage ${i}`);
  }
  // Still serving.
  const path = join(dir, 'after.c');
  copyFileSync(join(FIX, 'invalid_action.c'), path);
  await waitDiagnostics(open(path), (d) => d.some((x) => x.code === 'invalid-action'), 'the server to keep working');
});

test('xdpLens/bytecode returns the disassembly with source lines interleaved', { skip: noServer || (!haveClang && 'clang is not installed') }, async () => {
  const path = join(dir, 'bytecode.c');
  copyFileSync(join(FIX, 'clean.c'), path);
  const r = await conn.sendRequest<{ text: string; error?: string }>('xdpLens/bytecode', { uri: pathToFileURL(path).href });
  assert.equal(r.error, undefined);
  assert.match(r.text, /; program prog, section xdp/);
  assert.match(r.text, /; bytecode\.c:\d+ +if \(\(void \*\)\(eth \+ 1\) > data_end\)/);
  assert.match(r.text, /^ +\d+: exit$/m);
});

test('a request sent as VS Code sends it without a cancellation token (params by position: [params, null]) is served', { skip: noServer || (!haveClang && 'clang is not installed') }, async () => {
  // vscode-languageclient's sendRequest(method, params, undefined) puts the undefined token on the wire as a second
  // positional parameter; the handler must still get the request's own cancellation token (it was handed null).
  const path = join(dir, 'positional.c');
  copyFileSync(join(FIX, 'clean.c'), path);
  const r = await conn.sendRequest<{ text: string; error?: string }>('xdpLens/bytecode', { uri: pathToFileURL(path).href }, undefined);
  assert.equal(r.error, undefined);
  assert.match(r.text, /; program prog, section xdp/);
});
