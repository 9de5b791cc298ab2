// `xdp-lens compare` and `xdpLens/compareKernel`: the simulator against BPF_PROG_TEST_RUN through bpftool, as a user
// runs it. Needs root and bpftool (skips with the reason otherwise; fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import * as rpc from 'vscode-languageserver-protocol/node';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';
import { compareMaps, compareWithKernel, explainRow, formatComparison } from '../../simulator/kernel-compare.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { kernelOrSkip as runnerKernelOrSkip } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveClang = spawnSync('clang', ['--version']).status === 0;

function kernelOrSkip(t: { skip(msg: string): void }): boolean {
  const why = !haveClang ? 'clang is not installed' : kernelVerifierUnavailable();
  if (!why) return false;
  if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required but unavailable: ${why}`);
  t.skip(why);
  return true;
}

test('compare: the demo program agrees with the kernel on every demo packet (text and json)', (t) => {
  if (kernelOrSkip(t)) return;
  const prog = join(REPO, 'examples', 'xdp_filter.c');
  const cap = join(REPO, 'examples', 'demo.pcap');
  const r = spawnSync(process.execPath, [CLI, 'compare', prog, cap], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /10 packets compared, 0 differing/);
  assert.match(r.stdout, /^ +1 +XDP_TX \(3\) +XDP_TX \(3\) +same$/m);
  const j = spawnSync(process.execPath, [CLI, 'compare', prog, cap, '--format', 'json', '--limit', '3'], { encoding: 'utf8' });
  const out = JSON.parse(j.stdout) as { available: boolean; rows: { index: number; equal: boolean; kernel: { retval: number } }[]; maps: { map: string; equal: boolean }[] };
  assert.equal(out.available, true);
  assert.deepEqual(out.maps.map((m) => [m.map, m.equal]).sort(), [['blocklist', true], ['proto_count', true], ['xdp_filt.rodata', true]]);
  assert.deepEqual(out.rows.map((x) => [x.index, x.equal]), [[0, true], [1, true], [2, true]]);
});

test('map comparison names the entries that differ, matching global data by suffix and per-CPU maps on CPU 0', () => {
  const r = compareMaps(
    { counts: [{ key: '00000000', value: '0100000000000000' }, { key: '01000000', value: '0200000000000000' }], 'prog.bss': [{ key: '00000000', value: '05000000' }], pc: [{ key: '00000000', values: ['0700000000000000'] }] },
    [
      { name: 'counts', type: 'array', entries: new Map([['00000000', '0100000000000000'], ['01000000', '0300000000000000']]) },
      { name: '3f2a91c0.bss', type: 'array', entries: new Map([['00000000', '05000000']]) },
      { name: 'pc', type: 'percpu_array', entries: new Map([['00000000', ['0700000000000000', '0900000000000000']]]) },
    ],
  );
  assert.deepEqual(r, [
    { map: 'counts', equal: false, differences: ['key 01000000: simulator 0200000000000000, kernel 0300000000000000'], clockRandom: [] },
    { map: 'prog.bss', equal: true, differences: [], clockRandom: [] },
    { map: 'pc', equal: true, differences: [], clockRandom: [] },
  ]);
});

test('compare: a program the kernel refuses is reported with exit status 2', (t) => {
  if (kernelOrSkip(t)) return;
  const r = spawnSync(process.execPath, [CLI, 'compare', join(REPO, 'test', 'server', 'fixtures', 'ctx_write.c'), join(REPO, 'examples', 'demo.pcap')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /kernel refused to load the object[\s\S]*invalid bpf_context access/);
});

test('xdpLens/compareKernel over LSP returns the side-by-side table', async (t) => {
  if (kernelOrSkip(t)) return;
  const child = spawn(process.execPath, [join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout!), new rpc.StreamMessageWriter(child.stdin!));
  for (const m of ['window/showMessage', 'window/logMessage', 'xdpLens/status', 'textDocument/publishDiagnostics']) conn.onNotification(m, () => {});
  conn.listen();
  try {
    await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification(rpc.InitializedNotification.type, {});
    const r = await conn.sendRequest<{ available: boolean; compared: number; differing: number; text: string }>('xdpLens/compareKernel', {
      uri: pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href,
      capture: join(REPO, 'examples', 'demo.pcap'),
    });
    assert.equal(r.available, true);
    assert.equal(r.compared, 10);
    assert.equal(r.differing, 0);
    assert.match(r.text, /simulator vs kernel/);
  } finally {
    await conn.sendRequest(rpc.ShutdownRequest.type);
    await conn.sendNotification(rpc.ExitNotification.type);
  }
});

test('compare: tail calls through a PROG_ARRAY and per-CPU lookups of other CPUs agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  for (const prog of ['p19_tailcall.c', 'p24_ctx_fields.c']) {
    const r = spawnSync(process.execPath, [CLI, 'compare', join(REPO, 'test', 'parity', 'programs', prog), join(REPO, 'examples', 'demo.pcap'), '--format', 'json'], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { differing: number; mapsDiffering: number; rows: unknown[] };
    assert.equal(r.status, 0, `${prog}: ${r.stdout.slice(0, 2000)}`);
    assert.deepEqual([out.rows.length, out.differing, out.mapsDiffering], [10, 0, 0], prog);
  }
});

// ---- Loading only the chosen program, seeding, the clock/random source, cleanup (issue 8) ----

const SRC_HEAD = '#include <linux/bpf.h>\n#include <linux/pkt_cls.h>\n#include <bpf/bpf_helpers.h>\n';
const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

/** Programs written for these tests, in a fresh directory. */
function fixture(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-test-'));
  const path = join(dir, name);
  writeFileSync(path, SRC_HEAD + text + '\nchar LICENSE[] SEC("license") = "GPL";\n');
  return path;
}

function kernelCompareOrSkip(t: TestContext): boolean {
  if (runnerKernelOrSkip(t)) return true;
  return kernelOrSkip(t);
}

function compareJson(args: string[]): { status: number | null; out: CompareJson; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'compare', ...args, '--format', 'json'], { encoding: 'utf8' });
  let out: CompareJson;
  try {
    out = JSON.parse(r.stdout) as CompareJson;
  } catch {
    throw new Error(`compare ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, out, stderr: r.stderr };
}

