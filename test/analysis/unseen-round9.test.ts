// Classes of misses and false alarms found by running `check` over a ninth set of public XDP programs nobody here had
// checked (2026-12-06: ARP responders with their own arphdr, a SYN-cookie responder keeping its header pointers in a
// local struct, load balancers, EtherIP/IPIP encapsulation, pod networking, course labs, firewalls) and over mistakes
// injected into them. Each test is a small program written for it; the real code is not copied. Where a finding claims
// what happens to the packet, the program runs in the kernel (BPF_PROG_TEST_RUN) and the frame it leaves is checked.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, sum16, fold } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <bpf/bpf_endian.h>
`;
const L4 = `#include <linux/tcp.h>
#include <linux/udp.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen9.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);

const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const ipSumOk = (f: Uint8Array) => fold(sum16(f.subarray(14, 34))) === 0xffff;
/** Whether the TCP/UDP checksum of an Ethernet + IPv4 (20 bytes) + TCP/UDP frame verifies. */
const l4SumOk = (f: Uint8Array, proto: number) => fold(sum16(f.subarray(34), sum16(f.subarray(26, 34)) + proto + (f.length - 34))) === 0xffff;

/** Ethernet + IPv4 + TCP (20 bytes) or UDP (8 bytes + 4 of payload), every checksum right. */
function frame(proto: 6 | 17): Uint8Array {
  const l4 = proto === 6 ? 20 : 12;
  const f = new Uint8Array(34 + l4);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 20 + l4, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const ipSum = ~fold(sum16(f.subarray(14, 34))) & 0xffff;
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  if (proto === 6) f.set([0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0], 34);
  else f.set([0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4], 34);
  const at = proto === 6 ? 50 : 40;
  const l4Sum = ~fold(sum16(f.subarray(34), sum16(f.subarray(26, 34)) + proto + l4)) & 0xffff;
  f[at] = l4Sum >> 8;
  f[at + 1] = l4Sum & 0xff;
  return f;
}

/** An ARP request (Ethernet broadcast) for 10.0.0.2 from 10.0.0.1. */
function arpRequest(): Uint8Array {
  const f = new Uint8Array(42);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06]);
  f.set([0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2], 14);
  return f;
}

// An ARP responder with its own arphdr whose address arrays are sized with ETH_ALEN: the sizes are read, so its
// stores into the ARP payload (past byte 12) are not taken for stores into the Ethernet addresses. Answering with the
// Ethernet header left as received sends the reply to the broadcast address from the asker's own MAC.
const ARP = (fixed: boolean) => `
struct arp_pkt {
	__be16 ar_hrd;
	__be16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__be16 ar_op;
	__u8 ar_sha[ETH_ALEN];
	__u8 ar_sip[4];
	__u8 ar_tha[ETH_ALEN];
	__u8 ar_tip[4];
};

SEC("xdp")
int arp_reply(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct arp_pkt *arp = (void *)(eth + 1);
	const __u8 mine[ETH_ALEN] = { 2, 0, 0, 0, 0, 9 };
	__u8 ip[4];

	if ((void *)(arp + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_ARP) || arp->ar_op != bpf_htons(1))
		return XDP_PASS;
	arp->ar_op = bpf_htons(2);
	__builtin_memcpy(arp->ar_tha, arp->ar_sha, ETH_ALEN);
	__builtin_memcpy(arp->ar_sha, mine, ETH_ALEN);
	__builtin_memcpy(ip, arp->ar_tip, 4);
	__builtin_memcpy(arp->ar_tip, arp->ar_sip, 4);
	__builtin_memcpy(arp->ar_sip, ip, 4);
${fixed ? '\t__builtin_memcpy(eth->h_dest, arp->ar_tha, ETH_ALEN);\n\t__builtin_memcpy(eth->h_source, mine, ETH_ALEN);\n' : ''}	return XDP_TX; // reply
}
`;

