// Classes of misses found by running `check` over a sixteenth set of public XDP programs nobody here had checked and
// over mistakes planted into them (2026-12-07): parsers that walk the packet with a cursor kept in a struct member
// typed `void *` (given by a designated initializer, `{ .pos = data }`, and moved with `c->pos += sizeof(*h)`), and
// that fail with `return -1` before moving it. The source tier (what the editor shows as you type) did not follow a
// pointer kept in a `void *` member, nor one set by an initializer, and took the cursor of the failing path into the
// join, so the headers the parsers handed out were unknown: an access past the checked bytes and an ICMP reply whose
// checksum is never updated went unreported. Each test is a small program written for it; the real code is not
// copied. What the finding says about the kernel is checked in the 6.18 kernel (BPF_PROG_TEST_RUN or its verifier).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, kernelSays as kernelRefusals, fold, sum16 } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <linux/icmp.h>
#include <bpf/bpf_endian.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen16.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);

// A walker over the frame: where it is and where the frame ends, both `void *`; each step checks its header, hands
// it out through a pointer argument and moves on, or returns -1 without moving.
const WALKER = `
struct walker {
	void *at;
	void *stop;
};

static __always_inline int take_eth(struct walker *w, struct ethhdr **eth)
{
	if (w->at + sizeof(**eth) > w->stop)
		return -1;
	*eth = w->at;
	w->at += sizeof(**eth);
	return (*eth)->h_proto;
}

static __always_inline int take_ip(struct walker *w, struct iphdr **ip)
{
	if (w->at + sizeof(**ip) > w->stop)
		return -1;
	*ip = w->at;
	w->at += sizeof(**ip);
	return (*ip)->protocol;
}

static __always_inline int take_icmp(struct walker *w, struct icmphdr **icmp)
{
	if (w->at + sizeof(**icmp) > w->stop)
		return -1;
	*icmp = w->at;
	w->at += sizeof(**icmp);
	return (*icmp)->type;
}
`;

// A UDP filter that looks at a byte of the payload through the IPv4 header it was handed.
const PEEK = (check: string) => `${WALKER}
SEC("xdp")
int peek(struct xdp_md *ctx)
{
	struct walker w = { .at = (void *)(long)ctx->data, .stop = (void *)(long)ctx->data_end };
	struct ethhdr *eth;
	struct iphdr *ip;
	if (take_eth(&w, &eth) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (take_ip(&w, &ip) != IPPROTO_UDP)
		return XDP_PASS;
	${check}
	if (((__u8 *)ip)[28] == 1) // peek
		return XDP_DROP;
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a header handed out by a parser that moves a void * cursor kept in a struct: an access past the checked bytes is found', { skip: NO_CLANG }, async (t) => {
  const bad = PEEK('');
  assert.deepEqual(got(source(bad)), [`unchecked-packet-access@${lineOf(bad, '// peek')}`], show(source(bad)));
  assert.deepEqual(got(await both(bad)), [`unchecked-packet-access@${lineOf(bad, '// peek')}`], show(await both(bad)));
  const good = PEEK('if ((void *)ip + 29 > w.stop)\n\t\treturn XDP_PASS;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  if (kernelOrSkip(t)) return;
  assert.deepEqual(kernelSays(good), []);
  const refused = kernelSays(bad)!;
  assert.equal(refused.length, 1, refused.join('\n'));
  assert.ok(refused[0]!.startsWith(`${lineOf(bad, '// peek')}:`), refused.join('\n'));
});

// An ICMP echo responder built on the walker: the MACs and addresses swapped, the type made a reply, and the
// checksum updated for the type's change, or not.
const ECHO = (update: string) => `${WALKER}
SEC("xdp")
int echo(struct xdp_md *ctx)
{
	struct walker w = { .at = (void *)(long)ctx->data, .stop = (void *)(long)ctx->data_end };
	struct ethhdr *eth;
	struct iphdr *ip;
	struct icmphdr *icmp;
	if (take_eth(&w, &eth) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (take_ip(&w, &ip) != IPPROTO_ICMP || take_icmp(&w, &icmp) != ICMP_ECHO)
		return XDP_PASS;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	icmp->type = ICMP_ECHOREPLY; // reply
	${update}
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2, protocol ICMP) + an echo request with 4 bytes of data, both sums right. */
function echoFrame(): Uint8Array {
  const f = new Uint8Array(46);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const ipSum = ~fold(sum16(f.subarray(14, 34))) & 0xffff;
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  f.set([8, 0, 0, 0, 0, 7, 0, 1, 1, 2, 3, 4], 34);
  const s = ~fold(sum16(f.subarray(34))) & 0xffff;
  f[36] = s >> 8;
  f[37] = s & 0xff;
  return f;
}

test('an ICMP reply built on headers a walker handed out: the type changed with no checksum update is found', { skip: NO_CLANG }, async (t) => {
  const bad = ECHO('');
  assert.deepEqual(got(source(bad)), [`stale-checksum@${lineOf(bad, '// reply')}`], show(source(bad)));
  assert.deepEqual(got(await both(bad)), [`stale-checksum@${lineOf(bad, '// reply')}`], show(await both(bad)));
  const good = ECHO('icmp->checksum += bpf_htons(ICMP_ECHO << 8);');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  if (kernelOrSkip(t)) return;
  const icmpOk = (f: Uint8Array) => fold(sum16(f.subarray(34))) === 0xffff;
  const g = kernelRun(good, 'echo', [echoFrame()]).results[0]!;
  assert.equal(g.retval, 3); // XDP_TX
  assert.equal(g.out[34], 0); // echo reply
  assert.ok(icmpOk(g.out));
  const b = kernelRun(bad, 'echo', [echoFrame()]).results[0]!;
  assert.equal(b.retval, 3);
  assert.ok(!icmpOk(b.out));
});