interface CompareJson {
  available: boolean;
  reason?: string;
  program: string;
  differing: number;
  clockRandom: number;
  mapsDiffering: number;
  rows: { index: number; status: string; sim: { retval: number; data: string }; kernel?: { retval: number; data: string }; clockRandom?: { retval: boolean; bytes: number[] } }[];
  maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[];
}

// An XDP program beside a tc and a tracepoint program that read their own contexts (as XDP, both would be refused:
// __sk_buff->len and a tracepoint's args are no xdp_md fields), and a map pinned by name.
const MIXED = `
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } xlc_counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u32);
         __uint(pinning, LIBBPF_PIN_BY_NAME); } xlc_pinned SEC(".maps");

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&xlc_counts, &k);
	if (v) *v += skb->len;
	return TC_ACT_OK;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_count(unsigned long long *ctx)
{
	__u32 k = 2;
	__u64 *v = bpf_map_lookup_elem(&xlc_counts, &k);
	if (v) *v += ctx[2];
	return 0;
}

SEC(SECTION)
int xdp_len(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&xlc_counts, &k);
	if (v) *v += 1;
	__u32 len = ctx->data_end - ctx->data;
	__u32 *seen = bpf_map_lookup_elem(&xlc_pinned, &len);
	if (seen) {
		*seen += 1;
		return XDP_DROP;
	}
	return XDP_PASS;
}
`;

