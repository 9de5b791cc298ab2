// Classes of false alarms and misses found by running `check` over a third set of public XDP programs nobody here
// had checked (2026-12-05: research sketches and benchmarks, a tail-call pipeline, rate limiters, port knocking) and
// over mistakes injected into them. Each test is a small program written for it; the real code is not copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { analyzeFile } from '../../simulator/analysis/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { sentences } from './sentences.ts';
import { HEAD, NO_CLANG, got, lineOf, show as showFindings } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs);

function source(body: string, driverMode?: 'native' | 'readonly-page'): Finding[] {
  return analyzeSource('/tmp/unseen3.c', HEAD + body, driverMode ? { driverMode } : {});
}

async function both(body: string, driverMode?: 'native' | 'readonly-page'): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen3-'));
  const file = join(dir, 'prog.c');
  writeFileSync(file, HEAD + body);
  const r = await analyzeFile(file, undefined, driverMode ? { driverMode } : {});
  assert.ok(!r.notes.some((n) => /did not run/.test(n)), r.notes.join('\n'));
  return r.findings.filter((f) => f.rule !== 'stale-checksum');
}

// A helper that rewrites the source address and says so in its result: -1 before any change, 0 after it.
const SET_SRC = `
static __always_inline int set_src(void *data, void *data_end, __u32 addr)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return -1;
	ip->saddr = addr;
	return 0;
}
`;

test('tx-unmodified: a callee\'s status tells the path that changed the frame from the one that did not', () => {
  const prog = (name: string, body: string) =>
    `SEC("xdp")\nint ${name}(struct xdp_md *ctx)\n{\n\tvoid *data = (void *)(long)ctx->data;\n\tvoid *data_end = (void *)(long)ctx->data_end;\n${body}\n}\n`;
  const body =
    SET_SRC +
    prog('lt_zero', '\tif (set_src(data, data_end, 1) < 0)\n\t\treturn XDP_DROP;\n\treturn XDP_TX;') +
    prog('in_local', '\tint err = set_src(data, data_end, 1);\n\tif (err)\n\t\treturn XDP_DROP;\n\treturn XDP_TX;') +
    prog('negated', '\tif (!set_src(data, data_end, 1))\n\t\treturn XDP_TX;\n\treturn XDP_DROP;') +
    prog('wrong_side', '\tif (set_src(data, data_end, 1) == 0)\n\t\treturn XDP_DROP;\n\treturn XDP_TX; // unchanged');
  const fs = source(body).filter((f) => f.rule === 'tx-unmodified' && /did not change/.test(f.message));
  // Only the program that sends the frame back on the -1 path (nothing written) is told the frame is unchanged.
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(body, '// unchanged')}`], show(fs));
  // The three others changed the source address but not the Ethernet addresses: told that instead.
  const macs = source(body).filter((f) => f.rule === 'tx-unmodified' && /Ethernet addresses/.test(f.message));
  assert.equal(macs.length, 3, show(macs));
});

test('a value the branch proves above 4 is an invalid-action, even where the tier cannot follow it (a map field)', () => {
  const body = `
struct entry { __u64 last; __u32 count; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct entry);
} counts SEC(".maps");

SEC("xdp")
int limiter(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	struct entry *e = bpf_map_lookup_elem(&counts, &key);
	if (!e)
		return XDP_PASS;
	e->count++;
	if (e->count > 250) {
		e->last = 0;
		return e->count; // above
	}
	if (e->count > 2)
		return e->count; // counted: 3..250
	if (e->last >= 16) {
		e->last = 1;
		return e->last; // reassigned
	}
	return XDP_PASS;
}
`;
  const fs = source(body);
  // The count returned under `> 2` is no verdict either: the program counts in it (unseen-round5's rule).
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(body, '// above')}`, `invalid-action@${lineOf(body, '// counted')}`], show(fs));
  assert.match(fs[1]!.message, /`e->count` is read from the map `counts`, which this program also changes/);
  assert.match(fs[0]!.message, /`e->count` is at least 251 on this path \(the condition on line \d+\)/);
  assert.ok(sentences(fs[0]!.message) <= 2, fs[0]!.message);
});

test('one explanation per message: a helper returning the same bad constant on four paths is named once', () => {
  const body = `
static __always_inline int parse(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return 0x1111;
	if (eth->h_proto == 0)
		return 0x1111;
	if (eth->h_proto == 1)
		return 0x1111;
	if (eth->h_proto == 2)
		return 0x1111;
	return 0;
}

SEC("xdp")
int batch(struct xdp_md *ctx)
{
	int ret = parse((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (ret)
		return ret; // here
	return XDP_PASS;
}
`;
  const fs = source(body);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(body, '// here')}`], show(fs));
  assert.equal(fs[0]!.message.split('can return 4369').length - 1, 1, fs[0]!.message);
});

test('a computed verdict that can be 5 or 4 is one invalid-action, not also a redirect without target', () => {
  const body = `
SEC("xdp")
int knock(struct xdp_md *ctx)
{
	int rc = XDP_DROP;
	if (ctx->rx_queue_index == 3)
		rc = XDP_PASS;
	return rc + 3; // computed
}
`;
  const fs = source(body);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(body, '// computed')}`], show(fs));
});

