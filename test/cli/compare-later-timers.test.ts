// `xdp-lens compare` on a program that starts a bpf_timer to expire later (a periodic clean-up): the simulator never
// fires such a timer by itself, the kernel does once its time has passed while bpftool runs the packets one by one
// (milliseconds apart). What the callback changes is told apart as clock-dependent (a variant that fires the started
// timers after every packet), not reported as a difference. Program written for this test. Needs root and bpftool;
// skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap } from '../net/pcap-file.ts';
import { compareJson, compareOrSkip, type CompareOut } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct elem { struct bpf_timer t; __u64 calls; __u64 seen; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct elem); } timers SEC(".maps");

static int tick(void *map, __u32 *key, struct elem *e)
{
	e->calls++;
	bpf_timer_start(&e->t, 20 * 1000 * 1000, 0);
	return 0;
}

SEC("xdp")
int later_timer(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct elem *e = bpf_map_lookup_elem(&timers, &k);

	if (!e)
		return XDP_ABORTED;
	if (e->seen++ == 0) {
		bpf_timer_init(&e->t, &timers, 1);
		bpf_timer_set_callback(&e->t, tick);
		bpf_timer_start(&e->t, 20 * 1000 * 1000, 0);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare tells a later timer callback\'s map changes apart as clock-dependent', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-timer-'));
  const src = join(dir, 'timer.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'frames.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 30 }, (_, i) => ({ data: frame, sec: 1_700_000_000, usec: i }))));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '30']);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  const timers = out.maps.find((m) => m.map === 'timers');
  assert.ok(timers);
  // The kernel's callback ran (30 bpftool runs take longer than 20 ms): its count is told apart, not hidden.
  assert.equal(timers.clockRandom.length, 1, JSON.stringify(timers));
});

// A later timer whose callback starts it again, and deletes its element on the second run (an idle check): the kernel
// has run it twice by the next packet (bpftool's runs are milliseconds apart), so the next packet finds no element.
// The timer variant fired the started timers once per packet, so no variant saw the element gone and the kernel's
// verdict was reported as a difference (found on a game server filter with a 5 ms idle interval). Now the variant
// fires them again while their callbacks start them again (a few rounds). Program written for this test.
const REARM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct elem { struct bpf_timer t; __u64 runs; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct elem); } flows SEC(".maps");

static int idle(void *map, __u32 *key, struct elem *e)
{
	if (e->runs++ > 0) {
		bpf_map_delete_elem(map, key);
		return 0;
	}
	bpf_timer_start(&e->t, 1000 * 1000, 0);
	return 0;
}

SEC("xdp")
int idle_timer(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct elem zero = {}, *e = bpf_map_lookup_elem(&flows, &k);

	if (e)
		return XDP_PASS;
	bpf_map_update_elem(&flows, &k, &zero, BPF_NOEXIST);
	e = bpf_map_lookup_elem(&flows, &k);
	if (!e)
		return XDP_ABORTED;
	bpf_timer_init(&e->t, &flows, 1);
	bpf_timer_set_callback(&e->t, idle);
	bpf_timer_start(&e->t, 1000 * 1000, 0);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare fires a later timer again when its callback starts it again, and tells what that changes apart as clock-dependent', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-timer-'));
  const src = join(dir, 'idle.c');
  writeFileSync(src, REARM);
  const cap = join(dir, 'frames.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 6 }, (_, i) => ({ data: frame, sec: 1_700_000_000, usec: i }))));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '6']);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
});

// A due timer that its callback starts again for ever: the kernel runs it 10 times per softirq pass and ksoftirqd the
// rest, many times between bpftool's runs. The simulator stops after 10 passes; the timer variant runs the timers
// still due, so the count each packet sees is told apart as clock-dependent. Program written for this test.
const FOREVER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct tv { struct bpf_timer t; __u64 fired; __u64 started; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct tv); } arr SEC(".maps");

static int again(void *map, __u32 *key, struct tv *v)
{
	v->fired++;
	bpf_timer_start(&v->t, 0, 0);
	return 0;
}

SEC("xdp")
int forever(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 seen;
	struct tv *v = bpf_map_lookup_elem(&arr, &k);

	if (!v)
		return XDP_ABORTED;
	seen = v->fired;
	if (!v->started) {
		bpf_timer_init(&v->t, &arr, 1);
		bpf_timer_set_callback(&v->t, again);
		bpf_timer_start(&v->t, 0, 0);
		v->started = 1;
	}
	bpf_xdp_store_bytes(ctx, 0, &seen, sizeof(seen));
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare tells what a timer re-armed at 0 ns for ever changes apart as clock-dependent', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-timer-'));
  const src = join(dir, 'forever.c');
  writeFileSync(src, FOREVER);
  const cap = join(dir, 'frames.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 6 }, (_, i) => ({ data: frame, sec: 1_700_000_000, usec: i }))));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '6']);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.ok(out.clockRandom >= 4, stdout.slice(0, 3000));
});
