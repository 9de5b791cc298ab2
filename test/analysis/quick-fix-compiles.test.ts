// Every quick fix the source tier offers, applied to a whole small program: the result compiles with clang and the
// finding it mends is gone (the other findings stay as they were).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { compileC } from '../../simulator/compile.ts';
import type { Fix } from '../../simulator/analysis/findings.ts';

const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-fix-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  await initSourceAnalysis();
});

/** The fix's edits applied (1-based positions, end exclusive), last first. */
function apply(text: string, fix: Fix): string {
  const lines = text.split('\n');
  const offset = (line: number, column: number) => lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  let out = text;
  for (const e of [...fix.edits].sort((a, b) => offset(b.line, b.column) - offset(a.line, a.column))) out = out.slice(0, offset(e.line, e.column)) + e.newText + out.slice(offset(e.endLine, e.endColumn));
  return out;
}

const HEAD = '#include <linux/bpf.h>\n#include <linux/if_ether.h>\n#include <linux/ip.h>\n#include <linux/pkt_cls.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_endian.h>\n\n';
const TAIL = '\nchar LICENSE[] SEC("license") = "GPL";\n';

/**
 * Applies every fix of the `rule` finding, compiles each result, and checks the finding is gone: one at a time (the
 * fixes are choices), or all together (`together`: each mends one of the values the finding names).
 */
function check(name: string, body: string, rule: string, together = false): string[] {
  const text = HEAD + body + TAIL;
  const file = join(dir, `${name}.c`);
  const before = analyzeSource(file, text);
  const f = before.find((x) => x.rule === rule);
  assert.ok(f, `${name}: a ${rule} finding (got ${before.map((x) => x.rule).join(', ') || 'none'})`);
  assert.ok(f.fixes?.length, `${name}: a quick fix`);
  const out: string[] = [];
  const choices = together ? [{ title: f.fixes!.map((x) => x.title).join(' + '), edits: f.fixes!.flatMap((x) => x.edits) }] : f.fixes!;
  for (const fix of choices) {
    const fixed = apply(text, fix);
    const path = join(dir, `${name}-fixed.c`);
    writeFileSync(path, fixed);
    const c = compileC(path, { cacheDir: join(dir, 'cache') });
    const errors = c.diagnostics.filter((d) => d.severity === 'error');
    assert.ok(errors.length === 0 && c.objectPath, `${name}: "${fix.title}" compiles:\n${fixed}\n${c.stderr}`);
    const after = analyzeSource(path, fixed);
    assert.deepEqual(after.filter((x) => x.rule === rule).map((x) => `${x.line}: ${x.message}`), [], `${name}: "${fix.title}" mends the finding:\n${fixed}`);
    out.push(fixed);
  }
  return out;
}

test('a bounds check inserted before the first unchecked access', { skip }, () => {
  check('bounds', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return XDP_DROP;
	return XDP_PASS;
}
`, 'unchecked-packet-access');
});

test('a bounds check with no data_end variable: through ctx', { skip }, () => {
  check('bounds-ctx', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return XDP_DROP;
	}
	return XDP_PASS;
}
`, 'unchecked-packet-access');
});

test('a bounds check for an access in a case', { skip }, () => {
  check('bounds-case', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	switch (ctx->rx_queue_index) {
	case 1:
		if (ip->protocol == 6)
			return XDP_DROP;
		break;
	}
	return XDP_PASS;
}
`, 'unchecked-packet-access');
});

test('data and data_end reloaded after bpf_xdp_adjust_head', { skip }, () => {
  check('stale', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (bpf_xdp_adjust_head(ctx, -4))
		return XDP_DROP;
	if (data + 4 > data_end)
		return XDP_DROP;
	*(__u32 *)data = 0;
	return XDP_PASS;
}
`, 'stale-packet-pointer');
});

const MAP = `struct flow { __u64 packets; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

`;

test('a NULL check after the lookup, in the program', { skip }, () => {
  check('null', `${MAP}SEC("xdp")
int p(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	struct flow *f = bpf_map_lookup_elem(&flows, &k);

	f->packets++;
	return XDP_PASS;
}
`, 'map-value-null');
});

test('a NULL check after the lookup, in a callee returning void', { skip }, () => {
  check('null-void', `${MAP}static __always_inline void count(__u32 k)
{
	struct flow *f = bpf_map_lookup_elem(&flows, &k);
	f->packets++;
}

SEC("xdp")
int p(struct xdp_md *ctx)
{
	count(ctx->rx_queue_index);
	return XDP_PASS;
}
`, 'map-value-null');
});

test('a NULL check after the lookup, in a callee returning a number', { skip }, () => {
  check('null-int', `${MAP}static __always_inline int count(__u32 k)
{
	struct flow *f = bpf_map_lookup_elem(&flows, &k);
	f->packets++;
	return 0;
}

SEC("xdp")
int p(struct xdp_md *ctx)
{
	count(ctx->rx_queue_index);
	return XDP_PASS;
}
`, 'map-value-null');
});

test('a NULL check after the lookup, in a callee returning a pointer', { skip }, () => {
  check('null-ptr', `${MAP}static __always_inline struct flow *count(__u32 k)
{
	struct flow *f = bpf_map_lookup_elem(&flows, &k);
	f->packets++;
	return f;
}

SEC("xdp")
int p(struct xdp_md *ctx)
{
	count(ctx->rx_queue_index);
	return XDP_PASS;
}
`, 'map-value-null');
});

test('an out-of-range return replaced by an action', { skip }, () => {
  check('ret', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	if (ctx->rx_queue_index == 3)
		return 7;
	return XDP_PASS;
}
`, 'invalid-action');
});

test('a tc verdict replaced by the XDP action it stands for', { skip }, () => {
  check('tc', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	if (ctx->rx_queue_index == 3)
		return TC_ACT_SHOT;
	return XDP_PASS;
}
`, 'invalid-action');
});

test('a tc verdict through a variable', { skip }, () => {
  check('tc-var', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	int act = TC_ACT_OK;

	if (ctx->rx_queue_index == 3)
		act = TC_ACT_SHOT;
	return act;
}
`, 'invalid-action', true);
});

const DEVMAP = `struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

`;

test('the result of bpf_redirect_map returned', { skip }, () => {
  check('redirect', `${DEVMAP}SEC("xdp")
int p(struct xdp_md *ctx)
{
	bpf_redirect_map(&tx_port, 0, 0);
	return XDP_REDIRECT;
}
`, 'redirect-without-target');
});

test('an out-of-range number returned by an inline helper', { skip }, () => {
  check('ret-callee', `static __always_inline int parse(struct xdp_md *ctx)
{
	if (ctx->rx_queue_index > 3)
		return -1;
	return XDP_PASS;
}

SEC("xdp")
int p(struct xdp_md *ctx)
{
	return parse(ctx);
}
`, 'invalid-action');
});

test('an error code returned through a local', { skip }, () => {
  check('ret-err', `SEC("xdp")
int p(struct xdp_md *ctx)
{
	int err = bpf_xdp_adjust_tail(ctx, -4);

	if (err)
		return err;
	return XDP_PASS;
}
`, 'invalid-action');
});

test('XDP_TX in a devmap program', { skip }, () => {
  check('devmap-tx', `SEC("xdp/devmap")
int p(struct xdp_md *ctx)
{
	return XDP_TX;
}
`, 'invalid-action');
});
