// A TCP or UDP payload changed and the frame sent on (XDP_TX, XDP_REDIRECT, XDP_PASS) with the L4 checksum as it
// came: the payload is covered by that checksum as the header is, so the receiver drops the packet (a UDP/IPv4 packet
// that came with no checksum, 0, excepted). Was silent: a store past the L4 header the tier cannot name was taken as a
// possible update of the checksum. An incremental update, `check = 0` on UDP, or a test proving the UDP sum 0 is fine.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { HEAD, NO_CLANG, show, lineOf, got, both, kernelSays, kernelRun, udpFrame, udpSumOk } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const UPDATE = `{
		__s64 s = bpf_csum_diff(&old, 4, &now, 4, (__u16)~udp->check);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		udp->check = ~s;
	}`;

// A ping-pong reflector: the request's id and a stamp written into the payload, addresses and ports exchanged (which
// keep both sums), the frame sent back.
const PONG = (guard: string, after: string, action = 'XDP_TX') => `
#include <linux/udp.h>
struct pl { __u32 id; };
SEC("xdp")
int pong(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);
	struct pl *p = (void *)(udp + 1);
	if ((void *)(p + 1) > end)
		return XDP_PASS;
	if (udp->dest != __builtin_bswap16(7777))
		return XDP_PASS;
	${guard}
	__u32 old = p->id, now = old + 1;
	p->id = now; /* here */
	${after}
	__u32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	__u16 port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	return ${action};
}
char _license[] SEC("license") = "GPL";
`;

const TCP = (after: string) => `
#include <linux/tcp.h>
SEC("xdp")
int mark(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u8 *b = (void *)(tcp + 1);
	if ((void *)(b + 4) > end)
		return XDP_PASS;
	if (ip->protocol != 6)
		return XDP_PASS;
	b[2] = 'x'; /* here */
	${after}
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a UDP payload changed and sent back with its checksum as it came: stale, on the store (source tier)', () => {
  const body = PONG('', '');
  const fs = analyzeSource('/tmp/payload.c', HEAD + body, {});
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /^`id` in the UDP payload is changed here, but the UDP checksum .* not updated before XDP_TX/);
  for (const action of ['XDP_PASS', 'bpf_redirect(2, 0)']) {
    const b = PONG('', '', action);
    assert.deepEqual(got(analyzeSource('/tmp/payload.c', HEAD + b, {})), [`stale-checksum@${lineOf(b, '/* here */')}`]);
  }
  // The payload's place through a const global (`static const int OFF = 0;`, whose value clang uses): the same.
  const off = PONG('', '').replace('struct pl *p = (void *)(udp + 1);', 'struct pl *p = (void *)(udp + 1) + OFF;').replace('struct pl {', 'static const int OFF = 0;\nstruct pl {');
  assert.deepEqual(got(analyzeSource('/tmp/payload.c', HEAD + off, {})), [`stale-checksum@${lineOf(off, '/* here */')}`]);
  // Updated incrementally, set to 0 (UDP over IPv4: no checksum), or known to be 0 already: nothing to report.
  for (const [guard, after] of [['', UPDATE], ['', 'udp->check = 0;'], ['if (udp->check) return XDP_PASS;', '']]) {
    assert.equal(show(analyzeSource('/tmp/payload.c', HEAD + PONG(guard, after), {})), '', `${guard} ${after}`);
  }
  // Dropped: nothing goes out.
  assert.equal(show(analyzeSource('/tmp/payload.c', HEAD + PONG('', '', 'XDP_DROP'), {})), '');
});

test('a TCP payload changed and passed on: stale, on the store (source tier)', () => {
  const body = TCP('');
  const fs = analyzeSource('/tmp/payload.c', HEAD + body, {});
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /TCP payload is changed here, but the TCP checksum .* not updated before XDP_PASS/);
  assert.equal(show(analyzeSource('/tmp/payload.c', HEAD + TCP('tcp->check = ~bpf_csum_diff(0, 0, (__be32 *)tcp, 24, 0);'), {})), '');
});

test('a UDP payload changed and sent back: both tiers, and the kernel sends out a sum that does not verify', { skip: NO_CLANG }, async () => {
  const body = PONG('', '');
  const fs = await both(HEAD + body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  assert.equal(show(await both(HEAD + PONG('', UPDATE))), '');
  if (kernelSays(HEAD + body) === undefined) return;
  const f = udpFrame(7777);
  assert.ok(udpSumOk(f));
  const bad = kernelRun(HEAD + body, 'pong', [f]).results[0]!;
  assert.equal(bad.retval, 3);
  assert.equal(udpSumOk(bad.out), false);
  const ok = kernelRun(HEAD + PONG('', UPDATE), 'pong', [f]).results[0]!;
  assert.equal(ok.retval, 3);
  assert.ok(udpSumOk(ok.out));
});
