// `xdp-lens compare` on a program that counts packets in a histogram of the time each took: the slot is the log2 of
// two bpf_ktime_get_ns readings' difference (yandex/yadns-controller's XDP program keeps such a histogram). The kernel's
// clock moves while a packet runs, so its counts land in slots for some microseconds; the simulator's stands still, so
// its counts land in slot 0, and the variant whose clock moves with every reading puts them in yet another slot. Which
// array slots a run fills depends on the clock there: a slot one side filled and the other left at zero is
// clock-dependent, not a difference (it was: "key 0b000000: simulator 0000000000000000, kernel 0300000000000000").
// Program written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareMaps } from '../../simulator/kernel-compare.ts';
import { compareJson, compareOrSkip, spacedCase } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } xlc_hist SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } xlc_fixed SEC(".maps");

static __always_inline __u32 log2_64(__u64 v)
{
	__u32 r = 0;
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("xdp")
int elapsed_slot(struct xdp_md *ctx)
{
	__u64 start = bpf_ktime_get_ns();
	__u32 one = 1;
	__u64 *n = bpf_map_lookup_elem(&xlc_fixed, &one);
	if (!n)
		return XDP_ABORTED;
	(*n)++;
	__u32 slot = log2_64(bpf_ktime_get_ns() - start);
	__u64 *c = bpf_map_lookup_elem(&xlc_hist, &slot);
	if (c)
		(*c)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: array slots chosen by the clock (a latency histogram) are clock-dependent, not a disagreement', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-elapsed-slot-', 'elapsed_slot', SRC);
  type Out = { differing: number; mapsDiffering: number; maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[] };
  const { status, out, stdout, stderr } = compareJson<Out>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu']);
  const hist = out.maps.find((m) => m.map === 'xlc_hist');
  const fixed = out.maps.find((m) => m.map === 'xlc_fixed');
  assert.ok(hist && fixed, JSON.stringify(out.maps));
  assert.ok(hist.clockRandom.length >= 1, JSON.stringify(hist));
  assert.deepEqual([status, out.differing, out.mapsDiffering, hist.equal, fixed.equal, fixed.clockRandom.length], [0, 0, 0, true, true, 0], stdout.slice(0, 2000) + stderr);
});

const z = '0000000000000000';
const u64 = (n: number) => Buffer.from(BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, '0'), 'hex').reverse().toString('hex');
const arr = (vals: Record<number, number>, n = 8) => Array.from({ length: n }, (_, i) => ({ key: u64(i).slice(0, 8), value: vals[i] === undefined ? z : u64(vals[i]!) }));
const kernelArr = (vals: Record<number, number>, n = 8) => [{ name: 'h', type: 'array', entries: new Map(arr(vals, n).map((e) => [e.key, e.value])) }];

test('compareMaps: a zero slot against a filled one is explained only when the filled slots move between the runs', () => {
  // Slot chosen by the clock: the real run fills 0, a variant 5; the kernel filled 3 (and not 0).
  const moved = compareMaps({ h: arr({ 0: 4 }) } as never, kernelArr({ 3: 4 }) as never, [{ h: arr({ 5: 4 }) } as never]);
  assert.deepEqual([moved[0]!.equal, moved[0]!.differences, moved[0]!.clockRandom.length], [true, [], 2]);
  // The same slots in every run: a kernel slot the simulator left at zero is a difference.
  const still = compareMaps({ h: arr({ 0: 4 }) } as never, kernelArr({ 0: 4, 3: 1 }) as never, [{ h: arr({ 0: 4 }) } as never]);
  assert.deepEqual([still[0]!.equal, still[0]!.differences], [false, [`key 03000000: simulator ${z}, kernel ${u64(1)}`]]);
  // A slot a variant fills besides the real run's (a drop counter of a rate limit): the slots do not move, so a kernel
  // slot the simulator left at zero is still a difference.
  const counter = compareMaps({ h: arr({ 0: 4 }) } as never, kernelArr({ 0: 4, 3: 1 }) as never, [{ h: arr({ 0: 2, 1: 2 }) } as never]);
  assert.deepEqual([counter[0]!.equal, counter[0]!.differences], [false, [`key 03000000: simulator ${z}, kernel ${u64(1)}`]]);
});
