// The kernel tier: the verifier's log mapped to the source line it names, explained in plain words. The parsing is
// tested on a log the kernel printed; the whole path runs against the real kernel where it is available.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLoadOutput, explain, kernelVerifierUnavailable, libbpfCouldNotOpen } from '../../simulator/analysis/verifier.ts';
import { bytecodeFindings } from '../../simulator/analysis/index.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const LOG = `libbpf: prog 'prog': BPF program load failed: Permission denied
libbpf: prog 'prog': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; int prog(struct xdp_md *ctx) @ ctx_write.c:5
0: (b7) r2 = 0                        ; R2=0
; ctx->rx_queue_index = 0; @ ctx_write.c:7
1: (63) *(u32 *)(r1 +16) = r2
invalid bpf_context access off=16 size=4
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'prog': failed to load: -13
`;

/** The kernel tier can run here (bpf() as root, bpftool); else the test skips with the reason (fails under XDP_LENS_REQUIRE_KERNEL=1). */
function kernelVerifierOrSkip(t: TestContext): boolean {
  if (kernelOrSkip(t)) return false;
  const why = kernelVerifierUnavailable();
  if (!why) return true;
  if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(why);
  t.skip(why);
  return false;
}

test('a verifier log becomes a finding on the line its last annotation names, with the rule it matches', () => {
  const r = parseLoadOutput(LOG, '/src/ctx_write.c');
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.deepEqual([f.file, f.line, f.rule, f.tier], ['/src/ctx_write.c', 7, 'ctx-write', 'verifier']);
  assert.match(f.message, /xdp_md\.rx_queue_index.*read-only.*invalid bpf_context access off=16 size=4/);
  assert.equal(r.logs.length, 1);
});

// The 6.18 kernel's log of \`for (;;) { i++; if (i == -1) break; }\` on a volatile stack int: the error comes before
// the two loop states and the time; the finding quoted "old state: R1=..." (the line before the summary).
test('an infinite loop: the finding is the error line, not the loop states or the timing lines after it', () => {
  const log = `libbpf: prog 'p': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; SEC("xdp") int p(struct xdp_md *c) { volatile int i = 0; for (;;) { i++; if (i == -1) break; } return XDP_PASS; } @ loop.c:3
