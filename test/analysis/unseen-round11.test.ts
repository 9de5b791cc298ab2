// Classes of misses found by running `check` over an eleventh set of public XDP programs nobody here had checked
// (2026-12-06: a port-rewriting test program with TCP and UDP branches, a load balancer whose FIB helper picks the
// verdict in a local, DHCP and DSR load-balancer responders, AF_XDP steering, firewalls) and over mistakes injected
// into them. Each test is a small program written for it; the real code is not copied. Where a finding says what
// happens to the packet, the program runs in the 6.18 kernel (BPF_PROG_TEST_RUN) and the frame or verdict is checked.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding } from '../../simulator/analysis/findings.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { HEAD as BASE, NO_CLANG, got, show as showFindings, both as bothTiers, kernelRun as kernelRunText, kernelSays as kernelRefusals, udpFrame, udpSumOk } from './unseen-common.ts';

const HEAD = `${BASE}#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
`;
const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => showFindings(fs, true);
const source = (body: string): Finding[] => analyzeSource('/tmp/unseen11.c', HEAD + body, {});
const both = (body: string) => bothTiers(HEAD + body);
const kernelRun = (body: string, program: string, packets: Uint8Array[]) => kernelRunText(HEAD + body, program, packets);
const kernelSays = (body: string) => kernelRefusals(HEAD + body);

// A TCP branch and a UDP branch that each rewrite the destination port and meet before one `return XDP_PASS;`:
// neither updates its checksum, so these are two mistakes on two lines. Only the first (TCP) was reported: the join
// kept the earlier path's open change and dropped the other's.
const PORTS = (udpFix: string) => `
SEC("xdp")
int ports(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > data_end)
			return XDP_DROP;
		tcp->dest = bpf_htons(bpf_ntohs(tcp->dest) - 1); // tcp port
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_DROP;
		udp->dest = bpf_htons(bpf_ntohs(udp->dest) - 1); // udp port
		${udpFix}
	}
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;


test('TCP and UDP ports rewritten on two branches that meet before the return: two stale checksums, one on each line', { skip: NO_CLANG }, async (t) => {
  const stale = PORTS('');
  const want = [`stale-checksum@${lineOf(stale, '// tcp port')}`, `stale-checksum@${lineOf(stale, '// udp port')}`];
  assert.deepEqual(got(source(stale)), want, show(source(stale)));
  const fs = await both(stale);
  assert.deepEqual(got(fs), want, show(fs));
  assert.match(fs[0]!.message, /`dest` of the TCP header is changed here, but the TCP checksum/);
  assert.match(fs[1]!.message, /`dest` of the UDP header is changed here, but the UDP checksum/);
  // The UDP path that clears its checksum (no checksum, IPv4) leaves only the TCP path's mistake.
  const fixed = PORTS('udp->check = 0;');
  assert.deepEqual(got(source(fixed)), [want[0]], show(source(fixed)));
  if (kernelOrSkip(t)) return;
  const f = udpFrame(6000);
  assert.ok(udpSumOk(f));
  const bad = kernelRun(stale, 'ports', [f]).results[0]!;
  assert.equal(bad.retval, 2);
  assert.equal((bad.out[36]! << 8) | bad.out[37]!, 5999);
  assert.equal(udpSumOk(bad.out), false); // the UDP branch's frame leaves with a failing sum
  const ok = kernelRun(fixed, 'ports', [f]).results[0]!;
  assert.equal((ok.out[40]! << 8) | ok.out[41]!, 0);
});

// A helper that picks the verdict in a local (`int action = XDP_PASS; switch (rc) { case ...: action = XDP_TX; }
// return action;`), whose result the program keeps in a local and returns: the mistake is where the helper wrote the
// value, as when the program returns the helper's result straight. It was reported on the program's `return action;`.
const PICK = (txCase: string, mac: boolean) => `
static __attribute__((always_inline)) int pick(struct ethhdr *eth, int rc)
{
	int action = XDP_PASS;
	switch (rc) {
	case 1:
		${mac ? '__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);' : ''}
		${txCase} // chosen
		break;
	case 2:
		action = XDP_DROP;
		break;
	}
	return action;
}

SEC("xdp")
int lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	int action = XDP_PASS;
	action = pick(eth, eth->h_source[5]);
	return action; // program return
}
char LICENSE[] SEC("license") = "GPL";
`;

/** An Ethernet frame (IPv4 type, 46 bytes) whose last source-address byte picks the helper's case. */
const frame = (pick: number) => Uint8Array.from({ length: 60 }, (_, i) => (i === 11 ? pick : i === 12 ? 8 : i < 12 ? 2 : 0));

