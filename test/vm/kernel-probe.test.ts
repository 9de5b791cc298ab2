// The running kernel decides which helpers an XDP program may call (simulator/kernel-probe.ts): a kernel build can take
// a helper from XDP that 6.18 gives it (one of ours refuses bpf_xdp_adjust_meta). Then `run` must say the kernel
// refuses the program, before the first packet, on the call's line, and still show what the program would do; with
// no answer from the kernel (no root, XDP_LENS_KERNEL_PROBE=0) the 6.18 table stands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { resetKernelFacts, runningKernelFacts } from '../../simulator/kernel-probe.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { XDP_FORBIDDEN_HELPERS_618, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';

const source = (call: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  if (${call}(ctx, -4))
    return XDP_DROP;
  return XDP_TX;
}
`;

function withEnv<T>(vars: Record<string, string | undefined>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  resetKernelFacts();
  try {
    return body();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    resetKernelFacts();
  }
}

function refusalLines(path: string): { line: number; message: string }[] {
  const obj = loadProgramFile(path);
  const session = new Session(obj, { program: 'prog' });
  return refusalsBeforeRun(obj, session.program, session.machine).map((r) => ({ line: r.line ?? 0, message: r.message }));
}

test('a helper a kernel build takes from XDP: refused before the first packet on the call\'s line, the packets still run as modelled', () => {
  let version: string;
  try {
    version = readFileSync('/proc/version', 'utf8').trim();
  } catch {
    return;
  }
  const { path } = compileTestSource('probe-head', source('bpf_xdp_adjust_head'));
  // A cached answer for this very build that takes bpf_xdp_adjust_head (44) from XDP.
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-probe-'));
  mkdirSync(join(dir, 'xdp-lens-kernel'), { recursive: true, mode: 0o755 });
  const file = join(dir, 'xdp-lens-kernel', `${createHash('sha256').update(version).digest('hex').slice(0, 20)}.json`);
  writeFileSync(file, JSON.stringify({ kernel: version, probedAt: 'test', helperMax: 211, xdpForbiddenHelpers: [...XDP_FORBIDDEN_HELPERS_618, 44] }));
  withEnv({ TMPDIR: dir, XDP_LENS_KERNEL_PROBE: undefined }, () => {
    assert.ok(xdpForbiddenHelpers().has(44));
    const refusals = refusalLines(path);
    assert.equal(refusals.length, 1, JSON.stringify(refusals));
    assert.equal(refusals[0].line, 6);
    assert.match(refusals[0].message, /cannot use helper bpf_xdp_adjust_head#44 \(this kernel build does not give it to XDP programs, though the 6\.18 kernel does\)/);
    for (const engine of ENGINES) {
      const r = new Session(loadProgramFile(path), { program: 'prog', engine }).runPacket(new Uint8Array(64));
      assert.equal(r.fault, undefined, engine);
      assert.equal(r.action, 'XDP_TX', engine);
      assert.equal(r.data.length, 68, engine);
    }
  });
  // The 6.18 table when told not to ask the kernel, and when the cache is for another build.
  withEnv({ TMPDIR: dir, XDP_LENS_KERNEL_PROBE: '0' }, () => {
    assert.equal(xdpForbiddenHelpers(), XDP_FORBIDDEN_HELPERS_618);
    assert.deepEqual(refusalLines(path), []);
  });
  // An answer someone other than root could have written (here: the file given to nobody) is not used.
  if (process.getuid?.() === 0) {
    chownSync(file, 65534, 65534);
    withEnv({ TMPDIR: dir, XDP_LENS_KERNEL_PROBE: undefined }, () => {
      resetKernelFacts();
      const facts = runningKernelFacts();
      assert.ok(!facts || !facts.xdpForbiddenHelpers.includes(44), 'a file root did not make was read');
    });
    chownSync(file, 0, 0);
  }
  writeFileSync(file, JSON.stringify({ kernel: `${version} (another)`, probedAt: 'test', helperMax: 211, xdpForbiddenHelpers: [44] }));
  withEnv({ TMPDIR: dir, XDP_LENS_KERNEL_PROBE: undefined }, () => {
    const facts = runningKernelFacts();
    // Another build's answer is not used: the kernel is asked again (root) or the 6.18 table stands.
    if (facts) assert.equal(facts.kernel, version);
    else assert.equal(xdpForbiddenHelpers(), XDP_FORBIDDEN_HELPERS_618);
  });
});

test('every helper the running kernel takes from XDP against 6.18 is refused by run as by the kernel; the rest of 1-211 as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  resetKernelFacts();
  const facts = runningKernelFacts();
  assert.ok(facts, 'the kernel can be asked as root, so its answer must be there');
  const differ = [...new Set([...facts.xdpForbiddenHelpers, ...XDP_FORBIDDEN_HELPERS_618])]
    .filter((id) => xdpForbiddenHelpers().has(id) !== XDP_FORBIDDEN_HELPERS_618.has(id));
  t.diagnostic(`running kernel: ${facts.xdpForbiddenHelpers.length} helpers refused for XDP; differing from 6.18: ${differ.join(', ') || 'none'}`);
  // Each differing id, plus one 6.18 refuses and one it allows, loaded by the kernel from a real C program.
  for (const id of [...differ, 9, 44]) {
    const { path, objectPath } = compileTestSource(`probe-${id}`, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  long (*f)(long, long, long, long, long) = (void *)${id};
  return f((long)ctx, 0, 0, 0, 0) & 3;
}
`);
    const log = kernelRefusal(objectPath, 'prog');
    const kernelRefuses = /program of this type cannot use helper/.test(log);
    assert.equal(xdpForbiddenHelpers().has(id), kernelRefuses, `helper ${id}`);
    const said = refusalLines(path).some((r) => new RegExp(`cannot use helper bpf_\\w+#${id}\\b`).test(r.message));
    assert.equal(said, kernelRefuses, `helper ${id}: run's refusals before the first packet`);
  }
});

