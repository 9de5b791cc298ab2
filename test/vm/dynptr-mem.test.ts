// Helpers that faulted as not supported before, against the kernel, both engines: bpf_snprintf (formats of several
// conversions, output truncated at str_size, size 0 with a NULL buffer, data_len above 12 arguments: -EINVAL), LOCAL dynptrs over a
// map value (bpf_dynptr_from_mem with bad flags, read/write inside and past the end: -E2BIG, bpf_dynptr_data in and
// out of range, a kfunc slice of one), RINGBUF dynptrs (bpf_ringbuf_reserve_dynptr that fits, that does not: -EINVAL,
// with flags: -EINVAL; written through, submitted or discarded) and bpf_user_ringbuf_drain with no producer (0, bad
// flags -EINVAL). Results go into the packet; the map value is compared after the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym;
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[64]); } a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_USER_RINGBUF); __uint(max_entries, 4096); } urb SEC(".maps");
static long cb(struct bpf_dynptr *p, void *ctx) { return 0; }
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __s64 o[16] = {};
  char s[24] = {};
  if ((void *)(d + 200) > end) return XDP_PASS;
  __u32 k = 0;
  char *v = bpf_map_lookup_elem(&a, &k);
  if (!v) return XDP_ABORTED;
  __u8 sel = d[64], off = d[65] & 63, sz = d[66] & 15;
  static const char fmt[] = "n=%d x=%08x u=%llu s=%s c=%c|";
  char word[8] = "abcdefg";
  __u64 args[5] = { (__s32)(d[67] - 128), d[68] * 0x1010101u, (__u64)d[69] << 40, (__u64)(long)word, 'A' + (d[70] & 15) };
  o[0] = bpf_snprintf(s, sz + 1, fmt, args, sizeof(args));
  o[1] = bpf_snprintf(0, 0, fmt, args, sizeof(args));
  o[2] = bpf_snprintf(s + 20, 4, fmt, args, (sel & 1) ? 104 : 40);
  struct bpf_dynptr p;
  char tmp[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  o[3] = bpf_dynptr_from_mem(v, 64, (sel & 2) ? 1 : 0, &p);
  o[4] = bpf_dynptr_write(&p, off, tmp, 8, 0);
  o[5] = bpf_dynptr_read(tmp, 8, &p, d[71] & 63, 0);
  o[6] = *(__s64 *)tmp;
  char *q = bpf_dynptr_data(&p, off, 8);
  o[7] = q ? q[0] + 1000 : -1;
  char sbuf[4];
  char *sl = bpf_dynptr_slice(&p, d[72] & 63, sbuf, 4);
  o[8] = sl ? *(__s32 *)sl : -1;
  struct bpf_dynptr r;
  o[9] = bpf_ringbuf_reserve_dynptr(&rb, (sel & 4) ? 5000 : 16, (sel & 8) ? 1 : 0, &r);
  o[10] = bpf_dynptr_write(&r, 0, tmp, 8, 0);
  o[11] = bpf_dynptr_read(tmp, 4, &r, 4, 0);
  if (sel & 16) bpf_ringbuf_discard_dynptr(&r, 0); else bpf_ringbuf_submit_dynptr(&r, 0);
  o[12] = bpf_user_ringbuf_drain(&urb, cb, 0, (sel & 32) ? 4 : 0);
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  if (bpf_xdp_store_bytes(ctx, 128, s, sizeof(s)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

test('snprintf, LOCAL and RINGBUF dynptrs and user_ringbuf_drain agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const p = new Uint8Array(200);
    p[12] = 0x08;
    p[64] = (i * 7) & 63;
    p[65] = (i * 11) & 63;
    p[66] = i;
    p[67] = (i * 29) & 0xff;
    p[68] = i * 3;
    p[69] = i;
    p[70] = i;
    p[71] = (i * 13) & 63;
    p[72] = (i * 5) & 63;
    packets.push(p);
  }
  const kernel = assertAgreesWithKernel('dynptr-mem', SOURCE, packets);
  const outs = kernel.results.map((r) => r.out);
  // Truncated and whole formats, -EINVAL for bad data_len and flags, -E2BIG past the end, -EAGAIN all happened.
  assert.ok(outs.some((o) => i64(o, 2) === -22) && outs.some((o) => i64(o, 3) === -22) && outs.some((o) => i64(o, 4) === -7));
  assert.ok(outs.some((o) => i64(o, 9) === -22) && outs.some((o) => i64(o, 9) === 0) && outs.some((o) => i64(o, 12) === -22));
});
