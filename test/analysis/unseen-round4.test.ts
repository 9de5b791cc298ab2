// Classes of false alarms, misses and misplaced findings found by running `check` over a fourth set of public XDP
// programs nobody here had checked (2026-12-05: GeoIP rate limiters loaded by iproute2 from SEC("start"), an ingress
// firewall with a cursor-advancing parser behind likely()/unlikely(), verifier test programs with asm blocks, NAT and
// tunnel sketches) and over mistakes injected into them. Each test is a small program written for it; the real code is
// not copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { analyzeFile } from '../../simulator/analysis/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { sentences } from './sentences.ts';
import { HEAD, NO_CLANG, got, lineOf, show as showFindings } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);

function source(body: string, driverMode?: 'native' | 'readonly-page'): Finding[] {
  return analyzeSource('/tmp/unseen4.c', HEAD + body, driverMode ? { driverMode } : {});
}

async function both(body: string, opts: { driverMode?: 'native' | 'readonly-page'; flags?: string[] } = {}): Promise<{ file: string; findings: Finding[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen4-'));
  const file = join(dir, 'prog.c');
  writeFileSync(file, HEAD + body);
  const r = await analyzeFile(file, undefined, { driverMode: opts.driverMode, flags: opts.flags });
  assert.ok(!r.notes.some((n) => /did not run/.test(n)), r.notes.join('\n'));
  return { file, findings: r.findings.filter((f) => f.rule !== 'stale-checksum') };
}

// A program in a section its loader names (`ip link set dev eth0 xdp obj prog.o sec start`): XDP by its context.
const LOADER_SECTION = `
SEC("start")
int geo(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	if (eth->h_proto == 0)
		return 5; // bad
	return XDP_PASS;
}

SEC("classifier")
int tc_prog(struct __sk_buff *skb)
{
	return 7;
}

SEC("fentry/start")
int trace(struct xdp_md *ctx)
{
	return 9;
}
`;

test('a program in a section named by its loader (SEC("start")) taking struct xdp_md * is checked as XDP', () => {
  const fs = source(LOADER_SECTION);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(LOADER_SECTION, '// bad')}`], show(fs));
});

test('both tiers: SEC("start") is analysed; a tc or tracing program beside it is not', { skip: NO_CLANG }, async () => {
  const { findings } = await both(LOADER_SECTION);
  assert.deepEqual(got(findings), [`invalid-action@${lineOf(LOADER_SECTION, '// bad')}`], show(findings));
  // At -O1 too, and a ctx store in such a program is the kernel's refusal like in SEC("xdp").
  const ctxWrite = LOADER_SECTION.replace('return 5; // bad', 'ctx->rx_queue_index = 0; // store');
  const o1 = await both(ctxWrite, { flags: ['-O1'] });
  assert.deepEqual(got(o1.findings), [`ctx-write@${lineOf(ctxWrite, '// store')}`], show(o1.findings));
});

// A parser that advances a cursor and checks it inside likely()/unlikely(), called from a condition that is itself
// inside unlikely(): its check covers the header read through the pointer taken before the cursor moved.
const CURSOR = `
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static __always_inline int l4_proto(void *data, void *end, __u8 *proto, __u8 v4)
{
	void *cur = data + sizeof(struct ethhdr);
	if (likely(v4)) {
		struct iphdr *iph = cur;
		cur += sizeof(struct iphdr);
		if (unlikely(cur > end))
			return -1;
		*proto = iph->protocol; // read
	}
	return 0;
}

static __always_inline int lookup(void *data, void *data_end)
{
	__u8 proto = 0;
	if (unlikely(l4_proto(data, data_end, &proto, 1) < 0))
		return -1;
	return proto;
}

SEC("xdp")
int fw(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *cur = data + sizeof(struct ethhdr);
	if (unlikely(cur > end))
		return XDP_DROP;
	return lookup(data, end) == 6 ? XDP_DROP : XDP_PASS;
}
`;

test('a callee\'s own unlikely(p > data_end) is a bounds check when the call sits inside unlikely() itself', () => {
  const fs = source(CURSOR);
  assert.deepEqual(got(fs), [], show(fs));
  // Without the callee's check the read is still reported, on its line.
  const unchecked = CURSOR.replace('if (unlikely(cur > end))\n\t\t\treturn -1;\n', '');
  const u = source(unchecked);
  assert.deepEqual(got(u), [`unchecked-packet-access@${lineOf(unchecked, '// read')}`], show(u));
});

// Falling off the end of the program (an asm block's result) and returning a packet word on another path: two
// mistakes, each on its own line and in the user's file (not the marked twin's).
const FALLS_OFF = `
SEC("xdp")
int words(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 r = bpf_get_prandom_u32();
	int off = (r & 0x0f) * 4;
	if (r & 1) {
		if (data + off + sizeof(int) > data_end)
			return XDP_DROP;
		return *(int *)(data + off); // word
	} else {
		asm volatile("r0 = 1\\n");
	}
} // end
`;

test('both tiers: a path that falls off the end and a return of a packet word are two findings, in the user\'s file', { skip: NO_CLANG }, async () => {
  const { file, findings } = await both(FALLS_OFF);
  assert.deepEqual(got(findings), [`invalid-action@${lineOf(FALLS_OFF, '// word')}`, `invalid-action@${lineOf(FALLS_OFF, '// end')}`], show(findings));
  for (const f of findings) {
    assert.equal(f.file, file, show(findings));
    assert.ok(sentences(f.message) <= 2, f.message);
  }
});

// A global helper counting into a read-only map, inlined at several calls: clang merges some copies into code with
// no line. The store is one mistake, on the helper's line, not also on the program's first line.
const LINELESS = `
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

void count(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &what);
	if (v == NULL)
		return;
	__sync_fetch_and_add(v, 1); // store
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end) {
		count(0);
		return XDP_DROP;
	}
	if (eth->h_proto == 0x0008) {
		count(1);
		if (eth->h_dest[0] == 0xff) {
			count(2);
			return XDP_DROP;
		}
		count(3);
		return XDP_PASS;
	}
	if (eth->h_proto == 0xdd86)
		count(4);
	else
		count(5);
	return XDP_PASS;
}
`;

test('both tiers: a read-only map store in a helper inlined many times is one finding on the helper\'s line', { skip: NO_CLANG }, async () => {
  const { findings } = await both(LINELESS);
  assert.deepEqual(got(findings), [`readonly-write@${lineOf(LINELESS, '// store')}`], show(findings));
});

// Under read-only pages, bpf_dynptr_write into a ring buffer record is no packet write; into an XDP dynptr it is.
const DYNPTRS = `
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct event { __u32 queue; __u32 len; };

