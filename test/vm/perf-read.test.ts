// bpf_perf_event_read and bpf_perf_event_read_value, which the 6.18 kernel lets XDP programs call (the simulator
// faulted on them as not supported): no perf event is open in the slots of a test run's PERF_EVENT_ARRAY, so -ENOENT
// for a slot that exists (BPF_F_CURRENT_CPU included), -E2BIG past max_entries, -EINVAL for flags beyond the index;
// read_value zeroes its buffer on every failure, -EINVAL for a size other than 24. Against the kernel, both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4); } ev SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[10];
  struct bpf_perf_event_value v;
  if ((void *)(d + 80) > end) return XDP_PASS;
  __u64 flags = d[64] == 1 ? BPF_F_CURRENT_CPU : d[64] == 2 ? 1ULL << 32 : d[65];
  o[0] = (__s64)bpf_perf_event_read(&ev, flags);
  __builtin_memset(&v, 0xaa, sizeof(v));
  o[1] = bpf_perf_event_read_value(&ev, flags, &v, sizeof(v));
  o[2] = v.counter; o[3] = v.enabled; o[4] = v.running;
  __builtin_memset(&v, 0xbb, sizeof(v));
  o[5] = bpf_perf_event_read_value(&ev, flags, &v, 16);
  o[6] = v.counter; o[7] = v.enabled; o[8] = v.running;
  o[9] = 0x5a;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_perf_event_read(_value) on the empty PERF_EVENT_ARRAY of a test run answer as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const packets = [[0, 0], [0, 3], [0, 4], [0, 200], [1, 0], [2, 0]].map(([a, b]) => {
    const p = new Uint8Array(96);
    p[12] = 0x08;
    p[64] = a!;
    p[65] = b!;
    return p;
  });
  const kernel = assertAgreesWithKernel('perf-read', SOURCE, packets);
  const rets = kernel.results.map((r) => i64(r.out, 0));
  assert.deepEqual(rets, [-2, -2, -7, -7, -2, -22]);
  assert.equal(i64(kernel.results[0]!.out, 9), 0x5a);
});
