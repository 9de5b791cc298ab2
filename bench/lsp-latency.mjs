#!/usr/bin/env node
// Benchmark: the language server as an editor sees it. Drives dist/server.js over stdio with the LSP client library,
// opens a generated ~2,000-line XDP program, then measures
//   - edit → diagnostics: time from a didChange to the publishDiagnostics for that version (issue 4: p95 < 50 ms),
//   - hover: request → response (target < 10 ms),
//   - save → bytecode diagnostics: didSave to the publish that follows, including clang (target < 1 s).
// Results are appended to bench/results/lsp-latency.json.
//
//   npm run build && node bench/lsp-latency.mjs [--edits 200] [--hovers 200]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import rpc from 'vscode-languageserver-protocol/node.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? Number(args[args.indexOf(`--${n}`) + 1]) : d);
const loadBefore = +loadavg()[0].toFixed(2);
const EDITS = opt('edits', 200);
const HOVERS = opt('hovers', 200);
const SAVES = opt('saves', 5);

/** A realistic large program: many static inline parsers and a main program calling them. */
function program(n) {
  const out = ['#include <linux/bpf.h>', '#include <linux/if_ether.h>', '#include <linux/ip.h>', '#include <bpf/bpf_helpers.h>', '#include <bpf/bpf_endian.h>', ''];
  out.push('struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } counters SEC(".maps");', '');
  let i = 0;
  while (out.length < n - 40) {
    out.push(
      `static __always_inline int check_${i}(void *data, void *data_end, __u32 k)`,
      '{',
      '\tstruct ethhdr *eth = data;',
      '\tif ((void *)(eth + 1) > data_end)',
      '\t\treturn XDP_DROP;',
      `\tif (eth->h_proto != bpf_htons(ETH_P_IP))`,
      '\t\treturn XDP_PASS;',
      '\tstruct iphdr *ip = (void *)(eth + 1);',
      '\tif ((void *)(ip + 1) > data_end)',
      '\t\treturn XDP_DROP;',
      `\tif (ip->ttl == ${i % 250} && k == ${i})`,
      '\t\treturn XDP_DROP;',
      '\t__u64 *v = bpf_map_lookup_elem(&counters, &k);',
      '\tif (v)',
      '\t\t__sync_fetch_and_add(v, 1);',
      '\treturn XDP_PASS;',
      '}',
      '',
    );
    i++;
  }
  out.push('SEC("xdp")', 'int big(struct xdp_md *ctx)', '{', '\tvoid *data = (void *)(long)ctx->data;', '\tvoid *data_end = (void *)(long)ctx->data_end;', '\t__u32 k = ctx->rx_queue_index;', '\tint r;');
  for (let j = 0; j < Math.min(i, 16); j++) out.push(`\tr = check_${j}(data, data_end, k);`, '\tif (r != XDP_PASS)', '\t\treturn r;');
  out.push('\treturn XDP_PASS;', '}', '', 'char LICENSE[] SEC("license") = "GPL";', '');
  return out.join('\n');
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const stats = (xs) => ({ n: xs.length, p50: +pct(xs, 50).toFixed(2), p95: +pct(xs, 95).toFixed(2), max: +Math.max(...xs).toFixed(2) });

const server = join(repo, 'dist', 'server.js');
if (!existsSync(server)) {
  console.error('dist/server.js missing: run `npm run build` first');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-lsp-bench-'));
const file = join(dir, 'big.c');
let text = program(2000);
writeFileSync(file, text);
const uri = pathToFileURL(file).href;

const child = spawn(process.execPath, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
let waiting;
conn.onNotification(rpc.PublishDiagnosticsNotification.type, (p) => {
  if (waiting && p.uri === uri && (waiting.version === undefined || p.version === waiting.version)) {
    const w = waiting;
    waiting = undefined;
    w.resolve(p);
  }
});
conn.onRequest(rpc.ConfigurationRequest.type, (p) => p.items.map(() => ({})));
for (const m of ['window/showMessage', 'window/logMessage', 'xdpLens/status']) conn.onNotification(m, () => {});
conn.listen();
await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: { workspace: { configuration: true } } });
await conn.sendNotification(rpc.InitializedNotification.type, {});
const next = (version) => new Promise((resolve) => (waiting = { version, resolve }));

let version = 1;
let p = next(version);
await conn.sendNotification(rpc.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version, text } });
await p;
const lines = text.split('\n').length;

