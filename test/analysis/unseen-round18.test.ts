// Classes of misses left open by the earlier rounds and found again in the eighteenth round of unseen programs
// (2026-12-07): a header at a variable offset (`ip + ihl * 4`) read unchecked on two paths, reported once per path;
// a compare with data_end that proves less than the unchecked access needed, after which the later accesses past it
// were no longer tied to that missing check; a parser cursor after a bounded loop, judged as checked because the frame
// was checked somewhere before the loop; and a struct ending in a flexible array member, whose size the source tier
// could not work out, so nothing read through it was judged. Each test is a small program written for it; the refusals
// are checked in the running kernel (its first refusal is the finding's line).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { HEAD as BASE, NO_CLANG, show, both as bothTiers, kernelSays as kernelRefusals } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/udp.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;
const bounds = (fs: Finding[]) => fs.filter((f) => f.rule === 'unchecked-packet-access');
const source = (body: string) => bounds(analyzeSource('/tmp/unseen18.c', HEAD + body, {}));
const both = async (body: string) => bounds(await bothTiers(HEAD + body));
const relatedLines = (f: Finding) => (f.related ?? []).map((r) => r.line).sort((a, b) => a - b);

before(async () => {
  await initSourceAnalysis();
});

/** The kernel's first refusal of `body` is on the line holding `marker` (or it loads `body`, with no marker). */
function kernelStopsAt(body: string, marker?: string): void {
  const refused = kernelRefusals(HEAD + body);
  if (refused === undefined) return;
  if (marker === undefined) return assert.deepEqual(refused, []);
  assert.ok(refused.length >= 1 && refused[0]!.startsWith(`${lineOf(body, marker)}:`), `${refused.join('\n')}\nexpected line ${lineOf(body, marker)}`);
}

