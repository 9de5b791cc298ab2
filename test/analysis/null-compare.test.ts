// Null tests of a pointer that may be NULL spelled as an ordered comparison: `if (v > 0)`, `v > 0 && ...`,
// `!(v <= 0)`, `if (v < 1) return ...;`. clang compares a pointer unsigned and turns these into `v != 0` / `v == 0`,
// which the verifier takes as the null check; a signed compare (`(long)v > 0`), another constant (`v != 1`, `v > 1`),
// a test clang drops (`v >= 0`) or the pointer cut to 32 bits is none, and the verifier refuses the access after it.
// The source tier took only `==`/`!=` against 0 (and a plain `if (v)`) as a null test, so the first group were false
// map-value-null errors (seen in a DNS responder's `if (record > 0)` after a lookup). Small programs written for this
// test; whether the kernel loads each is checked in the running kernel when there is one.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { NO_CLANG, show, both, kernelSays } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const LOOKUP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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
`;
const END = `	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

const nulls = (fs: Finding[]) => fs.filter((f) => f.rule === 'map-value-null');

/** Spellings the kernel loads (`loads`) or refuses, each followed by a use of `v` where the test let it through. */
const CASES: { name: string; body: string; loads: boolean }[] = [
  { name: 'v > 0', body: '\tif (v > 0)\n\t\treturn v->a;\n', loads: true },
  { name: 'v > 0 && use', body: '\tif (v > 0 && v->a == 7)\n\t\treturn XDP_DROP;\n', loads: true },
  { name: 'v <= 0 || use', body: '\tif (v <= 0 || v->a != 7)\n\t\treturn XDP_PASS;\n\treturn XDP_DROP;\n', loads: true },
  { name: '!(v <= 0)', body: '\tif (!(v <= 0))\n\t\treturn v->a;\n', loads: true },
  { name: '0 < v', body: '\tif (0 < v)\n\t\treturn v->a;\n', loads: true },
  { name: 'v >= 1', body: '\tif (v >= 1)\n\t\treturn v->a;\n', loads: true },
  { name: 'v > NULL', body: '\tif (v > NULL)\n\t\treturn v->a;\n', loads: true },
  { name: 'v < 1, return', body: '\tif (v < 1)\n\t\treturn XDP_DROP;\n\treturn v->a;\n', loads: true },
  { name: '1 > v, return', body: '\tif (1 > v)\n\t\treturn XDP_DROP;\n\treturn v->a;\n', loads: true },
  { name: 'v > 0 ? use : ...', body: '\treturn v > 0 ? v->a : XDP_PASS;\n', loads: true },
  { name: '(unsigned long)v > 0', body: '\tif ((unsigned long)v > 0)\n\t\treturn v->a;\n', loads: true },
  { name: '(_Bool)v > 0', body: '\tif ((_Bool)v > 0)\n\t\treturn v->a;\n', loads: true },
  { name: '(long)v != 0', body: '\tif ((long)v != 0)\n\t\treturn v->a;\n', loads: true },
  // Refused: the access after the test is the verifier's refusal (or follows a cast it refuses).
  { name: '(long)v > 0', body: '\tif ((long)v > 0)\n\t\treturn v->a;\n', loads: false },
  { name: '(long)v >= 1', body: '\tif ((long)v >= 1)\n\t\treturn v->a;\n', loads: false },
  { name: '(long)v <= 0, return', body: '\tif ((long)v <= 0)\n\t\treturn XDP_DROP;\n\treturn v->a;\n', loads: false },
  { name: 'v != 1', body: '\tif (v != (void *)1)\n\t\treturn v->a;\n', loads: false },
  { name: 'v > 1', body: '\tif (v > (struct val *)1)\n\t\treturn v->a;\n', loads: false },
  { name: 'v >= 0', body: '\tif (v >= 0)\n\t\treturn v->a;\n', loads: false },
  { name: '(__u32)v != 0', body: '\tif ((__u32)(unsigned long)v != 0)\n\t\treturn v->a;\n', loads: false },
];

