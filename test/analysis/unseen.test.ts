// Classes of mistakes and false alarms found by running `check` over XDP programs from public repositories nobody
// here had seen (the held-out corpus, 2026-12-05) and over mutants of them (a mistake injected into a correct
// program). Each test is a small program written for it in the style of the real one; the real code is not copied.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { sentences } from './sentences.ts';

before(async () => {
  await initSourceAnalysis();
});

const HEAD = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
`;

function check(body: string, file = '/tmp/unseen.c'): Finding[] {
  return analyzeSource(file, HEAD + body);
}
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;
const show = (fs: Finding[]) => fs.map((f) => `${f.line} ${f.rule}: ${f.message}`).join('\n');

test('two error codes of one helper returned as the verdict are named once, in one message', () => {
  // xdp-bench style: `err = bpf_xdp_load_bytes(...); if (err) return err;`
  const body = `
SEC("xdp")
int read_eth(struct xdp_md *ctx)
{
	struct ethhdr eth;
	int err;

	err = bpf_xdp_load_bytes(ctx, 0, &eth, sizeof(eth));
	if (err)
		return err; // here
	return XDP_PASS;
}
`;
  const fs = check(body);
  assert.deepEqual(fs.map((f) => `${f.rule}@${f.line}`), [`invalid-action@${lineOf(body, '// here')}`], show(fs));
  const m = fs[0]!.message;
  assert.equal(m.split('bpf_xdp_load_bytes() returns').length - 1, 1, m);
  assert.match(m, /can return -22 or -14/);
  assert.ok(sentences(m) <= 2, m);
});

test('a callee value returned through two of the program\'s returns: one finding, naming the callee\'s line and the other return', () => {
  const body = `
static __attribute__((noinline)) int handle(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_dest[0] & 1)
		return -1; // callee
	return XDP_PASS;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return handle(data, data_end); // first
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return handle(data, data_end); // second
	return XDP_PASS;
}
`;
  const fs = check(body);
  assert.deepEqual(fs.map((f) => `${f.rule}@${f.line}`), [`invalid-action@${lineOf(body, '// first')}`], show(fs));
  assert.deepEqual(fs[0]!.related?.map((r) => r.line).sort((a, b) => a - b), [lineOf(body, '// callee'), lineOf(body, '// second')]);
});

test('a volatile local is not a known value: a dispatcher stub returning a placeholder is not reported', () => {
  const body = `
__attribute__((noinline)) int stub(struct xdp_md *ctx)
{
	volatile int ret = 31;

	if (!ctx)
		return XDP_ABORTED;
	return ret;
}

static volatile const __u32 chain_actions = 0;

SEC("xdp")
int dispatcher(struct xdp_md *ctx)
{
	int ret = stub(ctx);

	if (!((1U << ret) & chain_actions))
		return ret;
	return XDP_PASS;
}
`;
  assert.deepEqual(show(check(body)), '');
  // Without volatile the placeholder is a known constant, and returning it is reported.
  const plain = body.replace('volatile int ret', 'int ret');
  assert.deepEqual(check(plain).map((f) => f.rule), ['invalid-action'], show(check(plain)));
});
