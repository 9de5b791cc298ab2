// Machine.runBatch with PacketBatch.clean puts off zeroing what an earlier packet left outside a packet's window
// (Memory.cleanFrom) until the run moves its window: the bytes bpf_xdp_adjust_tail, adjust_head and adjust_meta then
// expose must be zero, as in a fresh receive buffer, even right after longer packets and packets that wrote into
// their head- or metadata room. Against run() per packet on the interpreter, each packet in a fresh zeroed frame:
// the same retval (the program drops a packet when an exposed byte is not zero), the same bytes out, and the frame
// after the batch zero outside the span runBatch reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine, type BatchResults, type Engine, type PacketBatch } from '../../simulator/vm/machine.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';
import { compileTestSource } from './kernel-agree.ts';
import { layOut } from './batch-layout.ts';

const HEADROOM = 256;
const FRAME = 4096;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// By the first byte: 0 nothing; 1 the tail grown by 64 bytes; 2 the head moved 32 bytes down; 3 32 bytes of
// metadata. Each reads the exposed bytes (a non-zero one: XDP_DROP), then writes 0xee over them (XDP_TX). 4 reads 64
// bytes of headroom and 64 past data_end with bpf_probe_read_kernel (the buffer around the packet; XDP_DROP when one
// is not zero).
const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_ABORTED;
  __u8 sel = *(__u8 *)data & 7;
  __u8 *p, *stop;
  if (sel == 0) return XDP_PASS;
  if (sel == 4) {
    /* the buffer around the packet, as bpf_probe_read_kernel reads it: the headroom and past data_end */
    __u8 around[128];
    if (bpf_probe_read_kernel(around, 64, (__u8 *)data - 64)) return XDP_ABORTED;
    if (bpf_probe_read_kernel(around + 64, 64, end)) return XDP_ABORTED;
    for (int i = 0; i < 128; i++)
      if (around[i]) return XDP_DROP;
    return XDP_TX;
  }
  if (sel == 1) {
    long len = end - data;
    if (bpf_xdp_adjust_tail(ctx, 64)) return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    if (len < 0 || len > 2000) return XDP_ABORTED;
    p = (__u8 *)data + len;
    stop = end;
  } else if (sel == 2) {
    if (bpf_xdp_adjust_head(ctx, -32)) return XDP_ABORTED;
    p = (__u8 *)(long)ctx->data;
    stop = p + 32;
    if ((void *)stop > (void *)(long)ctx->data_end) return XDP_ABORTED;
  } else {
    if (bpf_xdp_adjust_meta(ctx, -32)) return XDP_ABORTED;
    p = (__u8 *)(long)ctx->data_meta;
    stop = p + 32;
    if ((void *)stop > (void *)(long)ctx->data) return XDP_ABORTED;
  }
  int dirty = 0;
  for (int i = 0; i < 64; i++) {
    if (p + 1 > stop) break;
    if (*p) dirty = 1;
    *p = 0xee;
    p++;
  }
  return dirty ? XDP_DROP : XDP_TX;
}
`;

/** Long packets that change nothing between short ones that move their window; bytes 0xab after the selector. */
function packetsOf(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const mk = (sel: number, len: number) => {
    const p = new Uint8Array(len).fill(0xab);
    p[0] = 0xa8 | sel;
    out.push(p);
  };
  for (let round = 0; round < 6; round++) {
    for (const sel of [1, 2, 3, 4]) {
      mk(0, 1400 - round * 100);
      mk(sel, 60 + round * 10);
      mk(0, 80);
      mk(sel, 60);
      mk(sel, 100);
    }
    // Two moves in a row, then a longer packet after short ones.
    mk(2, 70);
    mk(3, 70);
    mk(4, 70);
    mk(1, 900);
  }
  return out;
}

function reference(obj: LoadedObject, packets: Uint8Array[]): { retval: number; bytes: string }[] {
  const m = createMachine(obj, { engine: 'interp' });
  const e: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };
  return packets.map((p) => {
    const frame = new Uint8Array(FRAME);
    frame.set(p, HEADROOM);
    const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM + p.length, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
    const r = m.run('prog', buff, e);
    return { retval: r.retval, bytes: hex(frame.subarray(Math.min(buff.data, buff.dataMeta), buff.dataEnd)) };
  });
}

function batched(obj: LoadedObject, packets: Uint8Array[], engine: Engine, size: number) {
  const m = createMachine(obj, { engine });
  const frame = m.packetBuffer(FRAME);
  const bytes = m.packetBuffer(packets.reduce((n, p) => n + p.length, 0));
  const { offset, length } = layOut(bytes, packets);
  const e: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };
  const buff: XdpBuff = { frame, data: HEADROOM, dataEnd: HEADROOM, dataMeta: HEADROOM, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0 };
  const clean = { from: 0, to: 0 };
  const batch: PacketBatch = { bytes, offset, length, headroom: HEADROOM, clean };
  const n = packets.length;
  const res: BatchResults = {
    retval: new Uint32Array(n), exitInsn: new Int32Array(n), steps: new Int32Array(n), result: undefined,
    flags: new Uint8Array(n), data: new Int32Array(n), dataEnd: new Int32Array(n), dataMeta: new Int32Array(n),
    out: { bytes: m.packetBuffer(1 << 16), at: new Int32Array(n), used: 0 },
  };
  const per: { retval: number; bytes: string }[] = [];
  const outside: string[] = [];
  for (let from = 0; from < n; ) {
    const next = m.runBatch('prog', buff, batch, from, Math.min(n, from + size), e, res);
    for (let i = from; i < next; i++) {
      const start = Math.min(res.data![i]!, res.dataMeta![i]!);
      const end = res.dataEnd![i]!;
      const o = res.out!;
      const b = o.at[i]! >= 0 ? o.bytes.subarray(o.at[i]!, o.at[i]! + end - start) : res.flags![i] === 0 ? packets[i]! : frame.subarray(start, end);
      per.push({ retval: res.retval[i]!, bytes: hex(b) });
    }
    // The caller's promise for the next call, which runBatch keeps: the frame is zero outside [clean.from, clean.to).
    for (let j = 0; j < FRAME; j++) {
      if (frame[j] !== 0 && (j < clean.from || j >= clean.to)) {
        outside.push(`after packet ${next - 1}: byte ${j} is ${frame[j]} outside [${clean.from}, ${clean.to})`);
        break;
      }
    }
    res.out!.used = 0;
    from = next;
  }
  return { per, outside };
}

test('runBatch with a clean frame: the bytes a run exposes by moving its window are zero after longer or writing packets', (t) => {
  const { path } = compileTestSource('batch-stale', SOURCE);
  const obj = loadProgramFile(path);
  const packets = packetsOf();
  const want = reference(obj, packets);
  const tx = want.filter((w) => w.retval === 3).length;
  t.diagnostic(`${packets.length} packets, ${tx} XDP_TX (every exposed byte zero) in the reference`);
  assert.ok(tx >= 50, 'the reference exposes zeros on every moving packet');
  assert.equal(want.filter((w) => w.retval === 1).length, 0, 'no drop in the reference');
  const problems: string[] = [];
  for (const engine of ['compiled', 'interp'] as Engine[]) {
    for (const size of [1000, 7, 1]) {
      const got = batched(obj, packets, engine, size);
      const what = `${engine}, batches of ${size}`;
      problems.push(...got.outside.slice(0, 3).map((x) => `${what}: ${x}`));
      for (let i = 0; i < packets.length; i++) {
        const w = want[i]!;
        const g = got.per[i]!;
        if (g.retval !== w.retval || g.bytes !== w.bytes) {
          problems.push(`${what} packet ${i}: retval ${w.retval} vs ${g.retval}${g.bytes !== w.bytes ? `, bytes ${w.bytes.slice(0, 160)} vs ${g.bytes.slice(0, 160)}` : ''}`);
          break;
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});
