// Refusals the verifier makes that `run` reports before the first packet, in the kernel's own words, on the line it
// refuses (each variant is loaded into the running 6.18 kernel too):
//   - a helper XDP programs may not call ("program of this type cannot use helper bpf_get_socket_cookie#46"), not when
//     the call sits behind a const volatile flag the verifier reads as 0;
//   - bpf_snprintf's format checked at load ("Invalid format string" for too few arguments, %pM, %hd; "R3 type=fp
//     expected=map_value" for a format on the stack; "R3 does not point to a readonly map'" for one in .data);
//   - a size argument the verifier sees as possibly negative: a length clamped through a 32-bit copy while the call
//     gets the 64-bit register it came from ("R4 min value is negative, either use unsigned or 'var &= const'",
//     xdp-dump's shape);
//   - the kernel's words for an unchecked packet access ("invalid access to packet, off=12 size=4, R1(id=0,off=12,r=10)",
//     then "R1 offset is outside of the packet"; a signed offset: "R1 min value is negative, either use unsigned index
//     or do a if (index >=0) check."), a map value read past its end ("R0 min value is outside of the allowed memory
//     range"), a helper's stack buffer past the frame ("invalid write to stack R3 off=-16 size=24" for one it writes,
//     "invalid read from stack" for one it reads), a map value used before its NULL check ("R0 invalid mem access
//     'map_value_or_null'") and a socket held at the exit ("BPF_EXIT instruction in main prog would lead to
//     reference leak").
// Near misses load: valid formats, the clamped length passed itself, a checked access.
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64[4]); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } pe SEC(".maps");
struct ev { unsigned int len; unsigned char data[256]; };
const volatile int flag = 0;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 k = 0;
  char out[32];
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
#if V == 1
  return bpf_get_socket_cookie(ctx); /* E */
#elif V == 2
  if (flag) return bpf_get_socket_cookie(ctx);
#elif V == 3
  static const char fmt[] = "%d %d";
  __u64 args[1] = {1};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)); /* E */
#elif V == 4
  static const char fmt[] = "mac %pM";
  __u64 args[1] = {1};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)); /* E */
#elif V == 5
  static const char fmt[] = "%hd";
  __u64 args[1] = {1};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)); /* E */
#elif V == 6
  char fmt[] = "%d";
  __u64 args[1] = {1};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)); /* E */
#elif V == 7
  static char fmt[] = "%d";
  __u64 args[1] = {1};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args)); /* E */
#elif V == 8
  static const char fmt[] = "%-5d %05x %llu %s %pI4 %pi6 %px %c %% %10s";
  __u64 args[9] = {};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args));
#elif V == 9
  static const char fmt[] = "%d";
  __u64 args[2] = {1, 2};
  bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args));
#elif V == 10
  struct ev e = {0};
  e.len = data_end - data;
  unsigned int n = e.len > 256 ? 256 : e.len;
  if (n < 14) return XDP_PASS;
  bpf_xdp_load_bytes(ctx, 0, e.data, n); /* E */
  bpf_ringbuf_output(&rb, &e, sizeof(e), 0);
#elif V == 11
  struct ev e = {0};
  __u64 len = data_end - data;
  if (len > 256) len = 256;
  if (len < 14) return XDP_PASS;
  bpf_xdp_load_bytes(ctx, 0, e.data, len);
  bpf_ringbuf_output(&rb, &e, sizeof(e), 0);
#elif V == 12
  if (data + 10 > data_end) return XDP_PASS;
  return *(__u32 *)(data + 12); /* E */
#elif V == 13
  if (data + 20 > data_end) return XDP_PASS;
  __u8 *p = data + (*(__u8 *)data & 15);
  return p[6]; /* E */
#elif V == 14
  if (data + 14 > data_end) return XDP_PASS;
  *(__u32 *)(data + 12) = 1; /* E */
#elif V == 15
  if (data + 16 > data_end) return XDP_PASS;
  *(__u32 *)(data + 12) = 1;
#elif V == 16
  __u64 *v = bpf_map_lookup_elem(&h, &k);
  return *v; /* E */
#elif V == 17
  if (data + 40 > data_end) return XDP_PASS;
  char off = *(char *)data;
  if (off > 20) return XDP_PASS;
  return *(__u8 *)(data + off); /* E */
#elif V == 18
  if (data + 40 > data_end) return XDP_PASS;
  __u8 *p = data + *(__u8 *)data;
  if ((void *)(p + 1) > data_end) return XDP_PASS;
  return *p;
#elif V == 19
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (!v) return XDP_PASS;
  return v[4]; /* E */
#elif V == 20
  char buf[16] = {};
  bpf_xdp_load_bytes(ctx, 0, buf, 24); /* E */
  return buf[1];
#elif V == 21
  char buf[16] = {};
  bpf_perf_event_output(ctx, &pe, BPF_F_CURRENT_CPU, buf, 24); /* E */
  return buf[1];
#endif
  return XDP_PASS;
}
`;

const CASES: RefusalCase[] = [
  { v: 1, kernel: 'program of this type cannot use helper bpf_get_socket_cookie#46' },
  { v: 3, kernel: 'Invalid format string' },
  { v: 4, kernel: 'Invalid format string' },
  { v: 5, kernel: 'Invalid format string' },
  { v: 6, kernel: 'R3 type=fp expected=map_value' },
  { v: 7, kernel: "R3 does not point to a readonly map'" },
  { v: 10, kernel: "R4 min value is negative, either use unsigned or 'var &= const'" },
  { v: 12, kernel: 'invalid access to packet, off=12 size=4, R1(id=0,off=12,r=10)' },
  { v: 13, kernel: 'invalid access to packet, off=6 size=1' },
  { v: 14, kernel: 'R1 offset is outside of the packet' },
  { v: 16, kernel: "R0 invalid mem access 'map_value_or_null'" },
  { v: 17, kernel: 'R1 min value is negative, either use unsigned index or do a if (index >=0) check.' },
  { v: 19, kernel: 'R1 min value is outside of the allowed memory range' },
  { v: 20, kernel: 'invalid write to stack R3 off=-16 size=24' },
  { v: 21, kernel: 'invalid read from stack R4 off=-16 size=24' },
  { v: 2 }, { v: 8 }, { v: 9 }, { v: 11 }, { v: 15 }, { v: 18 },
];

test('forbidden helpers, bpf_snprintf formats, a size negative to the verifier, packet/NULL/reference refusals: before the first packet, in the kernel\'s words', (t) => {
  checkRefusalVariants(t, 'kernel-words', SOURCE, CASES);
});

// The exit is one instruction for every return of a function (clang merges them): the leak is refused on its line.
const LEAK = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  struct bpf_sock_tuple t = {};
  struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);
#if V == 1
  return sk ? XDP_DROP : XDP_PASS; /* E */
#elif V == 2
  if (sk) bpf_sk_release(sk);
  return XDP_PASS;
#endif
}
`;

test('a socket held at the exit: "BPF_EXIT instruction in main prog would lead to reference leak" before the first packet', (t) => {
  checkRefusalVariants(t, 'kernel-words-leak', LEAK, [{ v: 1, kernel: 'BPF_EXIT instruction in main prog would lead to reference leak' }, { v: 2 }]);
});
