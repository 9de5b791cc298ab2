// libbpf checks a kfunc extern's prototype against the running kernel's (bpf_core_types_are_compat): a forward
// declaration `struct nf_conn;` is a FWD where the kernel has a STRUCT, `void *` points to nothing where the kernel's
// parameter points to a struct, and the object is refused ("extern (func ksym) 'bpf_ct_release': func_proto [N]
// incompatible with kernel [M]"); the simulator linked and ran it. Found writing test/vm/kfunc-unreachable. A weak
// extern that does not match is refused as well by the libbpf the kernel side loads with (measured).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../simulator/elf/index.ts';
import { kernelBtf } from '../../simulator/elf/core.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { assertAgreesWithKernel, compileTestSource } from './kernel-agree.ts';

const SOURCE = (nfConn: string, releaseArg: string, weak: boolean) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif
struct bpf_ct_opts___local { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u8 reserved[2]; };
${nfConn}
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts___local *, __u32) __ksym;
extern void bpf_ct_release(${releaseArg}) __ksym${weak ? ' __weak' : ''};
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct bpf_sock_tuple tup = {};
  struct bpf_ct_opts___local opts = { .netns_id = -1, .l4proto = 6 };
  if (data + 38 > end) return XDP_PASS;
  __builtin_memcpy(&tup.ipv4, data + 26, 12);
  struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
  if (ct) {
${weak ? '    if (bpf_ksym_exists(bpf_ct_release)) ' : '    '}bpf_ct_release((void *)ct);
    return XDP_TX;
  }
  return opts.error == -2 ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

const packets = Array.from({ length: 4 }, (_, i) => {
  const b = new Uint8Array(64);
  b[12] = 0x08; b[14] = 0x45; b[23] = 6; b[26] = 10; b[29] = i + 1; b[30] = 10; b[33] = 9; b[35] = 80; b[37] = 80;
  return b;
});

const errorsOf = (objectPath: string, path: string) =>
  loadObject(readFileSync(objectPath), path).diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);

test("a kfunc extern whose prototype libbpf finds incompatible with the kernel's refuses the object, as libbpf does", (t) => {
  if (!kernelBtf()) { t.skip('no kernel BTF (/sys/kernel/btf/vmlinux): libbpf has nothing to compare with'); return; }
  const variants: [string, string, string][] = [
    ['kfunc-proto-fwd', 'struct nf_conn;', 'struct nf_conn *ct'],
    ['kfunc-proto-void', 'struct nf_conn { int status; };', 'void *ct'],
  ];
  const built = variants.map(([name, decl, arg]) => ({ name, ...compileTestSource(name, SOURCE(decl, arg, false)) }));
  // The forward declaration also makes bpf_xdp_ct_lookup's result a FWD: both externs fail, libbpf names the first.
  const names = { 'kfunc-proto-fwd': ['bpf_xdp_ct_lookup', 'bpf_ct_release'], 'kfunc-proto-void': ['bpf_ct_release'] } as Record<string, string[]>;
  for (const b of built) {
    const errs = errorsOf(b.objectPath, b.path);
    const got = errs.map((e) => /libbpf refuses the object: "extern \(func ksym\) '(\w+)': func_proto \[\d+\] incompatible with kernel \[\d+\]"/.exec(e)?.[1]);
    assert.deepEqual(got, names[b.name], `${b.name}: ${errs.join('\n')}`);
  }
  if (kernelOrSkip(t)) return;
  for (const b of built) {
    const name = /extern \(func ksym\) '(\w+)': func_proto \[\d+\] incompatible with kernel \[\d+\]/.exec(kernelRefusal(b.objectPath, 'prog'))?.[1];
    assert.ok(name && names[b.name]!.includes(name), `${b.name}: the kernel's libbpf said ${name}`);
  }
});

test('a compatible declaration loads and agrees with the kernel; a weak incompatible one is refused too', (t) => {
  if (!kernelBtf()) { t.skip('no kernel BTF (/sys/kernel/btf/vmlinux)'); return; }
  const good = compileTestSource('kfunc-proto-good', SOURCE('struct nf_conn { int status; };', 'struct nf_conn *ct', false));
  assert.deepEqual(errorsOf(good.objectPath, good.path), []);
  const weak = compileTestSource('kfunc-proto-weak', SOURCE('struct nf_conn { int status; };', 'void *ct', true));
  assert.match(errorsOf(weak.objectPath, weak.path).join('\n'), /extern \(func ksym\) 'bpf_ct_release': func_proto \[\d+\] incompatible with kernel/);
  if (kernelOrSkip(t)) return;
  // No connection in the kernel's (empty) table, nor in the simulator's: every lookup is -ENOENT.
  const run = assertAgreesWithKernel('kfunc-proto-good', SOURCE('struct nf_conn { int status; };', 'struct nf_conn *ct', false), packets, { netns: true });
  assert.ok(run.results.every((r) => r.retval === 1));
  assert.match(kernelRefusal(weak.objectPath, 'prog'), /extern \(func ksym\) 'bpf_ct_release': func_proto \[\d+\] incompatible with kernel/);
});
