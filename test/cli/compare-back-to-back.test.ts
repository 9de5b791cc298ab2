// `xdp-lens compare` on a rate computed from the time since the previous packet (a per-flow bandwidth limit, found on
// a public rate-limiting XDP program): the simulator follows the capture (frames 2 s apart: a low rate, XDP_PASS), the
// kernel runs the frames back to back (milliseconds apart: a high rate, XDP_DROP). With the clock merely moved or
// stopped (delta 0, x / 0 = 0: XDP_PASS again) no variant run showed the verdict depending on the clock, and every
// packet after the first was reported as a disagreement; the variant that runs the packets back to back shows it.
// Program written for this test. Needs root and bpftool; skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareJson, compareOrSkip, spacedCase } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct last { __u64 ts; __u64 drops; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct last); } xlc_last SEC(".maps");

SEC("xdp")
int bandwidth(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct last *l = bpf_map_lookup_elem(&xlc_last, &zero);
	if (!l)
		return XDP_ABORTED;
	__u64 now = bpf_ktime_get_ns();
	__u64 bits = (ctx->data_end - ctx->data) * 8;
	int verdict = XDP_PASS;
	if (l->ts) {
		__u64 bps = bits * 1000000000ULL / (now - l->ts);
		if (bps > 1000)
			verdict = XDP_DROP;
	}
	l->ts = now;
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: a verdict from the rate since the previous packet depends on the clock, not a disagreement', (t) => {
  if (compareOrSkip(t)) return;
  const { src, cap } = spacedCase('xdp-lens-compare-b2b-', 'bandwidth', SRC);
  const { status, out, stdout, stderr } = compareJson<{ differing: number; rows: { sim: { action: string }; kernel: { action: string }; status: string }[] }>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu']);
  // The sides do differ (the kernel drops packets 1-4, the simulator passes them) ...
  assert.deepEqual(out.rows.map((x) => `${x.sim.action}/${x.kernel.action}`), ['XDP_PASS/XDP_PASS', ...Array(4).fill('XDP_PASS/XDP_DROP')], stdout.slice(0, 2000));
  // ... and that is reported as depending on the clock, with exit status 0.
  assert.deepEqual(out.rows.map((x) => x.status), ['same', ...Array(4).fill('clock/random')]);
  assert.deepEqual([status, out.differing], [0, 0], stdout.slice(0, 3000) + stderr);
});
