// Classes of misses and false alarms found by running `check` over a fifth set of public XDP programs nobody here had
// checked (2026-12-05: a multi-stage firewall pipeline with devmap/cpumap stages, a load balancer whose decapsulation
// helpers reload the packet pointers through their addresses, tutorials, ACL and forwarding samples) and over
// mistakes injected into them. Each test is a small program written for it; the real code is not copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { analyzeFile } from '../../simulator/analysis/index.ts';
import type { Finding, Fix } from '../../simulator/analysis/findings.ts';
import { sentences } from './sentences.ts';
import { HEAD, NO_CLANG, got, lineOf, show as showFindings } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);

function source(body: string, driverMode?: 'native' | 'readonly-page'): Finding[] {
  return analyzeSource('/tmp/unseen5.c', HEAD + body, driverMode ? { driverMode } : {});
}

async function both(body: string, opts: { driverMode?: 'native' | 'readonly-page'; bytecode?: boolean } = {}): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-unseen5-'));
  const file = join(dir, 'prog.c');
  writeFileSync(file, HEAD + body);
  const r = await analyzeFile(file, undefined, { driverMode: opts.driverMode, bytecode: opts.bytecode });
  assert.ok(!r.notes.some((n) => /did not run/.test(n)), r.notes.join('\n'));
  return r.findings.filter((f) => f.rule !== 'stale-checksum');
}

/** `HEAD + body` with a quick fix's single-line edits applied, as `body` again. */
function applyFix(body: string, fix: Fix): string {
  const lines = (HEAD + body).split('\n');
  for (const e of [...fix.edits].sort((a, b) => b.line - a.line || b.column - a.column)) {
    assert.equal(e.line, e.endLine);
    const l = lines[e.line - 1]!;
    lines[e.line - 1] = l.slice(0, e.column - 1) + e.newText + l.slice(e.endColumn - 1);
  }
  return lines.join('\n').slice(HEAD.length);
}

// Programs run from a device map or a CPU map entry after a redirect: the kernel acts on XDP_PASS/XDP_DROP/XDP_ABORTED
// in a devmap program (dev_map_bpf_prog_run) and XDP_PASS/XDP_REDIRECT/XDP_DROP in a cpumap program
// (cpu_map_bpf_prog_run_xdp); XDP_TX there (and XDP_REDIRECT in a devmap program) is warned about and dropped.
const ATTACHED = `
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

SEC("xdp/devmap")
int egress(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	eth->h_source[5] = 1;
	if (eth->h_proto == 0)
		return XDP_TX; // devmap tx
	return XDP_PASS;
}

SEC("xdp/cpumap")
int remote(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex == 3)
		return bpf_redirect_map(&ports, 0, 0);
	if (ctx->ingress_ifindex == 4)
		return XDP_TX; // cpumap tx
	return XDP_PASS;
}

SEC("xdp")
int ingress(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	eth->h_source[5] = 1;
	return XDP_TX;
}
`;

test('XDP_TX from a devmap or cpumap program is an invalid action there; XDP_REDIRECT from a cpumap program and XDP_TX from a plain one are not', () => {
  const fs = source(ATTACHED);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(ATTACHED, '// devmap tx')}`, `invalid-action@${lineOf(ATTACHED, '// cpumap tx')}`], show(fs));
  assert.match(fs[0]!.message, /device map.*XDP_PASS, XDP_DROP and XDP_ABORTED/);
  assert.match(fs[1]!.message, /CPU map.*XDP_PASS, XDP_REDIRECT and XDP_DROP/);
  for (const f of fs) assert.ok(sentences(f.message) <= 2, f.message);
  // XDP_REDIRECT from a devmap program is the same mistake.
  const redirect = ATTACHED.replace('return XDP_TX; // devmap tx', 'return bpf_redirect_map(&ports, 1, 0); // devmap tx');
  const r = source(redirect);
  assert.deepEqual(got(r), [`invalid-action@${lineOf(redirect, '// devmap tx')}`, `invalid-action@${lineOf(redirect, '// cpumap tx')}`], show(r));
  assert.match(r[0]!.message, /^XDP_REDIRECT is not an action/);
  // The legacy and frags section names are the same attach types.
  for (const sec of ['xdp_devmap/egress', 'xdp.frags/devmap']) {
    const s = source(ATTACHED.replace('SEC("xdp/devmap")', `SEC("${sec}")`));
    assert.equal(got(s)[0], `invalid-action@${lineOf(ATTACHED, '// devmap tx')}`, show(s));
  }
});

test('the quick fix of a devmap program\'s XDP_TX returns XDP_PASS instead, and the finding is gone', () => {
  const fs = source(ATTACHED);
  const fix = fs[0]!.fixes?.[0];
  assert.ok(fix, show(fs));
  assert.equal(fix.title, 'Return XDP_PASS instead of XDP_TX');
  const fixed = applyFix(ATTACHED, fix);
  assert.deepEqual(got(source(fixed)), [`invalid-action@${lineOf(ATTACHED, '// cpumap tx')}`]);
});

test('under --driver readonly-page a devmap or cpumap program is not judged for the page (its frame came by a redirect)', () => {
  const fs = source(ATTACHED, 'readonly-page');
  const plain = lineOf(ATTACHED, 'int ingress');
  // The plain program's store and XDP_TX are the driver's business; the map programs' are not.
  assert.deepEqual(
    got(fs).filter((g) => g.startsWith('readonly-page-write')).map((g) => Number(g.split('@')[1]) > plain),
    [true, true],
    show(fs),
  );
  assert.deepEqual(got(fs).filter((g) => g.startsWith('invalid-action')), [`invalid-action@${lineOf(ATTACHED, '// devmap tx')}`, `invalid-action@${lineOf(ATTACHED, '// cpumap tx')}`], show(fs));
});

test('both tiers: one finding per devmap/cpumap XDP_TX, the bytecode tier alone finds them too', { skip: NO_CLANG }, async () => {
  const fs = await both(ATTACHED);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(ATTACHED, '// devmap tx')}`, `invalid-action@${lineOf(ATTACHED, '// cpumap tx')}`], show(fs));
  const ro = await both(ATTACHED, { driverMode: 'readonly-page' });
  assert.equal(ro.filter((f) => f.rule === 'readonly-page-write' && f.line < lineOf(ATTACHED, 'int ingress')).length, 0, show(ro));
});

