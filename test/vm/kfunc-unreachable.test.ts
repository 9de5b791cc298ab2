// A kfunc the simulator does not model, called where the verifier never goes: code shared between an XDP and a TC
// program calls bpf_skb_ct_lookup (TC only) behind `if (skb)`, and the XDP side passes a NULL skb the verifier knows
// (adaricorp/tc-cpumap's dissector). The 6.18 kernel loads the XDP program and runs it; the simulator refused it
// ("kfunc 'bpf_skb_ct_lookup' is not modelled by XDP Lens"). Now it links the call (a warning names it) and runs the
// program; a packet that reached the call would stop with an error. With the call reachable the kernel refuses the
// program (6.18: "R1 must be referenced or trusted" on the call), and the simulator stops the first packet.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../simulator/elf/index.ts';
import { Session, loadProgramFile } from '../../simulator/session.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';

const SOURCE = (reachable: boolean) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct nf_conn { int status; };
struct bpf_ct_opts___local { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u8 reserved[2]; };
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 len,
                                         struct bpf_ct_opts___local *opts, __u32 opts_len) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } seen SEC(".maps");

/* Shared with a TC program in the original: the XDP side passes skb = NULL. */
static __attribute__((noinline)) int nat_lookup(struct __sk_buff *skb, __u32 saddr) {
  if (skb) {
    struct bpf_sock_tuple t = {};
    struct bpf_ct_opts___local o = { .netns_id = -1, .l4proto = 6 };
    t.ipv4.saddr = saddr;
    struct nf_conn *ct = bpf_skb_ct_lookup(skb, &t, sizeof(t.ipv4), &o, sizeof(o));
    if (ct) { bpf_ct_release(ct); return 2; }
    return 1;
  }
  return 0;
}

SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 34 > end) return XDP_DROP;
  volatile __u64 skb = ${reachable ? '(__u64)ctx' : '0'};
  __u32 k = nat_lookup((struct __sk_buff *)skb, *(__u32 *)(data + 26));
  __u64 *v = bpf_map_lookup_elem(&seen, &k);
  if (v) *v += 1 + ((__u8 *)data)[33];
  return k == 0 ? XDP_PASS : XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

const packets = Array.from({ length: 6 }, (_, i) => {
  const b = new Uint8Array(60 + i);
  b[12] = 0x08; b[14] = 0x45; b[23] = 6; b[26] = 10; b[29] = i; b[33] = i * 7;
  return b;
});

test('an unmodelled kfunc behind a branch the verifier proves dead: the kernel loads the program and the simulator runs it alike', (t) => {
  const { path, objectPath } = compileTestSource('kfunc-unreachable', SOURCE(false));
  const { diagnostics } = loadObject(readFileSync(objectPath), path);
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.ok(diagnostics.some((d) => d.severity === 'warning' && /kfunc 'bpf_skb_ct_lookup' is not modelled by XDP Lens \(the running kernel has it\)/.test(d.message)),
    diagnostics.map((d) => d.message).join('\n'));
  if (kernelOrSkip(t)) return;
  const kernel = assertAgreesWithKernel('kfunc-unreachable', SOURCE(false), packets);
  assert.ok(kernel.results.every((r) => r.retval === 2));
});

test('the same call reachable: the kernel refuses the program, the simulator stops the packet that reaches it', (t) => {
  const { path, objectPath } = compileTestSource('kfunc-reachable', SOURCE(true));
  const session = new Session(loadProgramFile(path), { program: 'prog' });
  const r = session.runPacket(packets[0]!);
  assert.equal(r.fault?.kind, 'unsupported');
  assert.match(r.fault?.message ?? '', /kfunc 'bpf_skb_ct_lookup' is not modelled by XDP Lens, and this packet reached the call/);
  if (kernelOrSkip(t)) return;
  // 6.18 checks the arguments first: the XDP context is not a referenced or trusted __sk_buff.
  assert.match(kernelRefusal(objectPath, 'prog'), /call bpf_skb_ct_lookup#\d+\n(R1 must be referenced or trusted|calling kernel function bpf_skb_ct_lookup is not allowed)/);
});
