// bpf_probe_read_kernel(_str) from a packet pointer with a range that leaves the packet: the headroom before data,
// the bytes past data_end (tailroom), a string running off the end, a long copy from data of a short packet. That
// memory is the packet's own buffer in the kernel (mapped), so the copy succeeds (0) and BPF_PROG_TEST_RUN's buffer is
// allocated zeroed: zero bytes, also after an earlier packet moved data into the headroom and wrote there (before the
// 256 bytes of headroom, outside that buffer, the kernel reads whatever lies next to it: not tested). The
// simulator faulted ("kernel memory past the end of the object is not modelled") and the program stopped. Found on
// anil-sn/udp_ebpf's vxlan_pipeline (a fixed 1,536-byte bpf_probe_read_kernel from data into a ring buffer record).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
static __u64 mix(const __u8 *b, int n) { __u64 x = 0; for (int i = 0; i < n; i++) x = x * 131 + b[i]; return x; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if ((void *)(d + 100) > end) return XDP_PASS;
  if (d[0] & 1) {
    /* leave something behind in the headroom and past a shortened end */
    if (bpf_xdp_adjust_head(ctx, -64)) return XDP_ABORTED;
    d = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    if ((void *)(d + 64) > end) return XDP_ABORTED;
    __builtin_memset(d, 0xee, 64);
    bpf_xdp_adjust_tail(ctx, -40);
    return XDP_PASS;
  }
  __s64 o[10] = {};
  __u8 b[256];
  __u64 len = bpf_xdp_get_buff_len(ctx) & 0xffff;
  o[0] = bpf_probe_read_kernel(b, 128, d - 128);
  o[1] = mix(b, 128);
  o[2] = bpf_probe_read_kernel(b, 128, d + len);
  o[3] = mix(b, 128);
  o[4] = bpf_probe_read_kernel(b, 256, d);
  o[5] = mix(b, 256);
  o[6] = bpf_probe_read_kernel(b, 16, d + len - 8);
  o[7] = mix(b, 16);
  o[8] = bpf_probe_read_kernel_str(b, 32, d + len - 4);
  o[9] = mix(b, 8);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('bpf_probe_read_kernel(_str) around the packet (headroom, past data_end) copies the zeroed buffer, as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  const plan: [number, number][] = [[300, 1], [200, 0], [1500, 0], [300, 1], [120, 0], [1500, 1], [110, 0], [400, 0], [128, 0], [999, 0]];
  for (const [n, odd] of plan) {
    const p = new Uint8Array(n);
    for (let j = 0; j < n; j++) p[j] = ((j * 13 + n) & 0xfe) | (j > 0 && j % 5 === 0 ? 1 : 0) || 1;
    p[0] = (p[0]! & 0xfe) | odd;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('probe-around', SOURCE, packets, { maps: false });
  // The reads ran and succeeded in the kernel: every plain packet came back XDP_TX with 0 from the four copies and
  // the string's length (4 bytes and its NUL: the bytes past data_end are zero).
  let ran = 0;
  kernel.results.forEach((r, i) => {
    if (plan[i]![1] === 1) return;
    assert.equal(r.retval, 3, `packet ${i}`);
    for (const k of [0, 2, 4, 6]) assert.equal(i64(r.out, k), 0, `packet ${i} copy ${k}`);
    assert.equal(i64(r.out, 8), 5, `packet ${i} string`);
    ran++;
  });
  assert.equal(ran, 7);
});