test('an ARP reply sent by XDP_TX with only its payload changed (own arphdr sized by ETH_ALEN) is tx-unmodified', { skip: NO_CLANG }, async (t) => {
  const fs = source(ARP(false));
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(ARP(false), '// reply')}`], show(fs));
  assert.match(fs[0]!.message, /Ethernet addresses unchanged/);
  assert.deepEqual(show(source(ARP(true))), '');
  assert.deepEqual(show(await both(ARP(true))), '');
  if (kernelOrSkip(t)) return;
  const req = arpRequest();
  const bad = kernelRun(ARP(false), 'arp_reply', [req]).results[0]!;
  assert.equal(bad.retval, 3);
  assert.equal(bad.out[21], 2); // the ARP opcode is a reply
  assert.deepEqual([...bad.out.subarray(0, 12)], [...req.subarray(0, 12)]); // Ethernet addresses as they came in
  const good = kernelRun(ARP(true), 'arp_reply', [req]).results[0]!;
  assert.deepEqual([...good.out.subarray(0, 6)], [2, 0, 0, 0, 0, 1]);
});

// A load balancer whose verdict is `ifindex ? send(eth, ifindex) : XDP_PASS`, send() ending in a redirect helper: the
// address rewritten before it leaves with the redirect, so its checksum must be updated before.
const TERNARY = (fixed: boolean) => `
static __always_inline int send(struct ethhdr *eth, __u32 ifindex)
{
	eth->h_dest[5] = 7;
	eth->h_source[5] = 8;
	return bpf_redirect(ifindex, 0);
}

SEC("xdp")
int lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 ifindex = ctx->ingress_ifindex;

	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	ip->daddr = bpf_htonl(0x0a000063); // backend
${fixed ? '\tip->check = 0;\n\t__u32 s = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);\n\ts = (s & 0xffff) + (s >> 16);\n\ts = (s & 0xffff) + (s >> 16);\n\tip->check = ~s;\n' : ''}	return ifindex ? send(eth, ifindex) : XDP_PASS;
}
`;

test('an address rewritten and the packet sent on by `cond ? send(...) : XDP_PASS`, send() redirecting: stale checksum', { skip: NO_CLANG }, async (t) => {
  const fs = source(TERNARY(false));
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(TERNARY(false), '// backend')}`], show(fs));
  assert.match(fs[0]!.message, /before XDP_REDIRECT/);
  assert.deepEqual(show(source(TERNARY(true))), '');
  assert.deepEqual(show(await both(TERNARY(true))), '');
  if (kernelOrSkip(t)) return;
  const icmp = frame(17);
  icmp[23] = 1; // ICMP
  icmp[24] = 0;
  icmp[25] = 0;
  const s = ~fold(sum16(icmp.subarray(14, 34))) & 0xffff;
  icmp[24] = s >> 8;
  icmp[25] = s & 0xff;
  const bad = kernelRun(TERNARY(false), 'lb', [icmp]).results[0]!;
  assert.equal(bad.retval, 4);
  assert.equal(ipSumOk(bad.out), false);
  const good = kernelRun(TERNARY(true), 'lb', [icmp]).results[0]!;
  assert.equal(ipSumOk(good.out), true);
});

// An IPv4 change, `check = 0`, and the sum never stored: a zero is no IPv4 header checksum (the stack drops the
// packet). Reported on the last change, where the computation of the sum belongs.
const ZEROED = (fixed: boolean) => `
SEC("xdp")
int snat(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	ip->check = 0;
	ip->saddr = bpf_htonl(0x0a000001);
	ip->ttl = 32; // last change
${fixed ? '\t__u32 s = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);\n\ts = (s & 0xffff) + (s >> 16);\n\ts = (s & 0xffff) + (s >> 16);\n\tip->check = ~s;\n' : ''}	return XDP_PASS;
}
`;

test('`check = 0` before an IPv4 change and the sum never stored: stale checksum on the last change', { skip: NO_CLANG }, async (t) => {
  const fs = source(ZEROED(false));
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(ZEROED(false), '// last change')}`], show(fs));
  assert.match(fs[0]!.message, /set to 0 but is not computed before XDP_PASS/);
  assert.deepEqual(show(source(ZEROED(true))), '');
  assert.deepEqual(show(await both(ZEROED(true))), '');
  if (kernelOrSkip(t)) return;
  const icmp = frame(17);
  icmp[23] = 1;
  const bad = kernelRun(ZEROED(false), 'snat', [icmp]).results[0]!;
  assert.equal(bad.retval, 2);
  assert.equal(bad.out[24] | bad.out[25], 0);
  assert.equal(ipSumOk(bad.out), false);
  assert.equal(ipSumOk(kernelRun(ZEROED(true), 'snat', [icmp]).results[0]!.out), true);
});

// A program's own header structs under names of its own (`struct ip_h`, `struct udp_h`) with the kernel's field
// names at the kernel's offsets: a port change without a UDP checksum update is found as for `struct udphdr`.
const OWN = (fixed: boolean) => `
struct ip_h { __u8 vihl, tos; __be16 tot_len, id, frag_off; __u8 ttl, protocol; __sum16 check; __be32 saddr, daddr; };
struct udp_h { __be16 source, dest, len; __sum16 check; };

SEC("xdp")
int dns_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ip_h *ip = data + sizeof(struct ethhdr);
	struct udp_h *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(53))
		return XDP_PASS;
	udp->dest = bpf_htons(5353); // port
${fixed ? '\tudp->check = 0;\n' : ''}	return XDP_PASS;
}
`;

test("a program's own UDP header struct named otherwise, laid out as udphdr: a port change without an update", { skip: NO_CLANG }, async (t) => {
  const fs = source(OWN(false));
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(OWN(false), '// port')}`], show(fs));
  assert.match(fs[0]!.message, /UDP checksum/);
  assert.deepEqual(show(source(OWN(true))), '');
  if (kernelOrSkip(t)) return;
  const udp = frame(17);
  const bad = kernelRun(OWN(false), 'dns_redirect', [udp]).results[0]!;
  assert.equal(bad.retval, 2);
  assert.equal(l4SumOk(bad.out, 17), false);
});

