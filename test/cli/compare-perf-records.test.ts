// `xdp-lens compare` compares perf event array records (bpf_perf_event_output): the kernel side opens a BPF output
// perf event for CPU 0 in slot 0 of the array, runs the packets, then reads the event's ring; the simulator runs with
// the same reader, so the helper succeeds on CPU 0 and fails with -ENOENT for an empty slot on both sides. Records are
// numbered in order, their raw bytes padded as the kernel pads them, timestamps told apart with the clock variants.
// Program written for this test. Needs root, bpftool and python3; skips otherwise (fails under
// XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap } from '../net/pcap-file.ts';
import { compareJson, compareOrSkip, type CompareOut } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } failed SEC(".maps");
struct ev { __u64 ts; __u32 len; __u16 n; __u8 tag; } __attribute__((packed));
__u16 n;

SEC("xdp")
int perf_sample(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ev e;
	__u64 flags = BPF_F_CURRENT_CPU;
	__u32 zero = 0;
	long ret;

	n++;
	e.ts = bpf_ktime_get_ns();
	e.len = end - data;
	e.n = n;
	e.tag = 0xab;
	/* Packet bytes after the record: 0 to 40 of them. */
	flags |= (__u64)(e.len % 41) << 32;
	if (n % 7 == 0)
		flags = 1; /* slot 1: no perf event there */
	ret = bpf_perf_event_output(ctx, &events, flags, &e, n % 2 ? sizeof(e) : 13);
	if (ret) {
		__u64 *f = bpf_map_lookup_elem(&failed, &zero);
		if (f)
			*f += 1;
		return ret == -2 ? XDP_DROP : XDP_ABORTED;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare compares perf event array records with a reader in the running CPU slot', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-perf-'));
  const src = join(dir, 'perf.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'frames.pcap');
  const frames = Array.from({ length: 60 }, (_, i) => ({ data: Uint8Array.from({ length: 60 + i }, (_, j) => (j === 12 ? 0x08 : (i * 7 + j) & 0xff)), sec: 1_700_000_000, usec: i * 10 }));
  writeFileSync(cap, classicPcap(frames));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '60']);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.notes ?? [], []);
  // The reader's slot takes the records (XDP_PASS), slot 1 has no event (-ENOENT: XDP_DROP), on both sides.
  const passes = out.rows.filter((r) => r.kernel?.retval === 2).length;
  const drops = out.rows.filter((r) => r.kernel?.retval === 1).length;
  assert.deepEqual([passes, drops], [52, 8]);
  const perf = out.maps.find((m) => m.map === 'events');
  assert.ok(perf, `perf event array not compared: ${out.maps.map((m) => m.map).join(', ')}`);
  assert.equal(perf.equal, true);
  // The records' timestamps are told apart as the clock's: there were records on both sides.
  assert.ok(perf.clockRandom.length > 0);
});

// A perf event array made from a map of maps' inner template (a seeded new inner map) has no reader in the kernel:
// only the object's own arrays get one, so the simulator's output into the inner one still fails with -ENOENT.
const INNER_SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct perf_array { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); };
struct perf_array events SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct perf_array);
} outer SEC(".maps");

SEC("xdp")
int perf_inner(struct xdp_md *ctx)
{
	__u32 zero = 0, v = 0x1234;
	void *inner = bpf_map_lookup_elem(&outer, &zero);

	if (!inner)
		return XDP_ABORTED;
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v)))
		return XDP_ABORTED;
	return bpf_perf_event_output(ctx, inner, BPF_F_CURRENT_CPU, &v, sizeof(v)) == -2 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare opens perf readers only on the object\'s own perf event arrays, not on inner maps seeded from a template', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-perf-inner-'));
  const src = join(dir, 'inner.c');
  writeFileSync(src, INNER_SRC);
  const cap = join(dir, 'frames.pcap');
  writeFileSync(cap, classicPcap(Array.from({ length: 5 }, (_, i) => ({ data: Uint8Array.from({ length: 60 }, (_, j) => (j === 12 ? 0x08 : i + j)), sec: 1_700_000_000 + i }))));
  const seed = join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify({ outer: [{ key: 0, map: 'fresh', inner: [] }] }));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--maps', seed]);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.rows.map((r) => r.kernel?.retval), [1, 1, 1, 1, 1]);
  assert.equal(out.maps.find((m) => m.map === 'events')?.equal, true);
});
