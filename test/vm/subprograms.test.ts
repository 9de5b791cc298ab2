// Register and stack rules of bpf-to-bpf calls, the simulator against the kernel verifier and BPF_PROG_TEST_RUN:
//   - a `static void` noinline callee, and a callee whose constant return clang removed, return without writing r0;
//     the kernel loads both (r0 is checked only at the main program's exit, on the paths that reach it), so must we,
//     with every packet's verdict, bytes and maps equal to the kernel's;
//   - a read of r0 after a void call on a path the verifier proves dead (a `const volatile` flag) loads; the same read
//     on a path it cannot rule out is refused by the kernel, and here faults only the packets that take that path;
//   - the combined stack of a call chain: the kernel's refusal ("combined stack size of N calls is M. Too large")
//     word for word, or acceptance, for chains of several frame sizes;
//   - a read of a stack slot never written: root's kernel loads it (allow_uninit_stack), we run it and flag the
//     packet with the instruction and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { opcodeInfo } from '../../simulator/isa/opcodes.ts';
import { registerChecks, stackLimits } from '../../simulator/isa/validate.ts';
import { PROGS_DIR, privateBpffsUnavailable, runWithPrivateBpffs, sq } from '../../simulator/kernel-load.ts';
import { REPO } from '../repo.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-subprog-'));
const HEAD = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
`;

function write(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, HEAD + body);
  return path;
}

const packets = syntheticCorpus().map((p) => p.bytes);

/** Run `path` through the kernel and the simulator; every packet and the final maps must agree. */
function agree(path: string): string[] {
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const kernel = runKernel(compiled.objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  const session = new Session(loadProgramFile(path), { program: 'prog', nrCpus: kernel.cpus, cpu: 0 });
  const problems: string[] = [];
  packets.forEach((bytes, i) => {
    const s = session.runPacket(bytes);
    const k = kernel.results[i];
    if (s.fault) problems.push(`packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
    if (k.errno === undefined && k.retval !== s.retval) problems.push(`packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
    const d = k.errno === undefined ? diffBytes(k.out, s.out) : undefined;
    if (d) problems.push(`packet ${i}: ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())));
  return problems;
}

/** The kernel's refusal of `path` (the verifier log's reason line), or undefined when it loads. */
function kernelRefusal(path: string, pattern: RegExp): string | undefined {
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  try {
    runKernel(compiled.objectPath, 'prog', packets.slice(0, 1));
    return undefined;
  } catch (e) {
    if (!(e instanceof KernelLoadError)) throw e;
    const line = e.log.split('\n').find((l) => pattern.test(l));
    assert.ok(line, `the kernel refused ${path} for another reason:\n${e.log.split('\n').slice(-15).join('\n')}`);
    return line!.match(pattern)![0];
  }
}

const VOID_CALLEES = `
__u64 hits[4];

static __attribute__((noinline)) void note(__u32 i)
{
	hits[i & 3]++;
}

/* clang sees that count() always returns 0, drops the test in the caller and the r0 write in count(). */
static __attribute__((noinline)) int count(__u32 i)
{
	hits[(i + 2) & 3] += 2;
	return 0;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		note(0);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (count(1))
			return XDP_DROP;
		return XDP_TX;
	}
	return XDP_PASS;
}
`;

test('a void callee and a callee whose constant return clang removed run as the kernel runs them', (t) => {
  if (kernelOrSkip(t)) return;
  const path = write('void_callees.c', VOID_CALLEES);
  // The premise: the compiled callees really exit without writing r0.
  const obj = loadProgramFile(path);
  const prog = obj.programs.find((p) => p.name === 'prog')!;
  for (const f of prog.funcs.slice(1)) {
    const end = prog.funcs.find((g) => g.insn > f.insn)?.insn ?? prog.insns.length;
    const writesR0 = prog.insns.slice(f.insn, end).some((i) => {
      const kind = opcodeInfo(i.opcode)?.kind;
      return kind === 'call' || (i.dst === 0 && (kind === 'alu' || kind === 'ldx' || kind === 'ldxsx' || kind === 'lddw' || kind === 'end'));
    });
    assert.equal(writesR0, false, `${f.name} writes r0: the test no longer covers the case`);
  }
  assert.deepEqual(agree(path), []);
});

const READ_AFTER_VOID = (guard: string) => `
__u64 hits[4];
const volatile __u32 debug = 0;

static __attribute__((noinline)) void note(__u32 i)
{
	hits[i & 3]++;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 v = 0;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	note(1);
	if (${guard})
		asm volatile("%0 = r0" : "=r"(v)); /* r0 after a void call: never written */
	return v == 12345 ? XDP_DROP : XDP_PASS;
}
`;

test('a read of r0 after a void call on a path the verifier proves dead loads and runs', (t) => {
  if (kernelOrSkip(t)) return;
  const path = write('read_dead.c', READ_AFTER_VOID('debug'));
  assert.deepEqual(agree(path), []);
});

