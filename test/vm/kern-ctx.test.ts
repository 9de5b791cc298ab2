// bpf_cast_to_kern_ctx and bpf_rdonly_cast, the kfuncs a CO-RE program uses to read the kernel's struct xdp_buff
// behind its xdp_md: the simulator refused to load such programs ("kfunc 'bpf_cast_to_kern_ctx' is not modelled")
// where the kernel loads and runs them. Against the kernel, both engines: the buffer's pointers (as differences),
// frame_sz, flags (a multi-buffer frame has XDP_FLAGS_HAS_FRAGS), rxq->queue_index, rxq->frag_size, rxq->dev's
// ifindex, name, mtu and flags, a packet byte read through bpf_rdonly_cast(kctx->data, ...), and the same after
// bpf_xdp_adjust_head / bpf_xdp_adjust_meta moved the packet (the kernel's xdp_buff is live, so is the image).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, skipIfBuildTakesHelper, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#define PAI __attribute__((preserve_access_index))
// The kernel's structs, as much of them as the program reads (CO-RE finds the offsets in the kernel's BTF; frame_sz
// and flags sit in an anonymous union there).
struct net_device { int ifindex; unsigned int mtu; unsigned int flags; char name[16]; } PAI;
struct xdp_rxq_info { struct net_device *dev; __u32 queue_index; __u32 frag_size; } PAI;
struct xdp_txq_info { struct net_device *dev; } PAI;
struct xdp_buff { void *data; void *data_end; void *data_meta; void *data_hard_start; struct xdp_rxq_info *rxq;
                  struct xdp_txq_info *txq; __u32 frame_sz; __u32 flags; } PAI;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
char LICENSE[] SEC("license") = "GPL";

static __always_inline void snap(struct xdp_buff *k, __s64 *o)
{
	o[0] = (long)k->data_end - (long)k->data;
	o[1] = (long)k->data - (long)k->data_hard_start;
	o[2] = (long)k->data - (long)k->data_meta;
	o[3] = k->frame_sz;
	o[4] = k->flags;
	struct ethhdr *e = bpf_rdonly_cast(k->data, bpf_core_type_id_kernel(struct ethhdr));
	o[5] = e->h_proto;
}

SEC("xdp.frags")
int prog(struct xdp_md *ctx)
{
	struct xdp_buff *k = bpf_cast_to_kern_ctx(ctx);
	__s64 o[19] = {};
	snap(k, o);
	o[6] = k->rxq->queue_index;
	o[7] = k->rxq->frag_size;
	o[8] = k->rxq->dev->ifindex;
	o[9] = k->rxq->dev->mtu;
	o[10] = k->rxq->dev->flags & 0xffff;
	o[11] = k->rxq->dev->name[0] | k->rxq->dev->name[1] << 8 | k->rxq->dev->name[2] << 16;
	o[12] = (long)k->txq;
	if (bpf_xdp_adjust_head(ctx, -16) == 0 && bpf_xdp_adjust_meta(ctx, -8) == 0)
		snap(k, o + 13);
	if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0)
		return XDP_DROP;
	return XDP_TX;
}
`;

test("bpf_cast_to_kern_ctx and bpf_rdonly_cast read what the kernel's xdp_buff holds, before and after the packet moves", (t) => {
  if (kernelOrSkip(t)) return;
  // 200 and 256 bytes (IPv4 and IPv6 ethertypes) and a 5000-byte frame that the kernel splits into fragments.
  const packets = [200, 256, 5000].map((n, i) => {
    const p = new Uint8Array(n);
    p[12] = i === 1 ? 0x86 : 0x08;
    p[13] = i === 1 ? 0xdd : 0x00;
    return p;
  });
  if (skipIfBuildTakesHelper(t, 'kern-ctx', SOURCE)) return;
  const kernel = assertAgreesWithKernel('kern-ctx', SOURCE, packets, { maps: false });
  // The output starts with the 8 bytes of metadata the program made room for; o[n] is word n + 1.
  const first = kernel.results[0]!.out;
  const o = (out: Uint8Array, n: number) => i64(out, n + 1);
  // 200 bytes from 256 bytes of headroom, no metadata, h_proto 0x0800 read little-endian, lo (ifindex 1, IFF_UP | IFF_LOOPBACK, "lo").
  assert.deepEqual([0, 1, 2, 5, 8, 10, 11].map((n) => o(first, n)), [200, 256, 0, 8, 1, 9, 0x6f6c]);
  // After adjust_head(-16) and adjust_meta(-8): 16 more bytes, 16 less headroom, 8 bytes of metadata.
  assert.deepEqual([13, 14, 15].map((n) => o(first, n)), [216, 240, 8]);
  // The 5000-byte frame has fragments.
  assert.equal(o(kernel.results[2]!.out, 4), 1);
});
