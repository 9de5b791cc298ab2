// xdpLens/run, xdpLens/packets and xdpLens/packet, driven over stdio the way VS Code's client drives them: the same
// counts as the CLI, exits on `return` lines, paging and filters, progress and cancellation, and the detail of the
// ICMP echo request the demo program answers with XDP_TX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  ExitNotification,
  ConfigurationRequest,
  CancellationTokenSource,
  WorkDoneProgress,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { REPO } from '../repo.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import type { RunResponse, PacketsResult, PacketDetail, RunParams } from '../../server/protocol.ts';

const SERVER = join(REPO, 'dist', 'server.js');
const CLI = join(REPO, 'dist', 'cli.js');
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(SERVER) || !existsSync(CLI) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

let child: ChildProcess;
let conn: ProtocolConnection;
let dir: string;
const uri = pathToFileURL(PROGRAM).href;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'xdp-lens-run-'));
  child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  conn.onNotification('window/showMessage', () => {});
  conn.onNotification('window/logMessage', () => {});
  conn.onNotification('xdpLens/status', () => {});
  conn.onNotification('textDocument/publishDiagnostics', () => {});
  conn.onRequest('window/showMessageRequest', () => null);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
  });
  await conn.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (skip) return;
  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

const run = (params: RunParams, token?: CancellationTokenSource) =>
  conn.sendRequest<RunResponse>('xdpLens/run', params, ...(token ? [token.token] : []));

/** The demo capture's packets, repeated up to `n`, with increasing timestamps. */
function bigCapture(n: number): string {
  const frames: Uint8Array[] = [];
  const reader = openCapture(CAPTURE);
  for (let p; (p = reader.next()); ) frames.push(p.frame);
  reader.close();
  const path = join(dir, `big-${n}.pcap`);
  const w = new PcapWriter(path);
  for (let i = 0; i < n; i++) w.write(1_700_000_000_000_000_000n + BigInt(i) * 1000n, frames[i % frames.length]!);
  w.close();
  return path;
}

test('a run counts the same actions as `xdp-lens run --format jsonl`', { skip }, async () => {
  const cli = spawnSync(process.execPath, [CLI, 'run', PROGRAM, CAPTURE, '--format', 'jsonl'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const cliSummary = lines.at(-1).summary;
  const cliPackets = lines.slice(0, -1) as { action: string }[];

  const r = await run({ uri, capture: CAPTURE });
  assert.equal(r.error, undefined);
  const s = r.summary!;
  assert.equal(s.packets, cliSummary.packets);
  assert.deepEqual(s.byAction, cliSummary.actions);
  assert.equal(s.program, 'xdp_filter');
  assert.deepEqual(s.faults, []);
  assert.equal(s.counters.rx_packets, cliSummary.packets);

  const page = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 100 });
  assert.deepEqual(page.rows.map((row) => row.action), cliPackets.map((p) => p.action));
});

