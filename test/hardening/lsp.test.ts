// The language server never dies or stalls on bad input: it is driven over stdio with raw bytes (so that framing can
// be broken on purpose) and must answer a valid request after each bad message. Invalid parameters are answered with
// JSON-RPC InvalidParams (-32602); framing errors cost the bad message only. Time and memory are measured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { ResyncingMessageReader } from '../../server/framing.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const noServer = !existsSync(SERVER) && `${SERVER} is missing: run npm run build`;
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const URI = pathToFileURL(PROG).href;

let child: ChildProcess;
let stderr = '';
let exited: Promise<number | null>;
const responses = new Map<number, { result?: unknown; error?: { code: number; message: string } }>();
const waiting = new Map<number, () => void>();
let nextId = 1;

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const send = (raw: string | Buffer) => child.stdin!.write(raw);
const notify = (method: string, params: unknown) => send(frame(JSON.stringify({ jsonrpc: '2.0', method, params })));

/** Send a request (optionally with raw bytes before it) and wait for its answer, failing after `ms`. */
function request(method: string, params: unknown, ms = 20_000): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const id = nextId++;
  send(frame(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} #${id} within ${ms} ms; server stderr:\n${stderr.slice(-2000)}`)), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(responses.get(id)!);
    };
    if (responses.has(id)) done();
    else waiting.set(id, done);
  });
}

/** Send a request and return its id and a promise of its answer. */
function requestWithId(method: string, params: unknown, ms = 60_000) {
  const id = nextId;
  return { id, answer: request(method, params, ms) };
}

/** A hover on a known word: the server is alive and answering. */
async function alive(what: string): Promise<void> {
  const t0 = performance.now();
  const r = await request('textDocument/hover', { textDocument: { uri: URI }, position: { line: 0, character: 0 } });
  assert.equal(r.error, undefined, `${what}: the server answers again`);
  assert.ok(performance.now() - t0 < 20_000, `${what}: answered within 20 s`);
  assert.equal(child.exitCode, null, `${what}: the server is still running`);
}

/** Peak resident memory of the server so far, MiB. */
function peakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

before(async () => {
  if (noServer) return;
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const reader = new ResyncingMessageReader(child.stdout!, () => {});
  reader.listen((m) => {
    const msg = m as { id?: number; method?: string; result?: unknown; error?: { code: number; message: string } };
    if (typeof msg.id === 'number' && msg.method === undefined) {
      responses.set(msg.id, { result: msg.result, error: msg.error });
      waiting.get(msg.id)?.();
    } else if (msg.method === 'workspace/configuration' && msg.id !== undefined) {
      send(frame(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: [{}] })));
    } else if (msg.id !== undefined && msg.method) {
      send(frame(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: null })));
    }
  });
  const init = await request('initialize', { processId: process.pid, rootUri: null, capabilities: {} }, 60_000);
  assert.ok(init.result, 'initialize answered');
  notify('initialized', {});
  notify('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'c', version: 1, text: readFileSync(PROG, 'utf8') } });
});

after(async () => {
  if (noServer || !child) return;
  if (child.exitCode === null) {
    await request('shutdown', null).catch(() => undefined);
    notify('exit', null);
  }
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  if (code === 'timeout') child.kill('SIGKILL');
});

test('notifications with parameters of the wrong type are dropped, never fatal', { skip: noServer }, async () => {
  notify('textDocument/didOpen', { textDocument: { uri: 5, languageId: 'c', version: 1, text: 'int x;' } });
  notify('textDocument/didOpen', { textDocument: { uri: 'file:///x.c', languageId: 'c', version: 'one', text: 7 } });
  notify('textDocument/didOpen', null);
  notify('textDocument/didChange', { textDocument: { uri: URI, version: 2 }, contentChanges: [{ text: 5 }] });
  notify('textDocument/didChange', { textDocument: { uri: URI, version: 2 }, contentChanges: 'all' });
  notify('textDocument/didSave', { textDocument: {} });
  notify('textDocument/didClose', 42);
  notify('workspace/didChangeConfiguration', 'settings');
  // A document whose file is a device: the on-open compile must not read it without end.
  notify('textDocument/didOpen', { textDocument: { uri: 'file:///dev/zero', languageId: 'c', version: 1, text: 'int f(void) { return XDP_PASS; }' } });
  notify('textDocument/didSave', { textDocument: { uri: 'file:///dev/zero' } });
  await alive('after bad notifications');
  assert.match(stderr, /textDocument\/didOpen: dropped, invalid parameters: params\.textDocument\.uri must be a string/);
});

