// The payload-change rule (payload-checksum.test.ts) extended to three shapes it did not judge: a payload store made in
// an inlined helper that is handed only the payload pointer (the TCP/UDP header pointer is the caller's), a store at an
// offset the tier knows only as a lower bound (an unsigned index added, or a length read from the packet), and a
// store into the data of an ICMP message (its checksum covers the whole message). Each was silent before; the kernel
// runs show the checksum of the frame sent on no longer verifies, and that the controls' does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { HEAD, NO_CLANG, show, lineOf, got, both, kernelSays, kernelRun, udpFrame, udpSumOk, sum16, fold } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const src = (body: string) => analyzeSource('/tmp/payload-gaps.c', HEAD + body, {});

// A UDP/7777 packet whose payload the program changes; `store` makes the change, `helper` is defined before the program.
const UDP = (helper: string, store: string, after = '', action = 'XDP_PASS') => `
#include <linux/udp.h>
${helper}
SEC("xdp")
int mark(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *p = (void *)(udp + 1);
	if ((void *)(p + 4) > end)
		return XDP_PASS;
	if (ip->protocol != 17 || udp->dest != __builtin_bswap16(7777))
		return XDP_PASS;
	${store}
	${after}
	return ${action};
}
char _license[] SEC("license") = "GPL";
`;

const HELPER = `static __always_inline void stamp(__u8 *b)
{
	b[1] = 'x'; /* here */
}`;
const VAR = `__u32 i = ctx->rx_queue_index & 3;
	__u8 *q = p + i;
	if ((void *)(q + 1) > end)
		return XDP_PASS;
	*q = 'x'; /* here */`;
const TAINT = `__u8 *q = p + (p[0] & 3);
	if ((void *)(q + 1) > end)
		return XDP_PASS;
	*q = 'x'; /* here */`;

test('a UDP payload changed in a helper given only the payload pointer: stale, on the helper\'s store', () => {
  const body = UDP(HELPER, 'stamp(p);');
  const fs = src(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /^The UDP payload is changed here, but the UDP checksum .* not updated before XDP_PASS/);
  // The caller sets the sum to 0 after the call, or the packet is dropped: nothing to report.
  assert.equal(show(src(UDP(HELPER, 'stamp(p);', 'udp->check = 0;'))), '');
  assert.equal(show(src(UDP(HELPER, 'stamp(p);', '', 'XDP_DROP'))), '');
});

test('a UDP payload changed at a variable offset (unsigned index, a length read from the packet): stale, on the store', () => {
  for (const store of [VAR, TAINT]) {
    const body = UDP('', store);
    const fs = src(body);
    assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
    assert.equal(show(src(UDP('', store, 'udp->check = 0;'))), '');
  }
  // A signed offset may point back into the UDP header (its checksum): not judged.
  assert.equal(show(src(UDP('', VAR.replace('__u32 i', 'int i').replace('& 3', '% 3 - 1')))), '');
});

const ICMP = (after: string, action = 'XDP_PASS') => `
#include <linux/icmp.h>
SEC("xdp")
int ping(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct icmphdr *icmp = (void *)(ip + 1);
	__u8 *p = (void *)(icmp + 1);
	if ((void *)(p + 4) > end)
		return XDP_PASS;
	if (ip->protocol != 1 || icmp->type != 8)
		return XDP_PASS;
	p[1] = 'x'; /* here */
	${after}
	return ${action};
}
char _license[] SEC("license") = "GPL";
`;
const ICMP_SUM = `icmp->checksum = 0;
	__s64 s = bpf_csum_diff(0, 0, (__be32 *)icmp, 12, 0);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	icmp->checksum = ~s;`;

test('an ICMP message\'s data changed and passed on: stale ICMP checksum, on the store', () => {
  const body = ICMP('');
  const fs = src(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /^The ICMP data is changed here, but the ICMP checksum \(`checksum`, which covers the whole ICMP message\) is not updated before XDP_PASS/);
  assert.equal(show(src(ICMP(ICMP_SUM))), '');
  assert.equal(show(src(ICMP('', 'XDP_DROP'))), '');
});

/** Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + ICMP echo request (id 1, seq 1) with 4 bytes of data, both sums right. */
function icmpFrame(): Uint8Array {
  const f = new Uint8Array(46);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const ipSum = ~fold(sum16(f.subarray(14, 34))) & 0xffff;
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  f.set([8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4], 34);
  const s = ~fold(sum16(f.subarray(34))) & 0xffff;
  f[36] = s >> 8;
  f[37] = s & 0xff;
  return f;
}
const icmpSumOk = (f: Uint8Array) => fold(sum16(f.subarray(34))) === 0xffff;

test('both tiers agree, and the kernel passes on frames whose UDP/ICMP sums no longer verify (the controls\' do)', { skip: NO_CLANG }, async () => {
  const cases: [string, string, Uint8Array, (f: Uint8Array) => boolean][] = [
    [UDP(HELPER, 'stamp(p);'), UDP(HELPER, 'stamp(p);', 'udp->check = 0;'), udpFrame(7777), udpSumOk],
    [UDP('', VAR), UDP('', VAR, 'udp->check = 0;'), udpFrame(7777), udpSumOk],
    [UDP('', TAINT), UDP('', TAINT, 'udp->check = 0;'), udpFrame(7777), udpSumOk],
    [ICMP(''), ICMP(ICMP_SUM), icmpFrame(), icmpSumOk],
  ];
  for (const [bad, ok, frame, sumOk] of cases) {
    assert.deepEqual(got(await both(HEAD + bad)), [`stale-checksum@${lineOf(bad, '/* here */')}`]);
    assert.equal(show(await both(HEAD + ok)), '');
    if (kernelSays(HEAD + bad) === undefined) continue;
    assert.ok(sumOk(frame));
    const program = bad.includes('int ping') ? 'ping' : 'mark';
    const out = kernelRun(HEAD + bad, program, [frame]).results[0]!;
    assert.equal(out.retval, 2);
    assert.equal(sumOk(out.out), false);
    const good = kernelRun(HEAD + ok, program, [frame]).results[0]!;
    assert.equal(good.retval, 2);
    // `check = 0`: a UDP/IPv4 packet with no checksum, which the receiver takes; the ICMP sum computed verifies.
    assert.ok(sumOk(good.out) || (good.out[40] === 0 && good.out[41] === 0));
  }
});

// No TCP/UDP header pointer at all: the payload reached as `data + 42` under `ip->protocol == IPPROTO_UDP` (the
// place past an option-less IPv4 header and the UDP header). Silent before; `data + 40` (the UDP checksum itself)
// stays a possible update, and a protocol other than UDP/TCP proven is not judged.
const FLAT = (at: number, store: string, proto = 17) => `
#include <linux/udp.h>
SEC("xdp")
int mark(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u8 *p = data + ${at};

	if ((void *)(p + 4) > end)
		return XDP_PASS;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->protocol != ${proto})
		return XDP_PASS;
	${store}
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a UDP payload reached as data + 42 (no UDP header pointer): stale, on the store; the kernel\'s output sum no longer verifies', async () => {
  const bad = FLAT(42, "p[1] = 'x'; /* here */");
  const fs = src(bad);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(bad, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /^The UDP payload is changed here, but the UDP checksum/);
  const ok = FLAT(42, "p[1] = 'x';\n\t*(__u16 *)(data + 40) = 0;");
  for (const quiet of [ok, FLAT(40, 'p[0] = 0;'), FLAT(42, "p[1] = 'x';", 1)]) assert.equal(show(src(quiet)), '', quiet);
  if (NO_CLANG) return;
  assert.deepEqual(got(await both(HEAD + bad)), [`stale-checksum@${lineOf(bad, '/* here */')}`]);
  assert.equal(show(await both(HEAD + ok)), '');
  if (kernelSays(HEAD + bad) === undefined) return;
  const frame = udpFrame(7777);
  assert.ok(udpSumOk(frame));
  const out = kernelRun(HEAD + bad, 'mark', [frame]).results[0]!;
  assert.equal(out.retval, 2);
  assert.equal(udpSumOk(out.out), false);
  const good = kernelRun(HEAD + ok, 'mark', [frame]).results[0]!;
  assert.equal(good.retval, 2);
  assert.ok(good.out[40] === 0 && good.out[41] === 0);
});