// A helper that strips an outer header with bpf_xdp_adjust_head and reloads the caller's packet pointers through
// their addresses (`*data = (void *)(long)ctx->data;`), called through another helper: the caller's pointers are the
// new ones after the call, not stale.
const RELOAD = `
#include <linux/in.h>

static __always_inline int strip(struct xdp_md *ctx, void **data, void **data_end)
{
	if (*data + sizeof(struct ethhdr) + sizeof(struct iphdr) > *data_end)
		return 0;
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
		return 0;
	*data = (void *)(long)ctx->data; // reload
	*data_end = (void *)(long)ctx->data_end;
	return 1;
}

static __always_inline int decap(struct xdp_md *ctx, void **data, void **data_end, __u8 proto)
{
	if (proto != IPPROTO_IPIP)
		return 1;
	return strip(ctx, data, data_end);
}

SEC("xdp")
int lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	if (!decap(ctx, &data, &data_end, iph->protocol))
		return XDP_DROP;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	return eth->h_proto == 0 ? XDP_DROP : XDP_PASS; // use
}
`;

test('packet pointers reloaded by a callee through their addresses after bpf_xdp_adjust_head are not stale', () => {
  const fs = source(RELOAD);
  assert.deepEqual(got(fs), [], show(fs));
  // Without the reload they are, and the use after the call is reported.
  const stale = RELOAD.replace('*data = (void *)(long)ctx->data; // reload\n\t*data_end = (void *)(long)ctx->data_end;\n', '');
  const s = source(stale);
  assert.deepEqual(got(s), [`stale-packet-pointer@${lineOf(stale, '// use')}`], show(s));
});

test('both tiers: the reloading decapsulation helper gives no finding', { skip: NO_CLANG }, async () => {
  const fs = await both(RELOAD);
  assert.deepEqual(got(fs), [], show(fs));
});

// A map value returned as is: a verdict table that user space fills is the design of some programs (not judged),
// but a value the program itself counts or keeps state in (an increment, an atomic add) is no verdict.
const MAP_RETURNS = `
struct rec {
	__u64 packets;
	__u32 action;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} verdicts SEC(".maps");

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct rec *r = bpf_map_lookup_elem(&stats, &key);
	if (!r)
		return XDP_ABORTED;
	r->packets++;
	r->action = XDP_PASS;
	if (ctx->ingress_ifindex == 2)
		return r->action; // cached verdict
	__u32 q = ctx->rx_queue_index & 3;
	__u32 *v = bpf_map_lookup_elem(&verdicts, &q);
	if (v && ctx->ingress_ifindex == 5)
		return *v; // table
	__u32 *h = bpf_map_lookup_elem(&hits, &q);
	if (h) {
		__sync_fetch_and_add(h, 1);
		if (ctx->ingress_ifindex == 3)
			return *h; // hits
	}
	__u64 c = r->packets;
	return c; // count
}
`;

test('a map value the program counts in, returned as is, is an invalid action; a verdict table or a cached verdict is not', () => {
  const fs = source(MAP_RETURNS);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(MAP_RETURNS, '// hits')}`, `invalid-action@${lineOf(MAP_RETURNS, '// count')}`], show(fs));
  assert.match(fs[0]!.message, /^`\*h` is read from the map `hits`, which this program also changes/);
  assert.match(fs[1]!.message, /`r->packets` is read from the map `stats`/);
  for (const f of fs) assert.ok(sentences(f.message) <= 2, f.message);
  // The quick fix returns an action instead, and that return is then quiet.
  const fix = fs[1]!.fixes?.find((x) => x.title === 'Return XDP_PASS instead of c');
  assert.ok(fix, show(fs));
  assert.deepEqual(got(source(applyFix(MAP_RETURNS, fix))), [`invalid-action@${lineOf(MAP_RETURNS, '// hits')}`]);
});

test('both tiers: the counted map values returned are one finding each', { skip: NO_CLANG }, async () => {
  const fs = await both(MAP_RETURNS);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(MAP_RETURNS, '// hits')}`, `invalid-action@${lineOf(MAP_RETURNS, '// count')}`], show(fs));
});

