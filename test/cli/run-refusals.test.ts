// `run` on programs the kernel would refuse, and on a program reading stack bytes it never wrote: the run goes on, but
// says so before the first packet (stderr, so jsonl stays valid) and in the summary, and flags undefined values per
// packet. Whether the kernel really refuses these programs is tested against the kernel in test/vm/subprograms.test.ts
// (stack, registers) and test/analysis/verifier-agreement.test.ts (the bytecode tier's rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO } from '../repo.ts';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-refusals-'));
const CAPTURE = join(REPO, 'examples', 'demo.pcap');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string; both: string } {
  const bundle = join(REPO, 'dist', 'cli.js');
  const cmd = existsSync(bundle) ? [bundle] : ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts')];
  const r = spawnSync(process.execPath, [...cmd, ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  // Both streams into one file, to see what comes before the first packet.
  const path = join(dir, 'both.txt');
  const fd = openSync(path, 'w');
  spawnSync(process.execPath, [...cmd, ...args], { cwd: REPO, stdio: ['ignore', fd, fd], timeout: 120_000 });
  closeSync(fd);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, both: readFileSync(path, 'utf8') };
}

function program(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
${body}`);
  return path;
}

const UNCHECKED = `struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	__u64 *v = bpf_map_lookup_elem(&h, &k);
	*v += 1; /* line 10: no NULL check */
	return XDP_PASS;
}
`;

test('run: a program the kernel would refuse runs, says so before the first packet and in the jsonl summary', { skip }, () => {
  const path = program('unchecked.c', UNCHECKED);
  const r = cli(['run', path, CAPTURE, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 11, 'ten packets and the summary, every line JSON');
  const refuses = recs[10].summary.verifierRefuses;
  assert.equal(refuses.length, 1);
  assert.equal(refuses[0].line, 10);
  assert.equal(refuses[0].file, path);
  assert.equal(refuses[0].rule, 'map-value-null');
  assert.match(refuses[0].message, /NULL/);
  assert.match(r.stderr, /the kernel would refuse this program: .*unchecked\.c:10: /);
  assert.ok(r.both.indexOf('the kernel would refuse') < r.both.indexOf('{"packet":0'), 'the refusal comes before the first packet');
});

test('run: the table of a program the kernel would refuse does not read like one that loads', { skip }, () => {
  const path = program('unchecked.c', UNCHECKED);
  const r = cli(['run', path, CAPTURE]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.both.indexOf('the kernel would refuse this program') < r.both.indexOf('     0  '), 'said before the first packet');
  assert.match(r.stdout, /the kernel would refuse this program: unchecked\.c:10: [a-z]/, 'one sentence: no capital after the colon');
  assert.match(r.stdout, /10 packets \(simulated only: the kernel would not load this program\): /);
});

test('run: a program the kernel loads has no refusal anywhere', { skip }, () => {
  const r = cli(['run', 'examples/xdp_filter.c', CAPTURE, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(last.summary.verifierRefuses, undefined);
  assert.equal(last.summary.uninitStackReads, undefined);
  assert.doesNotMatch(r.stderr, /would refuse/);
});

test('run: a call chain over 512 bytes of stack is reported in the verifier\'s words, and still runs', { skip }, () => {
  const frame = (i: number, next: string) => `{
	__u8 buf[256];
	if (bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf)))
		return ${i};
	return buf[0] + buf[255]${next};
}`;
  const path = program('chain.c', `
static __attribute__((noinline)) int f3(struct xdp_md *ctx) ${frame(3, '')}
static __attribute__((noinline)) int f2(struct xdp_md *ctx) ${frame(2, ' + f3(ctx)')}
static __attribute__((noinline)) int f1(struct xdp_md *ctx) ${frame(1, ' + f2(ctx)')}
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return f1(ctx) & 1 ? XDP_PASS : XDP_DROP;
}
`);
  const r = cli(['run', path, CAPTURE, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(last.summary.packets, 10);
  assert.deepEqual(last.summary.verifierRefuses.map((x: { message: string }) => x.message), ['combined stack size of 4 calls is 768. Too large']);
  assert.match(r.stderr, /combined stack size of 4 calls is 768\. Too large/);
});

test('run: a read of stack bytes never written flags each packet with the instruction and line, and both facts', { skip }, () => {
  const path = program('uninit.c', `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 v;
	asm volatile("%0 = *(u64 *)(r10 - 64)" : "=r"(v)); /* line 9: never written */
	return v == 0x1234567 ? XDP_DROP : XDP_PASS;
}
`);
  const r = cli(['run', path, CAPTURE, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  for (const p of recs.slice(0, -1)) {
    assert.equal(p.action, 'XDP_PASS');
    const u = p.uninitStackRead;
    assert.ok(u, `packet ${p.packet} is flagged`);
    assert.equal(u.line, 9);
    assert.equal(u.file, path);
    assert.equal(typeof u.insn, 'number');
    assert.equal(u.offset, -64);
    assert.match(u.message, /refuses this for unprivileged loaders/);
    assert.match(u.message, /as root \(allow_uninit_stack\).*undefined/);
  }
  assert.equal(recs.at(-1).summary.uninitStackReads, 10);
  const table = cli(['run', path, CAPTURE, '--limit', '1']);
  assert.match(table.stdout, /undefined value at uninit\.c:9: /);
  assert.match(table.stdout, /1 read stack bytes never written/);
});

test('run --kernel: what only the kernel verifier knows is said too, once', { skip }, (t) => {
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
    t.skip(why);
    return;
  }
  // A branch on packet bytes in each of 9,000 iterations: the verifier gives up after 8,193 pending jumps (well under
  // its 1M-instruction limit, which is all the load-time walk proves), so only the kernel knows.
  const path = program('jumps.c', `#include <linux/if_ether.h>