/** What the host's /sys/fs/bpf holds that a run of these tests could have left there. */
function ourPins(): string[] {
  let names: string[] = [];
  try {
    names = readdirSync('/sys/fs/bpf');
  } catch {
    return [];
  }
  // Only names this file's runs would create (other tests pin their own xdp-lens-test-* entries meanwhile).
  return names.filter((n) => /^xlc_|^xdp-lens-(progs|created)|^(mixed|clock|many)_/.test(n)).sort();
}

test('compare loads only the chosen XDP program: a tc and a tracepoint program beside it, a map pinned by name', (t) => {
  if (kernelCompareOrSkip(t)) return;
  const before = ourPins();
  const src = fixture('mixed.c', MIXED.replace('SEC(SECTION)', 'SEC("xdp")'));
  const cap = join(REPO, 'examples', 'demo.pcap');
  // Seed the pinned map: frames of 60 bytes are dropped, on both sides.
  const seed = join(dirname(src), 'seed.json');
  writeFileSync(seed, JSON.stringify({ xlc_pinned: [{ key: '3c000000', value: '00000000' }] }));
  const r = compareJson([src, cap, ...UAPI, '--maps', seed]);
  assert.equal(r.status, 0, JSON.stringify(r.out).slice(0, 3000) + r.stderr);
  assert.equal(r.out.program, 'xdp_len');
  assert.deepEqual([r.out.rows.length, r.out.differing, r.out.mapsDiffering], [10, 0, 0]);
  const drops = r.out.rows.filter((x) => x.kernel?.retval === 1).map((x) => x.index);
  assert.deepEqual(drops, r.out.rows.filter((x) => x.sim.data.length === 120).map((x) => x.index), 'the 60-byte frames are dropped');
  assert.ok(drops.length >= 3, `some frames are 60 bytes long: ${drops}`);
  const pinned = r.out.maps.find((m) => m.map === 'xlc_pinned');
  assert.ok(pinned?.equal, 'the pinned-by-name map is compared too');
  // Asking for the tc program is refused with the reason, not loaded as XDP.
  const tc = compareJson([src, cap, ...UAPI, '--program', 'tc_count']);
  assert.equal(tc.status, 2);
  assert.match(tc.out.reason ?? '', /compare runs XDP programs; tc_count is in section tc/);
  assert.deepEqual(ourPins(), before, 'nothing is left in /sys/fs/bpf');
});

test('compare: a section name libbpf does not know, and a second program in the same section that the kernel refuses', (t) => {
  if (kernelCompareOrSkip(t)) return;
  const bad = `
SEC("xdp_custom_hook")
int xdp_bad(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[100] ? XDP_DROP : XDP_PASS; /* no data_end check: the verifier refuses this program */
}
`;
  const src = fixture('custom.c', MIXED.replace('SEC(SECTION)', 'SEC("xdp_custom_hook")') + bad);
  const r = compareJson([src, join(REPO, 'examples', 'demo.pcap'), ...UAPI, '--program', 'xdp_len']);
  assert.equal(r.status, 0, JSON.stringify(r.out).slice(0, 3000) + r.stderr);
  assert.deepEqual([r.out.program, r.out.differing, r.out.rows.length], ['xdp_len', 0, 10]);
  // The refused program itself is reported as the kernel's refusal, on its line.
  const b = compareJson([src, join(REPO, 'examples', 'demo.pcap'), ...UAPI, '--program', 'xdp_bad']);
  assert.equal(b.status, 2);
  assert.match(b.out.reason ?? '', /refused to load[\s\S]*custom\.c:\d+/);
});