test('a read of r0 after a void call on a live path: the kernel refuses, the simulator faults only packets taking it', (t) => {
  if (kernelOrSkip(t)) return;
  const path = write('read_live.c', READ_AFTER_VOID('eth->h_proto == bpf_htons(ETH_P_IPV6)'));
  assert.match(kernelRefusal(path, /R0 !read_ok/) ?? 'loaded', /R0 !read_ok/);
  const session = new Session(loadProgramFile(path), { program: 'prog' });
  let faulted = 0;
  let clean = 0;
  for (const bytes of packets) {
    const r = session.runPacket(bytes);
    const ipv6 = bytes.length >= 14 && bytes[12] === 0x86 && bytes[13] === 0xdd;
    if (ipv6) {
      assert.equal(r.fault?.kind, 'uninit-register');
      assert.match(r.fault!.message, /R0 !read_ok.*kernel verifier refuses/);
      assert.ok(r.fault!.loc && r.fault!.loc.line > 0, 'the fault names a source line');
      faulted++;
    } else {
      assert.equal(r.fault, undefined, `packet without IPv6 faulted: ${r.fault?.message}`);
      clean++;
    }
  }
  assert.ok(faulted > 0 && clean > 0, `both kinds of packet ran (${faulted} faulted, ${clean} clean)`);
});

test('register checks on: bpf_loop callbacks, a tail call and a void callee in one program run as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  // The dead read of r0 (a const volatile flag) makes the register checks run on every packet; the rest must not
  // trip them: callback entries and exits, the loop's result, a tail call's fresh registers, a void call.
  const path = write('checked.c', `
__u64 hits[4];
const volatile __u32 debug = 0;

static __attribute__((noinline)) void note(__u32 i)
{
	hits[i & 3]++;
}

static long step(__u32 i, void *data)
{
	hits[2] += i;
	return i >= 5;
}

SEC("xdp")
int second(struct xdp_md *ctx)
{
	note(3);
	return XDP_TX;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} jmp SEC(".maps") = { .values = { [1] = (void *)&second } };

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 v = 0;
	long n = bpf_loop(8, step, 0, 0);
	note(1);
	if (debug)
		asm volatile("%0 = r0" : "=r"(v));
	if (ctx->data_end - ctx->data > 100)
		bpf_tail_call(ctx, &jmp, 1);
	return v == 12345 ? XDP_ABORTED : n == 6 ? XDP_PASS : XDP_DROP;
}
`);
  const prog = loadProgramFile(path).programs.find((p) => p.name === 'prog')!;
  assert.ok(registerChecks(prog.insns), 'the premise: the program runs with register checks');
  assert.deepEqual(agree(path), []);
});

test('each function\'s stack depth is the verifier\'s (its log\'s "stack depth"), over the parity programs', (t) => {
  if (kernelOrSkip(t)) return;
  const why = privateBpffsUnavailable() ?? (spawnSync('bpftool', ['version']).status === 0 ? undefined : 'bpftool is not installed');
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
    t.skip(why);
    return;
  }
  const programs = join(REPO, 'test', 'parity', 'programs');
  const problems: string[] = [];
  let compared = 0;
  for (const f of readdirSync(programs).filter((x) => x.endsWith('.c'))) {
    const flags = f.startsWith('p16') ? ['-mcpu=v3'] : [];
    const compiled = compileC(join(programs, f), { flags });
    assert.ok(compiled.objectPath, compiled.stderr);
    // bpftool -d logs every program's verification, ending with "stack depth A+B+..." (one per function).
    // (The helper removes `tmp` when interrupted: give it a directory of its own.)
    const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-depth-'));
    const r = runWithPrivateBpffs(`bpftool -d prog loadall ${sq(compiled.objectPath)} ${PROGS_DIR}/p type xdp 2>&1`, tmp, 60000);
    rmSync(tmp, { recursive: true, force: true });
    const kernel = new Map<string, string>();
    let current = '';
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = line.match(/prog '([^']+)': -- BEGIN PROG LOAD LOG/);
      if (m) current = m[1]!;
      const d = line.match(/^stack depth ([\d+]+)/);
      if (d && current) kernel.set(current, d[1]!);
    }
    for (const p of loadProgramFile(join(programs, f), { clangFlags: flags }).programs) {
      const k = kernel.get(p.name);
      // bpf_loop calls the kernel inlines get 24 more bytes after the stack check, and the log shows those too.
      if (k === undefined || p.insns.some((i) => i.opcode === 0x85 && i.src === 0 && i.imm === 181)) continue;
      compared++;
      const ours = stackLimits(p.insns).depths.join('+');
      if (ours !== k) problems.push(`${f} ${p.name}: kernel ${k}, simulator ${ours}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(compared >= 20, `compared ${compared} programs`);
  t.diagnostic(`stack depths compared with the kernel's: ${compared} programs`);
});

