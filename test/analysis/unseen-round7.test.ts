// Classes of misses and false alarms found by running `check` over a seventh set of public XDP programs nobody here
// had checked (2026-12-06: a firewall pipeline whose NAT helpers skip the port checksum update on purpose when the
// checksum is left to the device, ICMP echo responders, IPIP tunnel endpoints, AF_XDP redirectors, offloaded RSS
// steering) and over mistakes injected into them. Each test is a small program written for it; the real code is not
// copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { sentences } from './sentences.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelSays as kernelRefusals } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/icmp.h>
#include <bpf/bpf_endian.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);

function source(body: string): Finding[] {
  return analyzeSource('/tmp/unseen7.c', HEAD + body, {});
}

const both = (body: string) => bothTiers(HEAD + body);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);

// A NAT helper of a firewall pipeline: it returns early when the header lies too far in, and updates the TCP
// checksum (computed from the old and the new port) before it stores the port. The early return changed nothing;
// the join of the two used to leave the port change open with no update.
const NAT = `
struct meta { __u8 partial; __u8 proto; __u16 l4_off; __be16 port; };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct meta);
} scratch SEC(".maps");

static __always_inline void fix16(__sum16 *sum, __be16 from, __be16 to)
{
	__u32 c = (__u16)~*sum + (__u16)~from + to;
	c = (c & 0xffff) + (c >> 16);
	*sum = ~((c & 0xffff) + (c >> 16));
}

static __attribute__((noinline)) void rewrite(struct xdp_md *ctx, struct meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (m->l4_off >= 128)
		return;
	struct tcphdr *tcp = data + m->l4_off;
	if ((void *)(tcp + 1) <= data_end && tcp->dest != m->port) {
		if (!m->partial)
			fix16(&tcp->check, tcp->dest, m->port);
		tcp->dest = m->port; // port
	}
}

SEC("xdp")
int nat(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct meta *m = bpf_map_lookup_elem(&scratch, &zero);
	if (!m)
		return XDP_DROP;
	rewrite(ctx, m);
	return XDP_PASS;
}
`;

test('stale-checksum: a helper\'s early return joined with its path that updated the TCP checksum before the port store is quiet', async () => {
  assert.deepEqual(show(source(NAT)), '');
  assert.deepEqual(show(source(NAT.replace('\t\tif (!m->partial)\n\t\t\tfix16', '\t\tfix16'))), '');
  // Without the update the port change is still reported, on its line (both tiers).
  const body = NAT.replace('\t\tif (!m->partial)\n\t\t\tfix16(&tcp->check, tcp->dest, m->port);\n', '');
  const fs = NO_CLANG ? source(body) : await both(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '// port')}`], show(fs));
});

// An ICMP echo responder that recomputes the IPv4 checksum from a copy of the header taken after zeroing `check`.
const ECHO = `
static __always_inline __u16 fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	return ~((c & 0xffff) + (c >> 16));
}

SEC("xdp")
int echo(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	struct icmphdr *icmp = (void *)ip + ip->ihl * 4;
	if ((void *)(icmp + 1) > data_end)
		return XDP_PASS;
	if (icmp->type != ICMP_ECHO)
		return XDP_PASS;

	unsigned char mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN); // copy
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); // mac
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	__be32 addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;

	__u16 old = ip->check;
	ip->check = 0;
	struct iphdr before = *ip;
	ip->ttl = 64; // ttl
	ip->check = fold(bpf_csum_diff((__be32 *)&before, sizeof(before), (__be32 *)ip, sizeof(*ip), (__u16)~old)); // ip sum

	__u16 was = icmp->checksum;
	icmp->checksum = 0;
	struct icmphdr req = *icmp;
	icmp->type = ICMP_ECHOREPLY; // type
	icmp->checksum = fold(bpf_csum_diff((__be32 *)&req, sizeof(req), (__be32 *)icmp, sizeof(*icmp), (__u16)~was)); // icmp sum
	return XDP_TX; // tx
}
`;

test('an ICMP echo responder that swaps the addresses and recomputes both checksums is quiet', async () => {
  assert.deepEqual(show(source(ECHO)), '');
  if (!NO_CLANG) assert.deepEqual(show(await both(ECHO)), '');
});

test('stale-checksum: a change after `check = 0` is open until the sum is stored (the recompute removed)', () => {
  const body = ECHO.replace(/\tip->check = fold\(.*\/\/ ip sum\n/, '');
  const fs = source(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '// ttl')}`], show(fs));
  assert.match(fs[0]!.message, /`ttl` of the IPv4 header is changed here/);
});

