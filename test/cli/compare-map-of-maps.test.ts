// `xdp-lens compare` on the shapes real load balancers have (katran's balancer_ingress, found on the held-out
// programs of issue 8): a map of maps whose slots are seeded with maps of their own (`--maps` "inner" entries), and an
// ARRAY far too large for bpftool to dump (katran's ch_rings has 33 million slots). Both sides must be seeded alike,
// the inner maps compared after the run like any other map, and the run must finish promptly, not time out on a dump.
// Programs written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runWithPrivateBpffs } from '../../simulator/kernel-load.ts';
import { REPO } from '../repo.ts';
import { CLI, compareJson, compareOrSkip, spacedCase } from './compare-setup.ts';

const UAPI = ['--cflag', '-I/usr/include/x86_64-linux-gnu'];

// Slot (frame length & 1) of xlc_outer holds an inner array whose slot 0 is the verdict and slot 1 a counter; a
// frame whose slot is empty passes. Every frame also counts in xlc_big at index len * 1000 (1 << 20 slots).
const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); };
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32);
         __array(values, struct inner); } xlc_outer SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1 << 20); __type(key, __u32); __type(value, __u32); } xlc_big SEC(".maps");

SEC("xdp")
int mim_verdict(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 big = len * 1000, slot = len & 1, zero = 0, one = 1;
	__u32 *b = bpf_map_lookup_elem(&xlc_big, &big);
	if (b)
		*b += 1;
	void *inner = bpf_map_lookup_elem(&xlc_outer, &slot);
	if (!inner)
		return XDP_PASS;
	__u32 *verdict = bpf_map_lookup_elem(inner, &zero);
	__u32 *count = bpf_map_lookup_elem(inner, &one);
	if (!verdict || !count)
		return XDP_ABORTED;
	*count += len;
	return *verdict;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare seeds a map of maps with maps of its own on both sides and compares them; a huge array is read, not dumped', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-mim-'));
  const src = join(dir, 'mim.c');
  writeFileSync(src, SRC);
  // Odd lengths: slot 1 says XDP_DROP; even lengths: slot 0 says XDP_TX. Both slots are maps of the seed's own.
  const seed = join(dirname(src), 'seed.json');
  writeFileSync(seed, JSON.stringify({
    xlc_outer: [
      { key: '00000000', inner: [{ key: '00000000', value: '03000000' }] },
      { key: '01000000', inner: [{ key: '00000000', value: '01000000' }] },
    ],
  }));
  const cap = join(REPO, 'examples', 'demo.pcap');
  const { status, out, stderr } = compareJson<{ available: boolean; reason?: string; differing: number; mapsDiffering: number; rows: { sim: { retval: number; data: string }; kernel?: { retval: number } }[]; maps: { map: string; equal: boolean; differences: string[] }[]; notes: string[] }>([src, cap, ...UAPI, '--maps', seed]);
  assert.equal(status, 0, JSON.stringify(out).slice(0, 3000) + stderr);
  assert.equal(out.available, true);
  assert.deepEqual([out.differing, out.mapsDiffering], [0, 0]);
  // The kernel took the seeded verdicts: every frame's verdict is the one its slot's inner map holds.
  for (const row of out.rows) assert.equal(row.kernel?.retval, (row.sim.data.length / 2) % 2 === 1 ? 1 : 3);
  assert.ok(new Set(out.rows.map((x) => x.kernel?.retval)).size === 2, 'both slots were used');
  // The inner maps are compared after the run (their counters moved), and so is the large array at the slots written.
  const names = out.maps.map((m) => m.map).sort();
  assert.deepEqual(names.filter((n) => n.startsWith('xlc_')), ['xlc_big', 'xlc_outer[00000000]', 'xlc_outer[01000000]']);
  assert.ok(out.maps.every((m) => m.equal), JSON.stringify(out.maps));
  assert.ok(out.notes.some((n) => /map xlc_big \(1048576 slots\): too large to dump/.test(n)), out.notes.join('\n'));
});

