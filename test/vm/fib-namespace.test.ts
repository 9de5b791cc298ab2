// bpf_fib_lookup without a routing table (no --routes) against the kernel's test run, which runs in a network
// namespace of its own (lo only, forwarding off): every combination of family (AF_INET, AF_INET6, 0, 99), ifindex
// (0-3), flags (each known flag, TBID without DIRECT, an unknown one) and IPv6 addresses (global, link-local,
// multicast, loopback, unspecified; as source and destination), plus a params size below 64. The return code and the
// whole struct after the call are written into the packet. Both engines.
// Found by a probe program of the unseen-programs work: the simulator answered NOT_FWDED (4) where the kernel says
// -ENODEV (ifindex 0, 2, 3) or FWD_DISABLED (5, lo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { compareWithKernel } from '../../simulator/kernel-compare.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct bpf_fib_lookup p = {};
  if ((void *)(d + 128) > end) return XDP_PASS;
  __builtin_memcpy(&p, d + 64, 64);
  __u32 flags = d[0];
  long rc = bpf_fib_lookup(ctx, &p, sizeof(p), flags);
  long rc2 = bpf_fib_lookup(ctx, &p, 40, 0);
  if (bpf_xdp_store_bytes(ctx, 64, &p, sizeof(p)) < 0) return XDP_ABORTED;
  d = (void *)(long)ctx->data;
  end = (void *)(long)ctx->data_end;
  if ((void *)(d + 16) > end) return XDP_DROP;
  *(long *)d = rc;
  *(long *)(d + 8) = rc2;
  return XDP_TX;
}
`;

const LOCAL6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ADDR6: Record<string, number[]> = {
  global: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
  linkLocal: [0xfe, 0x80, ...Array(13).fill(0), 5],
  linkLocalHigh: [0xfe, 0xbf, ...Array(13).fill(0), 5],
  siteLocal: [0xfe, 0xc0, ...Array(13).fill(0), 5],
  multicast: [0xff, 0x02, ...Array(13).fill(0), 1],
  loopback: [...Array(15).fill(0), 1],
  any: Array(16).fill(0),
};

function packet(flags: number, family: number, ifindex: number, src: number[], dst: number[]): Uint8Array {
  const b = new Uint8Array(160);
  b[0] = flags;
  b[12] = 0x08;
  const dv = new DataView(b.buffer);
  b[64] = family;
  b[65] = 17;
  dv.setUint16(66, 1234);
  dv.setUint16(68, 53);
  dv.setUint16(70, 100, true);
  dv.setUint32(72, ifindex, true);
  b.set(src, 64 + 16);
  b.set(dst, 64 + 32);
  return b;
}

test('bpf_fib_lookup without routes answers as the kernel in a namespace of its own', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (const flags of [0, 1, 2, 4, 8, 9, 16, 32, 3, 64, 0x80]) {
    for (const ifindex of [0, 1, 2, 3]) {
      packets.push(packet(flags, 2, ifindex, [10, 0, 0, 1], [10, 0, 0, 2]));
      packets.push(packet(flags, 2, ifindex, [127, 0, 0, 1], [127, 0, 0, 1]));
      packets.push(packet(flags, 0, ifindex, [], []));
      packets.push(packet(flags, 99, ifindex, [], []));
      for (const dst of Object.values(ADDR6)) packets.push(packet(flags, 10, ifindex, LOCAL6, dst));
      packets.push(packet(flags, 10, ifindex, ADDR6.multicast!, ADDR6.global!));
      packets.push(packet(flags, 10, ifindex, ADDR6.linkLocal!, ADDR6.global!));
    }
  }
  const kernel = assertAgreesWithKernel('fib', SOURCE, packets, { netns: true, maps: false });
  // The answers were varied: -ENODEV, FWD_DISABLED, NOT_FWDED, -EINVAL and -EAFNOSUPPORT all occur.
  const codes = new Set(kernel.results.map((r) => Number(new DataView(r.out.buffer, r.out.byteOffset).getBigInt64(0, true))));
  for (const c of [-19, 5, 4, -22, -97]) assert.ok(codes.has(c), `return code ${c} among ${[...codes].join(', ')}`);
});

// `xdp-lens compare` runs the kernel side in a network namespace of its own too: on the host, ifindex 2 and up are
// real devices (another MTU, a routing table), and fib_lookup/check_mtu answered differently from the simulator.
test('compare: fib_lookup and check_mtu on ifindex 0-3 agree (the kernel side in a namespace of its own)', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-fib-ns-'));
  const path = join(dir, 'cmpfib.bpf.c');
  writeFileSync(path, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct bpf_fib_lookup p = {};
  __u32 mtu = 0;
  if ((void *)(d + 60) > end) return XDP_PASS;
  p.family = 2; p.ifindex = d[0] & 3; p.ipv4_dst = 0x08080808; p.ipv4_src = 0x0100000a;
  long rc = bpf_fib_lookup(ctx, &p, sizeof(p), d[2] & 2);
  long m = bpf_check_mtu(ctx, d[1] & 3, &mtu, 0, 0);
  d[20] = rc; d[21] = m; d[22] = mtu >> 8; d[23] = mtu >> 16;
  return XDP_TX;
}
`);
  const { object, objectPath } = loadProgramFileWithObject(path);
  const frames = Array.from({ length: 16 }, (_, i) => {
    const f = new Uint8Array(60);
    f.set([i & 3, (i >> 2) & 3, i & 2], 0);
    f[12] = 0x08;
    f[14] = 0x45;
    return { frame: f, tsNs: BigInt(i) * 1_000_000n };
  });
  const r = compareWithKernel(objectPath, object, frames);
  assert.equal(r.available, true, r.reason);
  assert.deepEqual(r.rows.filter((x) => x.status !== 'same').map((x) => `${x.index}: ${x.status}`), []);
  assert.equal(r.rows.length, 16);
});