SEC("xdp")
int report(struct xdp_md *ctx)
{
	struct bpf_dynptr rec;
	struct event e = { .queue = ctx->rx_queue_index, .len = ctx->data_end - ctx->data };
	if (bpf_ringbuf_reserve_dynptr(&events, sizeof(e), 0, &rec)) {
		bpf_ringbuf_discard_dynptr(&rec, 0);
		return XDP_PASS;
	}
	bpf_dynptr_write(&rec, 0, &e, sizeof(e), 0); // record
	bpf_ringbuf_submit_dynptr(&rec, 0);
	return XDP_PASS;
}

SEC("xdp")
int stamp(struct xdp_md *ctx)
{
	struct bpf_dynptr pkt;
	__u8 mark = 0x2a;
	if (bpf_dynptr_from_xdp(ctx, 0, &pkt))
		return XDP_PASS;
	bpf_dynptr_write(&pkt, 15, &mark, 1, 0); // packet
	return XDP_PASS;
}

// kfuncs need a GPL-compatible licence (check reports the refusal otherwise).
char LICENSE[] SEC("license") = "GPL";
`;

test('both tiers, readonly-page: bpf_dynptr_write into a ring buffer record is not a packet write; into the packet it is', { skip: NO_CLANG }, async () => {
  const { findings } = await both(DYNPTRS, { driverMode: 'readonly-page' });
  assert.deepEqual(got(findings), [`readonly-page-write@${lineOf(DYNPTRS, '// packet')}`], show(findings));
  assert.match(findings[0]!.message, /^This bpf_dynptr_write\(\) call changes the packet/);
  assert.ok(sentences(findings[0]!.message) <= 2, findings[0]!.message);
});

// A port a helper read from the packet, returned by the helper the program returns straight away, under a condition
// that puts it above every action: reported on the helper's `return`, where the mistake is, by both tiers.
const PORT = `
#include <linux/tcp.h>

static __always_inline int get_dport(void *l4, void *data_end)
{
	struct tcphdr *th = l4;
	if (th + 1 > data_end)
		return -1;
	return th->dest;
}