__u64 hits[4];
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 n = 0;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	for (int i = 0; i < 9000; i++) {
		if (eth->h_source[i & 3] & (1 << (i & 7)))
			n = n * 3 + i;
	}
	hits[n & 3] = n;
	return XDP_PASS;
}
`);
  const plain = cli(['run', path, CAPTURE, '--format', 'jsonl']);
  assert.equal(plain.status, 0, plain.stderr);
  const last = JSON.parse(plain.stdout.trim().split('\n').pop()!);
  assert.equal(last.summary.verifierRefuses, undefined, 'without the kernel, nothing claims a refusal no packet proved');
  assert.equal(last.summary.faults, 0);
  const k = cli(['run', path, CAPTURE, '--format', 'jsonl', '--kernel']);
  assert.equal(k.status, 0, k.stderr);
  const refuses = JSON.parse(k.stdout.trim().split('\n').pop()!).summary.verifierRefuses;
  assert.equal(refuses?.length, 1, JSON.stringify(refuses));
  assert.match(refuses[0].message, /too complex for the verifier/);
  assert.match(refuses[0].message, /8193 jumps is too complex/);
  assert.equal(refuses[0].line, 16);
  // r0 read after a void call on a path no packet takes: the load-time check and the kernel both refuse it, once.
  const r0 = program('r0_after_void.c', `#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
__u64 hits[4];
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
	if (eth->h_proto == bpf_htons(0x88b5))
		asm volatile("%0 = r0" : "=r"(v));
	return v == 12345 ? XDP_DROP : XDP_PASS;
}
`);
  // Also with the program named relative to the working directory: the kernel tier names the file as given, the
  // object's DWARF as clang was given it; one file, one refusal.
  for (const [path, ...extra] of [[r0], [r0, '--kernel'], [relative(REPO, r0), '--kernel']]) {
    const r = cli(['run', path!, CAPTURE, '--format', 'jsonl', ...extra]);
    assert.equal(r.status, 0, r.stderr);
    const list = JSON.parse(r.stdout.trim().split('\n').pop()!).summary.verifierRefuses;
    assert.equal(list?.length, 1, `${path} ${extra.join(' ')} ${JSON.stringify(list)}`);
    assert.match(list[0].message, /R0 !read_ok/);
    assert.equal(list[0].line, 22);
  }
  // The stack chain: our load-time check and the kernel's say the same thing, reported once.
  if (existsSync(join(dir, 'chain.c'))) {
    const chain = cli(['run', join(dir, 'chain.c'), CAPTURE, '--format', 'jsonl', '--kernel', '--limit', '1']);
    const list = JSON.parse(chain.stdout.trim().split('\n').pop()!).summary.verifierRefuses;
    assert.equal(list.length, 1, JSON.stringify(list));
  }
});

test('run: the summary blames only verifier-rule faults on the verifier (a read-only page store is the driver, an unmodelled helper is XDP Lens)', { skip }, () => {
  const ro = cli(['run', 'examples/xdp_filter.c', CAPTURE, '--driver', 'readonly-page']);
  assert.equal(ro.status, 0, ro.stderr);
  assert.match(ro.stdout, /^\d+ faulted \(counted as XDP_ABORTED\): a store into the read-only page this driver hands the program$/m);
  assert.doesNotMatch(ro.stdout, /verifier would have rejected/);
  const path = program('pid.c', `SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return bpf_get_current_pid_tgid() & 1 ? XDP_DROP : XDP_PASS;
}
`);
  const un = cli(['run', path, CAPTURE, '--limit', '2']);
  assert.equal(un.status, 0, un.stderr);
  assert.match(un.stdout, /^2 faulted \(counted as XDP_ABORTED\): something XDP Lens does not model \(named in the fault\), which the kernel would have run$/m);
  const refused = cli(['run', program('unchecked.c', UNCHECKED), CAPTURE, '--limit', '3']);
  assert.match(refused.stdout, /faulted \(counted as XDP_ABORTED\); the kernel verifier would have rejected the program$/m);
});

test('run: a refusal inside a header\'s helper inlined into the program is placed on the line of the call, as check places it', { skip }, () => {
  // The statement before the call (line 13) has code of its own; the call's line (14) has none before the helper's
  // code. Placed by the nearest line of the program's file before the refused instruction, the refusal named line 13.
  writeFileSync(join(dir, 'bump.h'), `struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");

static __always_inline int bump(__u8 t)
{
	__u32 k = t;
	__u64 *v = bpf_map_lookup_elem(&h, &k);
	*v += 1;
	return *v > 3;
}
`);
  const path = join(dir, 'inlined.c');
  writeFileSync(path, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bump.h"
char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	__u8 t = *(__u8 *)(data + 12);
	if (bump(t))
		return XDP_DROP;
	return XDP_PASS;
}
`);
  const r = cli(['run', path, CAPTURE, '--format', 'jsonl', '--limit', '1']);
  assert.equal(r.status, 0, r.stderr);
  const refuses = JSON.parse(r.stdout.trim().split('\n').pop()!).summary.verifierRefuses;
  // The walk's refusal before the first packet (the packet's own fault, in the header, follows it).
  assert.equal(`${refuses[0].file}:${refuses[0].line}`, `${path}:14`, JSON.stringify(refuses));
  assert.match(r.stderr, /the kernel would refuse this program: [^\n]*inlined\.c:14: /);
});
