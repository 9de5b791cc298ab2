// bpf_timer_init / set_callback / start / cancel against the kernel, both engines, on timers in ARRAY and HASH values:
// init with good and bad clocks (-EINVAL) and twice (-EBUSY), set_callback and start before init (-EINVAL), start
// without a callback (-EINVAL) and with bad flags (-EINVAL), cancel of an active timer (1), an idle one (0) and an
// uninitialised one (-EINVAL), and bpf_map_update_elem replacing the value (the kernel frees its timer: init works
// again). Timers are started 1000 s ahead (relative; BPF_F_TIMER_CPU_PIN or not), so none fires during the test (timers
// started with 0 ns, which fire when the run returns, are in timer-fire.test.ts). Results go into the packet; the maps (whose
// dump shows the timer field as zeros) are compared after the run. Found by a probe program: the helpers faulted as
// not supported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct tv { struct bpf_timer t; __u64 n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct tv); } tm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct tv); } th SEC(".maps");
static int cbk(void *map, __u32 *key, struct tv *v) { v->n += 1000; return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[10] = {};
  if ((void *)(d + 100) > end) return XDP_PASS;
  __u32 k = d[64] & 3;
  struct tv *v = bpf_map_lookup_elem(&tm, &k);
  if (!v) return XDP_ABORTED;
  __u8 op = d[65];
  v->n++;
  if (op & 1) o[0] = bpf_timer_init(&v->t, &tm, op & 2 ? 1 : (op & 4 ? 0 : 5));
  if (op & 4) o[1] = bpf_timer_set_callback(&v->t, cbk);
  if (op & 8) o[2] = bpf_timer_start(&v->t, 1000000000000ULL, op & 16 ? 8 : (op & 2 ? 2 : 0));
  if (op & 32) o[3] = bpf_timer_cancel(&v->t);
  if (op & 64) { struct tv z = { .n = 7 }; o[4] = bpf_map_update_elem(&tm, &k, &z, 0); }
  o[5] = v->n;
  struct tv hv = {};
  __u32 hk = d[66] & 3;
  if (op & 128) o[6] = bpf_map_update_elem(&th, &hk, &hv, 0);
  struct tv *h = bpf_map_lookup_elem(&th, &hk);
  if (h) {
    o[7] = bpf_timer_init(&h->t, &th, 7);
    if (d[67] & 1) o[8] = bpf_timer_set_callback(&h->t, cbk) * 10 + bpf_timer_start(&h->t, 1000000000000ULL, 0);
    o[9] = bpf_timer_cancel(&h->t);
  }
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_timer helpers agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const ops = [0x20, 0x04, 0x08, 0x01, 0x01, 0x03, 0x0c, 0x2c, 0x08 | 0x10, 0x0e, 0x20, 0x20, 0x40, 0x03, 0x0f, 0x2f, 0x80, 0x80, 0x45, 0x07, 0x28];
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 63; i++) {
    const p = new Uint8Array(100);
    p[12] = 0x08;
    p.set([Math.floor(i / 21) + (i % 2), ops[i % ops.length]!, i % 4, i % 3], 64);
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('timer', SOURCE, packets);
  const outs = kernel.results.map((r) => r.out);
  // -EINVAL, -EBUSY, an active cancel (1) and a successful init after a replacing update all happened.
  assert.ok(outs.some((o) => i64(o, 0) === -22) && outs.some((o) => i64(o, 0) === -16) && outs.some((o) => i64(o, 0) === 0));
  assert.ok(outs.some((o) => i64(o, 3) === 1) && outs.some((o) => i64(o, 9) === 1) && outs.some((o) => i64(o, 2) === -22));
});
