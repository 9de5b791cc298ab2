// Classes of misses and false findings found by running `check` over a twelfth set of public XDP programs nobody here
// had checked and over mistakes planted into them (2026-12-06), and the gaps left open by round 11: code under a
// constant-false condition, one over-long checksum loop reported on two lines, a redirect result only logged, header
// pointers kept in a struct a parser fills through a pointer. Each test is a small program written for it; the real
// code is not copied. What the finding says about the kernel is checked in the 6.18 kernel (BPF_PROG_TEST_RUN or
// its verifier).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, kernelSays as kernelRefusals, fold, sum16, udpFrame } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen12.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);
const ipSumOk = (f: Uint8Array) => fold(sum16(f.subarray(14, 34))) === 0xffff;

// Debug code switched off by a macro, `if (0)` and a constant ternary: clang drops the side never taken, the
// verifier never sees it, the program never runs it. A store into the context there is no refusal, a TTL change
// there no stale checksum, a `return 7;` there no verdict. With the switch on, each is a mistake again.
const DEAD = (on: number) => `
#define TRACE_WRITES ${on}
#define BOUNCE ${on}

SEC("xdp")
int dead(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (TRACE_WRITES && ip->ttl == 1) {
		ctx->rx_queue_index = 1; // ctx store
		return 7; // not an action
	}
	if (TRACE_WRITES && ip->ttl > 1)
		ip->ttl--; // ttl
	return BOUNCE ? XDP_TX : XDP_PASS; // verdict
}
char LICENSE[] SEC("license") = "GPL";
`;

test('code under a constant-false condition (a macro switched off, a constant ternary) gives no finding; switched on it does', { skip: NO_CLANG }, async (t) => {
  const off = DEAD(0);
  assert.deepEqual(got(source(off)), [], show(source(off)));
  assert.deepEqual(got(await both(off)), [], show(await both(off)));
  const on = DEAD(1);
  const want = [`ctx-write@${lineOf(on, '// ctx store')}`, `invalid-action@${lineOf(on, '// not an action')}`, `stale-checksum@${lineOf(on, '// ttl')}`, `tx-unmodified@${lineOf(on, '// verdict')}`];
  assert.deepEqual(got(source(on)), want, show(source(on)));
  if (kernelOrSkip(t)) return;
  // The kernel agrees: switched off, the program loads and passes the frame; switched on, the context store refuses it.
  assert.deepEqual(kernelSays(off), []);
  assert.equal(kernelRun(off, 'dead', [udpFrame(53)]).results[0]!.retval, 2);
  assert.ok(kernelSays(on)!.some((m) => m.startsWith(`${lineOf(on, '// ctx store')}:`)), kernelSays(on)!.join('\n'));
});

// A checksum helper (not inlined) summing the header in 16-bit words with the length counted from the whole frame:
// its word loop and its odd-byte read both go past the bytes checked. The verifier stops at the first it meets on its
// walk; both were reported, on two lines, for one mistake.
const LOOP = (fixed: boolean) => `
static __attribute__((noinline)) __u16 fold_words(__u16 *w, int len)
{
	__u32 sum = 0;
	while (len > 1) {
		sum += *w++; // word
		len -= 2;
	}
	if (len == 1)
		sum += *(__u8 *)w; // odd byte
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

SEC("xdp")
int resum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	int len = ${fixed ? 'sizeof(*ip)' : 'data_end - data - sizeof(*eth)'};
	ip->tos = 0;
	ip->check = 0;
	ip->check = fold_words((__u16 *)ip, len);
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('one checksum loop run past the checked header is reported once, where the verifier stops', { skip: NO_CLANG }, async (t) => {
  const bad = LOOP(false);
  const fs = (await both(bad)).filter((f) => f.rule === 'unchecked-packet-access');
  assert.equal(fs.length, 1, show(fs));
  const lines = [lineOf(bad, '// word'), lineOf(bad, '// odd byte')];
  assert.ok(lines.includes(fs[0]!.line), show(fs));
  if (kernelOrSkip(t)) return;
  const refusals = kernelSays(bad)!;
  assert.ok(refusals.length > 0);
  assert.ok(refusals[0]!.startsWith(`${fs[0]!.line}:`), `kernel: ${refusals.join('\n')}\ncheck: ${show(fs)}`);
});

// An AF_XDP steering program that keeps bpf_redirect_map's result only to log it, then returns XDP_REDIRECT: with no
// socket on the queue no target is set and the frame is dropped. Any read of the result counted as using it.
const STEER = (tail: string) => `
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

