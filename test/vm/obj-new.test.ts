// bpf_obj_new / bpf_obj_drop (the kfuncs bpf_obj_new_impl / bpf_obj_drop_impl) in an XDP program, against the kernel,
// both engines: an object of a program-local struct takes writes of packet bytes, is read back and dropped; two
// objects at once are distinct. Results go into the packet. Found by a probe: the loader refused the program ("kfunc
// 'bpf_obj_new_impl' is not modelled"), which the 6.18 kernel loads and runs in XDP. The kernel does not zero a new
// object (bpf_mem_alloc hands back one an earlier packet dropped, with what it left there, depending on the allocator's
// free lists: a clean-clone CI run saw them), so the program reads only what it wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
struct obj { __u64 a; __u32 b; __u8 c[12]; };
struct big { __u64 w[20]; };
extern void *bpf_obj_new_impl(__u64 local_type_id__k, void *meta__ign) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta__ign) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[8] = {};
  if ((void *)(d + 80) > end) return XDP_PASS;
  struct obj *p = bpf_obj_new_impl(bpf_core_type_id_local(struct obj), 0);
  if (!p) return XDP_DROP;
  struct big *q = bpf_obj_new_impl(bpf_core_type_id_local(struct big), 0);
  if (!q) { bpf_obj_drop_impl(p, 0); return XDP_DROP; }
  p->a = d[64] * 0x0101010101ULL;
  p->b = d[65];
  p->c[0] = 0;
  p->c[5] = 0;
  q->w[3] = 0;
  q->w[19] = 0;
  if (d[66] & 1) p->c[5] = 7; else p->c[0] = 9;
  if (d[67] & 2) q->w[3] = p->a + 1; else q->w[19] = 5;
  o[0] = q->w[19];
  o[1] = p->a;
  o[2] = p->b;
  o[3] = p->c[0] + p->c[5] * 256;
  o[4] = q->w[3];
  o[5] = (long)p != (long)q;
  bpf_obj_drop_impl(q, 0);
  bpf_obj_drop_impl(p, 0);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bpf_obj_new / bpf_obj_drop agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 16; i++) {
    const p = new Uint8Array(80);
    p[12] = 0x08;
    p[64] = i * 17;
    p[65] = i;
    p[66] = i;
    p[67] = i;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('obj-new', SOURCE, packets);
  assert.equal(i64(kernel.results[3]!.out, 0), 0);
  assert.equal(i64(kernel.results[4]!.out, 0), 5);
  assert.equal(i64(kernel.results[3]!.out, 5), 1);
});