const CLOCK = `
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } xlc_stamps SEC(".maps");

SEC("xdp")
int clock_stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 24 > end)
		return XDP_ABORTED;
	__u64 t = bpf_ktime_get_ns();
	__u32 r = bpf_get_prandom_u32();
	__builtin_memcpy(data, &t, 8);
	__builtin_memcpy(data + 8, &r, 4);
	((__u8 *)data)[12] = MARK;
	/* The other clocks: one byte each, whether the coarse and the TAI clock are odd. */
	((__u8 *)data)[13] = bpf_ktime_get_coarse_ns() & 1;
	((__u8 *)data)[14] = (bpf_ktime_get_tai_ns() >> 1) & 1;
	((__u8 *)data)[15] = bpf_jiffies64() & 1;
	__u32 k = 0;
	bpf_map_update_elem(&xlc_stamps, &k, &t, BPF_ANY);
	k = 1;
	__u64 rv = r;
	bpf_map_update_elem(&xlc_stamps, &k, &rv, BPF_ANY);
	return XDP_TX;
}
`;

test('compare: bytes from bpf_ktime_get_ns and bpf_get_prandom_u32 are reported as clock/random dependent, exit 0', (t) => {
  if (kernelCompareOrSkip(t)) return;
  const src = fixture('clock.c', CLOCK);
  const r = compareJson([src, join(REPO, 'examples', 'demo.pcap'), ...UAPI, '--cflag', '-DMARK=0xaa']);
  assert.equal(r.status, 0, JSON.stringify(r.out).slice(0, 3000) + r.stderr);
  assert.equal(r.out.differing, 0);
  assert.equal(r.out.clockRandom, 10, 'every packet carries a timestamp and a random number');
  for (const row of r.out.rows) {
    assert.equal(row.status, 'clock/random');
    // Only bytes 0-11 (timestamp and random number) and 13-15 (one bit of another clock each) may differ, and the
    // random number always does.
    assert.ok(row.clockRandom!.bytes.every((b) => b < 12 || (b >= 13 && b <= 15)), JSON.stringify(row));
    assert.ok(row.clockRandom!.bytes.some((b) => b >= 8 && b < 12), JSON.stringify(row));
    assert.equal(row.kernel!.data.slice(24, 26), 'aa');
    assert.equal(row.kernel!.data.slice(32), row.sim.data.slice(32), 'everything after byte 15 is equal');
  }
  const stamps = r.out.maps.find((m) => m.map === 'xlc_stamps')!;
  assert.deepEqual([stamps.equal, stamps.differences.length, stamps.clockRandom.length], [true, 0, 2]);
  const text = spawnSync(process.execPath, [CLI, 'compare', src, join(REPO, 'examples', 'demo.pcap'), ...UAPI, '--cflag', '-DMARK=0xaa', '--limit', '2'], { encoding: 'utf8' });
  assert.equal(text.status, 0);
  assert.match(text.stdout, /depend on the clock\/random source/);
});

test('compare: a real difference next to clock/random bytes is still a disagreement', (t) => {
  if (kernelCompareOrSkip(t)) return;
  // The simulator runs the program that writes 0xaa, the kernel one that writes 0xbb: byte 12 must be reported.
  const src = fixture('clock.c', CLOCK);
  const sim = loadProgramFileWithObject(src, { clangFlags: ['-I/usr/include/x86_64-linux-gnu', '-DMARK=0xaa'] });
  const other = loadProgramFileWithObject(src, { clangFlags: ['-I/usr/include/x86_64-linux-gnu', '-DMARK=0xbb'] });
  const frames = [...readCapture(join(REPO, 'examples', 'demo.pcap'))].slice(0, 3);
  const r = compareWithKernel(other.objectPath, sim.object, frames);
  assert.equal(r.available, true, r.reason);
  assert.equal(r.differing, 3);
  for (const row of r.rows) assert.equal(row.status, 'differs');
  assert.match(formatComparison(r, 't'), /byte (\d+): .*<-- differs/);
});