/** A chain main -> f1 -> f2 ... where frame i fills sizes[i] bytes of its stack from the packet. */
function chain(sizes: number[]): string {
  const frame = (i: number) => `	__u8 buf[${sizes[i]}];
	if (bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf)))
		return 0;
	return buf[0] + buf[${sizes[i] - 1}]${i + 1 < sizes.length ? ` + f${i + 1}(ctx)` : ''};`;
  const fns: string[] = [];
  for (let i = sizes.length - 1; i >= 1; i--) fns.push(`static __attribute__((noinline)) int f${i}(struct xdp_md *ctx)\n{\n${frame(i)}\n}\n`);
  return `${fns.join('\n')}
static __attribute__((always_inline)) int f0(struct xdp_md *ctx)
{
${frame(0)}
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return f0(ctx) & 1 ? XDP_PASS : XDP_DROP;
}
`;
}

test('the combined stack of a call chain is refused exactly when and as the kernel refuses it', (t) => {
  if (kernelOrSkip(t)) return;
  const cases = [[256, 256, 256, 256], [256, 256], [200, 300], [216, 300], [64, 128, 160, 160], [8, 500], [120, 120, 120, 120, 64]];
  const seen: string[] = [];
  for (const sizes of cases) {
    const path = write(`chain_${sizes.join('_')}.c`, chain(sizes));
    const kernel = kernelRefusal(path, /combined stack size of \d+ calls is \d+\. Too large/);
    const session = new Session(loadProgramFile(path), { program: 'prog' });
    const ours = session.machine.kernelRefusals('prog').map((r) => r.message);
    assert.deepEqual(ours, kernel ? [kernel] : [], `frames ${sizes.join('+')}`);
    if (!kernel) assert.equal(session.runPacket(packets[3]).fault, undefined);
    seen.push(kernel ? 'refused' : 'loaded');
  }
  assert.ok(seen.includes('refused') && seen.includes('loaded'), `both outcomes covered: ${seen.join(', ')}`);
});

test('a read of a stack slot never written: root\'s kernel loads it, the simulator flags the packet with its line', (t) => {
  if (kernelOrSkip(t)) return;
  const path = write('uninit_stack.c', `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 v;
	asm volatile("%0 = *(u64 *)(r10 - 64)" : "=r"(v)); /* never written */
	return v == 0x1234567 ? XDP_DROP : XDP_PASS;
}
`);
  assert.equal(kernelRefusal(path, /invalid read from stack/), undefined, 'root loads a program reading uninitialised stack');
  const session = new Session(loadProgramFile(path), { program: 'prog' });
  const r = session.runPacket(packets[3]);
  assert.equal(r.fault, undefined);
  const u = r.run.uninitStackRead;
  assert.ok(u, 'the packet is flagged');
  assert.equal(u.offset, -64);
  assert.equal(u.size, 8);
  assert.equal(u.loc?.line, 11);
  assert.match(u.message, /unprivileged/);
  assert.match(u.message, /allow_uninit_stack/);
});

test('a pointer into a callee\'s stack stored into the caller\'s frame: refused by the kernel, its later read flagged', (t) => {
  if (kernelOrSkip(t)) return;
  const path = write('spill.c', `
static __attribute__((noinline)) void leak(__u64 *out)
{
	volatile __u64 local = 7;
	*out = (__u64)&local;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 p = 0;
	leak(&p);
	return *(volatile __u64 *)p == 7 ? XDP_DROP : XDP_PASS;
}
`);
  assert.ok(kernelRefusal(path, /cannot spill pointers to stack into stack frame of the caller/), 'the kernel refuses the program');
  // The simulator cannot tell the pointer from a number with the same bits (so it does not fault on the store), but
  // the read through it, after leak() returned, is a read of a dead frame: flagged, never silent.
  const r = new Session(loadProgramFile(path), { program: 'prog' }).runPacket(packets[3]);
  assert.equal(r.fault, undefined);
  assert.equal(r.run.uninitStackRead?.returned, true);
  assert.equal(r.run.uninitStackRead?.loc?.line, 18);
});

test('a read of a returned callee\'s stack frame is flagged as such, with the stale bytes it read', () => {
  // The pointer leaves through global data (the kernel would then treat it as a number and refuse the load through
  // it; the simulator runs it and must not pretend the read was of live memory).
  const path = write('dead_frame.c', `
__u64 where;

static __attribute__((noinline)) int fill(__u32 v)
{
	volatile __u64 local = v;
	where = (__u64)&local;
	return local == 3;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	int r = fill(ctx->rx_queue_index + 7);
	return *(volatile __u64 *)where == 7 ? XDP_DROP + r : XDP_PASS;
}
`);
  const r = new Session(loadProgramFile(path), { program: 'prog' }).runPacket(packets[3]);
  assert.equal(r.fault, undefined);
  const u = r.run.uninitStackRead;
  assert.ok(u, 'the read is flagged');
  assert.equal(u.returned, true);
  assert.equal(u.frame, 2);
  assert.equal(u.loc?.line, 20);
  assert.match(u.message, /a function that had already returned/);
  assert.equal(r.action, 'XDP_DROP', 'the stale bytes were read (7)');
});
