// A TCP-options walk over the packet (the shape of gamemann's and many firewalls'): an offset advanced by each
// option's length byte, checked against data_end on every iteration. The kernel (6.18) loads it with the offset as
// __u32, __u64, __u16 or int, with or without a bound on the offset and unrolled or not; it refuses it when the length
// byte is signed ("R0 min value is negative") or when the offset may go backwards (`opt[1] - 2`: "R0 offset is outside
// of the packet"). No refusal is reported before the first packet for the loaded shapes (no false refusal), and the
// refused ones are reported on the line of the kernel's refused access.
// The same loop run 1,000 times (a pointer advanced by each option's length) is refused by the kernel once the
// offset's largest value passes MAX_PACKET_OFF (0xffff; the check against data_end then proves nothing): reported on the
// kernel's line in its words ("invalid access to packet, off=54 size=1", "R2 offset is outside of the packet").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { compileTestSource } from '../vm/kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const SOURCE = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  struct tcphdr *tcp = (void *)(ip + 1);
  if ((void *)(tcp + 1) > end) return XDP_PASS;
  unsigned char *opts = (unsigned char *)(tcp + 1);
  int found = 0;
#if V == 1
  __u32 off = 0;
  #pragma unroll
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 2
  __u32 off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 3
  __u32 off = 0;
  for (int i = 0; i < 40; i++) {
    if (off > 40) break;
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 4
  __u64 off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 5
  __u16 off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 6
  int off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1];
  }
#elif V == 7
  int off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    char len = opt[1];
    off += len;
  }
#elif V == 8
  __u32 off = 0;
  for (int i = 0; i < 40; i++) {
    unsigned char *opt = opts + off;
    if ((void *)(opt + 2) > end) break;
    if (opt[0] == 0) break;
    if (opt[0] == 1) { off++; continue; }
    if (opt[0] == 2) found = 1;
    off += opt[1] - 2;
  }
#elif V == 9
  unsigned char *opt = opts;
  for (int i = 0; i < 1000; i++) {
    if ((void *)(opt + 2) > end) break;
    unsigned char kind = opt[0];
    if (kind == 0) break;
    if (kind == 1) { opt++; continue; }
    unsigned char len = opt[1];
    if (len < 2) break;
    if (kind == 2) found++;
    opt += len;
  }
#elif V == 10
  __u16 optdata = 0;
  while (optdata <= 40) {
    unsigned char *val = opts + optdata;
    if ((void *)(val + 1) > end || (void *)val < data) return XDP_PASS;
    if (*val == 1) { optdata++; continue; }
    if (*val == 0 || *val == 8) return XDP_DROP;
    unsigned char *len = val + 1;
    if ((void *)(len + 1) > end) return XDP_PASS;
    optdata += (*len > 0) ? *len : 1;
  }
#elif V == 11
  __u16 optdata = 0;
  for (int i = 0; i < 8; i++) {
    if (optdata > 40) break;
    unsigned char *val = opts + optdata;
    if ((void *)(val + 1) > end || (void *)val < data) return XDP_PASS;
    if (*val == 1) { optdata++; continue; }
    if (*val == 0 || *val == 8) return XDP_DROP;
    unsigned char *len = val + 1;
    if ((void *)(len + 1) > end) return XDP_PASS;
    optdata += (*len > 0) ? *len : 1;
  }
#endif
  return found ? XDP_DROP : XDP_PASS;
}
`;

const LOADED = [1, 2, 3, 4, 5, 6, 11];
const REFUSED: Record<number, { line: number; kernel: string }> = {
  7: { line: lineOf(7, 'if (opt[0] == 0) break;'), kernel: 'R0 min value is negative, either use unsigned index or do a if (index >=0) check.' },
  8: { line: lineOf(8, 'if (opt[0] == 0) break;'), kernel: 'R0 offset is outside of the packet' },
  // 1,000 turns: the pointer's largest offset passes MAX_PACKET_OFF and the check against data_end proves nothing.
  9: { line: lineOf(9, 'unsigned char kind = opt[0];'), kernel: 'R2 offset is outside of the packet' },
  // gamemann's XDP-TCP-Header-Options: clang tests a masked copy of the u16 cursor, so the verifier never bounds the
  // cursor itself; it walks the loop turn by turn (no state repeats) until, at turn 257, the cursor's largest value
  // (0xffff) plus the offset (54) passes MAX_PACKET_OFF and the check proves nothing.
  10: { line: lineOf(10, 'if (*val == 1) { optdata++; continue; }'), kernel: 'invalid access to packet, off=54 size=1' },
};

/** The line of `text` inside variant v's #if block. */
function lineOf(v: number, text: string): number {
  const lines = SOURCE.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#(el)?if V == ${v}$`).test(l));
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) if (lines[i]!.includes(text)) return i + 1;
  return -1;
}

function reported(v: number) {
  const flags = [`-DV=${v}`];
  const { path, objectPath } = compileTestSource(`tcpopts${v}`, SOURCE, flags);
  const obj = loadProgramFile(path, { clangFlags: flags });
  const program = obj.programs.find((p) => p.name === 'prog')!;
  return { objectPath, refusals: refusalsBeforeRun(obj, program, createMachine(obj, {})) };
}

test('a TCP-options walk the kernel loads is not refused before the first packet; the two refused shapes are, on the kernel\'s line', (t) => {
  const kernel = !kernelOrSkip(t);
  for (const v of LOADED) {
    const { objectPath, refusals } = reported(v);
    assert.deepEqual(refusals, [], `V=${v}: not refused`);
    if (kernel) assert.equal(kernelRefusal(objectPath, 'prog'), '', `V=${v}: the kernel loads it`);
  }
  for (const [v, want] of Object.entries(REFUSED)) {
    const { objectPath, refusals } = reported(Number(v));
    assert.ok(refusals.length > 0, `V=${v}: refused`);
    assert.equal(refusals[0]!.line, want.line, `V=${v}: ${refusals[0]!.message}`);
    assert.ok(refusals[0]!.message.includes(want.kernel), `V=${v}: the kernel's words: ${refusals[0]!.message}`);
    if (kernel) assert.ok(kernelRefusal(objectPath, 'prog').includes(want.kernel), `V=${v}: the kernel refuses it`);
  }
});
