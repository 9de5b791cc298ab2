// Ring buffer and perf event output as a test run shows them (no reader attached), against the kernel, both engines:
//   - bpf_ringbuf_reserve/output take the record's size plus an 8-byte header rounded up to 8 and fail (NULL /
//     -EAGAIN) once the ring holds its size less one byte, discarded records included (nothing consumes them): so a
//     record of exactly the ring's size never fits, and the ring fills up over the packets;
//   - bpf_ringbuf_query: available data, ring size, consumer and producer positions, 0 for an unknown flag;
//   - bpf_perf_event_output: -ENOENT (no perf event open on the slot), after -EINVAL for bad flags and -E2BIG for an
//     index past max_entries.
// Every result goes into the packet, each packet compared. Found by a probe program: perf output returned 0 where the
// kernel returns -ENOENT; ringbuf_query faulted (not supported); the simulator's ring never filled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); __uint(max_entries, 2); } pe SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[12] = {};
  __u64 v[4] = {1, 2, 3, 4};
  if ((void *)(d + 128) > end) return XDP_PASS;
  __u8 a = d[64], b = d[65];
  __u64 flags = ((__u64)(b & 0x7f) << 32) | (a & 1 ? BPF_F_CURRENT_CPU : a >> 1);
  o[0] = bpf_perf_event_output(ctx, &pe, flags, v, sizeof(v));
  o[1] = bpf_perf_event_output(ctx, &pe, BPF_F_CURRENT_CPU | (0xffffULL << 32), v, 8);
  o[2] = bpf_ringbuf_output(&rb, v, a & 16 ? 32 : 3, b & 7);
  void *r = (a & 2) ? bpf_ringbuf_reserve(&rb, 4096 - 8, 0) : (a & 4) ? bpf_ringbuf_reserve(&rb, 4096 - 16, 0)
          : (a & 8) ? bpf_ringbuf_reserve(&rb, 100, 0) : bpf_ringbuf_reserve(&rb, 9, a >> 5);
  o[3] = r ? 1 : 0;
  if (r) { if (b & 1) bpf_ringbuf_submit(r, 0); else bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP); }
  o[4] = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
  o[5] = bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE);
  o[6] = bpf_ringbuf_query(&rb, BPF_RB_CONS_POS);
  o[7] = bpf_ringbuf_query(&rb, BPF_RB_PROD_POS);
  o[8] = bpf_ringbuf_query(&rb, 99);
  o[9] = bpf_ringbuf_output(&rb, v, 8, 8);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('ring buffer fill, ringbuf_query and perf output return codes agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 90; i++) {
    const p = new Uint8Array(128 + (i % 7));
    p[12] = 0x08;
    p[64] = [0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 24, 32, 0x21, 0xfe, 6, 10][i % 16]!;
    p[65] = [0, 1, 2, 3, 0x41, 0x7f, 0x11, 0x20][i % 8]!;
    packets.push(p);
  }
  // The records stay visible in the run's output (both engines).
  let perfRecords = 0;
  const kernel = assertAgreesWithKernel('ring', SOURCE, packets, { maps: false, onPacket: (_e, s) => (perfRecords += s.run.perf.filter((p) => p.helper === 'perf_event_output').length) });
  assert.ok(perfRecords > 0);
  // The ring filled (a reservation refused after some succeeded) and perf output said -ENOENT.
  const outs = kernel.results.map((r) => r.out);
  assert.ok(outs.some((o) => i64(o, 3) === 1) && outs.slice(40).some((o) => i64(o, 3) === 0));
  assert.ok(outs.some((o) => i64(o, 0) === -2));
  assert.ok(outs.some((o) => i64(o, 2) === -11));
});
