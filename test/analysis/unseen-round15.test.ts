// Classes of misses and false findings found by running `check` over a fifteenth set of public XDP programs nobody
// here had checked and over mistakes planted into them (2026-12-07): a checksum recomputed inside a function two calls
// deep, after a `return XDP_ABORTED` on a failed helper that leaves the change open (the join of the callee's paths
// was taken for the path of its `return XDP_TX`), and a header pointer loaded anew on one path only (after a move of
// the packet), whose bounds proof the source tier dropped at the join. Each test is a small program written for it;
// the real code is not copied. What the finding says about the kernel is checked in the 6.18 kernel
// (BPF_PROG_TEST_RUN or its verifier).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, kernelSays as kernelRefusals, fold, sum16, udpFrame } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <linux/udp.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen15.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);
const ipSumOk = (f: Uint8Array, at = 14) => fold(sum16(f.subarray(at, at + 20))) === 0xffff;

// A responder whose answer is built two calls deep: answer() swaps the MACs, sets the TTL, zeroes the sum, computes it
// with bpf_csum_diff (a negative result ends in XDP_ABORTED, the change still open on that path) and stores it, then
// returns XDP_TX; respond() returns answer()'s result, and the program respond()'s. The join of answer()'s two returns
// has the change open, and respond() stamped its XDP_TX with it (and, with `?:`, the XDP_PASS of the other side): a
// false stale-checksum on the TTL store.
const NESTED = (update: string, after: string, respond = `int r = answer(eth, ip);
	${after}
	return r;`) => `
static __always_inline __u16 fold16(__s64 v)
{
	__u32 s = v;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static __always_inline int answer(struct ethhdr *eth, struct iphdr *ip)
{
	__u8 m[ETH_ALEN];
	__builtin_memcpy(m, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, m, ETH_ALEN);
	ip->ttl = 64; // ttl
	ip->check = 0;
	__s64 value = bpf_csum_diff(0, 0, (void *)ip, sizeof(*ip), 0);
	if (value < 0)
		return XDP_ABORTED;
	${update}
	return XDP_TX;
}

static __always_inline int keep(struct iphdr *ip)
{
	return ip->ttl < 2 ? XDP_DROP : XDP_PASS;
}

static __always_inline int respond(struct ethhdr *eth, struct iphdr *ip)
{
	${respond}
}

SEC("xdp")
int responder(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	return respond(eth, ip);
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a checksum recomputed two calls deep, after a return XDP_ABORTED on a failed bpf_csum_diff, covers the change', { skip: NO_CLANG }, async (t) => {
  const good = NESTED('ip->check = fold16(value);', '');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  // The answer on one side of a `?:` whose other side passes the frame up unchanged: that XDP_PASS carries no change.
  const choice = NESTED('ip->check = fold16(value);', '', 'return ip->tos & 1 ? answer(eth, ip) : keep(ip);');
  assert.deepEqual(got(source(choice)), [], show(source(choice)));
  assert.deepEqual(got(await both(choice)), [], show(await both(choice)));
  // The sum left out: the TTL store is still a stale checksum.
  const bad = NESTED('', '');
  assert.deepEqual(got(await both(bad)), [`stale-checksum@${lineOf(bad, '// ttl')}`], show(await both(bad)));
  // A change respond() makes after the call, with no update of its own: found on its line.
  const late = NESTED('ip->check = fold16(value);', 'ip->tos = 4; // late');
  assert.deepEqual(got(await both(late)), [`stale-checksum@${lineOf(late, '// late')}`], show(await both(late)));
  if (kernelOrSkip(t)) return;
  const f = udpFrame(53);
  const r = kernelRun(good, 'responder', [f]).results[0]!;
  assert.equal(r.retval, 3); // XDP_TX
  assert.equal(r.out[22], 64);
  assert.ok(ipSumOk(r.out));
  const l = kernelRun(late, 'responder', [f]).results[0]!;
  assert.equal(l.retval, 3);
  assert.ok(!ipSumOk(l.out));
});

// The packet grown on one path only (bpf_xdp_adjust_tail, then data, the Ethernet and IPv4 header pointers loaded
// again and checked): after the join each pointer has a root of its own that neither path proved bytes for, so the
// source tier (as you type) reported the MAC swap through `eth` as an unchecked access.
const RELOAD = (check: string) => `
SEC("xdp")
int pad_back(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	if (ip->tos & 1) {
		if (bpf_xdp_adjust_tail(ctx, 4))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		eth = data;
		ip = data + sizeof(*eth);
		if ((void *)(ip + 1) > end)
			return XDP_DROP;
	}
	__u8 m = eth->h_source[5]; // swap
	eth->h_source[5] = eth->h_dest[5];
	eth->h_dest[5] = m;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_DROP;
	struct udphdr *udp = (void *)(ip + 1);
	${check}
	if (udp->dest == 0) // port
		return XDP_DROP;
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a header pointer loaded again on one path keeps the bounds both paths proved, counted in the frame', { skip: NO_CLANG }, async (t) => {
  const good = RELOAD('if ((void *)(udp + 1) > end) return XDP_DROP;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  // The UDP header read with no check of its own: bytes 36..37 of the frame, 34 proven on both paths.
  const bad = RELOAD('');
  const s = source(bad);
  assert.deepEqual(got(s), [`unchecked-packet-access@${lineOf(bad, '// port')}`], show(s));
  assert.match(s[0]!.message, /bytes 36\.\.37 of the packet, but only 34 bytes are checked/);
  assert.deepEqual(got(await both(bad)), [`unchecked-packet-access@${lineOf(bad, '// port')}`], show(await both(bad)));
  if (kernelOrSkip(t)) return;
  assert.deepEqual(kernelSays(good), []);
  const refused = kernelSays(bad)!;
  assert.equal(refused.length, 1, refused.join('\n'));
  assert.ok(refused[0]!.startsWith(`${lineOf(bad, '// port')}:`), refused.join('\n'));
});

