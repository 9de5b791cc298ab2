// Map values holding fields the kernel keeps for itself (a bpf_spin_lock, a bpf_timer): bpf_map_update_elem copies a
// value in around them (copy_map_value), so the bytes a program hands over for those fields are never stored and a
// dump shows zeros there; BPF_F_LOCK is accepted for a HASH or ARRAY whose value holds a bpf_spin_lock (an existing
// hash element is then updated in place) and refused (-EINVAL) otherwise. A PERCPU_ARRAY or LRU_HASH value with a
// bpf_spin_lock is refused at map creation with BTF; libbpf creates the map again without BTF, so there the bytes are
// plain and copied. Against the kernel, both engines, maps compared after the run. Found on smartnic/bpf-profile's
// xdp_hhd_v5 (an 8-byte u64 passed as the 16-byte value of a map whose value holds a lock: the simulator stored the
// stack bytes after it in the lock field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct lv { __u64 n; struct bpf_spin_lock l; __u32 tail; };
struct tv { struct bpf_timer t; __u64 n; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, struct lv); } hl SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct lv); } al SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct lv); } pl SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, struct lv); } ll SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct tv); } at SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[8] = {};
  __u8 buf[24];
  if ((void *)(d + 100) > end) return XDP_PASS;
  __builtin_memcpy(buf, d + 70, 24);
  __u32 k = d[64] & 3;
  __u64 flags = d[65] & 7;
  o[0] = bpf_map_update_elem(&hl, &k, buf, flags);
  o[1] = bpf_map_update_elem(&al, &k, buf, flags);
  o[2] = bpf_map_update_elem(&pl, &k, buf, flags);
  o[3] = bpf_map_update_elem(&ll, &k, buf, flags & 3);
  o[4] = bpf_map_update_elem(&at, &k, buf, flags & 3);
  struct lv *v = bpf_map_lookup_elem(&hl, &k);
  if (v) {
    bpf_spin_lock(&v->l);
    v->n += 1000;
    bpf_spin_unlock(&v->l);
    o[5] = v->n + v->tail;
  }
  struct tv *t = bpf_map_lookup_elem(&at, &k);
  if (t) o[6] = t->n;
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('a bpf_spin_lock or bpf_timer in a map value is skipped by updates, BPF_F_LOCK as the kernel takes it', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 24; i++) {
    const p = new Uint8Array(100);
    p[12] = 0x08;
    p[64] = i % 3;
    p[65] = [0, 4, 1, 2, 5, 6, 0, 4][i % 8]!;
    for (let j = 70; j < 94; j++) p[j] = (i * 31 + j * 7) & 0xff | 1;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('special-fields', SOURCE, packets);
  // The paths taken: BPF_F_LOCK accepted on hl/al (0) and refused on the per-CPU array (-EINVAL), values read back.
  const lockRuns = kernel.results.filter((_, i) => packets[i]![65] === 4).map((r) => r.out);
  assert.ok(lockRuns.some((o) => i64(o, 0) === 0 && i64(o, 1) === 0 && i64(o, 2) === -22));
  assert.ok(kernel.results.some((r) => i64(r.out, 5) > 1000));
  assert.ok((kernel.maps.hl ?? []).length > 0, 'hl holds elements');
});
