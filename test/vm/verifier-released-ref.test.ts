// A socket from bpf_sk_lookup_* used after bpf_sk_release, a ring buffer record written after bpf_ringbuf_submit: the
// verifier turns every copy of a released reference into a number (release_reference), so the access is refused at load
// ("R6 invalid mem access 'scalar'"); `run` reports it before the first packet on the line marked E
// (simulator/analysis/bytecode/engine.ts). Near misses: the field read before the release, a pointer derived from the
// record written before the discard, released sockets and records not touched again. Every variant is loaded into the
// running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_sock_tuple t = {};
#if V == 1
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  return 2;
#elif V == 2
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  bpf_sk_release(sk);
  return 2;
#elif V == 3
  struct bpf_sock *sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (sk && ctx->rx_queue_index == 3) bpf_sk_release(sk);
  return 2;
#elif V == 4
  __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0); if (!e) return 1;
  if (ctx->rx_queue_index) { bpf_ringbuf_discard(e, 0); return 1; }
  return 2;
#elif V == 5
  struct bpf_sock *sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  int s = sk->state; bpf_sk_release(sk); return s & 1;
#elif V == 6
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  bpf_sk_release(sk);
  return sk->state & 1; /* E */
#elif V == 7
  __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0); if (!e) return 1;
  bpf_ringbuf_submit(e, 0);
  *e = 1; /* E */
  return 2;
#elif V == 8
  __u64 *e = bpf_ringbuf_reserve(&rb, 16, 0); if (!e) return 1;
  __u64 *f = e + 1;
  *f = 2;
  bpf_ringbuf_discard(e, 0);
  return 2;
#elif V == 9
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  int s = sk->state;
  bpf_sk_release(sk);
  return s & 1;
#endif
}
`;

const CASES: RefusalCase[] = [
  { v: 2 }, { v: 5 },
  { v: 6, kernel: "invalid mem access 'scalar'" },
  { v: 7, kernel: "invalid mem access 'scalar'" },
  { v: 8 }, { v: 9 },
];


test('a released socket or submitted ring buffer record used again: refused as by the kernel, near misses not', (t) => {
  checkRefusalVariants(t, 'releasedref', SOURCE, CASES);
});
