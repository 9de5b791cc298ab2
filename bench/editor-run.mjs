#!/usr/bin/env node
// Benchmark: a run on a large capture as the editor does it. Drives dist/server.js over stdio: `xdpLens/run` of
// examples/xdp_filter.c on a generated capture of --packets packets (the demo's frames repeated), then pages of the
// packets view at the start, middle and end, a filtered page, and one packet's detail. Records wall times and the
// server's peak resident memory (VmHWM). Issue 5: the packets view stays usable with a million packets.
// firstCountsMs: from the request to the first progress report that carries counts per action: a partial count.
// countsMs: from the request to the response, which carries the whole capture's counts (what issue 12 asks for in
// under 2 s: the final counts, not a partial); the same as runMs.
// hoverMs: while the run goes on, the program is open in the server and a hover is asked every 100 ms: its answer
// times (median and worst), how responsive the language server stays during a big run.
// serverCpuMs / serverMainThreadCpuMs: CPU time of the server process (all its threads: the run's worker thread,
// the collector's) and of its main thread during the run: on a machine shared with other jobs, wall time follows the
// load, CPU time much less.
// Results are appended to bench/results/editor-run.json (not with --no-record: a trial on a loaded machine).
//
//   npm run build && node bench/editor-run.mjs [--packets 1000000] [--no-record]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import rpc from 'vscode-languageserver-protocol/node.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? Number(args[args.indexOf(`--${n}`) + 1]) : d);
const PACKETS = opt('packets', 1_000_000);

const server = process.env.XDP_LENS_BENCH_SERVER ?? join(repo, 'dist', 'server.js');
if (!existsSync(server)) {
  console.error('dist/server.js missing: run `npm run build` first');
  process.exit(2);
}

// The demo capture's records, repeated with increasing timestamps.
const demo = readFileSync(join(repo, 'examples', 'demo.pcap'));
const records = [];
for (let o = 24; o + 16 <= demo.length; ) {
  const incl = demo.readUInt32LE(o + 8);
  records.push(demo.subarray(o + 16, o + 16 + incl));
  o += 16 + incl;
}
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-editor-bench-'));
const capture = join(dir, 'big.pcap');
const fd = openSync(capture, 'w');
writeSync(fd, demo.subarray(0, 24));
const chunk = [];
let chunkBytes = 0;
for (let i = 0; i < PACKETS; i++) {
  const f = records[i % records.length];
  const h = Buffer.alloc(16);
  const t = 1_700_000_000_000_000 + i * 1000; // µs
  h.writeUInt32LE(Math.floor(t / 1e6), 0);
  h.writeUInt32LE(t % 1e6, 4);
  h.writeUInt32LE(f.length, 8);
  h.writeUInt32LE(f.length, 12);
  chunk.push(h, f);
  chunkBytes += 16 + f.length;
  if (chunkBytes > 1 << 20) {
    writeSync(fd, Buffer.concat(chunk));
    chunk.length = 0;
    chunkBytes = 0;
  }
}
writeSync(fd, Buffer.concat(chunk));
closeSync(fd);

