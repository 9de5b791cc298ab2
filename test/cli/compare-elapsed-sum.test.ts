// `xdp-lens compare` on a program that adds up the time between packets in a map (a token bucket's remainder of
// nanoseconds not yet worth a token, found on a public anti-DDoS XDP gateway). The capture's frames are 1 us apart, so
// the simulator's sum stays in its low bytes; the kernel side runs one test run per packet, milliseconds apart, so its
// sum reaches the third and fourth bytes. No variant run moved those bytes (the clock stopped: 0; back to back: tens
// of microseconds), and the entry was reported as a disagreement (exit 1); a variant with packets milliseconds apart
// shows that those bytes depend on the clock. Program written for this test. Needs root and bpftool; skips otherwise
// (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap } from '../net/pcap-file.ts';
import { compareJson, compareOrSkip } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bucket { __u64 last; __u64 carry; __u64 packets; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct bucket); } xlc_bucket SEC(".maps");

SEC("xdp")
int carry(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct bucket *b = bpf_map_lookup_elem(&xlc_bucket, &zero);
	if (!b)
		return XDP_ABORTED;
	__u64 now = bpf_ktime_get_ns();
	if (b->last) {
		__u64 gap = now - b->last;
		if (gap > 1000000000ULL)
			gap = 1000000000ULL;
		b->carry += gap;
	}
	b->last = now;
	b->packets++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare: the time between packets summed in a map depends on the clock in its high bytes too', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-carry-'));
  const src = join(dir, 'carry.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'close.pcap');
  const frame = Uint8Array.from({ length: 60 }, (_, i) => (i === 12 ? 0x08 : i));
  writeFileSync(cap, classicPcap(Array.from({ length: 5 }, (_, i) => ({ data: frame, sec: 1_700_000_000, usec: i }))));
  const { status, out, stdout, stderr } = compareJson<{ differing: number; mapsDiffering: number; maps: { map: string; equal: boolean; differences: string[]; clockRandom: string[] }[] }>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu']);
  const m = out.maps.find((x) => x.map === 'xlc_bucket');
  assert.ok(m, JSON.stringify(out.maps));
  // The simulator's sum is 4 us (the packet count, 5, agrees) ...
  assert.match([...m.clockRandom, ...m.differences].join('\n'), /key 00000000: simulator [0-9a-f]{16}a00f0000000000000500000000000000,/, JSON.stringify(m));
  // ... the kernel's is milliseconds, and that is reported as depending on the clock, with exit status 0.
  assert.deepEqual([status, out.differing, out.mapsDiffering, m.equal], [0, 0, 0, true], stdout.slice(0, 2000) + stderr);
});