SEC("xdp")
int steer(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	long rc = bpf_redirect_map(&socks, queue, XDP_PASS);
	bpf_printk("queue %u: %ld", queue, rc);
	${tail}
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a redirect result kept only for bpf_printk, then XDP_REDIRECT returned, is a redirect without target; returning it is not', { skip: NO_CLANG }, async (t) => {
  const bad = STEER('return XDP_REDIRECT; // verdict');
  const want = [`redirect-without-target@${lineOf(bad, '// verdict')}`];
  assert.deepEqual(got(source(bad)), want, show(source(bad)));
  assert.match(source(bad)[0]!.message, /result of bpf_redirect_map\(\) on line \d+ is ignored/);
  const good = STEER('return rc;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  if (kernelOrSkip(t)) return;
  // No socket on queue 0: the helper falls back to XDP_PASS; the planted return hands XDP_REDIRECT with no target.
  assert.equal(kernelRun(good, 'steer', [udpFrame(53)]).results[0]!.retval, 2);
  assert.equal(kernelRun(bad, 'steer', [udpFrame(53)]).results[0]!.retval, 4);
});

// A parser filling a struct of header pointers through a pointer (`p->ip = l3;` with `l3` a `void *`), the program
// answering through `pkt.ip`: the TTL change with no checksum update was not seen. Also a store into the parsed
// payload's own struct (no checksum field) counted as a possible checksum update and hid the mistake.
const REPLY = (fix: string) => `
struct req {
	__u8 op;
	__u8 flags;
	__u16 id;
	__u8 body[];
};

struct parsed {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	struct req *req;
};

static __always_inline int parse(struct xdp_md *ctx, struct parsed *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	p->eth = data;
	if ((void *)(p->eth + 1) > data_end)
		return -1;
	void *l3 = (void *)(p->eth + 1);
	p->ip = l3;
	if ((void *)(p->ip + 1) > data_end || p->ip->protocol != IPPROTO_UDP)
		return -1;
	p->udp = (void *)(p->ip + 1);
	if ((void *)(p->udp + 1) > data_end)
		return -1;
	p->req = (void *)(p->udp + 1);
	if ((void *)(p->req + 1) > data_end)
		return -1;
	return 0;
}

static __always_inline void turn(struct parsed *p)
{
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, p->eth->h_dest, ETH_ALEN);
	__builtin_memcpy(p->eth->h_dest, mac, ETH_ALEN);
}

SEC("xdp")
int answer(struct xdp_md *ctx)
{
	struct parsed pkt = {};
	if (parse(ctx, &pkt) < 0)
		return XDP_PASS;
	turn(&pkt);
	__u32 peer = pkt.ip->saddr;
	pkt.ip->saddr = pkt.ip->daddr;
	pkt.ip->daddr = peer;
	__u8 old_ttl = pkt.ip->ttl;
	pkt.ip->ttl = 64; // ttl
	${fix}
	__u16 port = pkt.udp->source;
	pkt.udp->source = pkt.udp->dest;
	pkt.udp->dest = port;
	pkt.udp->check = 0;
	pkt.req->op = 2;
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('header pointers a parser stores into a struct through its address are followed: a TTL change with no checksum update is found', { skip: NO_CLANG }, async (t) => {
  const bad = REPLY('');
  const want = [`stale-checksum@${lineOf(bad, '// ttl')}`];
  assert.deepEqual(got(source(bad)), want, show(source(bad)));
  assert.deepEqual(got(await both(bad)), want, show(await both(bad)));
  // The incremental update (TTL sits in the high byte of its 16-bit word) leaves nothing to report.
  const good = REPLY('__u32 s = (__u16)~pkt.ip->check + (__u16)~bpf_htons((__u16)(old_ttl << 8)) + bpf_htons((__u16)(64 << 8)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16); pkt.ip->check = ~s;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  if (kernelOrSkip(t)) return;
  const f = udpFrame(53);
  f[22] = 9; // a TTL other than 64, so that the change is a change
  const s = ~fold(sum16(f.subarray(14, 24)) + sum16(f.subarray(26, 34))) & 0xffff;
  f[24] = s >> 8;
  f[25] = s & 0xff;
  assert.ok(ipSumOk(f));
  const out = kernelRun(bad, 'answer', [f]).results[0]!;
  assert.equal(out.retval, 3);
  assert.equal(out.out[22], 64);
  assert.equal(ipSumOk(out.out), false); // the frame goes back out with a failing IPv4 sum
  const fixed = kernelRun(good, 'answer', [f]).results[0]!;
  assert.equal(fixed.retval, 3);
  assert.equal(ipSumOk(fixed.out), true);
});

// A load balancer's main function with twenty error exits (`action = XDP_ABORTED; goto out;`, each on its own line)
// and one planted `action = -22;` on the path that forwards: the joined value at `out:` held more than sixteen
// (value, line) pairs and became unknown, and the -22 was lost. Same values from many lines now keep one entry each.
const EXITS = (verdict: string) => `
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
} steps SEC(".maps");

