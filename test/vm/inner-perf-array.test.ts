// A map of maps whose inner map is a PERF_EVENT_ARRAY declared without max_entries (the kernel selftests'
// test_map_in_map.c declares one so): libbpf sizes the inner template to the possible CPUs before creating it, as it
// does a top-level PERF_EVENT_ARRAY, so the object loads. The simulator refused it ("max_entries is 0") before the
// first packet. Against the kernel, both engines: the lookup through the outer map finds the inner map, and
// bpf_perf_event_output through it returns what the kernel's does (-ENOENT: no perf event is open on the slot;
// -E2BIG past the CPUs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct perf_array {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
} inner0 SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct perf_array);
} outer SEC(".maps") = { .values = { &inner0 } };
struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct perf_array);
} outer_h SEC(".maps") = { .values = { &inner0 } };
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[4] = {};
  __u64 v = 7;
  if ((void *)(d + 64) > end) return XDP_PASS;
  __u32 k = d[40] & 1;
  void *m = bpf_map_lookup_elem(&outer, &k);
  void *h = bpf_map_lookup_elem(&outer_h, &k);
  o[0] = m ? 1 : 0;
  o[1] = h ? 1 : 0;
  if (m) {
    o[2] = bpf_perf_event_output(ctx, m, BPF_F_CURRENT_CPU, &v, sizeof(v));
    o[3] = bpf_perf_event_output(ctx, m, 1000, &v, sizeof(v));
  }
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('an inner PERF_EVENT_ARRAY declared without max_entries loads and runs as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets = [0, 1, 0, 1].map((b) => {
    const p = new Uint8Array(64);
    p[12] = 0x08;
    p[40] = b;
    return p;
  });
  const kernel = assertAgreesWithKernel('inner-perf', SOURCE, packets);
  // Slot 0 holds the inner map (found, perf output -ENOENT and -E2BIG); slot 1 is empty.
  assert.deepEqual([0, 1, 2, 3].map((n) => i64(kernel.results[0]!.out, n)), [1, 1, -2, -7]);
  assert.deepEqual([0, 1].map((n) => i64(kernel.results[1]!.out, n)), [0, 0]);
});
