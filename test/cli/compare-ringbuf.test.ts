// `xdp-lens compare` compares ring buffer records: the kernel side reads its pinned ring after the run (records from
// consumer position 0, as nothing consumed them), the simulator side lists the records its runs submitted, in order;
// discarded records are not listed, timestamps in them are told apart with the clock variants, and a ring that
// fills up refuses the same reservations on both sides. Program written for this test. Needs root, bpftool and
// python3 (the ring is read through mmap); skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap } from '../net/pcap-file.ts';
import { compareJson, compareOrSkip, type CompareOut } from './compare-setup.ts';

const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct ev { __u32 len; __u8 first[6]; __u16 n; __u64 ts; };
__u16 n;

SEC("xdp")
int ring_sample(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	n++;
	if (data + 6 > end)
		return XDP_PASS;
	if (n % 3 == 0) {
		__u32 len = (end - data) + n;
		return bpf_ringbuf_output(&events, &len, sizeof(len), 0) ? XDP_ABORTED : XDP_PASS;
	}
	struct ev *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_DROP;
	e->len = end - data;
	__builtin_memcpy(e->first, data, 6);
	e->n = n;
	e->ts = bpf_ktime_get_ns();
	if (n % 5 == 0) {
		bpf_ringbuf_discard(e, 0);
		return XDP_TX;
	}
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

test('compare compares ring buffer records, submitted ones in order, until the ring is full', (t) => {
  if (compareOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-compare-ring-'));
  const src = join(dir, 'ring.c');
  writeFileSync(src, SRC);
  const cap = join(dir, 'frames.pcap');
  // 200 frames of 60-100 bytes: the 4 KiB ring holds about 130 records, so the last reservations fail.
  const frames = Array.from({ length: 200 }, (_, i) => ({ data: Uint8Array.from({ length: 60 + (i % 41) }, (_, j) => (j === 12 ? 0x08 : (i + j) & 0xff)), sec: 1_700_000_000, usec: i * 10 }));
  writeFileSync(cap, classicPcap(frames));
  const { status, out, stdout, stderr } = compareJson<CompareOut>([src, cap, '--cflag', '-I/usr/include/x86_64-linux-gnu', '--limit', '200']);
  assert.equal(out.available, true, `${out.reason}\n${stderr}`);
  assert.deepEqual([status, out.differing, out.mapsDiffering], [0, 0, 0], stdout.slice(0, 3000) + stderr);
  assert.deepEqual(out.notes ?? [], []);
  const ring = out.maps.find((m) => m.map === 'events');
  assert.ok(ring, `ring buffer not compared: ${out.maps.map((m) => m.map).join(', ')}`);
  assert.equal(ring.equal, true);
  // The records' timestamps differ, and are told apart as the clock's; the ring filled up (XDP_DROP) on both sides.
  assert.ok(ring.clockRandom.length > 0);
  const drops = out.rows.filter((r) => r.kernel?.retval === 1).length;
  assert.ok(drops > 10, `${drops} drops`);
});