// The UDP header after the IPv4 options, read on either side of a protocol test with no check of it: one check after
// `udp` is computed fixes both.
const VARPATHS = (keep: string) => `
SEC("xdp")
int varpaths(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	__u32 hl = ip->ihl * 4;
	if (hl < 20 || hl > 60)
		return XDP_DROP;
	${keep}
	if (ip->protocol == 17) {
		if (udp->source == 53) /* one path */
			return XDP_DROP;
	} else {
		if (udp->len == 9) /* other path */
			return XDP_DROP;
		bpf_printk("other");
	}
	if (udp->dest == 7) /* after */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;
const TYPED = VARPATHS('struct udphdr *udp = (void *)ip + hl;');
// Kept in an array, which the source tier does not follow: only the bytecode tier sees it.
const KEPT = VARPATHS('void *at[1];\n\tat[0] = (void *)ip + hl;\n\tstruct udphdr *udp = at[0];');

test('a header at a variable offset read unchecked on two paths is one finding (source tier)', () => {
  const fs = source(TYPED);
  assert.equal(fs.length, 1, show(fs));
  assert.equal(fs[0]!.line, lineOf(TYPED, '/* one path */'), show(fs));
  assert.deepEqual(relatedLines(fs[0]!), [lineOf(TYPED, '/* other path */')], show(fs));
});

test('a header at a variable offset read unchecked on two paths is one finding (both tiers)', { skip: NO_CLANG }, async () => {
  for (const body of [TYPED, KEPT]) {
    const fs = await both(body);
    assert.equal(fs.length, 1, show(fs));
    assert.equal(fs[0]!.line, lineOf(body, '/* one path */'), show(fs));
    assert.ok(relatedLines(fs[0]!).includes(lineOf(body, '/* other path */')), show(fs));
    kernelStopsAt(body, '/* one path */');
  }
});

// The IPv4 destination read with only Ethernet checked, then a compare proving 4 bytes of the IPv4 header, then the
// source address (bytes 12..15 of it): still past what was checked, the same missing check.
const SHORT = (keep: string) => `
SEC("xdp")
int short_check(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	${keep}
	if (ip->daddr == 0) /* miss */
		return XDP_DROP;
	if ((void *)ip + 4 > end)
		return XDP_PASS;
	if (ip->version != 4) /* inside */
		return XDP_DROP;
	if (ip->saddr == 0) /* still past */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;
const SHORT_TYPED = SHORT('struct iphdr *ip = (void *)(eth + 1);');
const SHORT_KEPT = SHORT('void *at[1];\n\tat[0] = eth + 1;\n\tstruct iphdr *ip = at[0];');

test('an access past a compare that proves less than a missing check needed is named in that finding', { skip: NO_CLANG }, async () => {
  const s = source(SHORT_TYPED);
  assert.equal(s.length, 1, show(s));
  assert.deepEqual(relatedLines(s[0]!), [lineOf(SHORT_TYPED, '/* still past */')], show(s));
  for (const body of [SHORT_TYPED, SHORT_KEPT]) {
    const fs = await both(body);
    assert.equal(fs.length, 1, show(fs));
    assert.equal(fs[0]!.line, lineOf(body, '/* miss */'), show(fs));
    assert.deepEqual(relatedLines(fs[0]!), [lineOf(body, '/* still past */')], show(fs));
    kernelStopsAt(body, '/* miss */');
  }
});

// Up to two VLAN tags stepped over, each checked; the IPv4 header after them read with no check of its own.
const LOOP = (before: string, after: string) => `
struct vtag { __be16 tci; __be16 inner; };
SEC("xdp")
int loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	${before}
	void *pos = eth + 1;
	__u16 type = eth->h_proto;
	for (int i = 0; i < 2; i++) {
		if (type != bpf_htons(0x8100))
			break;
		struct vtag *v = pos;
		if ((void *)(v + 1) > end)
			return XDP_PASS;
		type = v->inner;
		pos = v + 1;
	}
	struct iphdr *ip = pos;
	${after}
	if (ip->protocol == 17) /* after the loop */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`.replace('bpf_htons(0x8100)', '__builtin_bswap16(0x8100)');

test('a cursor after a bounded loop read with no check of its own is reported; checked before or after, quiet', { skip: NO_CLANG }, async () => {
  const bad = LOOP('', '');
  const fs = source(bad);
  assert.deepEqual(fs.map((f) => f.line), [lineOf(bad, '/* after the loop */')], show(fs));
  kernelStopsAt(bad, '/* after the loop */');
  // The frame checked far enough before the loop for wherever it leaves the cursor, or the header checked after it.
  for (const good of [LOOP('if (data + 100 > end)\n\t\treturn XDP_PASS;', ''), LOOP('', 'if ((void *)(ip + 1) > end)\n\t\treturn XDP_PASS;')]) {
    assert.deepEqual(source(good), [], show(source(good)));
    assert.deepEqual(await both(good), []);
    kernelStopsAt(good);
  }
});

// A message header with a flexible array of bytes after it: reads of the array past the check of the header, and of
// the next header, unchecked; a check of the array's first four bytes makes the fourth one fine.
const FLEX = (checks: string) => `
struct msg { __u8 kind; __u8 len; __u16 id; __u8 body[]; };
SEC("xdp")
int flex(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct msg *m = data + 42;
	if ((void *)(m + 1) > end)
		return XDP_PASS;
	${checks}
	if (m->body[3] == 7) /* body */
		return XDP_DROP;
	struct msg *n = m + 1;
	if ((void *)(n + 1) > end)
		return XDP_PASS;
	if (n->kind == 1) /* next */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a struct ending in a flexible array has its size without the array: reads past its check are reported', { skip: NO_CLANG }, async () => {
  const bad = FLEX('');
  const fs = source(bad);
  assert.deepEqual(fs.map((f) => f.line), [lineOf(bad, '/* body */')], show(fs));
  assert.match(fs[0]!.message, /byte 49 of the packet, but only 46 bytes are checked/);
  kernelStopsAt(bad, '/* body */');
  const good = FLEX('if ((void *)(m->body + 4) > end)\n\t\treturn XDP_PASS;');
  assert.deepEqual(source(good), [], show(source(good)));
  assert.deepEqual(await both(good), []);
  kernelStopsAt(good);
});

// A helper's error code returned as the verdict: bpf_perf_event_output() gives -ENOENT when nobody reads the slot,
// which is no XDP action. The source tier knew the results of the map and packet helpers only.
const OUTPUT = `
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} events SEC(".maps");
SEC("xdp")
int output(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	long err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &len, sizeof(len));
	if (err < 0)
		return err; /* error */
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a helper\'s negative error returned as the verdict is reported on its return', { skip: NO_CLANG }, async () => {
  const fs = analyzeSource('/tmp/unseen18.c', HEAD + OUTPUT, {}).filter((f) => f.rule === 'invalid-action');
  assert.deepEqual(fs.map((f) => f.line), [lineOf(OUTPUT, '/* error */')], show(fs));
  assert.match(fs[0]!.message, /bpf_perf_event_output\(\) returns 0 or a negative error/);
  const all = await bothTiers(HEAD + OUTPUT);
  assert.deepEqual(all.map((f) => `${f.rule}@${f.line}`), [`invalid-action@${lineOf(OUTPUT, '/* error */')}`], show(all));
});
