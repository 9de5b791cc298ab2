// Classes of misses and false alarms found by running `check` over a sixth set of public XDP programs nobody here had
// checked (2026-12-05: a game-server filter whose statistics are switched by a `const volatile` setting, a workshop's
// DNS responder, an L2 guard, IPIP and GRE tunnel programs, AF_XDP redirectors, a CPU-map steering program) and over
// mistakes injected into them. Each test is a small program written for it; the real code is not copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { sentences } from './sentences.ts';
import { HEAD, NO_CLANG, got, lineOf, show as showFindings, both as bothTiers, kernelSays as kernelRefusals } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);

function source(body: string, driverMode?: 'native' | 'readonly-page'): Finding[] {
  return analyzeSource('/tmp/unseen6.c', HEAD + body, driverMode ? { driverMode } : {});
}

const both = (body: string) => bothTiers(HEAD + body);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);

// Statistics switched by a `const volatile` setting in .rodata: the pointer stays NULL when the setting is off, and
// the helper that uses it returns first under the same test. The verifier knows the setting's value at load and
// prunes the branch that would dereference NULL; the kernel loads the program.
const SETTING = `
volatile const __u8 COUNTING = 0;

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} stats SEC(".maps");

static __always_inline void bump(struct counters *c, __u64 len)
{
	if (!COUNTING)
		return;
	c->packets++; // use
	c->bytes += len;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct counters *c = NULL;

	if (COUNTING) {
		__u32 key = ctx->rx_queue_index;
		c = bpf_map_lookup_elem(&stats, &key);
		if (!c) // check
			return XDP_DROP;
	}
	bump(c, ctx->data_end - ctx->data);
	return XDP_PASS;
}
`;

test('a map value used only under the same read-only setting that guarded its lookup is not reported as maybe NULL', () => {
  assert.deepEqual(got(source(SETTING)), [], show(source(SETTING)));
  // `COUNTING == 0` / `!= 0` are the same tests.
  const eq = SETTING.replace('if (!COUNTING)', 'if (COUNTING == 0)').replace('if (COUNTING) {', 'if (COUNTING != 0) {');
  assert.deepEqual(got(source(eq)), [], show(source(eq)));
});

test('the same program with the guard turned the wrong way, removed, the setting writable, or the check removed is still reported', () => {
  const use = lineOf(SETTING, '// use');
  const wrong = SETTING.replace('if (!COUNTING)', 'if (COUNTING)');
  assert.deepEqual(got(source(wrong)), [`map-value-null@${use}`], show(source(wrong)));
  const unguarded = SETTING.replace('\tif (!COUNTING)\n\t\treturn;\n', '');
  assert.deepEqual(got(source(unguarded)), [`map-value-null@${use - 2}`], show(source(unguarded)));
  // A .data global may change between the two tests (another CPU, user space): the verifier does not know it.
  const writable = SETTING.replace('volatile const __u8 COUNTING', 'volatile __u8 COUNTING');
  assert.deepEqual(got(source(writable)), [`map-value-null@${use}`], show(source(writable)));
  const unchecked = SETTING.replace('\t\tif (!c) // check\n\t\t\treturn XDP_DROP;\n', '');
  const fs = source(unchecked);
  assert.deepEqual(got(fs), [`map-value-null@${use}`], show(fs));
  for (const f of fs) assert.ok(sentences(f.message) <= 2, f.message);
  // With key 0 of the one-entry array the lookup cannot fail (the verifier drops the NULL case of a constant key in
  // bounds): the only NULL left is the setting's off path, which the helper's test excludes.
  const key0 = unchecked.replace('__u32 key = ctx->rx_queue_index;', '__u32 key = 0;');
  assert.deepEqual(got(source(key0)), [], show(source(key0)));
});

test('both tiers are quiet on the setting-guarded program, and the kernel loads it (and refuses the wrong-way guard)', { skip: NO_CLANG }, async (t) => {
  assert.deepEqual(got(await both(SETTING)), []);
  if (kernelOrSkip(t)) return;
  assert.deepEqual(kernelSays(SETTING), []);
  const wrong = SETTING.replace('if (!COUNTING)', 'if (COUNTING)');
  const refused = kernelSays(wrong);
  assert.ok(refused && refused.length > 0, 'the kernel should refuse the NULL dereference');
});

// A truth value returned as the verdict (a DNS filter's `return is_dns_port(p) == 0;`, a bool helper's result): 0 or
// 1, which the driver takes as XDP_ABORTED or XDP_DROP. The bytecode tier sees two valid actions; the source tier
// says what was returned.
const TRUTH = `
#include <stdbool.h>

static __always_inline bool is_arp(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return false;
	return eth->h_proto == __builtin_bswap16(ETH_P_ARP);
}

SEC("xdp")
int compared(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex == 3; // comparison
}

SEC("xdp")
int helper(struct xdp_md *ctx)
{
	return is_arp(ctx); // bool helper
}

SEC("xdp")
int local(struct xdp_md *ctx)
{
	bool drop = ctx->rx_queue_index > 2;

	return drop; // bool local
}

SEC("xdp")
int negated(struct xdp_md *ctx)
{
	return !is_arp(ctx); // negation
}

SEC("xdp")
int chosen(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex == 3 && is_arp(ctx))
		return XDP_DROP;
	return is_arp(ctx) ? XDP_TX : XDP_PASS;
}
`;

test('a comparison, a negation, a bool helper or a bool local returned as the verdict is an invalid-action on its return', () => {
  const fs = source(TRUTH).filter((f) => f.rule === 'invalid-action');
  assert.deepEqual(
    got(fs),
    ['// comparison', '// bool helper', '// bool local', '// negation'].map((m) => `invalid-action@${lineOf(TRUTH, m)}`),
    show(fs),
  );
  assert.match(fs[0]!.message, /result of a comparison, 0 or 1, which the driver takes as XDP_ABORTED or XDP_DROP/);
  assert.match(fs[1]!.message, /is_arp\(\)'s bool result/);
  for (const f of fs) assert.ok(sentences(f.message) <= 2, f.message);
});


// A counter the program itself adds to, returned on one side of a choice (`return m ? m->blocked : XDP_DROP;`): the
// join with the constant side kept only "some other value"; it is the counted-value mistake as when returned alone.
// A verdict table filled from user space, returned the same way, stays quiet.
const CHOICE = `
struct metrics {
	__u64 seen;
	__u64 blocked;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct metrics);
} stats SEC(".maps");

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct metrics *m = bpf_map_lookup_elem(&stats, &key);

	if (m)
		__sync_fetch_and_add(&m->blocked, 1);
	if (ctx->rx_queue_index == 2)
		return m ? m->blocked : XDP_DROP; // counted
	__u32 *v = bpf_map_lookup_elem(&table, &key);

	if (ctx->rx_queue_index == 3)
		return v ? *v : XDP_PASS; // table
	return XDP_PASS;
}
`;

test('a counted map field returned on one side of a ?: is an invalid-action; a verdict table read the same way is not', () => {
  const fs = source(CHOICE);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(CHOICE, '// counted')}`], show(fs));
  assert.match(fs[0]!.message, /`m->blocked` is read from the map `stats`, which this program also changes/);
});