// Edits: retype a constant in the middle of the file, as a user would, one keystroke per change.
const edit = [];
const target = text.split('\n').findIndex((l, i) => i > lines / 2 && l.includes('ip->ttl =='));
for (let k = 0; k < EDITS; k++) {
  version++;
  const line = text.split('\n')[target];
  const col = line.indexOf('== ') + 3;
  const ch = String(k % 10);
  p = next(version);
  const t0 = performance.now();
  await conn.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version },
    contentChanges: [{ range: { start: { line: target, character: col }, end: { line: target, character: col + 1 } }, text: ch }],
  });
  await p;
  edit.push(performance.now() - t0);
  const ls = text.split('\n');
  ls[target] = line.slice(0, col) + ch + line.slice(col + 1);
  text = ls.join('\n');
}
// Note: the server debounces by 10 ms, so the floor of edit→diagnostics is the debounce itself.

// Worst case: Enter and Backspace near the top of the file, which moves every program below.
const lineEdit = [];
for (let k = 0; k < EDITS; k++) {
  version++;
  const insert = k % 2 === 0;
  p = next(version);
  const t0 = performance.now();
  await conn.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version },
    contentChanges: [insert ? { range: { start: { line: 7, character: 0 }, end: { line: 7, character: 0 } }, text: '\n' } : { range: { start: { line: 7, character: 0 }, end: { line: 8, character: 0 } }, text: '' }],
  });
  await p;
  lineEdit.push(performance.now() - t0);
}

const hover = [];
const hl = text.split('\n');
const spots = [];
hl.forEach((l, i) => {
  for (const w of ['XDP_DROP', 'bpf_map_lookup_elem', 'data_end']) if (l.includes(w)) spots.push({ line: i, character: l.indexOf(w) + 2 });
});
for (let k = 0; k < HOVERS; k++) {
  const t0 = performance.now();
  await conn.sendRequest(rpc.HoverRequest.type, { textDocument: { uri }, position: spots[k % spots.length] });
  hover.push(performance.now() - t0);
}

const save = [];
for (let k = 0; k < SAVES; k++) {
  writeFileSync(file, text + `\n// save ${k}\n`);
  version++;
  text = text + `\n// save ${k}\n`;
  p = next(version);
  await conn.sendNotification(rpc.DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
  await p;
  p = next(undefined);
  const t0 = performance.now();
  await conn.sendNotification(rpc.DidSaveTextDocumentNotification.type, { textDocument: { uri } });
  await p;
  save.push(performance.now() - t0);
}

await conn.sendRequest(rpc.ShutdownRequest.type);
await conn.sendNotification(rpc.ExitNotification.type);

const result = {
  date: new Date().toISOString(),
  // The load average over the last minute before and after the run: the machine is shared, and edits queue behind it.
  loadAverage1m: { before: loadBefore, after: +loadavg()[0].toFixed(2) },
  machine: { cpus: cpus().length, model: cpus()[0]?.model?.split(' ').slice(0, 2).join(' '), memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  file: { lines, bytes: Buffer.byteLength(text) },
  debounceMs: 10,
  editToDiagnosticsMs: stats(edit),
  newlineEditToDiagnosticsMs: stats(lineEdit),
  hoverMs: stats(hover),
  saveToBytecodeDiagnosticsMs: stats(save),
};
console.log(JSON.stringify(result, null, 2));
const resultsFile = join(repo, 'bench', 'results', 'lsp-latency.json');
mkdirSync(dirname(resultsFile), { recursive: true });
const prior = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
prior.push(result);
writeFileSync(resultsFile, JSON.stringify(prior, null, 2) + '\n');
