// One missing bounds check is one finding, on the line where the kernel stops, with the later accesses past it named
// as related places; an independent second mistake is a finding of its own. The bytecode tier used to take a missing
// check as covering only the access it stopped at, so each later access past it was another finding, and the merge
// hid them only behind a source finding of the same mistake. The programs below keep their header pointers in an
// array, which the source tier does not follow: only the bytecode tier sees them. Small programs written for this
// test; the refusals are checked in the running kernel.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { HEAD as BASE, NO_CLANG, show, both as bothTiers, kernelSays as kernelRefusals } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/udp.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;
const both = (body: string) => bothTiers(HEAD + body);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);
const bounds = (fs: Finding[]) => fs.filter((f) => f.rule === 'unchecked-packet-access');
const relatedLines = (f: Finding) => (f.related ?? []).map((r) => r.line).sort((a, b) => a - b);

before(async () => {
  await initSourceAnalysis();
});

/** The kernel refuses `body` on the line holding `marker` (its first refusal), when there is a kernel to ask. */
function kernelStopsAt(body: string, marker: string): void {
  const refused = kernelSays(body);
  if (refused === undefined) return;
  assert.equal(refused.length, 1, refused.join('\n'));
  assert.ok(refused[0]!.startsWith(`${lineOf(body, marker)}:`), `${refused.join('\n')}\nexpected line ${lineOf(body, marker)}`);
}

// Ethernet checked, then three IPv4 fields read with no check of the IPv4 header: one mistake.
const ONE = `
SEC("xdp")
int one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *at[2];
	at[0] = data;
	at[1] = data + 14;
	if (at[0] + 14 > end)
		return XDP_PASS;
	struct iphdr *ip = at[1];
	if (ip->saddr == 0) /* first */
		return XDP_DROP;
	if (ip->daddr == 0) /* second */
		return XDP_DROP;
	if (ip->protocol == 1) /* third */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('one missing check, seen only by the bytecode tier, is one finding on the kernel\'s line, the later accesses related', { skip: NO_CLANG }, async () => {
  const fs = bounds(await both(ONE));
  assert.equal(fs.length, 1, show(fs));
  assert.equal(fs[0]!.line, lineOf(ONE, '/* first */'), show(fs));
  assert.equal(fs[0]!.tier, 'bytecode');
  // The protocol byte (offset 23) is inside what the first access would have checked up to, but past the 14 bytes
  // really checked: the same missing check leaves it out too.
  assert.deepEqual(relatedLines(fs[0]!), [lineOf(ONE, '/* second */'), lineOf(ONE, '/* third */')], show(fs));
  kernelStopsAt(ONE, '/* first */');
});

// The IPv4 header read unchecked (a mistake), then checked, then the UDP header read unchecked (another mistake).
const TWO = (ipCheck: string) => `
SEC("xdp")
int two(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *at[3];
	at[0] = data;
	at[1] = data + 14;
	at[2] = data + 34;
	if (at[0] + 14 > end)
		return XDP_PASS;
	${ipCheck}
	struct iphdr *ip = at[1];
	if (ip->saddr == 0) /* ip first */
		return XDP_DROP;
	if (ip->daddr == 0) /* ip second */
		return XDP_DROP;
	if (at[1] + 20 > end)
		return XDP_PASS;
	struct udphdr *udp = at[2];
	if (udp->source == 0) /* udp first */
		return XDP_DROP;
	if (udp->check == 0) /* udp second */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('two independent missing checks are two findings, each on its first access', { skip: NO_CLANG }, async () => {
  const bad = TWO('');
  const fs = bounds(await both(bad));
  assert.deepEqual(fs.map((f) => f.line), [lineOf(bad, '/* ip first */'), lineOf(bad, '/* udp first */')], show(fs));
  assert.deepEqual(relatedLines(fs[0]!), [lineOf(bad, '/* ip second */')], show(fs));
  assert.deepEqual(relatedLines(fs[1]!), [lineOf(bad, '/* udp second */')], show(fs));
  kernelStopsAt(bad, '/* ip first */');
  // With the first fixed, the kernel stops at the second, and so does the analysis.
  const half = TWO('if (at[1] + 20 > end) return XDP_PASS;');
  const left = bounds(await both(half));
  assert.deepEqual(left.map((f) => f.line), [lineOf(half, '/* udp first */')], show(left));
  kernelStopsAt(half, '/* udp first */');
});

// The IPv4 source address read on one path only, the destination on every path: one missing check of `ip`.
const PATHS = `
SEC("xdp")
int paths(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *at[2];
	at[0] = data;
	at[1] = data + 14;
	if (at[0] + 14 > end)
		return XDP_PASS;
	struct ethhdr *eth = at[0];
	struct iphdr *ip = at[1];
	__u32 s = 0;
	if (eth->h_proto == 8)
		s = ip->saddr; /* one path */
	if (ip->daddr == s) /* every path */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('one missing check met on two paths is one finding', { skip: NO_CLANG }, async () => {
  const fs = bounds(await both(PATHS));
  assert.equal(fs.length, 1, show(fs));
  assert.equal(fs[0]!.line, lineOf(PATHS, '/* one path */'), show(fs));
  assert.deepEqual(relatedLines(fs[0]!), [lineOf(PATHS, '/* every path */')], show(fs));
  kernelStopsAt(PATHS, '/* one path */');
});

// The source tier sees the first mistake (a typed header pointer), only the bytecode tier the second (through the
// array): both are reported.
const MIXED = `
SEC("xdp")
int mixed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if (ip->saddr == 0) /* ip */
		return XDP_DROP;
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	void *at[1];
	at[0] = data + 34;
	struct udphdr *udp = at[0];
	if (udp->source == 0) /* udp */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a second missing check only the bytecode tier sees is reported beside the source tier\'s first', { skip: NO_CLANG }, async () => {
  const fs = bounds(await both(MIXED));
  assert.deepEqual(fs.map((f) => `${f.tier}@${f.line}`), [`source@${lineOf(MIXED, '/* ip */')}`, `bytecode@${lineOf(MIXED, '/* udp */')}`], show(fs));
  kernelStopsAt(MIXED, '/* ip */');
});

// Two reads through a byte pointer past the Ethernet check: the source tier takes a missing check as covering the
// access's own bytes only, and reported the second read again.
const BYTES = `
SEC("xdp")
int bytes(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_PASS;
	__u8 *b = data + 14;
	__u32 s = *(__u32 *)(b + 12); /* first */
	if (s == 0)
		return XDP_DROP;
	__u32 d = *(__u32 *)(b + 16); /* second */
	if (d == 0)
		return XDP_DROP;
	if (b + 20 > end)
		return XDP_PASS;
	return *(__u16 *)(b + 20) ? XDP_DROP : XDP_PASS; /* third */
}
char _license[] SEC("license") = "GPL";
`;

test('the source tier too: one missing check is one finding, the later accesses related; past a new check, another', () => {
  const fs = bounds(analyzeSource('/tmp/one-missing-check.c', HEAD + BYTES, {}));
  assert.deepEqual(fs.map((f) => f.line), [lineOf(BYTES, '/* first */'), lineOf(BYTES, '/* third */')], show(fs));
  assert.deepEqual(relatedLines(fs[0]!), [lineOf(BYTES, '/* second */')], show(fs));
});