// A call no packet reaches still makes the kernel refuse the object when its walk reaches it: in a bpf_loop callback,
// in a static subprogram behind a branch no packet takes, in a program the entry tail-calls (libbpf loads it with the
// object, as the harness does). `run` must say so before the first packet whenever the kernel refuses (it missed the
// tail-called program's call before: R's fuzz rounds on 6.18.44-fc-v1300, which refuses bpf_xdp_adjust_meta).
const UNREACHED: Record<string, string> = {
  callback: `struct box { struct xdp_md *ctx; long n; };
static long cb(__u32 i, void *c) {
  struct box *b = c;
  if (b->n > 100000)
    return bpf_xdp_adjust_meta(b->ctx, -4) ? 1 : 0;
  return 0;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct box b = { ctx, (long)ctx->data_end - (long)ctx->data };
  bpf_loop(1, cb, &b, 0);
  return XDP_PASS;
}
`,
  subprogram: `static __attribute__((noinline)) int meta(struct xdp_md *ctx) {
  return bpf_xdp_adjust_meta(ctx, -4) ? XDP_DROP : XDP_TX;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  if ((long)ctx->data_end - (long)ctx->data > 100000)
    return meta(ctx);
  return XDP_PASS;
}
`,
  'tail-call target': `int t1(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = { .values = { [1] = (void *)&t1 } };
SEC("xdp")
int prog(struct xdp_md *ctx) {
  if ((long)ctx->data_end - (long)ctx->data > 100000)
    bpf_tail_call(ctx, &jt, 1);
  return XDP_PASS;
}
SEC("xdp")
int t1(struct xdp_md *ctx) {
  return bpf_xdp_adjust_meta(ctx, -4) ? XDP_DROP : XDP_TX;
}
`,
};

for (const [where, body] of Object.entries(UNREACHED)) {
  test(`bpf_xdp_adjust_meta only in a ${where} no packet reaches: run refuses the object before the first packet exactly when the kernel does`, (t) => {
    if (kernelOrSkip(t)) return;
    resetKernelFacts();
    const { path, objectPath } = compileTestSource(`unreached-${where.replace(/\W/g, '-')}`, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
${body}`);
    const log = kernelRefusal(objectPath, 'prog');
    const kernelRefuses = /program of this type cannot use helper bpf_xdp_adjust_meta#54/.test(log);
    assert.equal(kernelRefuses, xdpForbiddenHelpers().has(54), `the kernel's log: ${log.slice(-400)}`);
    assert.ok(kernelRefuses || !log, `the kernel refuses it for something else: ${log.slice(-400)}`);
    const said = refusalLines(path).filter((r) => /cannot use helper bpf_xdp_adjust_meta#54/.test(r.message));
    assert.equal(said.length, kernelRefuses ? 1 : 0, JSON.stringify(said));
    t.diagnostic(`${where}: the kernel ${kernelRefuses ? 'refuses' : 'loads'} it; run ${said.length ? `says so on line ${said[0]!.line}` : 'reports no refusal'}`);
  });
}
