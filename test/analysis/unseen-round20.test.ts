// Classes left open by the earlier rounds of unseen programs (2026-12-07): a header field changed under one `if` on
// the protocol and its checksum fixed under a second `if` on another protocol number (the tier took the second `if`,
// which skips the fix on the first one's path, as an optional update and was silent; a `switch` was reported); a map
// value cut to 32 bits and tested (`(__u32)(unsigned long)v != 0`), two findings where the kernel stops at the test;
// a ring buffer record or socket tested against 1 (`v != (void *)1`), which also gave an "Unreleased reference" at
// the exit the kernel never reaches (or, when the release is given the constant clang proved, reported the leak at
// the exit instead of the call the kernel refuses). Small programs written for each; refusals checked in the kernel.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { HEAD, NO_CLANG, show, lineOf, got, both, kernelSays, kernelRun, sum16, fold } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

/** The kernel's first refusal of `text` is on `line` (skipped when the kernel is missing). */
function kernelFirstAt(text: string, line: number): void {
  const refused = kernelSays(text);
  if (refused === undefined) return;
  assert.ok(refused.length >= 1 && refused[0]!.startsWith(`${line}:`), `${refused.join('\n')}\nexpected line ${line}`);
}

// The ICMP echo id (or a UDP port) changed under `if (ip->protocol == N)`, the sum fixed under a second `if` on the
// protocol: the same number (no finding) or another (the change goes out with a stale sum).
const TWO_IFS = (hdr: 'icmp' | 'udp', second: number) => `
#include <linux/${hdr}.h>
SEC("xdp")
int two_ifs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	${hdr === 'icmp' ? 'struct icmphdr *h' : 'struct udphdr *h'} = (void *)(ip + 1);
	if ((void *)(h + 1) > end)
		return XDP_PASS;
	if (ip->protocol == ${hdr === 'icmp' ? 1 : 17})
		${hdr === 'icmp' ? 'h->un.echo.id = 7;' : 'h->dest = 53;'} /* here */
	if (ip->protocol == ${second}) {
		${hdr === 'icmp' ? 'h->checksum = 0;\n\t\th->checksum = ~bpf_csum_diff(0, 0, (__be32 *)h, sizeof(*h), 0);' : 'h->check = 0;'}
	}
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	return XDP_TX;
}
char _license[] SEC("license") = "GPL";
`;

test('a change under one `if` on the protocol, its sum fixed under a second `if` on another number: stale (source tier)', () => {
  for (const [hdr, same, other] of [['icmp', 1, 17], ['udp', 17, 6]] as const) {
    assert.equal(show(analyzeSource('/tmp/unseen20.c', HEAD + TWO_IFS(hdr, same), {})), '');
    const body = TWO_IFS(hdr, other);
    const fs = analyzeSource('/tmp/unseen20.c', HEAD + body, {});
    assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
  }
});