// The same returned from an inline helper the program returns straight: reported where the helper returns it; a
// helper whose count the program only compares is not a verdict and is quiet.
const HELPER_COUNT = `
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fwd SEC(".maps");

static __always_inline int forward(struct xdp_md *ctx)
{
	__u32 z = 0;
	__u64 *n = bpf_map_lookup_elem(&fwd, &z);
	if (!n)
		return XDP_PASS;
	__sync_fetch_and_add(n, 1);
	if (ctx->ingress_ifindex == 9)
		return *n; // helper count
	return XDP_PASS;
}

static __always_inline __u64 count(void)
{
	__u32 z = 0;
	__u64 *n = bpf_map_lookup_elem(&fwd, &z);
	if (!n)
		return 0;
	return *n;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	if (count() > 1000)
		return XDP_DROP;
	return forward(ctx);
}
`;

test('a counted map value returned by a helper the program returns straight is reported in the helper; a count compared is not', () => {
  const fs = source(HELPER_COUNT);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(HELPER_COUNT, '// helper count')}`], show(fs));
});

// Metadata written after bpf_xdp_adjust_meta, bounded by the packet's start through the program's own helper
// (`if (!in_bounds(md, data, sizeof(*md))) return XDP_DROP;`), with data reloaded by another helper: checked.
const META_HELPER = `
struct meta {
	__u32 sig;
	__u32 ifindex;
};

static inline int in_bounds(void *h, void *end, int size)
{
	return h + size <= end;
}

static inline void reload(struct xdp_md *ctx, void **data, void **data_end)
{
	*data = (void *)(long)ctx->data;
	*data_end = (void *)(long)ctx->data_end;
}

SEC("xdp")
int tag(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) > data_end)
		return XDP_DROP;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct meta)))
		return XDP_DROP;
	reload(ctx, &data, &data_end);
	struct meta *md = (void *)(long)ctx->data_meta;
	if (!in_bounds(md, data, sizeof(*md)))
		return XDP_DROP;
	md->sig = 0x5347; // store
	return XDP_PASS;
}
`;

test('metadata bounded by the packet start through a helper of the program is checked', () => {
  const fs = source(META_HELPER);
  assert.deepEqual(got(fs), [], show(fs));
  // Without the helper's check the store is reported, on its line.
  const unchecked = META_HELPER.replace('\tif (!in_bounds(md, data, sizeof(*md)))\n\t\treturn XDP_DROP;\n', '');
  const u = source(unchecked);
  assert.deepEqual(got(u), [`unchecked-packet-access@${lineOf(unchecked, '// store')}`], show(u));
});

// A port rewrite whose checksum update the program skips by its own checksum state (CHECKSUM_PARTIAL: the field then
// holds only the pseudo-header sum, which the ports are not part of): not a stale checksum. The same rewrite with no
// update at all still is.
const CSUM_PARTIAL = `
#include <linux/tcp.h>
#include <linux/in.h>

struct nat {
	__u16 port;
	__u8 csum_partial;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat);
} natcfg SEC(".maps");

static __always_inline void csum_replace2(__u16 *sum, __u16 old, __u16 new)
{
	__u32 c = (__u16)~*sum + (__u16)~old + new;
	c = (c & 0xffff) + (c >> 16);
	*sum = ~((c & 0xffff) + (c >> 16));
}

SEC("xdp")
int dnat(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct tcphdr *tcp = (void *)(iph + 1);
	if ((void *)(tcp + 1) > data_end || iph->protocol != IPPROTO_TCP)
		return XDP_PASS;
	__u32 z = 0;
	struct nat *n = bpf_map_lookup_elem(&natcfg, &z);
	if (!n)
		return XDP_PASS;
	if (!n->csum_partial)
		csum_replace2(&tcp->check, tcp->dest, n->port);
	tcp->dest = n->port; // port
	return XDP_PASS;
}
`;

test('a checksum update skipped by the program\'s own checksum state is not a stale checksum', () => {
  const all = (body: string) => analyzeSource('/tmp/unseen5.c', HEAD + body);
  const fs = all(CSUM_PARTIAL);
  assert.deepEqual(got(fs), [], show(fs));
  const none = CSUM_PARTIAL.replace('\tif (!n->csum_partial)\n\t\tcsum_replace2(&tcp->check, tcp->dest, n->port);\n', '');
  const s = all(none);
  assert.deepEqual(got(s), [`stale-checksum@${lineOf(none, '// port')}`], show(s));
});