test('explainRow: differences only where the variants differ are clock/random; anything else is a disagreement', () => {
  const sim = { retval: 3, data: '0011223344' };
  const variants = [{ retval: 3, data: 'ff11223344' }, { retval: 3, data: '0111223344' }];
  assert.deepEqual(explainRow(sim, { retval: 3, data: '7711223344' }, variants), { retval: false, length: false, bytes: [0] });
  assert.equal(explainRow(sim, { retval: 3, data: '0011223345' }, variants), undefined, 'byte 4 never varied');
  assert.equal(explainRow(sim, { retval: 2, data: '0011223344' }, variants), undefined, 'the return value never varied');
  assert.deepEqual(explainRow(sim, { retval: 1, data: '0011223344' }, [{ retval: 1, data: sim.data }]), { retval: true, length: false, bytes: [] });
  assert.equal(explainRow(sim, { retval: 3, data: '00112233' }, variants), undefined, 'the length never varied');
});

test('compare leaves nothing in /sys/fs/bpf: after success, after a refusal, and when killed mid-run', async (t) => {
  if (kernelCompareOrSkip(t)) return;
  const before = ourPins();
  const src = fixture('mixed.c', MIXED.replace('SEC(SECTION)', 'SEC("xdp")'));
  const cap = join(REPO, 'examples', 'demo.pcap');
  assert.equal(spawnSync(process.execPath, [CLI, 'compare', src, cap, ...UAPI], { encoding: 'utf8' }).status, 0);
  assert.deepEqual(ourPins(), before, 'after success');
  const refused = spawnSync(process.execPath, [CLI, 'compare', join(REPO, 'test', 'server', 'fixtures', 'ctx_write.c'), cap], { encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.deepEqual(ourPins(), before, 'after the kernel refused the program');
  // A long run (a capture of many packets), killed while the kernel side runs.
  const big = join(dirname(src), 'many.pcap');
  const frames = [...readCapture(cap)];
  writePcap(big, Array.from({ length: 400 }, (_, i) => frames[i % frames.length]!.frame));
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const child = spawn(process.execPath, [CLI, 'compare', src, big, ...UAPI, '--limit', '400'], { stdio: 'ignore' });
    // Kill once the kernel side runs: a child `unshare` holding the private bpffs.
    let side: number | undefined;
    for (let i = 0; i < 400 && !(side = unshareChild(child.pid!)); i++) await sleep(50);
    assert.ok(side, 'the kernel side started');
    const tmp = /T='([^']+)'/.exec(readFileSync(`/proc/${side}/cmdline`, 'utf8'))?.[1];
    assert.ok(tmp && existsSync(tmp), 'its temporary directory exists');
    assert.deepEqual(ourPins(), before, 'nothing is pinned in the host bpffs while it runs');
    child.kill(signal);
    await new Promise((res) => child.once('exit', res));
    // The kernel side finishes (or is stopped) on its own; its namespace and bpffs go with it.
    for (let i = 0; i < 600 && existsSync(`/proc/${side}`); i++) await sleep(50);
    assert.equal(existsSync(`/proc/${side}`), false, 'the kernel side ended');
    assert.deepEqual(ourPins(), before, `after ${signal}`);
    assert.equal(existsSync(tmp!), false, `its temporary directory is removed after ${signal}`);
  }
});

/** The kernel side of a compare run: the child (`unshare`, then `sh` in its place) running the private-bpffs script. */
function unshareChild(pid: number): number | undefined {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  for (const c of r.stdout.trim().split('\n').filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${c}/cmdline`, 'utf8').includes("T='")) return Number(c);
    } catch {
      // gone already
    }
  }
  return undefined;
}

function* readCapture(path: string): Generator<{ frame: Uint8Array; tsNs: bigint }> {
  const reader = openCapture(path);
  try {
    for (let p; (p = reader.next()); ) yield { frame: p.frame, tsNs: p.tsNs };
  } finally {
    reader.close();
  }
}

/** A classic pcap of `frames`, 1 ms apart. */
function writePcap(path: string, frames: Uint8Array[]): void {
  const w = new PcapWriter(path);
  frames.forEach((f, i) => w.write(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, f));
  w.close();
}
