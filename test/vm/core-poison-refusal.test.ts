// A CO-RE relocation libbpf cannot resolve against the kernel's BTF (a local type the kernel lacks, accessed with
// preserve_access_index) is poisoned: the instruction becomes `call 0xbad2310`, and the verifier refuses the program
// when its walk reaches it ("invalid func unknown#195896080", which libbpf's log turns into "failed to resolve CO-RE
// relocation <spec>"). `run` must say so before the first packet on the poisoned access's line, not name what the
// walk would meet after the call (found on a real VXLAN agent, whose report was "R1 !read_ok" further down). Near
// misses the kernel loads: the same access behind bpf_core_field_exists() / bpf_core_type_exists(), which libbpf
// turns into a constant 0 and the verifier never walks past, and a ___flavour of a kernel type that does resolve;
// those run packet for packet as BPF_PROG_TEST_RUN does, under both engines.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';
import { assertAgreesWithKernel } from './kernel-agree.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
struct my_tag { __u8 kind; __u8 mark; } __attribute__((preserve_access_index));
struct ethhdr___k { __u8 h_dest[6]; __u8 h_source[6]; __u16 h_proto; } __attribute__((preserve_access_index));
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
  struct my_tag *t = data;
  if (data + 14 > data_end) return XDP_PASS;
#if V == 1
  if (t->kind == 7) return XDP_DROP; /* E */
#elif V == 2
  if (bpf_core_field_exists(t->kind) && t->kind == 7) return XDP_DROP;
#elif V == 3
  if (((__u8 *)data)[12] == 0x86)
    if (t->mark == 9) return XDP_DROP; /* E */
#elif V == 4
  if (bpf_core_type_exists(struct my_tag)) return t->mark == 9 ? XDP_DROP : XDP_TX;
#elif V == 5
  struct ethhdr___k *e = data;
  if (e->h_proto == bpf_htons(0x0800)) return XDP_TX;
#endif
  return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: 'struct my_tag.kind (0:0 @ offset 0)' },
  { v: 2 },
  { v: 3, kernel: 'struct my_tag.mark (0:1 @ offset 1)' },
  { v: 4 },
  { v: 5 },
];

test('a poisoned CO-RE relocation on a path the verifier walks is refused before the first packet, in its words', (t) => {
  checkRefusalVariants(t, 'core-poison', SOURCE, CASES);
});

test('the guarded and resolving variants run as the kernel runs them, under both engines', (t) => {
  if (kernelOrSkip(t)) return;
  const frame = (proto: number, b0: number, b1: number) => {
    const f = new Uint8Array(60);
    f[0] = b0;
    f[1] = b1;
    f[12] = proto >> 8;
    f[13] = proto & 0xff;
    return f;
  };
  const packets = [frame(0x0800, 7, 9), frame(0x86dd, 7, 9), frame(0x0806, 1, 2), new Uint8Array(14).fill(7)];
  for (const v of [2, 4, 5]) assertAgreesWithKernel(`core-poison-run${v}`, `#define V ${v}\n${SOURCE}`, packets);
});