test('requests with bad parameters are answered with InvalidParams', { skip: noServer }, async () => {
  const cases: [string, unknown, RegExp][] = [
    ['textDocument/hover', { textDocument: { uri: URI } }, /params\.position is missing/],
    ['textDocument/hover', { textDocument: { uri: 7 }, position: { line: 0, character: 0 } }, /params\.textDocument\.uri must be a string/],
    ['textDocument/hover', { textDocument: { uri: URI }, position: { line: -1, character: 0 } }, /params\.position\.line must be a non-negative whole number/],
    ['textDocument/codeAction', { textDocument: { uri: URI }, range: {}, context: {} }, /params\.range\.start is missing/],
    ['xdpLens/bytecode', { uri: 12 }, /params\.uri must be a string/],
    ['xdpLens/run', { uri: URI, capture: 5 }, /params\.capture must be a string/],
    ['xdpLens/packets', { runId: 'r', offset: -1, limit: 1 }, /params\.offset must be a non-negative whole number/],
    ['xdpLens/run', { uri: URI, capture: '-' }, /standard input cannot be a capture in the editor/],
    ['xdpLens/run', { uri: URI, capture: '/dev/zero' }, /\/dev\/zero is not a regular file/],
    ['xdpLens/compareKernel', { uri: URI, capture: tmpdir() }, /is not a regular file/],
    ['xdpLens/packet', [], /params( must be an object|\.runId is missing)/],
    ['xdpLens/packet', 'abc', /params( must be an object|\.runId is missing)/],
    ['xdpLens/compareKernel', { uri: URI, capture: 'x', limit: 'all' }, /params\.limit must be a non-negative whole number/],
    ['xdpLens/diffVerdicts', { uri: 5, capture: 'x', against: { rev: 'HEAD' } }, /params\.uri must be a string/],
    ['xdpLens/diffVerdicts', { uri: URI, capture: 'x', against: 'HEAD' }, /params\.against must be an object/],
    ['xdpLens/diffVerdicts', { uri: URI, capture: '/dev/zero', against: { rev: 'HEAD' } }, /\/dev\/zero is not a regular file/],
    ['xdpLens/diffVerdicts', null, /params must be an object/],
    ['xdpLens/checkFilter', { filter: 5 }, /params\.filter must be a string/],
    ['xdpLens/checkFilter', [], /params( must be an object|\.filter is missing)/],
  ];
  for (const [method, params, message] of cases) {
    const r = await request(method, params);
    assert.equal(r.error?.code, -32602, `${method} ${JSON.stringify(params)}: InvalidParams, got ${JSON.stringify(r)}`);
    assert.match(r.error!.message, message);
  }
  // Diagnostics echoed back with data we never sent: no fixes, no error.
  const odd = await request('textDocument/codeAction', {
    textDocument: { uri: URI },
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
    context: { diagnostics: [null, 5, { source: 'xdp-lens', data: { fixes: [{}, { title: 'x', edits: [{ line: 'a' }] }] } }, { source: 'xdp-lens', data: null }] },
  });
  assert.equal(odd.error, undefined, JSON.stringify(odd));
  assert.deepEqual(odd.result, []);
  await alive('after bad requests');
});

test('positions are clamped: a hover at character 1,000,000,000 and at line 1,000,000,000 is answered', { skip: noServer }, async () => {
  const text = readFileSync(PROG, 'utf8').split('\n');
  const line = text.findIndex((l) => l.includes('XDP_PASS'));
  for (const position of [
    { line, character: 1_000_000_000 },
    { line: 1_000_000_000, character: 5 },
    { line: 0, character: Number.MAX_SAFE_INTEGER },
  ]) {
    const t0 = performance.now();
    const r = await request('textDocument/hover', { textDocument: { uri: URI }, position }, 10_000);
    assert.equal(r.error, undefined, JSON.stringify(position));
    assert.ok(performance.now() - t0 < 10_000);
  }
  await alive('after far positions');
});

