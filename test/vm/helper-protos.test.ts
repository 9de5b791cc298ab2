// Helper arguments the kernel verifier refuses (simulator/vm/helper-impl/protos.ts, static-args.ts), against the
// kernel: each small program below is loaded by the kernel and run by the simulator on the same packet. Where the
// kernel refuses the program, the simulator must report a refusal (before the run, or from the packet's fault, both
// of which `run` puts in verifierRefuses); where it loads, the simulator must report none and agree with it packet
// for packet. Found by probe programs: a map of the wrong type, a zero/negative/non-constant size and a packet
// pointer given to a helper without packet access all ran as if the program loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, runKernel, KernelLoadError, defaultObjectName } from '../kernel/runner.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { RefusalLog, refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { ENGINES } from '../../simulator/vm/machine.ts';
import { compileTestSource } from './kernel-agree.ts';
import { diffBytes } from '../parity/compare.ts';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } ar SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } cm SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data; void *end = (void *)(long)ctx->data_end;
  if (d + 64 > (__u8 *)end) return XDP_PASS;
  long r = 0; __u32 k = 0, v = 1; char buf[32] = {};
`;
const TAIL = `
  return r & 3;
}
`;

// [name, body, whether the kernel loads it, extra clang flags]
const CASES: [string, string, boolean, string[]?][] = [
  ['redirect-map-on-hash', 'r = bpf_redirect_map(&h, 0, XDP_PASS);', false],
  ['tail-call-on-array', 'bpf_tail_call(ctx, &ar, 0);', false],
  ['lookup-on-cpumap', 'r = bpf_map_lookup_elem(&cm, &k) != 0;', false],
  ['push-on-array', 'r = bpf_map_push_elem(&ar, &v, 0);', false],
  ['update-on-queue', 'r = bpf_map_update_elem(&q, &k, &v, 0);', false],
  ['printk-size-may-be-zero', 'r = bpf_trace_printk(buf, d[15] & 15);', false],
  ['load-bytes-size-zero', 'r = bpf_xdp_load_bytes(ctx, 0, buf, 0);', false],
  ['csum-size-may-be-negative', 'int n = (int)(d[15] & 15) - 4; if (n > 28) return 0; r = bpf_csum_diff(0, 0, (void *)buf, n, 0);', false],
  ['ringbuf-reserve-size-not-constant', 'void *p = bpf_ringbuf_reserve(&rb, (d[15] & 15) + 8, 0); if (p) bpf_ringbuf_submit(p, 0);', false],
  ['load-bytes-into-packet', 'r = bpf_xdp_load_bytes(ctx, 0, d + 32, 8);', false],
  ['ringbuf-output-from-packet', 'r = bpf_ringbuf_output(&rb, d, 8, 0);', false],
  ['csum-size-past-buffer', 'r = bpf_csum_diff(0, 0, (void *)buf, 40, 0);', false],
  // The packet's size (20) fits, but the verifier checks the largest size the mask allows against the frame.
  ['load-bytes-may-pass-frame', 'r = bpf_xdp_load_bytes(ctx, 0, buf, (d[15] & 63) + 1);', false],
  // No `__kptr` field (clang 14 emits no BTF type tags): "R1 has no valid kptr".
  ['kptr-xchg-without-kptr', '__u32 *vv = bpf_map_lookup_elem(&ar, &k); if (vv) r = bpf_kptr_xchg(vv, 0) != 0;', false],
  // With 32-bit ALU (cpu v3) the length is a 32-bit difference of pointers, of which the verifier knows nothing.
  ['pkt-plus-32-bit-difference', '__u8 *p = (__u8 *)(long)ctx->data + (__u32)((long)ctx->data_end - (long)ctx->data); r = p > (__u8 *)end;', false, ['-mcpu=v3']],
  // Loaded: sizes the helper accepts, packet memory where the helper may touch it.
  ['fine', `r = bpf_xdp_load_bytes(ctx, 0, buf, (d[15] & 15) + 1);
  r += bpf_csum_diff((void *)d, 4, 0, 0, 0);
  r += bpf_map_update_elem(&h, d, d + 4, 0);
  r += bpf_probe_read_kernel(buf, 0, 0);
  r += bpf_ringbuf_output(&rb, buf, 0, 0);
  void *p = bpf_ringbuf_reserve(&rb, 0, 0); if (p) bpf_ringbuf_discard(p, 0);
  r += bpf_csum_diff(0, 0, (void *)buf, d[15] & 16, 0);`, true],
];

test('helper arguments the verifier refuses are reported as refusals; accepted ones run as the kernel runs them', (t) => {
  if (kernelOrSkip(t)) return;
  const packet = new Uint8Array(80);
  packet[12] = 0x08;
  packet[15] = 0x13;
  for (const [name, body, loads, flags] of CASES) {
    const { path, objectPath } = compileTestSource(`proto-${name}`, HEAD + body + TAIL, flags);
    let kernel: ReturnType<typeof runKernel> | undefined;
    try {
      kernel = runKernel(objectPath, 'prog', [packet], { objectName: defaultObjectName(path) });
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
    }
    assert.equal(kernel !== undefined, loads, `${name}: the kernel ${loads ? 'refused' : 'loaded'} it`);
    const obj = loadProgramFile(flags ? objectPath : path);
    for (const engine of ENGINES) {
      const session = new Session(obj, { program: 'prog', nrCpus: kernel?.cpus ?? 1, cpu: 0, engine });
      const log = new RefusalLog(refusalsBeforeRun(obj, session.program, session.machine));
      const s = session.runPacket(packet);
      log.fault(s.fault);
      if (loads) {
        assert.deepEqual(log.json(), [], `${name} (${engine}): no refusal`);
        assert.equal(s.fault, undefined, `${name} (${engine})`);
        assert.equal(s.retval, kernel!.results[0]!.retval, `${name} (${engine}) retval`);
        assert.equal(diffBytes(kernel!.results[0]!.out, s.out), undefined, `${name} (${engine}) bytes`);
      } else {
        assert.ok(log.list.length > 0, `${name} (${engine}): the kernel refuses it, the simulator must say so`);
      }
    }
  }
});