test('the private-bpffs kernel side stops with everything it started when its time is up', { timeout: 120_000 }, (t) => {
  if (compareOrSkip(t)) return;
  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-bpffs-timeout-'));
  // A body whose command outlives the timeout by far (as bpftool dumping a huge map did): it must be killed, with its
  // children, and not keep the run waiting on its open output.
  const r = runWithPrivateBpffs('sleep 600 & echo $! > "$T/../sleep.pid"; wait', tmp, 1500);
  assert.equal((r.error as NodeJS.ErrnoException | undefined)?.code, 'ETIMEDOUT');
  const pid = Number(readFileSync(join(tmp, '..', 'sleep.pid'), 'utf8'));
  assert.ok(pid > 0);
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    try {
      process.kill(pid, 0);
      spawnSync('sleep', ['0.05']);
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, `the body's child ${pid} was stopped`);
});

// A rate window as load balancers keep one (katran's new-connection counter): the count restarts when more than a
// second has passed since the window opened. The simulator's clock follows the capture (frames 2 s apart: every frame
// opens a window), the kernel runs the frames back to back (one window): the count depends on the clock.
const RATE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct window { __u64 count; __u64 start; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct window); } xlc_rate SEC(".maps");

SEC("xdp")
int rate_window(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct window *w = bpf_map_lookup_elem(&xlc_rate, &zero);
	if (!w)
		return XDP_ABORTED;
	__u64 now = bpf_ktime_get_ns();
	if (now - w->start > 1000000000ULL) {
		w->count = 1;
		w->start = now;
	} else {
		w->count++;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: a count that depends on the time elapsed between packets is clock-dependent, not a disagreement', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-rate-', 'rate', RATE);
  const { status, out, stdout, stderr } = compareJson<{ differing: number; mapsDiffering: number; maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[] }>([src, cap]);
  const rate = out.maps.find((m) => m.map === 'xlc_rate');
  assert.ok(rate, JSON.stringify(out.maps));
  // The two sides do differ there (count 1 after a fresh window in the simulator, 5 in the kernel) ...
  assert.match(rate.clockRandom.join('\n'), /key 00000000: simulator 01000000/, JSON.stringify(rate));
  // ... and that is reported as depending on the clock, with exit status 0.
  assert.deepEqual([status, out.differing, out.mapsDiffering, rate.equal], [0, 0, 0, true], stdout.slice(0, 2000) + stderr);
});

// A sample written against a kernel patch that never landed (prototype-kernel's xdp_rxhash calls helper 666): the
// kernel refuses the load ("invalid func unknown#666"); `run` still runs it, but must say before the first packet and
// in the summary that the kernel would refuse it, not only fault on every packet.
test('run: a call to a helper id the kernel does not have is reported as a refusal before the first packet', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-nohelper-'));
  const src = join(dir, 'nohelper.c');
  writeFileSync(src, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
static long (*bpf_not_merged)(struct xdp_md *ctx) = (void *)666;
SEC("xdp")
int no_helper(struct xdp_md *ctx)
{
	return bpf_not_merged(ctx) > 0 ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`);
  const cap = join(REPO, 'examples', 'demo.pcap');
  // The kernel: refused.
  const obj = join(dir, 'nohelper.o');
  assert.equal(spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj]).status, 0);
  const k = spawnSync(process.execPath, [CLI, 'compare', obj, cap, '--format', 'json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(k.status, 2);
  assert.match(JSON.parse(k.stdout).reason, /unknown#666/);
  // The simulator: runs, says so first, and lists it in the summary.
  const r = spawnSync(process.execPath, [CLI, 'run', obj, cap, '--format', 'jsonl', '--limit', '2'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const first = r.stderr.split('\n').findIndex((l) => /the kernel would refuse this program: .*invalid func unknown#666/.test(l));
  assert.ok(first >= 0, r.stderr);
  // Packet rows carry a one-line "summary" text; the run's summary is the object.
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { summary?: string | { verifierRefuses?: { message: string }[] } });
  const summary = lines.map((l) => l.summary).find((x) => typeof x === 'object');
  assert.match(summary?.verifierRefuses?.map((x) => x.message).join('\n') ?? '', /invalid func unknown#666/);
});