test('framing errors: a malformed Content-Length, a missing one, junk between messages, a body that is not JSON', { skip: noServer }, async () => {
  const hover = JSON.stringify({ jsonrpc: '2.0', id: 999_001, method: 'textDocument/hover', params: { textDocument: { uri: URI }, position: { line: 0, character: 0 } } });
  send(`Content-Length: abc\r\n\r\n${hover}`);
  await alive('after Content-Length: abc');
  send(`Content-Type: application/json\r\n\r\n${hover}`);
  await alive('after a header without Content-Length');
  send(`Content-Length: -5\r\n\r\n{}`);
  await alive('after a negative Content-Length');
  send(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10, 7]));
  await alive('after binary junk');
  send(frame('{"jsonrpc": "2.0", "id": 5, "method": '));
  await alive('after a truncated JSON body');
  send(frame('[1, 2, 3]'));
  send(frame('"just a string"'));
  await alive('after bodies that are not JSON-RPC objects');
  assert.match(stderr, /dropped a message whose header has an invalid Content-Length "abc"/);
  assert.match(stderr, /dropped a message whose header has no Content-Length/);
  assert.match(stderr, /dropped a message whose body is not JSON/);
  assert.equal(child.exitCode, null, 'still running');
  const peak = peakMiB();
  assert.ok(peak < 800, `server peak memory ${Math.round(peak)} MiB`);
});

test('a message over the size limit is skipped without being held, and the next one is read', () => {
  const logs: string[] = [];
  const got: unknown[] = [];
  const reader = new ResyncingMessageReader(process.stdin, (m) => logs.push(m));
  (reader as unknown as { callback: (m: unknown) => void }).callback = (m) => got.push(m);
  const size = 200_000_000;
  const before = process.memoryUsage().rss;
  reader.onData(Buffer.from(`Content-Length: ${size}\r\n\r\n`));
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let left = size; left > 0; left -= chunk.length) reader.onData(chunk.subarray(0, Math.min(chunk.length, left)));
  reader.onData(Buffer.from(frame('{"jsonrpc":"2.0","method":"ping"}')));
  assert.deepEqual(got, [{ jsonrpc: '2.0', method: 'ping' }]);
  assert.match(logs.join('\n'), /dropped a message of 200000000 bytes \(the limit is 134217728\)/);
  assert.ok(process.memoryUsage().rss - before < 100 << 20, 'the skipped body was not buffered');
});

test('the reader survives every split of a stream of good and bad messages', () => {
  const good = frame('{"jsonrpc":"2.0","method":"a"}');
  const stream = Buffer.from(`${good}Content-Length: x\r\n\r\n{}junk\u0000${good}Content-Length: 3\r\n\r\nabc${good}`);
  for (let split = 1; split < stream.length; split++) {
    const got: unknown[] = [];
    const reader = new ResyncingMessageReader(process.stdin, () => {});
    (reader as unknown as { callback: (m: unknown) => void }).callback = (m) => got.push(m);
    reader.onData(stream.subarray(0, split));
    reader.onData(stream.subarray(split));
    assert.equal(got.length, 3, `split at ${split}: ${JSON.stringify(got)}`);
  }
});