test('stale-checksum: the ICMP checksum, which is never optional, must follow a change of the ICMP header', () => {
  const body = ECHO.replace(/\ticmp->checksum = fold\(.*\/\/ icmp sum\n/, '');
  const fs = source(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '// type')}`], show(fs));
  assert.match(fs[0]!.message, /`type` of the ICMP header is changed here, but the ICMP checksum/);
  assert.ok(sentences(fs[0]!.message) <= 2, fs[0]!.message);
  // Zeroed and never computed: reported at the zeroing when nothing else in the header changed.
  const zeroed = body.replace('\ticmp->type = ICMP_ECHOREPLY; // type\n', '');
  const zs = source(zeroed);
  assert.deepEqual(got(zs), [`stale-checksum@${lineOf(zeroed, 'icmp->checksum = 0;')}`], show(zs));
  assert.match(zs[0]!.message, /ICMP checksum is set to 0 here/);
});

test('tx-unmodified: XDP_TX after changing the IP header but not the Ethernet addresses', async () => {
  // The MAC swap removed: the addresses and both checksums are still right, but the frame goes back to this host.
  const body = ECHO.replace('\t__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); // mac\n\t__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);\n', '');
  const fs = NO_CLANG ? source(body) : await both(body);
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(body, '// tx')}`], show(fs));
  assert.match(fs[0]!.message, /Ethernet addresses unchanged/);
  assert.ok(sentences(fs[0]!.message) <= 2, fs[0]!.message);
  // A MAC written through a variable index or a helper's pointer counts (the tier cannot tell which bytes).
  const loop = ECHO.replace('\t__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); // mac\n\t__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);\n',
    '\tfor (int i = 0; i < ETH_ALEN; i++)\n\t\teth->h_dest[i] = mac[i];\n');
  assert.deepEqual(show(source(loop)), '');
  const bytes = ECHO.replace('\t__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN); // mac\n\t__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);\n',
    '\tbpf_xdp_store_bytes(ctx, 0, mac, ETH_ALEN, 0);\n');
  assert.deepEqual(show(source(bytes)), '');
});

// An IPIP decapsulation: after bpf_xdp_adjust_head every packet pointer must be checked again; one check covered both
// the Ethernet and the IPv4 header.
const DECAP = `
SEC("xdp")
int decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *outer = data + sizeof(struct ethhdr);
	if ((void *)(outer + 1) > data_end)
		return XDP_PASS;
	if (outer->protocol != IPPROTO_IPIP)
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	if ((void *)(ip + 1) > data_end) // check
		return XDP_DROP;
	eth->h_proto = bpf_htons(ETH_P_IP); // first
	return ip->ttl > 1 ? XDP_PASS : XDP_DROP;
}
`;

test('unchecked-packet-access: no check at all after the move is one finding, on the first access', async (t) => {
  assert.deepEqual(show(source(DECAP)), '');
  const body = DECAP.replace(/\tif \(\(void \*\)\(ip \+ 1\) > data_end\) \/\/ check\n\t\treturn XDP_DROP;\n/, '');
  const fs = NO_CLANG ? source(body) : await both(body);
  assert.deepEqual(got(fs), [`unchecked-packet-access@${lineOf(body, '// first')}`], show(fs));
  if (NO_CLANG || kernelOrSkip(t)) return;
  const k = kernelSays(body);
  if (k === undefined) return;
  assert.ok(k.some((m) => m.startsWith(`${lineOf(body, '// first')}: `)), k.join('\n'));
  assert.deepEqual(kernelSays(DECAP), []);
});

test('ctx-write: setting rx_queue_index says only a program offloaded to the NIC may (the kernel refuses it here)', (t) => {
  const body = `
SEC("xdp")
int steer(struct xdp_md *ctx)
{
	ctx->rx_queue_index = ctx->rx_queue_index & 1; // steer
	return XDP_PASS;
}
`;
  const fs = source(body);
  assert.deepEqual(got(fs), [`ctx-write@${lineOf(body, '// steer')}`], show(fs));
  assert.match(fs[0]!.message, /offloaded to the NIC/);
  if (NO_CLANG || kernelOrSkip(t)) return;
  const k = kernelSays(body);
  if (k === undefined) return;
  assert.ok(k.some((m) => m.startsWith(`${lineOf(body, '// steer')}: `)), k.join('\n'));
});
