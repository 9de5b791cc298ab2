// Helper arguments of a type the 6.18 verifier refuses (check_func_arg, in argument order): a number, the context, a
// map value that may be NULL or data_end where a map key or value is wanted ("R2 type=scalar expected=fp, pkt, ..."),
// anything but a map where a map is wanted ("R1 type=pkt expected=map_ptr"), anything but the context where the
// context is wanted, a packet pointer given to a helper that may not read the packet; and the value of a failed
// bpf_tail_call returned ("R0 !read_ok"). `run` reports them before the first packet on the line marked E
// (simulator/analysis/bytecode/engine.ts checkArgTypes, exitChecks). Near misses load: the tail call followed by a
// return of its own, a checked map value, a packet pointer as a key, a stack key never written (root may pass it), a
// checked map value as a key, stack data for perf output, and a wrong argument behind a const volatile flag the
// verifier reads as 0. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } dm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } pe SEC(".maps");
const volatile int flag = 0;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
#if V == 1
  return bpf_tail_call(ctx, &jt, 0); /* E */
#elif V == 2
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  bpf_map_update_elem(&arr, &k, v, 0); /* E */
#elif V == 3
  bpf_map_lookup_elem(&h, (void *)(long)ctx->ingress_ifindex); /* E */
#elif V == 4
  bpf_map_lookup_elem(&h, ctx); /* E */
#elif V == 5
  bpf_map_lookup_elem(data, &k); /* E */
#elif V == 6
  return bpf_redirect_map(ctx, 0, 0); /* E */
#elif V == 7
  bpf_tail_call(ctx, 0, 0); /* E */
#elif V == 8
  bpf_perf_event_output(ctx, &pe, BPF_F_CURRENT_CPU, data, 4); /* E */
#elif V == 9
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  if (!v) return XDP_DROP;
  bpf_map_lookup_elem(v, &k); /* E */
#elif V == 10
  asm volatile("r1 = 0; r2 = 0; r3 = 0; call 12" ::: "r0", "r1", "r2", "r3", "r4", "r5"); /* E */
#elif V == 11
  bpf_map_delete_elem(&h, data_end); /* E */
#elif V == 12
  bpf_map_lookup_elem(&h, (void *)0); /* E */
#elif V == 21
  struct bpf_fib_lookup *f = (void *)(long)ctx->ingress_ifindex;
  bpf_fib_lookup(ctx, f, sizeof(*f), 0); /* E */
#elif V == 22
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  bpf_xdp_load_bytes(ctx, 0, v, 8); /* E */
#elif V == 23
  struct bpf_sock_tuple *t = (void *)(long)ctx->rx_queue_index;
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, t, sizeof(t->ipv4), -1, 0); /* E */
  if (sk) bpf_sk_release(sk);
#elif V == 24
  __u64 buf = 0;
  bpf_xdp_load_bytes(ctx, 0, &buf, 8);
  bpf_xdp_store_bytes(ctx, 0, &buf, 8);
#elif V == 25
  struct bpf_fib_lookup f = {};
  bpf_fib_lookup(ctx, &f, sizeof(f), 0);
#elif V == 13
  bpf_tail_call(ctx, &jt, 0);
  return XDP_PASS;
#elif V == 14
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  if (v) bpf_map_update_elem(&arr, &k, v, 0);
#elif V == 15
  if (data + 4 > data_end) return XDP_DROP;
  bpf_map_lookup_elem(&h, data);
#elif V == 16
  __u32 u;
  bpf_map_lookup_elem(&h, &u);
#elif V == 17
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_DROP;
  bpf_map_lookup_elem(&h, v);
#elif V == 18
  bpf_perf_event_output(ctx, &pe, BPF_F_CURRENT_CPU, &k, 4);
#elif V == 19
  if (flag) bpf_map_lookup_elem(&h, ctx);
#elif V == 20
  return bpf_redirect_map(&dm, 0, 0);
#endif
  return XDP_PASS;
}
`;

const KEY = 'expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';
const CASES: RefusalCase[] = [
  { v: 1, kernel: 'R0 !read_ok' },
  { v: 2, kernel: `R3 type=map_value_or_null ${KEY}` },
  { v: 3, kernel: `R2 type=scalar ${KEY}` },
  { v: 4, kernel: `R2 type=ctx ${KEY}` },
  { v: 5, kernel: 'R1 type=pkt expected=map_ptr' },
  { v: 6, kernel: 'R1 type=ctx expected=map_ptr' },
  { v: 7, kernel: 'R2 type=scalar expected=map_ptr' },
  { v: 8, kernel: 'helper access to the packet is not allowed' },
  { v: 9, kernel: 'R1 type=map_value expected=map_ptr' },
  { v: 10, kernel: 'R1 type=scalar expected=ctx' },
  { v: 11, kernel: `R2 type=pkt_end ${KEY}` },
  { v: 12, kernel: `R2 type=scalar ${KEY}` },
  { v: 21, kernel: `R2 type=scalar ${KEY}` },
  { v: 22, kernel: `R3 type=map_value_or_null ${KEY}` },
  { v: 23, kernel: `R2 type=scalar ${KEY}` },
  { v: 13 }, { v: 14 }, { v: 15 }, { v: 16 }, { v: 17 }, { v: 18 }, { v: 19 }, { v: 20 },
];

test('helper arguments of the wrong type and a failed tail call\'s r0: refused before the first packet as the kernel refuses them', (t) => {
  checkRefusalVariants(t, 'helper-arg-types', SOURCE, CASES, { rule: 'pointer-misuse' });
});
