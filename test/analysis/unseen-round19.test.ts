// Classes of misses left open by the earlier rounds of unseen programs (2026-12-07): a parser handing out a header
// or NULL through a cursor struct (`{ data, end }` filled by one function, moved by the others), whose NULL returns
// were joined with the header (the header became unknown, the cursor a range), so the source tier judged nothing
// after it; a flexible array inside a struct member of a header (`r->m.body[0]`), taken as the whole inner struct;
// and XDP_REDIRECT returned past a global function's result, which the bytecode tier (given an unknown result, as the
// verifier is) reported although the function set the target on the path giving that result. Each test is a small
// program written for it; the refusals are checked in the running kernel (its first refusal is the finding's line).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { HEAD, NO_CLANG, show, lineOf, both as bothTiers, kernelSays } from './unseen-common.ts';

const source = (body: string) => analyzeSource('/tmp/unseen19.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const got = (fs: Finding[]) => fs.map((f) => `${f.rule}@${f.line}`);

before(async () => {
  await initSourceAnalysis();
});

/** The kernel's first refusal of `body` is on the line holding `marker` (or it loads `body`, with no marker). */
function kernelStopsAt(body: string, marker?: string): void {
  const refused = kernelSays(HEAD + body);
  if (refused === undefined) return;
  if (marker === undefined) return assert.deepEqual(refused, []);
  assert.ok(refused.length >= 1 && refused[0]!.startsWith(`${lineOf(body, marker)}:`), `${refused.join('\n')}\nexpected line ${lineOf(body, marker)}`);
}

const CURSOR = (ipCheck: string) => `
struct cursor { void *data; void *end; };
static __always_inline void cursor_init(struct xdp_md *ctx, struct cursor *c)
{
	c->data = (void *)(long)ctx->data;
	c->end = (void *)(long)ctx->data_end;
}
static __always_inline struct ethhdr *parse_eth(struct cursor *c)
{
	if (c->data + sizeof(struct ethhdr) > c->end)
		return 0;
	struct ethhdr *ret = c->data;
	c->data += sizeof(struct ethhdr);
	return ret;
}
static __always_inline struct iphdr *parse_ip(struct cursor *c)
{
	${ipCheck}
	struct iphdr *ret = c->data;
	c->data += sizeof(struct iphdr);
	return ret;
}
SEC("xdp")
int cursor(struct xdp_md *ctx)
{
	struct cursor c = { .data = 0, .end = 0 };
	struct ethhdr *eth;
	struct iphdr *ip;
	cursor_init(ctx, &c);
	if (!(eth = parse_eth(&c)))
		return XDP_PASS;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	if (!(ip = parse_ip(&c)))
		return XDP_PASS;
	if (ip->protocol == 17) /* here */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;
const CURSOR_SHORT = CURSOR('if (c->data > c->end)\n\t\treturn 0;');
const CURSOR_NONE = CURSOR('');
const CURSOR_OK = CURSOR('if (c->data + sizeof(struct iphdr) > c->end)\n\t\treturn 0;');

test('a cursor struct moved by parsers that return a header or NULL: the IPv4 header past a short check (source tier)', () => {
  for (const body of [CURSOR_SHORT, CURSOR_NONE]) {
    const fs = source(body);
    assert.deepEqual(got(fs), [`unchecked-packet-access@${lineOf(body, '/* here */')}`], show(fs));
    assert.match(fs[0]!.message, /byte 23 of the packet, but only 14 bytes are checked/, show(fs));
  }
  assert.deepEqual(got(source(CURSOR_OK)), []);
});

test('a cursor struct moved by parsers that return a header or NULL (both tiers, kernel)', { skip: NO_CLANG }, async () => {
  for (const body of [CURSOR_SHORT, CURSOR_NONE]) {
    const fs = await both(body);
    assert.deepEqual(got(fs), [`unchecked-packet-access@${lineOf(body, '/* here */')}`], show(fs));
    kernelStopsAt(body, '/* here */');
  }
  assert.deepEqual(got(await both(CURSOR_OK)), []);
  kernelStopsAt(CURSOR_OK);
});

const NESTED = (check: string) => `
struct msg { __u16 kind; __u16 len; __u8 body[]; };
struct rec { struct ethhdr eth; struct msg m; };
SEC("xdp")
int nested(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct rec *r = data;
	if ((void *)(r + 1) > end)
		return XDP_PASS;
	if (r->m.kind == 7)
		return XDP_DROP;
	${check}
	if (r->m.body[0] == 1) /* here */
		return XDP_DROP;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;
const NESTED_MISS = NESTED('');
const NESTED_OK = NESTED('if ((void *)(r->m.body + 1) > end)\n\t\treturn XDP_PASS;');

test('a flexible array inside a struct member of a header is judged by its own bytes (source tier)', () => {
  const fs = source(NESTED_MISS);
  assert.deepEqual(got(fs), [`unchecked-packet-access@${lineOf(NESTED_MISS, '/* here */')}`], show(fs));
  assert.match(fs[0]!.message, /byte 18 of the packet, but only 18 bytes are checked/, show(fs));
  assert.deepEqual(got(source(NESTED_OK)), []);
});

test('a flexible array inside a struct member of a header (both tiers, kernel)', { skip: NO_CLANG }, async () => {
  const fs = await both(NESTED_MISS);
  assert.deepEqual(got(fs), [`unchecked-packet-access@${lineOf(NESTED_MISS, '/* here */')}`], show(fs));
  kernelStopsAt(NESTED_MISS, '/* here */');
  assert.deepEqual(got(await both(NESTED_OK)), []);
  kernelStopsAt(NESTED_OK);
});

// A struct member that is an IPv4 header: its TTL changed with no sum after it.
const MEMBER_HDR = (after: string) => `
struct pk { struct ethhdr eth; struct iphdr ip; };
SEC("xdp")
int member_hdr(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct pk *p = data;
	if ((void *)(p + 1) > end)
		return XDP_PASS;
	if (p->eth.h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	p->ip.ttl--; /* here */
	${after}
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a header that is a struct member: a change of its fields is a change of that header (source tier)', () => {
  const miss = MEMBER_HDR('');
  assert.deepEqual(got(source(miss)), [`stale-checksum@${lineOf(miss, '/* here */')}`]);
  const ok = MEMBER_HDR('p->ip.check = 0;\n\tp->ip.check = bpf_csum_diff(0, 0, (void *)&p->ip, sizeof(p->ip), 0);');
  const fs = source(ok);
  assert.ok(!fs.some((f) => f.rule === 'stale-checksum' && f.line === lineOf(ok, '/* here */') && !/set to 0/.test(f.message)), show(fs));
});

const GLOBAL_REDIRECT = (tail: string, test: string) => `
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

__attribute__((noinline)) int core(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	${tail}
}

SEC("xdp")
int global_redirect(struct xdp_md *ctx)
{
	int ret = core(ctx);
	if (${test})
		return XDP_REDIRECT; /* here */
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('XDP_REDIRECT past a global function that sets the target on the path giving that result: no finding', { skip: NO_CLANG }, async () => {
  const body = GLOBAL_REDIRECT('return bpf_redirect_map(&tx_port, 0, 0);', 'ret == XDP_REDIRECT');
  assert.deepEqual(got(await both(body)), []);
  kernelStopsAt(body);
  // The function never sets one: still reported.
  const none = GLOBAL_REDIRECT('return XDP_DROP;', 'ret == XDP_DROP');
  assert.deepEqual(got(await both(none)), [`redirect-without-target@${lineOf(none, '/* here */')}`]);
});