// A struct of the same size whose fields have other names (a tunnel header of its own) is not taken for a header.
test('a struct of its own with other field names is no UDP header: its stores are not judged as one', () => {
  const body = `
struct tun_h { __be16 flags, proto, key, seq; };

SEC("xdp")
int tag(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct tun_h *t = (void *)(ip + 1);

	if ((void *)(t + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol != 47)
		return XDP_PASS;
	t->seq = bpf_htons(1);
	return XDP_PASS;
}
`;
  assert.deepEqual(show(source(body)), '');
});

// Header pointers kept in a local struct (`pkt.tcp = tcp;`) and the SYN-ACK built through them: the TCP fields changed
// are seen, so the missing TCP checksum update is found; once `&pkt` goes to a parser, the members are unknown again.
const KEPT = (fixed: boolean) => `${L4}
struct pkt { struct ethhdr *eth; struct iphdr *ip; struct tcphdr *tcp; };

SEC("xdp")
int synack(struct xdp_md *ctx)
{
	struct pkt p;
	void *data_end = (void *)(long)ctx->data_end;
	p.eth = (struct ethhdr *)(long)ctx->data;
	struct iphdr *ip = (void *)(p.eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);

	if ((void *)(tcp + 1) > data_end)
		return XDP_DROP;
	p.ip = ip;
	p.tcp = tcp;
	if (p.ip->protocol != IPPROTO_TCP || !p.tcp->syn)
		return XDP_PASS;
	__u32 seq = p.tcp->seq;
	p.tcp->ack_seq = bpf_htonl(bpf_ntohl(seq) + 1); // ack
	p.tcp->seq = bpf_htonl(0x1234);
	p.tcp->ack = 1;
${fixed ? '\t__u32 s = bpf_csum_diff(&seq, 4, &p.tcp->seq, 4, ~((__u32)p.tcp->check));\n\ts = (s & 0xffff) + (s >> 16);\n\tp.tcp->check = ~s;\n' : ''}	__be32 a = p.ip->saddr;
	p.ip->saddr = p.ip->daddr;
	p.ip->daddr = a;
	__be16 port = p.tcp->source;
	p.tcp->source = p.tcp->dest;
	p.tcp->dest = port;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, p.eth->h_source, ETH_ALEN);
	__builtin_memcpy(p.eth->h_source, p.eth->h_dest, ETH_ALEN);
	__builtin_memcpy(p.eth->h_dest, mac, ETH_ALEN);
	return XDP_TX;
}
`;

test('a SYN-ACK built through header pointers kept in a local struct, without a TCP checksum update', { skip: NO_CLANG }, async (t) => {
  const fs = source(KEPT(false));
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(KEPT(false), '// ack')}`], show(fs));
  assert.match(fs[0]!.message, /TCP checksum/);
  assert.deepEqual(show(source(KEPT(true))), '');
  if (kernelOrSkip(t)) return;
  const syn = frame(6);
  const bad = kernelRun(KEPT(false), 'synack', [syn]).results[0]!;
  assert.equal(bad.retval, 3);
  assert.equal(bad.out[47], 0x12); // SYN+ACK
  assert.equal(l4SumOk(bad.out, 6), false);
});

test('a local struct of header pointers handed to a parser by address: its members are not kept', () => {
  const body = `${L4}
struct pkt { struct iphdr *ip; struct tcphdr *tcp; };

static __attribute__((noinline)) int parse(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return -1;
	p->ip = ip;
	return 0;
}

SEC("xdp")
int fw(struct xdp_md *ctx)
{
	struct pkt p;
	p.ip = 0;
	if (parse(ctx, &p) < 0)
		return XDP_PASS;
	return XDP_PASS;
}
`;
  assert.deepEqual(show(source(body)), '');
});

// A program's own `htons` defined over the kernel's `___constant_swab16` (a macro of a system header the tier does
// not read): a byte swap, not an unknown function that may have written the Ethernet addresses.
const SWAB = `
#define my_htons(x) ((__be16)___constant_swab16((x)))

static __always_inline void make_reply(void *data)
{
	struct ethhdr *eth = data;
	__be16 *op = data + sizeof(*eth) + 6;
	*op = my_htons(2);
}

SEC("xdp")
int arp_reply(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (data + sizeof(*eth) + 28 > data_end)
		return XDP_PASS;
	if (eth->h_proto != my_htons(ETH_P_ARP))
		return XDP_PASS;
	make_reply(data);
	return XDP_TX; // reply
}
`;

test("`htons` built on ___constant_swab16 is a byte swap: an ARP reply with the Ethernet header left is tx-unmodified", { skip: NO_CLANG }, async (t) => {
  const fs = source(SWAB);
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(SWAB, '// reply')}`], show(fs));
  if (kernelOrSkip(t)) return;
  const req = arpRequest();
  const r = kernelRun(SWAB, 'arp_reply', [req]).results[0]!;
  assert.equal(r.retval, 3);
  assert.equal(r.out[21], 2);
  assert.deepEqual([...r.out.subarray(0, 12)], [...req.subarray(0, 12)]);
});