SEC("xdp")
int exits(struct xdp_md *ctx)
{
	__u32 action = XDP_PASS;
	__u32 *v;
${Array.from({ length: 20 }, (_, i) => `	__u32 k${i} = ${i};\n	v = bpf_map_lookup_elem(&steps, &k${i});\n	if (!v) {\n		action = XDP_ABORTED;\n		goto out;\n	}\n	if (*v == ${i + 100})\n		goto out;`).join('\n')}
	${verdict} // verdict
out:
	return action; // returned
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a non-action set once among twenty error exits that set XDP_ABORTED on lines of their own is still found', { skip: NO_CLANG }, async (t) => {
  const bad = EXITS('action = -22;');
  const fs = source(bad);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(bad, '// returned')}`], show(fs));
  assert.match(fs[0]!.message, new RegExp(`-22 \\(set on line ${lineOf(bad, '// verdict')}\\)`));
  const good = EXITS('action = XDP_DROP;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  if (kernelOrSkip(t)) return;
  // An empty array map holds zeros: every lookup succeeds, no value is 100 + i, the program reaches the verdict.
  assert.equal(kernelRun(good, 'exits', [udpFrame(53)]).results[0]!.retval, 1);
  const r = kernelRun(bad, 'exits', [udpFrame(53)]).results[0]!.retval;
  assert.ok(r > 4 || r < 0, `retval ${r}`);
});

// A helper that writes a new IPv4 header (`check = 0` first, the sum last) and returns -1 when it stops half-way
// (the UDP header past data_end), its caller aborting on -1: the half-way paths never send the frame. Their state
// (sum zeroed, not computed) joined into the call's result gave a false stale checksum once stores into a payload's
// own struct no longer hid it (a GTP encapsulating load balancer). Without the final sum it is a mistake again.
const BUILD = (sum: string) => `
static __always_inline int rewrite_ip(struct xdp_md *ctx, __u32 saddr)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return -1;
	ip->ttl = 64;
	ip->saddr = saddr; // saddr
	ip->check = 0;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return -1;
	udp->check = 0;
	__u16 *w = (__u16 *)ip;
	__u32 s = 0;
	for (int i = 0; i < 10; i++)
		s += w[i];
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	${sum}
	return 0;
}

SEC("xdp")
int build(struct xdp_md *ctx)
{
	if (-1 == rewrite_ip(ctx, bpf_htonl(0x0a000009)))
		return XDP_ABORTED;
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a header builder whose half-way paths return -1 to a caller that aborts on -1 gives no stale checksum; without its final sum it does', { skip: NO_CLANG }, async (t) => {
  const good = BUILD('ip->check = ~s;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  const bad = BUILD('');
  assert.deepEqual(got(source(bad)), [`stale-checksum@${lineOf(bad, '// saddr')}`], show(source(bad)));
  if (kernelOrSkip(t)) return;
  const f = udpFrame(53);
  const ok = kernelRun(good, 'build', [f]).results[0]!;
  assert.equal(ok.retval, 2);
  assert.equal(ipSumOk(ok.out), true);
  const stale = kernelRun(bad, 'build', [f]).results[0]!;
  assert.equal(stale.retval, 2);
  assert.equal(ipSumOk(stale.out), false);
  // A frame that ends inside the UDP header stops half-way: aborted, not sent.
  assert.equal(kernelRun(good, 'build', [f.subarray(0, 38)]).results[0]!.retval, 0);
});
