// Classes of misses left open by the earlier rounds of unseen programs and found again in the seventeenth (2026-12-07):
// a parser cursor moved by a bounded loop over VLAN tags, a header pointer that two paths leave at different places
// (`p += 4` under a VLAN test), a cursor kept in a struct member whose address is given to a parser (`&c.pos`), and
// an ICMP reply whose action reaches the return through a shared exit (`action = XDP_TX; goto out;`). The source tier
// (what the editor shows as you type) took the cursor after the loop, and the pointer after the join, to be anywhere
// in the frame, so a later `pos + n > data_end` proved the whole frame and nothing after it was judged; it did not
// follow `&c.pos`; and it judged the ICMP checksum only where every value returned sent the packet on. Each test is
// a small program written for it; the real code is not copied. What a finding says about the kernel is checked in
// the running kernel (its verifier, or BPF_PROG_TEST_RUN for the sums).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, kernelSays as kernelRefusals, fold, sum16 } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <bpf/bpf_endian.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen17.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);

/** The verifier refuses `body` once, on the line holding `marker`, and loads `good`. */
function kernelAgrees(good: string, bad: string, marker: string): void {
  assert.deepEqual(kernelSays(good), []);
  const refused = kernelSays(bad)!;
  assert.equal(refused.length, 1, refused.join('\n'));
  assert.ok(refused[0]!.startsWith(`${lineOf(bad, marker)}:`), refused.join('\n'));
}

// A walker that steps over the Ethernet header and then over up to two VLAN tags, one bounds check per tag.
const TAGS = `
struct step {
	void *at;
};

struct tag {
	__be16 tci;
	__be16 inner;
};

static __always_inline int tagged(__u16 type)
{
	return type == bpf_htons(0x8100) || type == bpf_htons(0x88a8);
}

static __always_inline int over_l2(struct step *s, void *stop, struct ethhdr **l2)
{
	struct ethhdr *e = s->at;
	struct tag *t;
	__u16 type;
	if (s->at + sizeof(*e) > stop)
		return -1;
	*l2 = e;
	type = e->h_proto;
	t = (void *)(e + 1);
#pragma unroll
	for (int n = 0; n < 2; n++) {
		if (!tagged(type) || (void *)(t + 1) > stop)
			break;
		type = t->inner;
		t++;
	}
	s->at = t;
	return type;
}
`;

const VLAN = (use: string) => `${TAGS}
SEC("xdp")
int tags(struct xdp_md *ctx)
{
	void *stop = (void *)(long)ctx->data_end;
	struct step s = { .at = (void *)(long)ctx->data };
	struct ethhdr *l2;
	if (over_l2(&s, stop, &l2) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *l3 = s.at;
	if (s.at + sizeof(*l3) > stop)
		return XDP_DROP;
	${use}
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a cursor moved over VLAN tags by a bounded loop: a later check proves its own bytes only, not the whole frame', { skip: NO_CLANG }, async (t) => {
  const good = VLAN('if (((__u8 *)l3)[19] == 1 || ((__u8 *)l2)[33] == 1) // use\n\t\treturn XDP_DROP;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  // A byte past the 20 checked through the cursor; a byte of the frame past what the check proves on a frame with no tag.
  for (const use of ['((__u8 *)l3)[20] = 1; // use', '((__u8 *)l2)[36] = 1; // use']) {
    const bad = VLAN(use);
    assert.deepEqual(got(source(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(source(bad)));
    assert.deepEqual(got(await both(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(await both(bad)));
    if (!kernelOrSkip(t)) kernelAgrees(good, bad, '// use');
  }
});

// A header pointer placed 14 or 18 bytes in by a test of the EtherType, then checked once.
const JOIN = (use: string) => `
SEC("xdp")
int joined(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	void *l3 = data + sizeof(*eth);
	if (eth->h_proto == bpf_htons(0x8100))
		l3 += 4;
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	${use}
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a header pointer two paths leave at different places: its check proves its own bytes and the nearer place of the frame', { skip: NO_CLANG }, async (t) => {
  const good = JOIN('if (ip->ttl < 2 || ((__u8 *)eth)[33] == 1) // use\n\t\treturn XDP_DROP;');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  for (const use of ['((__u8 *)ip)[20] = 1; // use', '((__u8 *)eth)[36] = 1; // use']) {
    const bad = JOIN(use);
    assert.deepEqual(got(source(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(source(bad)));
    assert.deepEqual(got(await both(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(await both(bad)));
    if (!kernelOrSkip(t)) kernelAgrees(good, bad, '// use');
  }
});

// A parser given the address of a cursor member (`void **`), moving it past the header it hands out.
const MEMBER = (use: string) => `
struct where {
	void *pos;
	__u32 depth;
};

static __always_inline int l2_of(void **pos, void *end, struct ethhdr **out)
{
	struct ethhdr *e = *pos;
	if ((void *)(e + 1) > end)
		return -1;
	*pos = e + 1;
	*out = e;
	return e->h_proto;
}

SEC("xdp")
int member(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct where w;
	struct ethhdr *eth;
	w.pos = (void *)(long)ctx->data;
	w.depth = 0;
	if (l2_of(&w.pos, end, &eth) < 0)
		return XDP_DROP;
	${use}
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a cursor member whose address is given to a parser (`&w.pos`) is followed: an access past the checked header is found', { skip: NO_CLANG }, async (t) => {
  const good = MEMBER('((__u8 *)eth)[13] = 1; // use');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  const bad = MEMBER('((__u8 *)eth)[40] = 1; // use');
  assert.deepEqual(got(source(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(source(bad)));
  assert.deepEqual(got(await both(bad)), [`unchecked-packet-access@${lineOf(bad, '// use')}`], show(await both(bad)));
  if (!kernelOrSkip(t)) kernelAgrees(good, bad, '// use');
});

// An ICMP echo responder whose paths meet at one exit that counts the action in a map (a function of its own, not
// inlined) and returns it.
const ECHO = (update: string) => `
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 5);
} seen SEC(".maps");

static __attribute__((noinline)) int count_action(struct xdp_md *ctx, __u32 action)
{
	__u64 *n = bpf_map_lookup_elem(&seen, &action);
	if (!n)
		return XDP_ABORTED;
	*n += 1;
	return action;
}

struct icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 cksum;
	__be16 id;
	__be16 seq;
};

