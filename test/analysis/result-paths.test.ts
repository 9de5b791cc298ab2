// A caller's test of a callee's result narrows what the callee did to the returns giving the values kept. Small
// programs written for this test (the shapes of a SYN-cookie program that answers a SYN itself).
// - Source tier: `ret = recompute(...); if (ret != XDP_TX) return ret;` where recompute sets the TCP checksum to 0,
//   gives up with XDP_ABORTED when bpf_csum_diff fails, and stores the sum otherwise: the path going on is the one
//   that stored it (the join of all its returns said "set to 0 and not computed").
// - Bytecode tier: a global function's result is unknown to its caller (as to the verifier), so the caller goes on
//   past `if (ret != XDP_TX) return ret;` also from the function's returns that changed nothing; an XDP_TX of an
//   unchanged frame there is not reported when the function changes the frame on some path, nor (where the source
//   tier ran) when the function changes it only under a setting the loader gives (off as compiled): the source tier
//   follows the function's returns and judges that path itself.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { HEAD, NO_CLANG, show, both } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const RECOMPUTE = `${HEAD}#include <linux/tcp.h>
#include <linux/in.h>

struct hdrs {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
};

static __always_inline __u16 fold(__s64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Recomputes the TCP checksum from scratch; gives up (XDP_ABORTED) when the helper fails. */
static __always_inline int recompute(struct hdrs *h, void *end)
{
	__s64 value;

	if ((void *)(h->tcp + 1) > end)
		return XDP_ABORTED;
	h->tcp->check = 0;
	value = bpf_csum_diff(0, 0, (__be32 *)h->tcp, sizeof(*h->tcp), 0);
	if (value < 0)
		return XDP_ABORTED;
	h->tcp->check = fold(value);
	return XDP_TX;
}

static __always_inline int answer(struct xdp_md *ctx, struct hdrs *h)
{
	void *end = (void *)(long)ctx->data_end;
	__be16 port;
	int ret;

	if ((void *)(h->tcp + 1) > end)
		return XDP_DROP;
	port = h->tcp->source;
	h->tcp->source = h->tcp->dest;
	h->tcp->dest = port;
	h->tcp->ack_seq = h->tcp->seq;
	ret = recompute(h, end);
	if (ret != XDP_TX)
		return ret;
	return XDP_TX;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdrs h;
	unsigned char tmp[ETH_ALEN];

	h.eth = data;
	h.ip = (void *)(h.eth + 1);
	h.tcp = (void *)(h.ip + 1);
	if ((void *)(h.tcp + 1) > end)
		return XDP_PASS;
	if (h.eth->h_proto != __builtin_bswap16(ETH_P_IP) || h.ip->protocol != IPPROTO_TCP || h.ip->ihl != 5)
		return XDP_PASS;
	__builtin_memcpy(tmp, h.eth->h_source, ETH_ALEN);
	__builtin_memcpy(h.eth->h_source, h.eth->h_dest, ETH_ALEN);
	__builtin_memcpy(h.eth->h_dest, tmp, ETH_ALEN);
	return answer(ctx, &h);
}

char LICENSE[] SEC("license") = "GPL";
`;
/** The same, but the failing path sends the frame with the checksum 0: that one is a mistake. */
const RECOMPUTE_TX = swapOnce(RECOMPUTE, '\tif (value < 0)\n\t\treturn XDP_ABORTED;', '\tif (value < 0)\n\t\treturn XDP_TX;');

function swapOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected one ${JSON.stringify(from)}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}
const GLOBAL = `${HEAD}
/* Answers the frame itself (addresses swapped, XDP_TX) or lets it pass. */
__attribute__((noinline)) int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != __builtin_bswap16(0x88b5))
		return XDP_PASS;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}

static __always_inline int finish(struct xdp_md *ctx, __u32 mark)
{
	if (mark == 0)
		return XDP_TX;
	return XDP_DROP;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	int ret = reflect(ctx);

	if (ret != XDP_TX)
		return ret;
	ret = finish(ctx, ctx->rx_queue_index);
	if (ret != XDP_TX)
		return ret;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
`;
/** The same, answering only when the loader enables it (off as compiled: the verifier's walk sees no change). */
const GLOBAL_CONFIG = GLOBAL.replace('__attribute__((noinline)) int reflect', 'const volatile int enabled = 0;\n\n__attribute__((noinline)) int reflect').replace('\tif ((void *)(eth + 1) > end)\n\t\treturn XDP_DROP;', '\tif (!enabled)\n\t\treturn XDP_PASS;\n\tif ((void *)(eth + 1) > end)\n\t\treturn XDP_DROP;');
/** The same, but the global function never changes the frame: the XDP_TX after it sends it back as received. */
const GLOBAL_NOCHANGE = `${HEAD}
/* Answers the frame itself (addresses swapped, XDP_TX) or lets it pass. */
__attribute__((noinline)) int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != __builtin_bswap16(0x88b5))
		return XDP_PASS;
	return XDP_TX;
}

static __always_inline int finish(struct xdp_md *ctx, __u32 mark)
{
	if (mark == 0)
		return XDP_TX;
	return XDP_DROP;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	int ret = reflect(ctx);

	if (ret != XDP_TX)
		return ret;
	ret = finish(ctx, ctx->rx_queue_index);
	if (ret != XDP_TX)
		return ret;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
`;

const stale = (text: string) => analyzeSource('/tmp/result-paths.c', text, {}).filter((f) => f.rule === 'stale-checksum');

test('a checksum recomputed by a callee whose failing return the caller passes on: no finding', () => {
  const fs = stale(RECOMPUTE);
  assert.equal(fs.length, 0, show(fs));
});

test('a callee that sends the frame on with the checksum 0 when the helper fails: still reported', () => {
  const fs = stale(RECOMPUTE_TX);
  assert.equal(fs.length, 1, show(fs));
});

test('XDP_TX after a global function that answers the frame itself: no tx-unmodified', { skip: NO_CLANG }, async () => {
  const fs = (await both(GLOBAL)).filter((f) => f.rule === 'tx-unmodified');
  assert.equal(fs.length, 0, show(fs));
});

test('XDP_TX after a global function that never changes the frame: still tx-unmodified', { skip: NO_CLANG }, async () => {
  const fs = (await both(GLOBAL_NOCHANGE)).filter((f) => f.rule === 'tx-unmodified');
  assert.equal(fs.length, 1, show(fs));
});

test('XDP_TX after a global function that answers the frame when the loader enables it: no tx-unmodified', { skip: NO_CLANG }, async () => {
  assert.ok(GLOBAL_CONFIG.includes('if (!enabled)'));
  const fs = (await both(GLOBAL_CONFIG)).filter((f) => f.rule === 'tx-unmodified');
  assert.equal(fs.length, 0, show(fs));
});