// XDP_LENS_BENCH_NODE_ARGS: node options for the server process, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' (profiles of
// its main thread and of each worker thread).
const nodeArgs = (process.env.XDP_LENS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...nodeArgs, server, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
for (const m of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(m, () => {});
// The run's work-done progress: when the first report with counts per action arrives (issue 12: counts under 2 s).
const PROGRESS = 'editor-run-bench';
let runStart = 0;
let firstCounts;
conn.onProgress(rpc.WorkDoneProgress.type, PROGRESS, (p) => {
  if (firstCounts === undefined && p.kind === 'report' && /\d+ (DROP|PASS|TX|REDIRECT|ABORTED)/.test(p.message ?? '')) {
    firstCounts = { ms: Math.round((performance.now() - runStart) * 10) / 10, message: p.message, percentage: p.percentage };
  }
});
conn.onRequest('window/workDoneProgress/create', () => null);
conn.listen();
await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
await conn.sendNotification(rpc.InitializedNotification.type, {});

// utime + stime of /proc/PID/stat or /proc/PID/task/TID/stat, in ms (clock ticks of 10 ms).
const cpuMs = (path) => {
  const f = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const hwm = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : undefined;
};
const time = async (f) => {
  const t0 = performance.now();
  const r = await f();
  return [r, Math.round((performance.now() - t0) * 10) / 10];
};

// A copy of the program (edited below), open in the editor as it is when "Run on Capture" is used; its analysis on
// open is left to settle.
const program = join(dir, 'xdp_filter.c');
const text = readFileSync(join(repo, 'examples', 'xdp_filter.c'), 'utf8');
writeFileSync(program, text);
const uri = pathToFileURL(program).href;
await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
const hoverAt = (() => {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('bpf_map_lookup_elem'));
  return { line, character: lines[line].indexOf('bpf_map_lookup_elem') + 3 };
})();
await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: hoverAt });
await new Promise((r) => setTimeout(r, 1500));
// The same hover with no run going on, for comparison.
const idleHovers = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: hoverAt });
  idleHovers.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 100));
}
idleHovers.sort((a, b) => a - b);
const hovers = [];
let hovering = true;
const hoverLoop = (async () => {
  while (hovering) {
    const t0 = performance.now();
    await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: hoverAt });
    hovers.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const loadStart = Math.round(loadavg()[0] * 100) / 100;
const cpu0 = cpuMs(`/proc/${child.pid}/stat`);
const main0 = cpuMs(`/proc/${child.pid}/task/${child.pid}/stat`);
runStart = performance.now();
const [run, runMs] = await time(() => conn.sendRequest('xdpLens/run', { uri, capture, workDoneToken: PROGRESS }));
const serverCpuMs = cpuMs(`/proc/${child.pid}/stat`) - cpu0;
const serverMainThreadCpuMs = cpuMs(`/proc/${child.pid}/task/${child.pid}/stat`) - main0;
hovering = false;
await hoverLoop;
hovers.sort((a, b) => a - b);
const round1 = (x) => (x === undefined ? undefined : Math.round(x * 10) / 10);
if (!run.summary) throw new Error(`run failed: ${run.error}`);
const runId = run.summary.runId;
const page = (offset, extra = {}) => time(() => conn.sendRequest('xdpLens/packets', { runId, offset, limit: 200, ...extra }));
const [, firstPageMs] = await page(0);
const [, middlePageMs] = await page(Math.floor(PACKETS / 2));
const [, lastPageMs] = await page(PACKETS - 200);
const [filtered, filteredPageMs] = await page(1000, { action: 'XDP_TX' });
const [, filteredAgainMs] = await page(5000, { action: 'XDP_TX' });
// Display filters that read the capture again: a frame field, and the summary column (made from the frames).
const [udp, udpFilterMs] = await page(0, { filter: 'udp' });
const [icmp, summaryFilterMs] = await page(0, { filter: 'summary contains "ICMP"' });
if (udp.error || icmp.error) throw new Error(`filter failed: ${udp.error ?? icmp.error}`);
const [, detailMs] = await time(() => conn.sendRequest('xdpLens/packet', { runId, index: 1 }));
const peak = hwm();
// What a save costs before the counts are current again (xdpLens.rerunOnSave): the program edited (so both it and its
// return-line twin compile again), then run on the small demo capture, and on the big capture.
const edited = async (n, cap) => {
  writeFileSync(program, `${text}\n// edit ${n}\n`);
  const [r, ms] = await time(() => conn.sendRequest('xdpLens/run', { uri, capture: cap }));
  if (!r.summary) throw new Error(`run failed: ${r.error}`);
  return { ms, compileMs: r.summary.compileMs };
};
const editSmall = await edited(1, join(repo, 'examples', 'demo.pcap'));
const editBig = await edited(2, capture);
await conn.sendRequest(rpc.ShutdownRequest.type);
await conn.sendNotification(rpc.ExitNotification.type);
rmSync(dir, { recursive: true, force: true });

const result = {
  date: new Date().toISOString(),
  // XDP_LENS_BENCH_SERVER runs another build of the server (an A/B against an older one); XDP_LENS_BENCH_LABEL names it.
  ...(process.env.XDP_LENS_BENCH_LABEL ? { label: process.env.XDP_LENS_BENCH_LABEL } : {}),
  machine: { cpus: cpus().length, model: cpus()[0]?.model?.split(' ').slice(0, 2).join(' '), memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadavg1: Math.round(loadavg()[0] * 100) / 100 },
  packets: run.summary.packets,
  runMs,
  packetsPerSecond: Math.round(run.summary.packets / (runMs / 1000)),
  serverCpuMs,
  serverMainThreadCpuMs,
  countsMs: runMs,
  firstCountsMs: firstCounts?.ms,
  firstCounts: firstCounts?.message,
  hoverMs: { during: hovers.length, median: round1(hovers[hovers.length >> 1]), worst: round1(hovers[hovers.length - 1]), idleMedian: round1(idleHovers[2]) },
  loadavg1AtStart: loadStart,
  pageMs: { first: firstPageMs, middle: middlePageMs, last: lastPageMs, filteredFirst: filteredPageMs, filteredAgain: filteredAgainMs },
  filteredTotal: filtered.total,
  // First page of a display filter that reads the capture again (a frame field; the summary column), and its matches.
  displayFilterMs: { udp: udpFilterMs, summary: summaryFilterMs, udpTotal: udp.total, summaryTotal: icmp.total },
  detailOfPacket1Ms: detailMs,
  // After an edit: request to counts on the 10-packet demo capture and on the big one (compile included).
  afterEditMs: { demo: editSmall.ms, big: editBig.ms, compileMs: editSmall.compileMs },
  serverPeakRssMiB: peak,
};
console.log(JSON.stringify(result, null, 2));
if (args.includes('--no-record')) process.exit(0);
const resultsFile = join(repo, 'bench', 'results', 'editor-run.json');
mkdirSync(dirname(resultsFile), { recursive: true });
const prior = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
prior.push(result);
writeFileSync(resultsFile, JSON.stringify(prior, null, 2) + '\n');