// An echo responder in xdp-tutorial's style: the ICMP header found by a parser that returns it through a pointer
// argument, after up to two VLAN tags, and read through a struct of its own (`type`, `code`, `cksum` at 0, 1, 2: what
// ICMP and ICMPv6 share). The tier does not follow that pointer, and its stores were taken for possible writes of the
// Ethernet addresses, so XDP_TX with the MACs as received went unreported (and the ICMP sum left at 0 too: a pointer
// local declared without a value was not followed through its address).
const ECHO = (swap: string, sum = 'ic->cksum = ~bpf_csum_diff((__be32 *)&old, 4, (__be32 *)ic, 4, (__u16)~old.cksum);') => `#include <bpf/bpf_endian.h>
struct icmp_common {
	__u8 type;
	__u8 code;
	__sum16 cksum;
};

struct cursor {
	void *pos;
};

static __always_inline int parse_icmp(struct cursor *c, void *end, struct icmp_common **out)
{
	struct icmp_common *h = c->pos;
	if ((void *)(h + 1) > end)
		return -1;
	c->pos = h + 1;
	*out = h;
	return h->type;
}

SEC("xdp")
int echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = data;
	struct icmp_common *ic;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	__u16 proto = eth->h_proto;
	c.pos = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__be16 *tag = c.pos;
		if (proto != bpf_htons(ETH_P_8021Q))
			break;
		if ((void *)(tag + 2) > end)
			return XDP_PASS;
		proto = tag[1];
		c.pos = tag + 2;
	}
	struct iphdr *ip = c.pos;
	if (proto != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > end || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	c.pos = ip + 1;
	if (parse_icmp(&c, end, &ic) != 8)
		return XDP_PASS;
	struct icmp_common old = *ic;
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	${swap}
	ic->type = 0; // type
	${sum}
	return XDP_TX; // tx
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a header struct of the program\'s own laid out as ICMP\'s common part is the ICMP header: XDP_TX with the MACs as received is found', { skip: NO_CLANG }, async (t) => {
  const bad = ECHO('');
  assert.deepEqual(got(source(bad)), [`tx-unmodified@${lineOf(bad, '// tx')}`], show(source(bad)));
  assert.deepEqual(got(await both(bad)), [`tx-unmodified@${lineOf(bad, '// tx')}`], show(await both(bad)));
  const good = ECHO('__u8 m[ETH_ALEN]; __builtin_memcpy(m, eth->h_source, ETH_ALEN); __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); __builtin_memcpy(eth->h_dest, m, ETH_ALEN);');
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  // The header the parser handed back through `&ic` (declared without a value) is followed: its sum left at 0 is found.
  const zero = ECHO('__u8 m[ETH_ALEN]; __builtin_memcpy(m, eth->h_source, ETH_ALEN); __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); __builtin_memcpy(eth->h_dest, m, ETH_ALEN);', 'ic->cksum = 0;');
  assert.deepEqual(got(await both(zero)), [`stale-checksum@${lineOf(zero, '// type')}`], show(await both(zero)));
  if (kernelOrSkip(t)) return;
  const f = new Uint8Array(42);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([8, 0, 0, 0, 0, 7, 0, 1], 34);
  const r = kernelRun(bad, 'echo', [f]).results[0]!;
  assert.equal(r.retval, 3); // XDP_TX
  assert.deepEqual([...r.out.subarray(0, 12)], [...f.subarray(0, 12)]);
  assert.equal(r.out[34], 0);
});
