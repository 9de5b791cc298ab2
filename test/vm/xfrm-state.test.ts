// bpf_xdp_get_xfrm_state / bpf_xdp_xfrm_state_release (net/xfrm/xfrm_state_bpf.c; the selftests' test_tunnel_kern.c
// calls them from SEC("xdp")): the simulator refused to load such programs ("not modelled"). It holds no IPsec states
// (a fresh network namespace's table), so a lookup returns NULL with opts->error set as the kernel sets it: -ENOENT
// for a miss, -EINVAL for an opts size other than 36 or a netns_id below -1, -ENONET for another namespace's id.
// Against the kernel in a network namespace of its own, both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_xfrm_state_opts { __s32 error; __s32 netns_id; __u32 mark; __u8 daddr[16]; __be32 spi; __u8 proto; __u16 family; };
struct xfrm_state { int opaque; }; // a struct (not a declaration): libbpf matches the kernel prototype by kinds
extern struct xfrm_state *bpf_xdp_get_xfrm_state(struct xdp_md *ctx, struct bpf_xfrm_state_opts *opts, __u32 opts__sz) __ksym;
extern void bpf_xdp_xfrm_state_release(struct xfrm_state *x) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 buf[40] = {};
	struct bpf_xfrm_state_opts *opts = (void *)buf;
	struct xfrm_state *x;
	__s64 o[4] = {};
	if ((void *)(d + 64) > end) return XDP_PASS;
	opts->netns_id = (__s8)d[40];
	opts->spi = 0x01020304;
	opts->proto = 50;
	opts->family = 2;
	opts->daddr[0] = 10;
	opts->error = 77;
	switch (d[41]) {
	case 0: x = bpf_xdp_get_xfrm_state(ctx, opts, 36); break;
	case 1: x = bpf_xdp_get_xfrm_state(ctx, opts, 32); break;
	case 2: x = bpf_xdp_get_xfrm_state(ctx, opts, 40); break;
	default: x = bpf_xdp_get_xfrm_state(ctx, opts, 4); break;
	}
	o[0] = x ? 1 : 0;
	o[1] = opts->error;
	if (x) bpf_xdp_xfrm_state_release(x);
	if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
	return XDP_TX;
}
`;

test('bpf_xdp_get_xfrm_state finds no state and sets opts->error as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const cases = [[-1, 0], [-5, 0], [3, 0], [-1, 1], [-1, 2], [-1, 3], [0, 0], [-2, 0]];
  const packets = cases.map(([netns, size]) => {
    const p = new Uint8Array(64);
    p[12] = 0x08;
    p[40] = netns & 0xff;
    p[41] = size;
    return p;
  });
  const kernel = assertAgreesWithKernel('xfrm-state', SOURCE, packets, { netns: true });
  assert.deepEqual(kernel.results.map((r) => [i64(r.out, 0), i64(r.out, 1)]),
    [[0, -2], [0, -22], [0, -64], [0, -22], [0, -22], [0, -22], [0, -64], [0, -22]]);
});