for (const c of CASES) {
  test(`map value tested with \`${c.name}\`: ${c.loads ? 'no finding (the kernel loads it)' : 'map-value-null (the kernel refuses it)'}`, async () => {
    const text = LOOKUP + c.body + END;
    const src = nulls(analyzeSource('/tmp/null-compare.c', text, {}));
    assert.equal(src.length, c.loads ? 0 : 1, show(src));
    if (NO_CLANG) return;
    const fs = nulls(await both(text));
    assert.equal(fs.length, c.loads ? 0 : 1, show(fs));
    const refused = kernelSays(text);
    if (refused !== undefined) assert.equal(refused.length === 0, c.loads, refused.join('\n'));
  });
}

// The shape met in the DNS responder: a lookup in a function of its own, its result tested with `> 0` and read.
const MATCH = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct rec { __u32 ip; __u32 ttl; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct rec);
} records SEC(".maps");

static __attribute__((noinline)) int match(__u32 *q, struct rec *a)
{
	struct rec *record = bpf_map_lookup_elem(&records, q);
	if (record > 0) {
		a->ip = record->ip;
		a->ttl = record->ttl;
		return 0;
	}
	return -1;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	struct rec a = {};
	if (match(&q, &a) < 0)
		return XDP_PASS;
	return a.ttl ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
`;

test('a lookup in a function of its own tested with `record > 0`: no finding', async () => {
  assert.equal(nulls(analyzeSource('/tmp/null-compare.c', MATCH, {})).length, 0);
  if (NO_CLANG) return;
  const fs = await both(MATCH);
  assert.equal(fs.filter((f) => f.severity === 'error').length, 0, show(fs));
  const refused = kernelSays(MATCH);
  if (refused !== undefined) assert.deepEqual(refused, []);
});

// The other pointers that may be NULL (a ring buffer record, a socket, a dynptr slice) are the bytecode tier's: it
// follows the compiled test, so it agrees with the kernel on each spelling too. Its message names the helper and the
// type the kernel names (it said bpf_map_lookup_elem and 'map_value_or_null' for all of them).
const OTHERS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym;

SEC("xdp")
int prog(struct xdp_md *ctx)
{
`;
const KINDS: { name: string; decl: string; use: string; release: string; type?: string }[] = [
  { name: 'bpf_ringbuf_reserve', decl: '\t__u32 *v = bpf_ringbuf_reserve(&rb, 8, 0);\n', use: '{ *v = 1; bpf_ringbuf_submit(v, 0); return XDP_DROP; }', release: '\tif (v) bpf_ringbuf_discard(v, 0);\n', type: 'ringbuf_mem_or_null' },
  { name: 'bpf_sk_lookup_tcp', decl: '\tstruct bpf_sock_tuple t = {};\n\tstruct bpf_sock *v = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);\n', use: '{ int x = v->family; bpf_sk_release(v); return x; }', release: '\tif (v) bpf_sk_release(v);\n', type: 'sock_or_null' },
  { name: 'bpf_dynptr_slice', decl: '\tstruct bpf_dynptr d;\n\t__u8 buf[4];\n\tbpf_dynptr_from_xdp(ctx, 0, &d);\n\t__u8 *v = bpf_dynptr_slice(&d, 0, buf, 4);\n', use: '{ return v[0]; }', release: '' },
];
for (const k of KINDS) {
  for (const [spelling, loads] of [['v > 0', true], ['(unsigned long)v >= 1', true], ['(long)v > 0', false]] as const) {
    test(`${k.name} result tested with \`${spelling}\`: ${loads ? 'no finding' : 'a NULL finding'}, as the kernel`, { skip: NO_CLANG }, async () => {
      const text = `${OTHERS}${k.decl}\tif (${spelling})\n\t\t${k.use}\n${k.release}${END}`;
      const fs = nulls(await both(text));
      assert.equal(fs.length, loads ? 0 : 1, show(fs));
      if (!loads && k.type) {
        assert.ok(fs[0]!.message.includes(`\`${k.name}\``) && fs[0]!.message.includes(`'${k.type}'`), fs[0]!.message);
        assert.ok(!/map_lookup|map_value/.test(fs[0]!.message), fs[0]!.message);
      }
      const refused = kernelSays(text);
      if (refused !== undefined) assert.equal(refused.length === 0, loads, refused.join('\n'));
      if (refused?.length && k.type) assert.ok(refused[0]!.includes(`'${k.type}'`), refused[0]);
    });
  }
}