test('a change under one `if` on the protocol, its sum fixed under a second `if` (both tiers)', { skip: NO_CLANG }, async () => {
  assert.equal(show(await both(HEAD + TWO_IFS('icmp', 1))), '');
  const body = TWO_IFS('icmp', 17);
  const fs = await both(HEAD + body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* here */')}`], show(fs));
});

const LOOKUP = (test: string) => `
struct val { __u32 a; __u32 b; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct val);
} m SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	struct val *v = bpf_map_lookup_elem(&m, &k);
	if (${test}) /* test */
		return v->a;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a map value cut to 32 bits and tested: one finding, on the test, where the kernel stops', { skip: NO_CLANG }, async () => {
  // Tested with no comparison too (`if ((__u32)(unsigned long)v)`): the same cut, not a NULL check.
  for (const t of ['(__u32)(unsigned long)v != 0', '(__u32)(unsigned long)v > 0', '(int)(long)v != 0', '(__u32)(unsigned long)v', '(int)(long)v']) {
    const body = LOOKUP(t);
    const src = analyzeSource('/tmp/unseen20.c', HEAD + body, {});
    assert.deepEqual(got(src), [`map-value-null@${lineOf(body, '/* test */')}`], show(src));
    const fs = await both(HEAD + body);
    assert.deepEqual(got(fs), [`map-value-null@${lineOf(body, '/* test */')}`], show(fs));
    assert.match(fs[0]!.message, /pointer arithmetic on map_value_or_null prohibited/);
    kernelFirstAt(HEAD + body, lineOf(body, '/* test */'));
  }
  // Tested whole, it is a NULL check: nothing to report.
  assert.equal(show(await both(HEAD + LOOKUP('(unsigned long)v != 0'))), '');
});

const REF = (decl: string, test: string, use: string, release: string) => `
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx)
{
${decl}
	if (${test})
		{ ${use} } /* use */
	${release} /* release */
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;
const RB = ['\t__u32 *v = bpf_ringbuf_reserve(&rb, 8, 0);', '*v = 1; bpf_ringbuf_submit(v, 0); return XDP_DROP;', 'if (v) bpf_ringbuf_discard(v, 0);'] as const;
const SK = ['\tstruct bpf_sock_tuple t = {};\n\tstruct bpf_sock *v = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);', 'int x = v->family; bpf_sk_release(v); return x;', 'if (v) bpf_sk_release(v);'] as const;

test('a ring buffer record or socket tested against 1: one finding, the NULL use, where the kernel stops', { skip: NO_CLANG }, async () => {
  for (const [decl, use, release] of [RB, SK]) {
    const body = REF(decl, 'v != (void *)1', use, release);
    const fs = await both(HEAD + body);
    assert.deepEqual(got(fs), [`map-value-null@${lineOf(body, '/* use */')}`], show(fs));
    kernelFirstAt(HEAD + body, lineOf(body, '/* use */'));
  }
});

test('a socket tested against 1, then released where the test failed: the call the kernel refuses (the constant 1), no leak', { skip: NO_CLANG }, async () => {
  const body = REF(SK[0], 'v != (void *)1', `if (!v) return XDP_PASS; ${SK[1]}`, SK[2]);
  const fs = await both(HEAD + body);
  assert.equal(fs.length, 1, show(fs));
  assert.equal(fs[0]!.rule, 'pointer-misuse');
  assert.match(fs[0]!.message, /R1 type=scalar expected=sock_common/);
  assert.ok(!/Unreleased/.test(fs[0]!.message), fs[0]!.message);
  const refused = kernelSays(HEAD + body);
  if (refused !== undefined) assert.ok(refused.some((r) => /R1 type=scalar expected=sock_common/.test(r)), refused.join('\n'));
  // Released through the pointer itself on both sides: it loads, and nothing is reported.
  const ok = REF(SK[0], 'v', SK[1], SK[2]);
  assert.equal(show(await both(HEAD + ok)), '');
});

// A frame sent back with saddr and daddr exchanged (which keeps the IPv4 sum) and `check = 0` with no sum computed
// after it (a ping-pong benchmark's reflector): the header goes out with a checksum of 0. Was silent: the tier
// judged a zeroed sum only against a change of another field.
const ZERO = (after: string) => `
SEC("xdp")
int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	__u32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->check = 0; /* zero */
	${after}
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	return XDP_TX;
}
char _license[] SEC("license") = "GPL";
`;
const RECOMPUTE = `{
		__u32 s = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		ip->check = ~s;
	}`;

test('`check = 0` on an unchanged (or only swapped) IPv4 header, sent with no sum: stale, on that store', { skip: NO_CLANG }, async () => {
  const body = ZERO('');
  const src = analyzeSource('/tmp/unseen20.c', HEAD + body, {});
  assert.deepEqual(got(src), [`stale-checksum@${lineOf(body, '/* zero */')}`], show(src));
  assert.match(src[0]!.message, /checksum \(`check`\) is set to 0 here and not computed before XDP_TX/);
  const fs = await both(HEAD + body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '/* zero */')}`], show(fs));
  // The sum computed after the zero: nothing to report.
  assert.equal(show(await both(HEAD + ZERO(RECOMPUTE))), '');
  if (kernelSays(HEAD + body) === undefined) return;
  const f = new Uint8Array(34);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const s = ~fold(sum16(f.subarray(14, 34))) & 0xffff;
  f[24] = s >> 8;
  f[25] = s & 0xff;
  const ipOk = (x: Uint8Array) => fold(sum16(x.subarray(14, 34))) === 0xffff;
  assert.ok(ipOk(f));
  const bad = kernelRun(HEAD + body, 'reflect', [f]).results[0]!;
  assert.equal(bad.retval, 3);
  assert.equal(ipOk(bad.out), false);
  const ok = kernelRun(HEAD + ZERO(RECOMPUTE), 'reflect', [f]).results[0]!;
  assert.ok(ipOk(ok.out));
});