SEC("xdp")
int pong(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 action = XDP_PASS;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct icmp_echo *e = data + sizeof(*eth) + sizeof(*ip);
	if ((void *)(e + 1) > data_end)
		goto out;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_ICMP || ip->ihl != 5 || e->type != 8)
		goto out;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	e->type = 0; // reply
	${update}
	action = XDP_TX;
out:
	return count_action(ctx, action);
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Ethernet + IPv4 (protocol ICMP) + an echo request with 4 bytes of data, both sums right. */
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

test('an ICMP type changed with no checksum update is found when XDP_TX reaches the return through a shared exit', { skip: NO_CLANG }, async (t) => {
  const bad = ECHO('');
  assert.deepEqual(got(source(bad)), [`stale-checksum@${lineOf(bad, '// reply')}`], show(source(bad)));
  assert.deepEqual(got(await both(bad)), [`stale-checksum@${lineOf(bad, '// reply')}`], show(await both(bad)));
  const good = ECHO('e->cksum += bpf_htons(8 << 8);');
  assert.deepEqual(got(source(good)), [], show(source(good)));
  assert.deepEqual(got(await both(good)), [], show(await both(good)));
  if (kernelOrSkip(t)) return;
  const icmpOk = (f: Uint8Array) => fold(sum16(f.subarray(34))) === 0xffff;
  const g = kernelRun(good, 'pong', [echoFrame()]).results[0]!;
  assert.equal(g.retval, 3); // XDP_TX
  assert.equal(g.out[34], 0); // echo reply
  assert.ok(icmpOk(g.out));
  const b = kernelRun(bad, 'pong', [echoFrame()]).results[0]!;
  assert.equal(b.retval, 3);
  assert.ok(!icmpOk(b.out));
});

// A program built on a compact header of its own in the style of vmlinux.h, whose integer types are spelled with
// their words in another order (`short unsigned int`, `long long unsigned int`): the source tier knew no size for
// them, so no header had a size and no packet access was judged.
const COMPACT = (use: string) => `typedef unsigned char __u8;
typedef short unsigned int __u16;
typedef unsigned int __u32;
typedef long long unsigned int __u64;
typedef __u16 __be16;
typedef __u32 __be32;
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};
enum xdp_action { XDP_ABORTED = 0, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT };
struct ethhdr {
	unsigned char h_dest[6];
	unsigned char h_source[6];
	__be16 h_proto;
};
struct iphdr {
	__u8 ihl: 4;
	__u8 version: 4;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};
struct ports {
	__be16 source;
	__be16 dest;
};
#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int compact(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ports *l4 = (void *)(ip + 1);
	if ((void *)l4 > data_end) // check
		return XDP_DROP;
	${use}
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('integer types spelled `short unsigned int` in a header of the program: their sizes are known and an access past the check is found once', { skip: NO_CLANG }, async (t) => {
  const srcOnly = (text: string) => analyzeSource('/tmp/unseen17b.c', text, {});
  const lineIn = (text: string, marker: string) => text.split('\n').findIndex((l) => l.includes(marker)) + 1;
  const bad = COMPACT('if (l4->source == 53 || l4->dest == 53) // use\n\t\treturn XDP_DROP;');
  assert.deepEqual(got(srcOnly(bad)), [`unchecked-packet-access@${lineIn(bad, '// use')}`], show(srcOnly(bad)));
  const good = COMPACT('if (ip->ttl == 1) // use\n\t\treturn XDP_DROP;');
  assert.deepEqual(got(srcOnly(good)), [], show(srcOnly(good)));
  const r = await bothTiers(bad);
  assert.deepEqual(got(r), [`unchecked-packet-access@${lineIn(bad, '// use')}`], show(r));
  if (kernelOrSkip(t)) return;
  assert.deepEqual(kernelRefusals(good), []);
  const refused = kernelRefusals(bad)!;
  assert.equal(refused.length, 1, refused.join('\n'));
  assert.ok(refused[0]!.startsWith(`${lineIn(bad, '// use')}:`), refused.join('\n'));
});
