// kfunc and dynptr arguments the verifier checks where its walk reaches the call (check_kfunc_args,
// process_dynptr_func), decided by the bounds walk (simulator/verifier-bounds.ts): a dynptr argument (bpf_dynptr_slice,
// bpf_dynptr_read, ...) whose stack slot nothing initialised on some path ("Expected an initialized dynptr as arg #N");
// a dynptr slice's buffer that its constant size overruns, on the stack or in a map value ("arg#2 arg#3 memory, len
// pair leads to invalid memory access"); a kfunc's context argument given a packet, data_end, stack or map value
// pointer ("arg#0 expected pointer to ctx, but got pkt"). `run` said nothing and ran these programs. Near misses the
// kernel loads: the dynptr initialised first, in a static subprogram, or in the same branch as its use; two slices of
// one dynptr; a buffer of the slice's size on the stack and in a map value; a conntrack lookup given ctx. Every
// variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <linux/in.h>
char LICENSE[] SEC("license") = "GPL";
struct nf_conn { __u8 _a[8]; __u32 timeout; __u8 _b[116]; unsigned long status; __u8 _c[32]; __u32 mark; };
struct bpf_ct_opts { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u16 ct_zone_id; __u8 ct_zone_dir; __u8 reserved[3]; };
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
struct val { __u8 b[16]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } vals SEC(".maps");
#if V == 1
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf)); /* E */
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 2
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  if (ctx->rx_queue_index == 1)
    bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf)); /* E */
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 3
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr a, b;
  __u8 buf[4];
  bpf_dynptr_from_xdp(ctx, 0, &a);
  __u8 *p = bpf_dynptr_slice(&b, 0, buf, sizeof(buf)); /* E */
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 4
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4] = {};
  bpf_dynptr_read(buf, sizeof(buf), &ptr, 0, 0); /* E */
  return buf[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 5
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 6
static __attribute__((noinline)) int init(struct xdp_md *ctx, struct bpf_dynptr *d) {
  return bpf_dynptr_from_xdp(ctx, 0, d);
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  init(ctx, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 7
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  if (ctx->rx_queue_index == 1) {
    bpf_dynptr_from_xdp(ctx, 0, &ptr);
    __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
    if (p && p[0] == 1) return XDP_PASS;
  }
  return XDP_DROP;
}
#elif V == 8
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[8];
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, 64); /* E */
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 9
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[64];
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, 64);
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 10
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  bpf_dynptr_from_xdp((struct xdp_md *)(long)ctx->data, 0, &ptr); /* E */
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 11
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[16];
  bpf_dynptr_from_xdp((struct xdp_md *)buf, 0, &ptr); /* E */
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, 4);
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 12
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u32 k = 0;
  struct val *v = bpf_map_lookup_elem(&vals, &k);
  if (!v) return XDP_ABORTED;
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, v->b, 64); /* E */
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 13
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u32 k = 0;
  struct val *v = bpf_map_lookup_elem(&vals, &k);
  if (!v) return XDP_ABORTED;
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, v->b, 16);
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 14
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u32 k = 0;
  struct val *v = bpf_map_lookup_elem(&vals, &k);
  if (!v) return XDP_ABORTED;
  bpf_dynptr_from_xdp((struct xdp_md *)v, 0, &ptr); /* E */
  __u8 *p = bpf_dynptr_slice(&ptr, 0, v->b, 16);
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 15
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  bpf_dynptr_from_xdp((struct xdp_md *)(long)ctx->data_end, 0, &ptr); /* E */
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
  if (!p) return XDP_DROP;
  return p[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 16
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_dynptr ptr;
  __u8 buf[4];
  bpf_dynptr_from_xdp(ctx, 0, &ptr);
  __u8 *p = bpf_dynptr_slice(&ptr, 0, buf, sizeof(buf));
  if (!p) return XDP_DROP;
  __u8 x = p[0];
  __u8 *q = bpf_dynptr_slice(&ptr, 1, buf, sizeof(buf));
  if (!q) return XDP_DROP;
  return x + q[0] == 1 ? XDP_PASS : XDP_DROP;
}
#elif V == 17
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_sock_tuple t = {};
  struct bpf_ct_opts o = { .netns_id = -1, .l4proto = IPPROTO_TCP };
  struct nf_conn *ct = bpf_xdp_ct_lookup((struct xdp_md *)(long)ctx->data, &t, sizeof(t.ipv4), &o, sizeof(o)); /* E */
  if (!ct) return XDP_PASS;
  bpf_ct_release(ct);
  return XDP_DROP;
}
#elif V == 18
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_sock_tuple t = {};
  struct bpf_ct_opts o = { .netns_id = -1, .l4proto = IPPROTO_TCP };
  struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
  if (!ct) return XDP_PASS;
  bpf_ct_release(ct);
  return XDP_DROP;
}
#endif
`;

const UNINIT = 'Expected an initialized dynptr as arg #0';
const PAIR = 'arg#2 arg#3 memory, len pair leads to invalid memory access';
const CTX = 'arg#0 expected pointer to ctx, but got ';

test('a dynptr used where nothing initialised it is refused as by the kernel, near misses not', (t) => {
  checkRefusalVariants(t, 'dynptr-uninit', SOURCE, [
    { v: 1, kernel: UNINIT }, { v: 2, kernel: UNINIT }, { v: 3, kernel: UNINIT },
    { v: 4, kernel: 'Expected an initialized dynptr as arg #2' },
    { v: 5 }, { v: 6 }, { v: 7 }, { v: 16 },
  ] satisfies RefusalCase[], { rule: 'dynptr' });
});

test("a dynptr slice's buffer its size overruns is refused as by the kernel, one of the right size not", (t) => {
  checkRefusalVariants(t, 'dynptr-buf', SOURCE, [{ v: 8, kernel: PAIR }, { v: 9 }, { v: 12, kernel: PAIR }, { v: 13 }], { rule: 'kfunc-arg' });
});

test("a kfunc's context argument given another pointer is refused in the kernel's words, ctx itself not", (t) => {
  checkRefusalVariants(t, 'kfunc-ctx', SOURCE, [
    { v: 10, kernel: `${CTX}pkt` }, { v: 11, kernel: `${CTX}fp` }, { v: 14, kernel: `${CTX}map_value` }, { v: 15, kernel: `${CTX}pkt_end` },
    { v: 17, kernel: `${CTX}pkt` }, { v: 18 },
  ], { rule: 'kfunc-arg' });
});
