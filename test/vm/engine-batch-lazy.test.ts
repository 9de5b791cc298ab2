// Machine.runBatch's lazy packets (Memory.lazy: a linear packet is read where the batch holds it and put into its frame
// only when something other than the generated code's inline loads reaches it): programs that write the packet only on
// some paths and read back what they wrote, write it through a helper (bpf_xdp_store_bytes), read it through helpers
// (bpf_csum_diff, a map lookup whose key is in the packet), tail-call a program that moves its head, or move it
// themselves (bpf_xdp_adjust_head: never lazy). Every packet's retval and bytes, and the maps, must be the kernel's
// (BPF_PROG_TEST_RUN) in batches with and without a clean frame, and the frame after each call the reference's (the
// interpreter, each packet copied in and run with run()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { mapsToJson } from '../../simulator/vm/map-json.ts';
import { createMachine, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { compileTestSource } from './kernel-agree.ts';
import { layOut } from './batch-layout.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); __uint(map_flags, BPF_F_ZERO_SEED); } seen SEC(".maps");
SEC("xdp") int moved(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __array(values, int (void *)); } jump SEC(".maps") = { .values = { [0] = (void *)&moved } };

static __always_inline void count(__u32 k, __u64 n) { __u64 *v = bpf_map_lookup_elem(&counts, &k); if (v) *v += n; }

/* Writes on some paths, then reads back what it wrote (a stale read after the write would differ). */
SEC("xdp") int some_paths(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 24 > e) return XDP_ABORTED;
  if (d[20] & 1) *(volatile __u8 *)(d + 21) = d[22] + d[23];
  __u32 w = *(volatile __u32 *)(d + 20);
  count(w & 7, w >> 8);
  return w & 0x200 ? XDP_PASS : XDP_DROP;
}

/* Through helpers: store_bytes on some paths then a load of the stored byte, csum_diff over the packet, a hash map
   keyed by packet bytes (the key in the packet). */
SEC("xdp") int helpers(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 40 > e) return XDP_ABORTED;
  __u8 b = d[30];
  if (b % 3 == 0) { __u8 m[2] = { 0xab, b }; bpf_xdp_store_bytes(ctx, 30, m, 2); }
  d = (void *)(long)ctx->data; e = (void *)(long)ctx->data_end;
  if (d + 40 > e) return XDP_ABORTED;
  __s64 s = b % 3 == 1 ? bpf_csum_diff(0, 0, (__be32 *)(d + 16), 16, 0) : 0;
  __u32 one = 1;
  if (b % 3 == 2) { __u32 *v = bpf_map_lookup_elem(&seen, (__u32 *)(d + 12)); if (v) *v += 1; else bpf_map_update_elem(&seen, (__u32 *)(d + 12), &one, BPF_ANY); }
  count(d[30] & 7, (__u64)s + d[31]);
  return d[30] == 0xab ? XDP_TX : XDP_PASS;
}

/* A tail call on some packets into a program that moves the head and writes there. */
SEC("xdp") int tail(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 20 > e) return XDP_ABORTED;
  count(6, d[19]);
  if (d[19] & 1) bpf_tail_call(ctx, &jump, 0);
  return XDP_PASS;
}

SEC("xdp") int moved(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_ABORTED;
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 24 > e) return XDP_ABORTED;
  d[0] = d[4] ^ 0x5a; d[1] = d[23]; d[2] = 7; d[3] = d[5];
  count(7, d[0] + d[1]);
  return d[0] & 1 ? XDP_TX : XDP_DROP;
}
`;

const HEADROOM = 256;
const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

/** The packets through runBatch in calls of `size`: per packet retval and bytes after its run; the frame after each call. */
function batched(obj: LoadedObject, program: string, packets: Uint8Array[], size: number, engine: Engine, clean: boolean, nrCpus = 1) {
  const m = createMachine(obj, { engine, nrCpus });
  const frame = m.packetBuffer(4096);
  const bytes = m.packetBuffer(packets.reduce((n, p) => n + p.length, 0));
  const { offset, length } = layOut(bytes, packets);
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM, clean: clean ? { from: 0, to: 0 } : undefined };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const n = packets.length;
  const res: BatchResults = {
    retval: new Uint32Array(n), exitInsn: new Int32Array(n), steps: new Int32Array(n), flags: new Uint8Array(n), data: new Int32Array(n),
    dataEnd: new Int32Array(n), dataMeta: new Int32Array(n), out: { bytes: new Uint8Array(1 << 16), at: new Int32Array(n), used: 0 }, result: undefined,
  };
  const per: { retval: number; out: Uint8Array }[] = [];
  const frames: string[] = [];
  for (let from = 0; from < n; ) {
    const next = m.runBatch(program, buff, batch, from, Math.min(n, from + size), env, res);
    for (let i = from; i < next; i++) {
      const o = res.out!.at[i]!;
      const start = Math.min(res.data![i]!, res.dataMeta![i]!);
      const out = res.flags![i] === 0 ? packets[i]! : o >= 0 ? res.out!.bytes.slice(o, o + res.dataEnd![i]! - start) : frame.slice(start, res.dataEnd![i]!);
      per.push({ retval: res.retval[i]!, out });
    }
    frames.push(Buffer.from(frame).toString('hex'));
    res.out!.used = 0;
    from = next;
  }
  return { per, frames, maps: normaliseSimMaps(mapsToJson(m.maps)) };
}

test('runBatch with lazy packets: writes on some paths, through helpers, reads through helpers, a tail call that moves the head: the kernel\'s retval, bytes and maps; the reference\'s frame', (t) => {
  if (kernelOrSkip(t)) return;
  const { path, objectPath } = compileTestSource('batch-lazy', SOURCE);
  // Byte 20 (some_paths' choice) odd in every other packet, byte 30 (helpers') through every residue mod 3, byte 19 (tail's).
  const packets = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: 20 + ((i * 53) % 300) }, (_, k) => (k === 19 || k === 20 || k === 30 ? i * 7 + (i >> 1) : k * 31 + i * 17 + (k >> 2) * i) & 0xff));
  const obj = loadProgramFile(path);
  const problems: string[] = [];
  for (const program of ['some_paths', 'helpers', 'tail', 'moved']) {
    const kernel = runKernel(objectPath, program, packets, { objectName: defaultObjectName(path) });
    for (const [size, clean] of [[40, true], [40, false], [3, false], [1, true]] as const) {
      const got = batched(obj, program, packets, size, 'compiled', clean, kernel.cpus);
      const want = batched(obj, program, packets, size, 'interp', clean, kernel.cpus);
      const what = `${program}, calls of ${size}${clean ? ', clean' : ''}`;
      got.per.forEach((g, i) => {
        const k = kernel.results[i]!;
        if (g.retval !== k.retval) problems.push(`${what}, packet ${i}: retval kernel ${k.retval} runBatch ${g.retval}`);
        const d = diffBytes(k.out, g.out);
        if (d) problems.push(`${what}, packet ${i}: ${d}`);
      });
      problems.push(...diffMaps(kernel.maps, got.maps).map((d) => `${what}: ${d}`));
      got.frames.forEach((f, c) => {
        if (f !== want.frames[c]) problems.push(`${what}: the frame after call ${c} differs from the reference's`);
      });
    }
    const verdicts = new Set(kernel.results.map((r) => r.retval));
    assert.ok(verdicts.size >= 2, `${program}: the packets take more than one path (${[...verdicts]})`);
  }
  assert.deepEqual(problems.slice(0, 12), []);
});