static __always_inline int handle(struct xdp_md *xdp)
{
	void *data_end = (void *)(long)xdp->data_end;
	void *data = (void *)(long)xdp->data;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	int dport;
	if (iph + 1 > data_end)
		return XDP_DROP;
	dport = get_dport(iph + 1, data_end);
	if (dport == -1)
		return XDP_DROP;
	if (dport > 1024)
		return dport; // port
	return XDP_PASS;
}

SEC("xdp")
int tunnel(struct xdp_md *xdp)
{
	return handle(xdp); // passes it on
}
`;

test('a value known only in part (-1 or a packet port) returned under `if (dport > 1024)` is an invalid-action', () => {
  const fs = source(PORT);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(PORT, '// port')}`], show(fs));
  assert.match(fs[0]!.message, /`dport` is at least 1025 on this path/);
});

test('bytecode tier: a bad value returned by a same-file helper the program returns straight away goes to the helper\'s return', { skip: NO_CLANG }, async () => {
  // The bytecode tier alone (the source tier is told to see nothing: the condition hides behind a macro it cannot read).
  const hidden = PORT.replace('if (dport > 1024)', 'if (ABOVE(dport))').replace('static __always_inline int get_dport', '#define ABOVE(x) ((x) > 1024)\nstatic __always_inline int get_dport');
  const { findings } = await both(hidden);
  assert.deepEqual(got(findings), [`invalid-action@${lineOf(hidden, '// port')}`], show(findings));
  assert.equal(findings[0]!.tier, 'bytecode');
});

// A map value checked before the twin's marker and loaded again after it (the marker is a barrier to clang): the
// real object's walk still reports it, on its line.
const RELOADED = `
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 1024);
} banlist SEC(".maps");

SEC("xdp")
int ban(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	__u32 src = ip->saddr;
	__u8 *flag = bpf_map_lookup_elem(&banlist, &src);
	if (flag && *flag > 1)
		return *flag + 4; // flag
	if (flag && *flag == 1)
		return XDP_DROP;
	return XDP_PASS;
}
`;

test('both tiers: `if (*flag > 1) return *flag + 4;` is an invalid-action although the marked twin reloads *flag', { skip: NO_CLANG }, async () => {
  const { findings } = await both(RELOADED);
  assert.deepEqual(got(findings), [`invalid-action@${lineOf(RELOADED, '// flag')}`], show(findings));
  assert.ok(sentences(findings[0]!.message) <= 2, findings[0]!.message);
});

// `xdp->data_end -= 4` in the program, with clang reusing the stored value as data_end in an inlined helper: one
// finding (the store), not also a refusal of the arithmetic on data_end in the helper and every access behind it.
const SHRINK = `
static __always_inline int handle(struct xdp_md *xdp)
{
	void *data_end = (void *)(long)xdp->data_end;
	void *data = (void *)(long)xdp->data;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	if (iph + 1 > data_end)
		return XDP_DROP;
	return iph->protocol == 4 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int shrink(struct xdp_md *xdp)
{
	void *data_end = (void *)(long)xdp->data_end;
	struct ethhdr *eth = (void *)(long)xdp->data;
	if (eth + 1 > data_end)
		return XDP_DROP;
	__u16 proto = eth->h_proto;
	xdp->data_end -= 4; // store
	if (proto == 8)
		return handle(xdp);
	return XDP_PASS;
}
`;

test('both tiers: `xdp->data_end -= 4` is one ctx-write, with no refusals cascading from it', { skip: NO_CLANG }, async () => {
  for (const flags of [[], ['-O1']]) {
    const { findings } = await both(SHRINK, { flags });
    assert.deepEqual(got(findings), [`ctx-write@${lineOf(SHRINK, '// store')}`], `${flags.join(' ')}\n${show(findings)}`);
  }
});

test('which sections hold XDP programs: xdp*, ?xdp* (not loaded by default), a loader-named one with struct xdp_md *', async () => {
  const { isXdpProgram } = await import('../../simulator/analysis/xdp-programs.ts');
  assert.equal(isXdpProgram('xdp.frags', false), true);
  assert.equal(isXdpProgram('?xdp', false), true);
  assert.equal(isXdpProgram('start', true), true);
  assert.equal(isXdpProgram('start', false), false);
  assert.equal(isXdpProgram('fentry/xdp_prog', true), false);
  assert.equal(isXdpProgram('?fexit/xdp_prog', true), false);
  assert.equal(isXdpProgram('tc', false), false);
});