const READONLY = `
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

static __always_inline int bounce(struct ethhdr *eth)
{
	if (eth->h_proto == 0)
		return XDP_PASS;
	return XDP_TX; // helper tx
}

SEC("xdp")
int fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_dest[0] & 1)
		return XDP_TX; // tx
	if (eth->h_dest[0] == 2)
		return bpf_redirect_map(&ports, 0, XDP_PASS); // redirect
	if (eth->h_dest[0] == 4)
		return bounce(eth);
	return XDP_PASS;
}
`;

test('readonly-page: XDP_TX and XDP_REDIRECT need a writable page; each return is told once, a helper\'s on its own line', () => {
  const fs = source(READONLY, 'readonly-page');
  assert.deepEqual(
    got(fs),
    [`readonly-page-write@${lineOf(READONLY, '// helper tx')}`, `readonly-page-write@${lineOf(READONLY, '// tx')}`, `readonly-page-write@${lineOf(READONLY, '// redirect')}`],
    show(fs),
  );
  for (const f of fs) assert.ok(sentences(f.message) <= 2, f.message);
  assert.match(fs[1]!.message, /^XDP_TX needs a writable page/);
  assert.match(fs[2]!.message, /^XDP_REDIRECT needs a writable page/);
  // With a writable page the same returns are fine (the unchanged XDP_TX frames are another rule's business).
  assert.deepEqual(source(READONLY, 'native').filter((f) => f.rule === 'readonly-page-write'), []);
});

test('readonly-page, both tiers: the returns are told by the source tier once, with no tx-unmodified beside them', { skip: NO_CLANG }, async () => {
  const fs = await both(READONLY, 'readonly-page');
  assert.deepEqual(
    got(fs),
    [`readonly-page-write@${lineOf(READONLY, '// helper tx')}`, `readonly-page-write@${lineOf(READONLY, '// tx')}`, `readonly-page-write@${lineOf(READONLY, '// redirect')}`],
    show(fs),
  );
  // A packet store under the same driver is still its own finding, beside the return's.
  const store = READONLY.replace('\t\treturn XDP_TX; // tx', '\t\teth->h_dest[0] = 2; // store\n\t\treturn XDP_TX; // tx');
  const fs2 = await both(store, 'readonly-page');
  assert.ok(got(fs2).includes(`readonly-page-write@${lineOf(store, '// store')}`), show(fs2));
  assert.ok(got(fs2).includes(`readonly-page-write@${lineOf(store, '// tx')}`), show(fs2));
});

test('a stage helper returning -1 after its tail call, used by two programs: one finding, on the helper\'s line', { skip: NO_CLANG }, async () => {
  const body = `
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} stages SEC(".maps");

static __always_inline int next_stage(struct xdp_md *ctx, __u32 stage)
{
	if (stage >= 4)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &stages, stage);
	return -1; // fallback
}

SEC("xdp")
int stage0(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex == 7)
		return XDP_DROP;
	return next_stage(ctx, 1);
}

SEC("xdp")
int stage1(struct xdp_md *ctx)
{
	if (ctx->rx_queue_index > 2)
		return XDP_PASS;
	return next_stage(ctx, 2);
}
`;
  const fs = await both(body);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(body, '// fallback')}`], show(fs));
  assert.deepEqual(fs[0]!.related?.map((r) => r.message).sort(), ['stage0 returns it here', 'stage1 returns it here']);
});

test('tx-unmodified: a callee that fills the program\'s own struct (through `&local`) has not changed the frame', () => {
  const body = `
struct tuple { __u32 src, dst; };

static __always_inline int parse(void *data, void *data_end, struct tuple *t)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	t->src = ip->saddr;
	t->dst = ip->daddr;
	return 0;
}

SEC("xdp")
int bench_tx(struct xdp_md *ctx)
{
	struct tuple t = {};
	if (parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &t))
		return XDP_DROP;
	if (t.src == t.dst)
		return XDP_PASS;
	return XDP_TX; // unchanged
}

static __always_inline void stamp(struct tuple *t, __u32 v)
{
	t->src = v;
}

SEC("xdp")
int bench_tx2(struct xdp_md *ctx)
{
	struct tuple t = {};
	stamp(&t, ctx->rx_queue_index);
	return t.src ? XDP_TX : XDP_DROP; // also unchanged
}
`;
  const fs = source(body);
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(body, '// unchanged')}`, `tx-unmodified@${lineOf(body, '// also unchanged')}`], show(fs));
});