test('a program the kernel would refuse: the run summary says so, as the CLI does, and counts undefined stack reads', { skip }, async () => {
  const path = join(dir, 'refused.c');
  writeFileSync(path, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 pad;
	asm volatile("%0 = *(u64 *)(r10 - 64)" : "=r"(pad));
	__u32 k = ctx->rx_queue_index;
	__u64 *v = bpf_map_lookup_elem(&h, &k);
	*v += pad;
	return XDP_PASS;
}
`);
  const cli = spawnSync(process.execPath, [CLI, 'run', path, CAPTURE, '--format', 'jsonl'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const cliSummary = JSON.parse(cli.stdout.trim().split('\n').at(-1)!).summary;
  const r = await run({ uri: pathToFileURL(path).href, capture: CAPTURE });
  assert.equal(r.error, undefined);
  const s = r.summary!;
  assert.ok(s.verifierRefuses?.length, 'the summary carries the refusal');
  assert.deepEqual(s.verifierRefuses, cliSummary.verifierRefuses);
  assert.equal(s.verifierRefuses![0].line, 12);
  assert.equal(s.uninitStackReads, s.packets);
  const d = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: s.runId, index: 0 });
  assert.equal(d.uninitStackRead?.line, 9);
  assert.match(d.uninitStackRead!.message, /allow_uninit_stack/);
});

test('packets are credited to the return statement they left through', { skip }, async () => {
  const source = readFileSync(PROGRAM, 'utf8').split('\n');
  const { summary } = await run({ uri, capture: CAPTURE });
  const s = summary!;
  assert.equal(s.attributionNote, undefined);
  for (const e of s.exits) {
    assert.equal(e.file, PROGRAM);
    assert.match(source[e.line - 1]!, /\breturn\b/, `line ${e.line} holds a return: ${source[e.line - 1]}`);
  }
  const lineOf = (re: RegExp) => source.findIndex((l) => re.test(l)) + 1;
  const exit = (action: string) => s.exits.filter((e) => e.action === action).map((e) => [e.line, e.count]);
  // The echo requests leave through `return icmp_echo_reply(...)`, not the helper's own return nor the closing brace.
  assert.deepEqual(exit('XDP_TX'), [[lineOf(/return icmp_echo_reply/), 2]]);
  // Both telnet SYNs (one behind a VLAN tag) are dropped by the port check.
  const port = lineOf(/tcp->dest == bpf_htons\(blocked_port\)/);
  assert.deepEqual(exit('XDP_DROP'), [[port + 1, 2]]);
  // ARP and IPv6 leave through their own returns.
  const arp = lineOf(/proto == bpf_htons\(ETH_P_ARP\)/);
  const ipv6 = lineOf(/proto == bpf_htons\(ETH_P_IPV6\)/);
  const pass = new Map(exit('XDP_PASS') as [number, number][]);
  assert.equal(pass.get(arp + 2), 1);
  assert.equal(pass.get(ipv6 + 2), 1);
  assert.equal([...pass.values()].reduce((a, b) => a + b, 0), s.byAction.XDP_PASS);
  // Per packet rows carry the same lines.
  const page = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 10 });
  assert.equal(page.rows[0]!.line, arp + 2, 'packet 0 is ARP');
  assert.equal(page.rows[1]!.line, lineOf(/return icmp_echo_reply/));
});

test('each exit names the first packet that left through its line with its action, as the packets page has it', { skip }, async () => {
  const { summary } = await run({ uri, capture: CAPTURE });
  const s = summary!;
  const page = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: 0, limit: 1000 });
  assert.equal(page.rows.length, s.packets);
  assert.ok(s.exits.length >= 4, `${s.exits.length} exits`);
  for (const e of s.exits) {
    const first = page.rows.find((r) => r.file === e.file && r.line === e.line && r.action === e.action);
    assert.ok(first, `a packet left through line ${e.line} with ${e.action}`);
    assert.equal(e.firstPacket, first.index, `line ${e.line} ${e.action}`);
  }
  // Not all at packet 0: the exits' first packets differ.
  assert.ok(new Set(s.exits.map((e) => e.firstPacket)).size > 1);
});

test('a return split over two lines cannot be marked: its packets are shown at the exit instruction', { skip }, async () => {
  // A return split over two lines cannot be marked; the packet is then shown at the exit instruction's line.
  const path = join(dir, 'split_return.c');
  writeFileSync(path, [
    '#include <linux/bpf.h>',
    '#include <bpf/bpf_helpers.h>',
    'SEC("xdp")',
    'int split(struct xdp_md *ctx)',
    '{',
    '\treturn',
    '\t\tXDP_DROP;',
    '}',
    'char LICENSE[] SEC("license") = "GPL";',
  ].join('\n'));
  const r = await run({ uri: pathToFileURL(path).href, capture: CAPTURE });
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.summary!.byAction.XDP_DROP, 10);
  const lines = r.summary!.exits.map((e) => e.line);
  assert.equal(lines.length, 1);
  assert.ok(lines[0]! >= 6 && lines[0]! <= 8, `exit at ${lines[0]}`);
});

test('paging and the action filter', { skip }, async () => {
  const { summary } = await run({ uri, capture: CAPTURE });
  const id = summary!.runId;
  const all = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: id, offset: 3, limit: 4 });
  assert.equal(all.total, 10);
  assert.deepEqual(all.rows.map((r) => r.index), [3, 4, 5, 6]);
  assert.equal(all.rows[0]!.time, '0.750051');
  assert.equal(all.rows[0]!.len, 60);
  assert.match(all.rows[0]!.summary, /^IP 10\.0\.0\.1\.40001 > 10\.0\.0\.2\.23: Flags \[S\]/);
  assert.equal(all.rows[0]!.path, 'page_pool_recycle');

  const drops = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: id, offset: 0, limit: 100, action: 'XDP_DROP' });
  assert.equal(drops.total, 2);
  assert.deepEqual(drops.rows.map((r) => r.index), [3, 6]);
  assert.ok(drops.rows.every((r) => r.action === 'XDP_DROP'));
  const tx = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: id, offset: 1, limit: 100, action: 'XDP_TX' });
  assert.equal(tx.total, 2);
  assert.deepEqual(tx.rows.map((r) => r.index), [9]);
  const byLine = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: id, offset: 0, limit: 100, line: drops.rows[0]!.line });
  assert.deepEqual(byLine.rows.map((r) => r.index), [3, 6]);
  const past = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: id, offset: 50, limit: 10 });
  assert.deepEqual(past, { total: 10, rows: [] });
  const gone = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: 'run-999999', offset: 0, limit: 10 });
  assert.match(gone.error!, /run-999999 is no longer held/);
});

test('a long run reports progress by bytes read and can be cancelled, answering with what it has', { skip }, async () => {
  const capture = bigCapture(400_000);
  const token = 'run-progress-1';
  const seen: { kind: string; percentage?: number }[] = [];
  const cancel = new CancellationTokenSource();
  conn.onProgress(WorkDoneProgress.type, token, (p) => {
    seen.push(p as { kind: string; percentage?: number });
    if (p.kind === 'report' && (p.percentage ?? 0) >= 5) cancel.cancel();
  });
  const t0 = performance.now();
  const r = await run({ uri, capture, workDoneToken: token }, cancel);
  const ms = performance.now() - t0;
  const s = r.summary!;
  assert.equal(s.cancelled, true);
  assert.ok(s.packets > 0 && s.packets < 400_000, `${s.packets} packets before the cancel`);
  const counted = Object.values(s.byAction).reduce((a, b) => a + b, 0);
  assert.equal(counted, s.packets);
  assert.equal(seen[0]?.kind, 'begin');
  assert.equal(seen.at(-1)?.kind, 'end');
  const pcts = seen.filter((p) => p.kind === 'report').map((p) => p.percentage!);
  assert.ok(pcts.length >= 1);
  assert.deepEqual([...pcts].sort((a, b) => a - b), pcts, 'percentages only grow');
  // The partial run is kept and pages like a whole one.
  const page = await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: s.runId, offset: s.packets - 1, limit: 5 });
  assert.equal(page.total, s.packets);
  assert.equal(page.rows.length, 1);
  // While it ran the server kept answering: a second request was not held until the end.
  assert.ok(ms < 60_000);
});

test('packet detail of the echo request answered with XDP_TX: swapped addresses, new ICMP type, map updates', { skip }, async () => {
  const { summary } = await run({ uri, capture: CAPTURE });
  const d = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: summary!.runId, index: 1 });
  assert.equal(d.error, undefined, d.error);
  assert.equal(d.action, 'XDP_TX');
  assert.equal(d.path, 'xdp_tx');
  const before = Buffer.from(d.before, 'hex');
  const after = Buffer.from(d.after, 'hex');
  assert.equal(before.length, 74);
  assert.equal(after.length, 74);
  // MACs swapped, IPv4 addresses swapped, ICMP type 8 -> 0, checksum updated.
  assert.deepEqual(after.subarray(0, 6), before.subarray(6, 12));
  assert.deepEqual(after.subarray(26, 30), before.subarray(30, 34));
  assert.equal(before[34], 8);
  assert.equal(after[34], 0);
  const changed = new Set<number>();
  for (const [s, e] of d.changed) for (let i = s; i < e; i++) changed.add(i);
  for (let i = 0; i < 74; i++) assert.equal(changed.has(i), before[i] !== after[i], `byte ${i}`);
  assert.ok(changed.has(34) && changed.has(36));
  // It executed the reply's lines and left through `return icmp_echo_reply(...)`.
  const source = readFileSync(PROGRAM, 'utf8').split('\n');
  const executed = new Set(d.lines.map((l) => l.line));
  assert.ok(executed.has(source.findIndex((l) => /icmp->type = ICMP_ECHOREPLY/.test(l)) + 1));
  assert.ok(!executed.has(source.findIndex((l) => /count\(P_ARP\)/.test(l)) + 1));
  // count(P_ICMP); is inlined, and no instruction carries its line: the path names the call, then the body it ran.
  const icmpCount = source.findIndex((l) => /count\(P_ICMP\)/.test(l)) + 1;
  const call = d.lines.findIndex((l) => l.line === icmpCount);
  assert.ok(call >= 0, `the inlined call count(P_ICMP) (line ${icmpCount}) is on the path: ${JSON.stringify(d.lines.map((l) => l.line))}`);
  assert.match(source[d.lines[call + 1]!.line - 1]!, /bpf_map_lookup_elem\(&proto_count/, 'then the body of count()');
  assert.match(source[d.line - 1]!, /return icmp_echo_reply/);
  // The path ends at that return, as the verdict says, not at the closing brace clang gives every return.
  assert.deepEqual(d.lines.at(-1), { file: d.file, line: d.line });
  assert.ok(!executed.has(source.findIndex((l, i) => i > d.line && l === '}') + 1), `the closing brace is not on the path: ${JSON.stringify(d.lines)}`);
  // proto_count[P_IPV4] and [P_ICMP] went from 0 to 1 on this (the first IPv4) packet.
  assert.deepEqual(d.maps.map((m) => [m.map, m.key, m.before, m.after]), [
    ['proto_count', '02000000', '0000000000000000', '0100000000000000'],
    ['proto_count', '06000000', '0000000000000000', '0100000000000000'],
  ]);

  // The second echo request sees the counters the earlier packets left behind: the re-run is faithful.
  const d9 = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: summary!.runId, index: 9 });
  assert.equal(d9.action, 'XDP_TX');
  const icmp = d9.maps.find((m) => m.key === '06000000')!;
  assert.equal(icmp.before, '0100000000000000');
  assert.equal(icmp.after, '0200000000000000');
  // A dropped packet changes no bytes.
  const d3 = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: summary!.runId, index: 3 });
  assert.equal(d3.action, 'XDP_DROP');
  assert.deepEqual(d3.changed, []);
  const bad = await conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: summary!.runId, index: 10 });
  assert.match(bad.error!, /packet 10 is not in run/);
});

test('bad input is an error naming the file, not a crash', { skip }, async () => {
  const missing = await run({ uri, capture: join(dir, 'nope.pcap') });
  assert.match(missing.error!, /nope\.pcap/);
  const broken = join(dir, 'broken.c');
  copyFileSync(PROGRAM, broken);
  writeFileSync(broken, readFileSync(broken, 'utf8').replace('return XDP_PASS;\n}', 'return XDP_PASS\n}'));
  const r = await run({ uri: pathToFileURL(broken).href, capture: CAPTURE });
  assert.match(r.error!, /broken\.c:\d+:\d+: error/);
  const garbage = join(dir, 'garbage.pcap');
  writeFileSync(garbage, 'not a capture at all, just text');
  const g = await run({ uri, capture: garbage });
  assert.match(g.error ?? g.summary?.captureError ?? '', /garbage\.pcap/);
  const mode = await run({ uri, capture: CAPTURE, driverMode: 'bogus' as 'native' });
  assert.match(mode.error!, /driver mode is one of/);
  // The server is still alive and serving.
  const ok = await run({ uri, capture: CAPTURE, driverMode: 'readonly-page', limit: 3 });
  assert.equal(ok.summary!.packets, 3);
  assert.equal(ok.summary!.driver.mode, 'readonly-page');
});

test('a run shows packets whose checksum the program broke on the return line they left through (stale-checksum at run time)', { skip }, async () => {
  const capture = join(REPO, '..', 'shared', 'captures', 'tcpdump--tcp-handshake-nano.pcap');
  if (!existsSync(capture)) return;
  const program = join(REPO, 'test', 'analysis', 'fixtures', 'source', 'stale_checksum.c');
  const text = readFileSync(program, 'utf8').split('\n');
  const r = await run({ uri: pathToFileURL(program).href, capture, program: 'ttl_no_csum' });
  assert.equal(r.error, undefined);
  const issues = (r.summary!.outcomeIssues ?? []).filter((o) => o.outcome.startsWith('stale checksum'));
  assert.equal(issues.length, 1, JSON.stringify(r.summary!.outcomeIssues));
  assert.equal(issues[0]!.outcome, 'stale checksum: ipv4');
  assert.equal(issues[0]!.count, r.summary!.packets);
  assert.match(text[issues[0]!.line - 1]!, /return XDP_TX;/);
  const fixed = await run({ uri: pathToFileURL(program).href, capture, program: 'ttl_incremental' });
  assert.deepEqual((fixed.summary!.outcomeIssues ?? []).filter((o) => o.outcome.startsWith('stale checksum')), []);
});

test('a run seeded with a --maps file (xdpLens.maps) makes the decisions `xdp-lens run --maps` makes; a bad seed names the file', { skip }, async () => {
  const seed = join(REPO, 'examples', 'blocklist.json');
  const cli = spawnSync(process.execPath, [CLI, 'run', PROGRAM, CAPTURE, '--format', 'jsonl', '--maps', seed], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const cliPackets = cli.stdout.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as { action: string });

  const unseeded = await run({ uri, capture: CAPTURE });
  const seeded = await run({ uri, capture: CAPTURE, maps: seed });
  assert.equal(seeded.error, undefined);
  const rows = async (runId: string) =>
    (await conn.sendRequest<PacketsResult>('xdpLens/packets', { runId, offset: 0, limit: 100 })).rows.map((row) => row.action);
  assert.deepEqual(await rows(seeded.summary!.runId), cliPackets.map((p) => p.action));
  // The seed is what makes the difference: the blocklisted source is dropped only when seeded.
  assert.notDeepEqual(seeded.summary!.byAction, unseeded.summary!.byAction);

  const bad = join(dir, 'bad-seed.json');
  writeFileSync(bad, '{"no_such_map": []}');
  const r = await run({ uri, capture: CAPTURE, maps: bad });
  assert.match(r.error ?? '', /bad-seed\.json/);
  assert.match(r.error ?? '', /no_such_map/);
});