test('a verdict a helper writes in its local and the program returns through its own local is reported where the helper wrote it', { skip: NO_CLANG }, async (t) => {
  for (const [txCase, mac, rule] of [
    ['action = XDP_TX + 2;', true, 'invalid-action'],
    ['action = XDP_REDIRECT;', true, 'redirect-without-target'],
    ['action = XDP_TX;', false, 'tx-unmodified'],
  ] as const) {
    const body = PICK(txCase, mac);
    const fs = await both(body);
    assert.deepEqual(got(fs), [`${rule}@${lineOf(body, '// chosen')}`], `${txCase}\n${show(fs)}`);
    assert.ok(fs[0]!.related?.some((r) => r.line === lineOf(body, '// program return')), `${txCase}: the program's return is named\n${JSON.stringify(fs[0]!.related)}`);
    assert.doesNotMatch(fs[0]!.message, /Through `action`/);
  }
  // A status code of a parser kept in a local and returned is the program's mistake, on its return.
  const status = `
static __attribute__((always_inline)) int parse(void *data, void *data_end)
{
	if (data + 20 > data_end)
		return -1;
	return 0;
}

SEC("xdp")
int st(struct xdp_md *ctx)
{
	int err = parse((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (err)
		return err; // status
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;
  assert.deepEqual(got(source(status)), [`invalid-action@${lineOf(status, '// status')}`], show(source(status)));
  if (kernelOrSkip(t)) return;
  // The kernel hands back what the program returned: 5 (no XDP action), XDP_REDIRECT with no target set, XDP_TX.
  assert.equal(kernelRun(PICK('action = XDP_TX + 2;', true), 'lb', [frame(1)]).results[0]!.retval, 5);
  assert.equal(kernelRun(PICK('action = XDP_REDIRECT;', true), 'lb', [frame(1)]).results[0]!.retval, 4);
  const tx = kernelRun(PICK('action = XDP_TX;', false), 'lb', [frame(1)]).results[0]!;
  assert.equal(tx.retval, 3);
  assert.deepEqual([...tx.out], [...frame(1)]); // sent back exactly as received
});

// A helper's error kept in a local and returned where only the error can be there (`if (len < 0) return len;`,
// `if (err) return err;` after bpf_xdp_adjust_tail): every value of that return is no XDP action, so the quick fix
// puts the action likely meant in place of the local. It had no quick fix (only a constant written in the return had).
const STATUS = (ret: string) => `
static __attribute__((always_inline)) int build(void *data, void *data_end)
{
	if (data + 64 > data_end)
		return -1;
	return 20;
}

SEC("xdp")
int st(struct xdp_md *ctx)
{
	int len = build((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	${ret}
	int err = bpf_xdp_adjust_tail(ctx, -len);
	if (err)
		return err; // adjust
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('a helper\'s error returned through a local where only the error gets there has a quick fix that compiles and loads', { skip: NO_CLANG }, (t) => {
  const body = STATUS('if (len < 0)\n\t\treturn len; // len');
  const fs = source(body);
  assert.deepEqual(got(fs), [`invalid-action@${lineOf(body, '// len')}`, `invalid-action@${lineOf(body, '// adjust')}`], show(fs));
  let fixed = HEAD + body;
  for (const f of [...fs].reverse()) {
    assert.deepEqual(f.fixes?.map((x) => x.title), [`Return XDP_DROP instead of ${f.line === lineOf(body, '// len') ? 'len' : 'err'}`, `Return XDP_ABORTED instead of ${f.line === lineOf(body, '// len') ? 'len' : 'err'}`]);
    const e = f.fixes![0]!.edits[0]!;
    const lines = fixed.split('\n');
    lines[e.line - 1] = lines[e.line - 1]!.slice(0, e.column - 1) + e.newText + lines[e.line - 1]!.slice(e.endColumn - 1);
    fixed = lines.join('\n');
  }
  assert.deepEqual(show(analyzeSource('/tmp/unseen11.c', fixed, {})), '');
  // Where the local may also hold an action (the error or XDP_PASS), no fix replaces it.
  const mixed = STATUS('int v = len < 0 ? len : XDP_PASS;\n\treturn v; // mixed');
  const m = source(mixed).find((f) => f.line === lineOf(mixed, '// mixed'));
  assert.ok(m, show(source(mixed)));
  assert.equal(m.fixes?.length ?? 0, 0);
  if (kernelOrSkip(t)) return;
  assert.deepEqual(kernelSays(fixed.slice(HEAD.length)), []);
});
