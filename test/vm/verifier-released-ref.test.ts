// A socket from bpf_sk_lookup_* used after bpf_sk_release, a ring buffer record written after bpf_ringbuf_submit: the
// verifier turns every copy of a released reference into a number (release_reference), so the access is refused at load
// ("R6 invalid mem access 'scalar'"); `run` reports it before the first packet on the line marked E
// (simulator/analysis/bytecode/engine.ts). Near misses: the field read before the release, a pointer derived from the
// record written before the discard, released sockets and records not touched again. Every variant is loaded into the
// running kernel too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_sock_tuple t = {};
#if V == 1
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  return 2;
#elif V == 2
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  bpf_sk_release(sk);
  return 2;
#elif V == 3
  struct bpf_sock *sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (sk && ctx->rx_queue_index == 3) bpf_sk_release(sk);
  return 2;
#elif V == 4
  __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0); if (!e) return 1;
  if (ctx->rx_queue_index) { bpf_ringbuf_discard(e, 0); return 1; }
  return 2;
#elif V == 5
  struct bpf_sock *sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  int s = sk->state; bpf_sk_release(sk); return s & 1;
#elif V == 6
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  bpf_sk_release(sk);
  return sk->state & 1; /* E */
#elif V == 7
  __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0); if (!e) return 1;
  bpf_ringbuf_submit(e, 0);
  *e = 1; /* E */
  return 2;
#elif V == 8
  __u64 *e = bpf_ringbuf_reserve(&rb, 16, 0); if (!e) return 1;
  __u64 *f = e + 1;
  *f = 2;
  bpf_ringbuf_discard(e, 0);
  return 2;
#elif V == 9
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 1;
  int s = sk->state;
  bpf_sk_release(sk);
  return s & 1;
#endif
}
`;

const CASES: { v: number; kernel?: string }[] = [
  { v: 2 }, { v: 5 },
  { v: 6, kernel: "invalid mem access 'scalar'" },
  { v: 7, kernel: "invalid mem access 'scalar'" },
  { v: 8 }, { v: 9 },
];

function markedLine(v: number): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (lines[i]!.includes('/* E */')) return i + 1;
  return -1;
}

test('a released socket or submitted ring buffer record used again: refused as by the kernel, near misses not', (t) => {
  const kernel = !kernelOrSkip(t);
  for (const c of CASES) {
    const flags = [`-DV=${c.v}`];
    const { path, objectPath } = compileTestSource(`releasedref${c.v}`, SOURCE, flags);
    const obj = loadProgramFile(path, { clangFlags: flags });
    const program = obj.programs.find((p) => p.name === 'prog')!;
    const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
    if (c.kernel) {
      assert.equal(r.length, 1, `V=${c.v}: ${JSON.stringify(r)}`);
      assert.equal(r[0]!.line, markedLine(c.v), `V=${c.v}: line`);
      assert.ok(r[0]!.message.includes(c.kernel), `V=${c.v}: ${r[0]!.message}`);
    } else assert.deepEqual(r, [], `V=${c.v}: not reported`);
    if (kernel) {
      const log = kernelRefusal(objectPath, 'prog');
      if (c.kernel) assert.ok(log.includes(c.kernel), `V=${c.v}: the kernel says ${log.slice(-300)}`);
      else assert.equal(log, '', `V=${c.v}: the kernel loads it`);
    }
  }
});