8: (5d) if r2 != r1 goto pc-5         ; R1=0xffffffff R2=0xffffffff
9: (b7) r0 = 2                        ; R0=2
10: (95) exit
infinite loop detected at insn 4
cur state: R1=0xffffffff R2=scalar(smin=0,smax=umax=umax32=0xfffffffe,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8=mmmm????
old state: R1=0xffffffff R2=scalar(smin=0,smax=umax=umax32=0xfffffffe,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8=mmmm????
verification time 133 usec
stack depth 8
processed 18 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'p': failed to load: -22
`;
  const f = parseLoadOutput(log, '/src/loop.c').findings[0]!;
  assert.equal(f.line, 3);
  assert.match(f.message, /cannot prove that a loop ends.*"infinite loop detected at insn 4"/);
  assert.doesNotMatch(f.message, /state:|verification time|stack depth/);
});

test('verifier messages are explained in plain words', () => {
  assert.equal(explain('write into map forbidden, value_size=4 off=0 size=4').rule, 'readonly-write');
  const pkt = explain('invalid access to packet, off=6 size=1, R1(id=0,off=6,r=4)');
  assert.equal(pkt.rule, 'unchecked-packet-access');
  assert.match(pkt.text, /only the first 4 bytes were proven/);
  assert.match(explain("R2 invalid mem access 'map_value_or_null'").text, /may be NULL/);
  assert.match(explain("R6 invalid mem access 'scalar'").text, /reload data and data_end/);
  assert.match(explain('invalid bpf_context access off=20 size=4', '3: (61) r0 = *(u32 *)(r1 +20)').text, /DEVMAP/);
});

// Each finding says the verifier's words once: with words of our own they follow as a quote, without them they are the
// message (a size clamped in a 32-bit copy while the call gets the 64-bit register, as clang builds `if (n > 64) n = 64`).
test('a verifier message is quoted once, after plain words where there are some', () => {
  const log = (msg: string) => LOG.replace('invalid bpf_context access off=16 size=4', msg);
  const size = "R2 min value is negative, either use unsigned or 'var &= const'";
  const s = parseLoadOutput(log(size), '/src/ctx_write.c').findings[0]!;
  assert.match(s.message, /^The size given to a helper \(R2\) may be negative/);
  const other = 'unknown func bpf_nonexistent#999';
  const o = parseLoadOutput(log(other), '/src/ctx_write.c').findings[0]!;
  assert.equal(o.message, `The kernel verifier refuses program prog: "${other}"`);
  for (const f of [s, o]) assert.equal(f.message.split(f.message.includes('size') ? 'min value is negative' : other).length, 2, f.message);
  const stack = parseLoadOutput(log('combined stack size of 3 calls is 608. Too large'), '/src/ctx_write.c').findings[0]!;
  assert.equal(stack.message.split('combined stack size').length, 2, stack.message);
});

test('kernel tier: a NULL map value dereference only the verifier reports, on its line', (t) => {
  if (!kernelVerifierOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-verifier-'));
  const src = join(dir, 'nullderef.c');
  writeFileSync(
    src,
    `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	*v += 1;
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const r = bytecodeFindings(src, { kernel: true });
  const v = r.findings.filter((f) => f.tier === 'verifier');
  assert.equal(v.length, 1, JSON.stringify(r));
  assert.equal(v[0]!.line, 11);
  assert.equal(v[0]!.file, src);
  assert.match(v[0]!.message, /may be NULL/);
  // A program the kernel accepts gives no verifier finding and leaves nothing pinned.
  const ok = join(dir, 'ok.c');
  writeFileSync(ok, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int prog(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n');
  assert.deepEqual(bytecodeFindings(ok, { kernel: true }).findings, []);
});

test('bpftool failing to open an object (libbpf 1.1 and a .bss.<name> section) is said as that, not as a kernel refusal', (t) => {
  // What bpftool 7.1 printed for such an object here.
  const log = "libbpf: elf: skipping section(5) .bss.A (size 8)\nlibbpf: prog 'prog': bad map relo against 'counter' in section '.bss.A'\nError: failed to open object file\n";
  assert.match(libbpfCouldNotOpen(log) ?? '', /could not open the object \(prog 'prog': bad map relo against 'counter' in section '\.bss\.A'\), so it was never handed to the kernel/);
  assert.equal(libbpfCouldNotOpen(LOG), undefined);
  if (!kernelVerifierOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-verifier-'));
  const src = join(dir, 'bss_section.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n__u64 counter SEC(".bss.A");\nSEC("xdp") int prog(struct xdp_md *ctx) { counter++; return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n');
  const r = bytecodeFindings(src, { kernel: true });
  // The kernel loads this program (libbpf >= 1.2 opens the section); whichever bpftool is installed, no refusal.
  assert.deepEqual(r.findings.filter((f) => f.tier === 'verifier'), [], JSON.stringify(r));
});

test('kernel tier: each XDP program is verified alone with its own type; tc, tracepoint and devmap programs are not forced to XDP', (t) => {
  if (kernelOrSkip(t)) return;
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(why);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-verifier-'));
  const src = join(dir, 'several.c');
  // Loaded as XDP, the tc program (skb->len), the tracepoint program (its args) and the pre-libbpf-1.0 devmap
  // program (egress_ifindex needs expected attach type BPF_XDP_DEVMAP) would each be refused.
  writeFileSync(
    src,
    `#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } xlv_counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); __uint(pinning, LIBBPF_PIN_BY_NAME); } xlv_pinned SEC(".maps");

SEC("tc") int tc_len(struct __sk_buff *skb) { __u32 k = 1; __u64 *v = bpf_map_lookup_elem(&xlv_counts, &k); if (v) *v += skb->len; return TC_ACT_OK; }
SEC("tracepoint/syscalls/sys_enter_write") int tp_write(unsigned long long *ctx) { __u32 k = 2; __u64 *v = bpf_map_lookup_elem(&xlv_counts, &k); if (v) *v += ctx[2]; return 0; }
SEC("xdp_devmap/egress") int dm_prog(struct xdp_md *ctx) { return ctx->egress_ifindex == 3 ? XDP_DROP : XDP_PASS; }
SEC("xdp_sock") int xdp_ok(struct xdp_md *ctx) { __u32 k = 0; __u32 *p = bpf_map_lookup_elem(&xlv_pinned, &k); return p ? XDP_DROP : XDP_PASS; }
SEC("xdp")
int xdp_bad(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[20] ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const pinsBefore = readdirSync('/sys/fs/bpf').filter((n) => n.startsWith('xlv_'));
  const r = bytecodeFindings(src, { kernel: true, flags: ['-I/usr/include/x86_64-linux-gnu'] });
  const v = r.findings.filter((f) => f.tier === 'verifier');
  assert.deepEqual(v.map((f) => [f.line, f.rule]), [[16, 'unchecked-packet-access']], JSON.stringify(r));
  assert.deepEqual(readdirSync('/sys/fs/bpf').filter((n) => n.startsWith('xlv_')), pinsBefore, 'the pinned-by-name map was pinned only in a private bpffs');
});
