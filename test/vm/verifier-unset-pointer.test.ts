// A header pointer a parse helper sets only when it succeeds, used although the helper failed (its result ignored):
// on the failing path the pointer's stack slot was never written, which the 6.18 verifier reads (for root) as an
// unknown number, so the dereference is refused, "R1 invalid mem access 'scalar'". The helper is a real function
// (noinline), so clang keeps the uninitialised read. `run` reports it before the first packet on the line marked E
// (simulator/verifier-bounds.ts scalarAccess): it reported nothing when the pointer was left uninitialised (only the
// NULL-initialised form, whose constant the bytecode tier knows). Near misses load: the result checked, or the pointer
// initialised to NULL and checked. Every variant is loaded into the running kernel too.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
static __attribute__((noinline)) int parse_ip(void *data, void *end, struct iphdr **out) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return -1;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return -1;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return -1;
  *out = ip;
  return 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
#if V == 1
  struct iphdr *ip;
  parse_ip(data, end, &ip);
  if (ip->protocol == 17) return XDP_DROP; /* E */
#elif V == 2
  struct iphdr *ip = NULL;
  parse_ip(data, end, &ip);
  if (ip->protocol == 17) return XDP_DROP; /* E */
#elif V == 3
  struct iphdr *ip;
  int err = parse_ip(data, end, &ip);
  ip->ttl = err; /* E */
#elif V == 4
  struct iphdr *ip;
  if (parse_ip(data, end, &ip) < 0) return XDP_PASS;
  if (ip->protocol == 17) return XDP_DROP;
#elif V == 5
  struct iphdr *ip = NULL;
  parse_ip(data, end, &ip);
  if (ip && ip->protocol == 17) return XDP_DROP;
#endif
  return XDP_PASS;
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: "invalid mem access 'scalar'" },
  { v: 2, kernel: "invalid mem access 'scalar'" },
  { v: 3, kernel: "invalid mem access 'scalar'" },
  { v: 4 }, { v: 5 },
];

test('a header pointer left unset by a failed parse helper whose result is ignored: refused before the first packet as the kernel refuses it', (t) => {
  checkRefusalVariants(t, 'unset-pointer', SOURCE, CASES, { rule: 'pointer-misuse' });
});