test('a map value returned under `if (cpu >= 64)` is found with -mcpu=v3 too (the source tier\'s bound; the bytecode tier loses it at the merged exit)', { skip: NO_CLANG }, async () => {
  const body = `
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} cpu_map SEC(".maps");

SEC("xdp")
int to_cpu(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u32 *sel = bpf_map_lookup_elem(&cpus, &key);
	if (!sel)
		return XDP_ABORTED;
	if (*sel >= 64)
		return *sel; // here
	return bpf_redirect_map(&cpu_map, *sel, 0);
}
`;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen3-'));
  const file = join(dir, 'to_cpu.c');
  writeFileSync(file, HEAD + body);
  for (const flags of [[], ['-mcpu=v3']]) {
    const r = await analyzeFile(file, undefined, { flags });
    assert.deepEqual(got(r.findings), [`invalid-action@${lineOf(body, '// here')}`], `${flags.join(' ')}\n${show(r.findings)}`);
    assert.match(r.findings[0]!.message, /`\*sel` is at least 64 on this path/);
  }
});

const LIBBPF_HEADERS = ['/usr/include', '/usr/local/include'].find((d) => existsSync(join(d, 'bpf', 'bpf_helpers.h')));

test('bpf_printk with arguments changes nothing: a TTL change after it is still stale, an XDP_TX after it still unchanged', { skip: LIBBPF_HEADERS ? false : 'libbpf headers (bpf/bpf_helpers.h) not installed' }, () => {
  const body = `
SEC("xdp")
int echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	bpf_printk("proto %x from %d", eth->h_proto, ctx->ingress_ifindex);
	if (eth->h_proto != 8)
		return XDP_TX; // echo
	struct iphdr *iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	iph->ttl--; // ttl
	bpf_printk("ttl now %d", iph->ttl);
	return XDP_PASS;
}
`;
  // With libbpf's header the macro is libbpf's: `___bpf_pick_printk(args)(fmt, args)`.
  const fs = analyzeSource('/tmp/unseen3.c', HEAD + body, { includeDirs: [LIBBPF_HEADERS!] });
  assert.deepEqual(got(fs), [`tx-unmodified@${lineOf(body, '// echo')}`, `stale-checksum@${lineOf(body, '// ttl')}`], show(fs));
});

test('stale-checksum: a TTL change before `return handle(ctx)`, whose XDP_PASS sends it on and whose XDP_DROP does not', () => {
  const body = `
static __always_inline int handle(struct xdp_md *ctx, __u8 proto)
{
	if (proto == 17)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int fw(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	ip->ttl--; // ttl
	return handle(ctx, ip->protocol);
}

SEC("xdp")
int fw_fixed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	ip->ttl--;
	ip->check += bpf_htons(0x0100);
	return handle(ctx, ip->protocol);
}
`;
  const fs = source(body);
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '// ttl')}`], show(fs));
  assert.match(fs[0]!.message, /before XDP_PASS:/);
});

test('stale-checksum: a change after the checksum was recomputed from scratch is open again; before the recompute, or after an incremental update computed first, it is covered', () => {
  const prog = (name: string, body: string) =>
    `SEC("xdp")\nint ${name}(struct xdp_md *ctx)\n{\n\tvoid *data = (void *)(long)ctx->data;\n\tvoid *data_end = (void *)(long)ctx->data_end;\n\tstruct iphdr *iph = data + sizeof(struct ethhdr);\n\tif ((void *)(iph + 1) > data_end)\n\t\treturn XDP_DROP;\n${body}\n\treturn XDP_PASS;\n}\n`;
  const SUM = '\t__u32 csum = 0;\n\t__u16 *w = (__u16 *)iph;\n\tfor (int i = 0; i < 10; i++)\n\t\tcsum += w[i];\n\tiph->check = ~((csum & 0xffff) + (csum >> 16));\n';
  const body =
    prog('after_recompute', `\tiph->check = 0;\n\tiph->tos = 0;\n${SUM}\tiph->ttl--; // after`) +
    prog('inside_recompute', `\tiph->check = 0;\n\tiph->ttl = 64;\n${SUM}`) +
    prog('incremental_first', '\t__u32 check = iph->check;\n\tcheck += bpf_htons(0x0100);\n\tiph->check = (__u16)(check + (check >= 0xFFFF));\n\tiph->ttl--;');
  const fs = analyzeSource('/tmp/unseen3.c', HEAD + '#include <bpf/bpf_endian.h>\n' + body);
  const shift = 1; // the extra include
  assert.deepEqual(got(fs), [`stale-checksum@${lineOf(body, '// after') + shift}`], show(fs));
});