test('a cancelled bytecode request kills clang and everything it started', { skip: noServer || (spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lsp-cancel-'));
  spawnSync('mkfifo', [join(dir, 'never.h')]);
  const src = join(dir, 'waits.c');
  writeFileSync(src, '#include "never.h"\nint x;\n');
  const clangs = () => spawnSync('pgrep', ['-f', `clang.*${src}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  const { id, answer } = requestWithId('xdpLens/bytecode', { uri: pathToFileURL(src).href });
  const t0 = Date.now();
  while (clangs().length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(clangs().length > 0, 'clang started');
  await alive('while clang runs (the compile does not block the server)');
  notify('$/cancelRequest', { id });
  const r = await answer;
  assert.ok(r.error?.code === -32800 || /cancelled/.test(JSON.stringify(r.result)), `cancelled: ${JSON.stringify(r)}`);
  const t1 = Date.now();
  while (clangs().length > 0 && Date.now() - t1 < 10_000) await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(clangs(), [], 'no clang left after the cancel');
});

test('the on-save compile does not block the server, and closing the document kills it', { skip: noServer || (spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lsp-save-'));
  spawnSync('mkfifo', [join(dir, 'never.h')]);
  const src = join(dir, 'saved.c');
  const text = '#include "never.h"\nint f(struct xdp_md *ctx) { return XDP_PASS; }\n';
  writeFileSync(src, text);
  const uri = pathToFileURL(src).href;
  const clangs = () => spawnSync('pgrep', ['-f', `clang.*${src}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  notify('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
  const t0 = Date.now();
  while (clangs().length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(clangs().length > 0, 'the on-open compile started');
  await alive('while the on-open compile waits on a FIFO');
  notify('textDocument/didClose', { textDocument: { uri } });
  const t1 = Date.now();
  while (clangs().length > 0 && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(clangs(), [], 'no clang left after the document closed');
});

test('a cancelled run kills the compile in flight', { skip: noServer || (spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lsp-run-'));
  spawnSync('mkfifo', [join(dir, 'never.h')]);
  const src = join(dir, 'run_waits.c');
  writeFileSync(src, '#include "never.h"\nint x;\n');
  const clangs = () => spawnSync('pgrep', ['-f', `clang.*${src}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  const { id, answer } = requestWithId('xdpLens/run', { uri: pathToFileURL(src).href, capture: join(REPO, 'examples', 'demo.pcap') });
  const t0 = Date.now();
  while (clangs().length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(clangs().length > 0, 'clang started');
  await alive('while the run compiles');
  notify('$/cancelRequest', { id });
  await answer;
  const t1 = Date.now();
  while (clangs().length > 0 && Date.now() - t1 < 10_000) await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(clangs(), [], 'no clang left after the run was cancelled');
});

// Both held the server for good: 10^9 RX queues (a page pool each; gigabytes within a minute) and an output directory
// under /proc (Node's recursive mkdir never returns there). An output "directory" that is a device said "internal error".
test('xdpLens/run with 10^9 queues or an output directory that cannot be made is answered with the reason', { skip: noServer || (spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed') }, async () => {
  const capture = join(REPO, 'examples', 'demo.pcap');
  const queues = await request('xdpLens/run', { uri: URI, capture, queues: 1e9 }, 20_000);
  assert.match(JSON.stringify(queues.result), /RX queues are 1 to 4096, not 1000000000/);
  const proc = await request('xdpLens/run', { uri: URI, capture, outDir: '/proc/xdp-lens/out' }, 20_000);
  assert.match(JSON.stringify(proc.result), /the output directory \/proc\/xdp-lens\/out: cannot create the directory: ENOENT/);
  const dev = await request('xdpLens/run', { uri: URI, capture, outDir: '/dev/null' }, 60_000);
  assert.match(JSON.stringify(dev.result), /the output directory \/dev\/null is not a directory/);
  assert.doesNotMatch(JSON.stringify(dev.result), /internal error/);
  await alive('after the runs');
  assert.ok(peakMiB() < 1500, `peak ${Math.round(peakMiB())} MiB`);
});

// file:///tmp/%zz.c (a percent escape that is not one): run said "internal error: URI malformed", bytecode answered
// -32603; file://host/x and an encoded NUL are no local files either.
test('URIs that name no local file are answered "only files on disk", not an internal error', { skip: noServer }, async () => {
  const capture = join(REPO, 'examples', 'demo.pcap');
  for (const uri of ['file:///tmp/%zz.c', 'file://otherhost/tmp/x.c', 'file:///tmp/a%00b.c']) {
    const run = await request('xdpLens/run', { uri, capture });
    assert.deepEqual(run.result, { error: 'only files on disk can be run' }, `run ${uri}: ${JSON.stringify(run)}`);
    const bytecode = await request('xdpLens/bytecode', { uri });
    assert.deepEqual(bytecode.result, { text: '', error: 'only files on disk can be compiled' }, `bytecode ${uri}: ${JSON.stringify(bytecode)}`);
  }
  await alive('after URIs that name no local file');
});
