// Random SEC("xdp.frags") programs in C on multi-buffer frames of every size BPF_PROG_TEST_RUN takes (a linear part of
// up to 3,520 bytes and up to 17 page fragments: frames of 3,521..73,152 bytes, and a few small ones), for what the
// other generators leave out (their frames stop at 9,000 bytes; agen.ts's tail call is one hop):
//   load/store: bpf_xdp_load_bytes / store_bytes of 1..128 bytes at offsets around the linear part's end, the
//               fragments' page boundaries, the frame's end (from bpf_xdp_get_buff_len) and offsets from packet bytes;
//   tail/head:  bpf_xdp_adjust_tail growing (into the last fragment's room, past it) and shrinking (within a fragment,
//               whole fragments, down to and past 14 bytes), bpf_xdp_adjust_head / adjust_meta on the linear part;
//   pull:       bpf_xdp_pull_data (6.18): fragment bytes into the linear part, then direct reads of them;
//   direct:     direct reads and writes of 1/2/4/8 bytes at constant and packet-chosen offsets in the linear part after
//               a bounds check (data_end - data is the linear part's length);
//   dynptr:     bpf_dynptr_from_xdp read/write/size/slice across fragments;
//   maps:       HASH (struct values from frame bytes, every update flag), ARRAY atomics, PERCPU_ARRAY, interleaved with
//               the frame statements;
//   calls:      static noinline functions with five arguments (the context, a pointer to the caller's stack, numbers)
//               that load/store frame bytes and update maps, and a global function given the context;
//   chain:      the entry's results are logged, then bpf_tail_call through a PROG_ARRAY of three more xdp.frags
//               programs that each run statements of their own, count their entries in .bss and tail-call on (to
//               another slot, themselves, or an empty slot) until the kernel's limit of 33 tail calls stops the chain.
// Results: o[16] (u64) logged per packet in a HASH (key: a packet counter in .bss) and written into the frame; every map
// compared after the run (sfuzz.test.ts `ffuzz`).
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
struct v24 { __u64 a; __u32 b; __u16 c; __u8 d[10]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 6); __type(key, __u32); __type(value, struct v24); } hv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } acc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } pc SEC(".maps");
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_xdp_pull_data(struct xdp_md *x, __u32 len) __ksym;
union in64 { __u8 b[64]; __u16 h[32]; __u32 w[16]; __u64 q[8]; };
__u32 counter;
__u64 hops[4];
__u64 tacc[4];
/* a - b kept as written: clang would otherwise fold a packet pointer difference into other arithmetic (pkt pointer
 * times a number), which the verifier refuses. */
static __always_inline __u64 diff(__u64 a, __u64 b) { asm volatile("%0 -= %1" : "+r"(a) : "r"(b)); return a; }
#define LIN diff(ctx->data_end, ctx->data)
static __always_inline __u64 fold(const __u8 *b, int n) { __u64 h = 0xcbf29ce484222325ULL; for (int i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL; return h; }
`;

/** Frame lengths: the linear part's edge, page edges of the fragments, the largest frame, and a few small ones. */
const LENS = [64, 1514, 3520, 3521, 3522, 3584, 4096, 7616, 7617, 8000, 11712, 11713, 15000, 20000, 32768, 40000, 65535, 65536, 69632, 73151, 73152];

/** Offsets around the edges a frame of the lengths above has (linear part 3,520 bytes, then 4,096-byte fragments). */
const EDGES = [0, 1, 13, 14, 63, 100, 3456, 3519, 3520, 3521, 4095, 4096, 7615, 7616, 7617, 11711, 11712, 20000, 40000, 65535, 69631, 73151, 73152, 0xffff0000];

/** Declarations only the widened programs need (kept out of HEADER so the text of existing seeds stays the same). */
const WIDE_HEADER = `extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit) __ksym;
`;

/**
 * `wide`: between the statements above, more from a Prng of its own (so the text without `wide` stays as it was):
 *   tailrw:  bpf_xdp_adjust_tail growing or shrinking (by constants, to the linear part, to a page edge, to 14 bytes),
 *            then load/store_bytes at the new end, the old end, straddling either (grown bytes must read as zero);
 *   taildir: adjust_tail, then direct reads and writes of the linear part's last bytes (its length re-read);
 *   headrw:  adjust_head, then load/store_bytes straddling the linear part's moved end and the first fragment;
 *   stale:   a dynptr made before adjust_tail, used after it (its size as made; reads past the new end), a clone
 *            adjusted around the edges;
 *   mtu:     bpf_check_mtu with the frame's length and deltas around lo's MTU, before and after adjust_tail.
 */
export function generateFProgram(seed: number, wide = false): SProgram {
  const r = new Prng(seed);
  const w = new Prng(seed ^ 0x3f1de5);
  const kinds = new Set<string>();
  const B = (): string => `in.b[${r.int(64)}]`;
  const o = (): string => `o[${r.int(16)}]`;
  const size = (): number => r.pick([1, 2, 3, 4, 7, 8, 16, 31, 32, 64, 100, 128]);
  // An offset of `n` bytes' access: an edge (minus part of n, so the access straddles it), the frame's end, or packet bytes.
  const off = (n: number): string => {
    const k = r.int(10);
    if (k < 4) { const e = r.pick(EDGES); const back = r.pick([0, 0, 1, Math.floor(n / 2), n - 1, n]); return `${e >= back ? e - back : e}U`; }
    if (k < 6) return `(bpf_xdp_get_buff_len(ctx) - ${r.pick([n, n, n + 1, n - 1, Math.floor(n / 2), 0, 1, 4096])}U)`;
    if (k < 8) return `((__u32)in.h[${r.int(32)}] ${r.pick(['& 0xffff', '% 73160', '* 3 % 80000', '& 0x1fff'])})`;
    return `(${r.pick(EDGES.slice(6, 20))}U + (${B()} & 127) - 64)`;
  };
  const stmt = (): string => {
    const kind = r.pick(['load', 'load', 'store', 'store', 'tail', 'tail', 'head', 'meta', 'pull', 'direct', 'direct', 'dynptr', 'len', 'map', 'map', 'atomic', 'percpu', 'call']);
    kinds.add(kind);
    switch (kind) {
      case 'load': {
        const n = size();
        return `{ __u8 b[${n}]; long rc = bpf_xdp_load_bytes(ctx, ${off(n)}, b, ${n}); ${o()} += rc * 1000003; if (!rc) ${o()} ^= fold(b, ${n}); }`;
      }
      case 'store': {
        const n = size();
        const fill = r.pick(['in.b', 'o']);
        const src = n <= 64 && fill === 'in.b' ? `in.b + ${r.int(64 - n + 1)}` : n <= 128 ? `(__u8 *)o + ${r.int(128 - n + 1)}` : 'in.b';
        return `{ long rc = bpf_xdp_store_bytes(ctx, ${off(n)}, ${src}, ${n}); ${o()} += rc * 1000033 + bpf_xdp_get_buff_len(ctx); }`;
      }
      case 'tail': {
        const d = r.pick(['1', '7', '100', '576', '1000', '2000', '4000', '4096', '-1', '-13', '-100', '-1000', '-3520', '-4095', '-4096', '-4097', '-8000', '-20000', '-70000',
          '-(int)(bpf_xdp_get_buff_len(ctx) - 14)', '-(int)(bpf_xdp_get_buff_len(ctx) - 13)', '-(int)(bpf_xdp_get_buff_len(ctx) - 3520)', '-(int)(bpf_xdp_get_buff_len(ctx) - 3521)',
          '-(int)(bpf_xdp_get_buff_len(ctx) & 4095)', '(int)(in.h[3] & 0x1fff) - 4096', '(int)(in.b[5] & 63)', `-(int)in.h[${r.int(32)}]`]);
        return `{ long rc = bpf_xdp_adjust_tail(ctx, ${d}); ${o()} += rc * 1000037 + bpf_xdp_get_buff_len(ctx) * 3 + LIN; }`;
      }
      case 'head': {
        const d = r.pick(['-14', '-1', '-256', '-257', '-200', '14', '1', '100', '3000', '3506', '3507', '3520', '4000', '(int)(in.b[9] & 31) - 16']);
        return `{ long rc = bpf_xdp_adjust_head(ctx, ${d}); ${o()} += rc * 1000039 + bpf_xdp_get_buff_len(ctx) * 5 + LIN; }`;
      }
      case 'meta': {
        const d = r.pick(['-4', '-8', '-32', '-36', '4', '-3']);
        return `{ long rc = bpf_xdp_adjust_meta(ctx, ${d}); __u8 *m = (void *)(long)ctx->data_meta, *d = (void *)(long)ctx->data; ${o()} += rc * 7 + diff((long)d, (long)m); if (m + 4 <= d) { *(__u32 *)m ^= ${B()} + ${o()}; ${o()} += *(__u32 *)m; } }`;
      }
      case 'pull': {
        const len = r.pick(['0', '64', '3520', '3521', '3600', '4096', '7616', '8000', '9000', '73152', 'bpf_xdp_get_buff_len(ctx)', 'bpf_xdp_get_buff_len(ctx) + 1', '(__u32)in.h[7] & 0x3fff']);
        const at = r.pick([3500, 3519, 3520, 3584, 3700, 4000]);
        return `{ long rc = bpf_xdp_pull_data(ctx, ${len}); __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end; ${o()} += rc * 1000003 + diff((long)e, (long)d) + bpf_xdp_get_buff_len(ctx) * 9;` +
          ` if (d + ${at + 8} <= e) { ${o()} ^= *(__u64 *)(d + ${at}); d[${at + 1}] ^= ${B()}; } }`;
      }
      case 'direct': {
        const w = r.pick([1, 2, 4, 8]);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[w]!;
        const at = r.chance(0.5) ? String(r.pick([0, 13, 63, 1000, 3000, 3511, 3512, 3515, 3516, 3518, 3519, 3520, 3600])) : `(${r.pick(['in.h[11] & 0xfff', 'in.h[2] & 0x7ff', 'in.b[40]', '(in.h[13] & 0xfff) + 3000'])})`;
        const wr = r.chance(0.6) ? ` *(${t} *)(d + off) = (${t})(${o()} + ${B()});` : '';
        return `{ __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end; __u32 off = ${at}; if (d + off + ${w} <= e) { ${o()} += *(${t} *)(d + off) + 1;${wr} } else ${o()} += 5; }`;
      }
      case 'dynptr': {
        const n = r.pick([1, 2, 4, 8, 16]);
        const op = r.pick(['read', 'read', 'write', 'size', 'slice']);
        const at = off(n);
        const pre = `struct bpf_dynptr dp; __u8 buf[16] = {}; long rc = bpf_dynptr_from_xdp(ctx, 0, &dp);`;
        if (op === 'read') return `{ ${pre} ${o()} += rc ? rc : bpf_dynptr_read(buf, ${n}, &dp, ${at}, 0) * 100000 + buf[0] + buf[${n - 1}] * 256; }`;
        if (op === 'write') return `{ ${pre} buf[0] = ${B()}; buf[${n - 1}] = ${B()}; ${o()} += rc ? rc : bpf_dynptr_write(&dp, ${at}, buf, ${n}, 0); }`;
        if (op === 'size') return `{ ${pre} ${o()} += rc ? rc : bpf_dynptr_size(&dp); }`;
        return `{ ${pre} __u8 *sl = rc ? 0 : bpf_dynptr_slice(&dp, ${at}, buf, ${n}); ${o()} += sl ? sl[0] + sl[${n - 1}] * 256 + (sl == buf) * 100000 : 77; }`;
      }
      case 'len':
        return `${o()} += bpf_xdp_get_buff_len(ctx) * 11 + LIN * 13 + diff(ctx->data, ctx->data_meta);`;
      case 'map': {
        if (r.chance(0.5)) {
          const n = r.pick([8, 24]);
          return `{ __u32 k = ${B()} & 7; struct v24 v = {}; long rc = bpf_xdp_load_bytes(ctx, ${off(n)}, &v, ${n}); v.b += rc; ${o()} += bpf_map_update_elem(&hv, &k, &v, ${r.pick(['0', '0', '1', '2', `${B()} & 3`])}) * 31 + rc; }`;
        }
        const wr = r.chance(0.5) ? ` p->a += bpf_xdp_get_buff_len(ctx); p->d[${r.int(10)}] ^= ${B()};` : '';
        const del = r.chance(0.2) ? ` else ${o()} += bpf_map_delete_elem(&hv, &k);` : '';
        return `{ __u32 k = ${B()} & 7; struct v24 *p = bpf_map_lookup_elem(&hv, &k); if (p) { ${o()} += p->a + p->b + p->d[${r.int(10)}];${wr} }${del} }`;
      }
      case 'atomic': {
        const op = r.pick(['__sync_fetch_and_add', '__sync_fetch_and_or', '__sync_fetch_and_xor', '__sync_fetch_and_and', '__sync_lock_test_and_set']);
        const v = r.pick(['bpf_xdp_get_buff_len(ctx)', `${B()}`, `${o()}`, '0x8000000000000000ULL']);
        return `{ __u32 k = ${B()} & 7; __u64 *p = bpf_map_lookup_elem(&acc, &k); if (p) ${o()} += ${op}(p, ${v}); }`;
      }
      case 'percpu':
        return `{ __u32 k = ${B()} & 3; __u64 *p = bpf_map_lookup_elem(&pc, &k); if (p) { *p = *p * 3 + bpf_xdp_get_buff_len(ctx); ${o()} += *p; } }`;
      default: // call
        return r.chance(0.6)
          ? `${o()} += sub(ctx, ${off(r.pick([8, 32]))}, &${o()}, ${B()}, ${r.pick(['0', '1', '2', '3'])});`
          : `${o()} += gfrag(ctx, ${off(16)}, ${B()});`;
    }
  };

  const wB = (): string => `in.b[${w.int(64)}]`;
  const wo = (): string => `o[${w.int(16)}]`;
  const wideStmt = (): string => {
    const kind = w.pick(['tailrw', 'tailrw', 'tailrw', 'taildir', 'headrw', 'stale', 'mtu']);
    kinds.add(`w-${kind}`);
    const tailDelta = (): string => w.pick(['1', '13', '64', '100', '576', '3000', '4095', '4096', '4097', `(int)(${wB()} & 127)`,
      '-1', '-13', '-64', '-576', '-3520', '-4096', '-4097', '-(int)(bpf_xdp_get_buff_len(ctx) - 14)', '-(int)(bpf_xdp_get_buff_len(ctx) - 15)',
      '-(int)(bpf_xdp_get_buff_len(ctx) - 3520)', '-(int)(bpf_xdp_get_buff_len(ctx) - 3519)', '-(int)(bpf_xdp_get_buff_len(ctx) & 4095)',
      '-(int)((bpf_xdp_get_buff_len(ctx) - 3520) & 4095) - 1', `-(int)(${wB()} & 127)`]);
    switch (kind) {
      case 'tailrw': {
        const n = w.pick([1, 2, 4, 8, 16, 31, 64]);
        // Where: the new end, the old end, straddling either, a page edge before the end. Buffers are o's upper half, not
        // arrays of their own: clang gives a block's array the slot of a dynptr dead by then, and the verifier refuses a
        // helper writing over a dynptr slot ("potential write to dynptr ... disallowed").
        const at = (): string => w.pick([`L - ${n}`, `L0 - ${n}`, `L0 - ${Math.max(1, n >> 1)}`, `L - ${Math.max(1, n >> 1)}`, `L0`, `L - 1`, `(L & ~4095U) - ${n >> 1}`, `L0 + ${w.pick([1, 13, 100])}`]);
        const st = w.chance(0.6) ? ` b[0] ^= ${wB()}; b[${n - 1}] += 3; long r2 = bpf_xdp_store_bytes(ctx, ${at()}, b, ${n}); ${wo()} += r2 * 1013 + bpf_xdp_get_buff_len(ctx);` : '';
        return `{ __u32 L0 = bpf_xdp_get_buff_len(ctx); long rc = bpf_xdp_adjust_tail(ctx, ${tailDelta()}); __u32 L = bpf_xdp_get_buff_len(ctx); __u8 *b = (__u8 *)o + 64;` +
          ` long r1 = bpf_xdp_load_bytes(ctx, ${at()}, b, ${n}); ${wo()} += rc * 1000037 + r1 * 1009 + L * 3 + LIN; if (!r1) ${wo()} ^= fold(b, ${n});${st} }`;
      }
      case 'taildir': {
        const wd = w.pick([1, 2, 4, 8]);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[wd]!;
        const back = w.pick([wd, wd + 1, 1, 13, 64, 200]);
        const wr = w.chance(0.7) ? ` *(${t} *)(d + off) = (${t})(${wo()} + ${wB()});` : '';
        return `{ long rc = bpf_xdp_adjust_tail(ctx, ${tailDelta()}); __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end; __u32 off = diff((long)e, (long)d);` +
          ` ${wo()} += rc * 1000039 + off; if (off >= ${back}) { off = (off - ${back}) & 0x1fff; if (d + off + ${wd} <= e) { ${wo()} += *(${t} *)(d + off) + 1;${wr} } else ${wo()} += 5; } }`;
      }
      case 'headrw': {
        const n = w.pick([1, 4, 8, 16, 64]);
        const dh = w.pick(['-14', '-1', '-64', '-256', '14', '1', '100', '3000', '3506', `(int)(${wB()} & 63) - 32`]);
        const at = w.pick([`E - ${n}`, `E - ${Math.max(1, n >> 1)}`, 'E', `E + ${w.pick([1, 4095, 4096])} - ${n >> 1}`, `E0 - ${n >> 1}`]);
        const st = w.chance(0.5) ? ` b[0] ^= ${wB()}; ${wo()} += bpf_xdp_store_bytes(ctx, ${at}, b, ${n}) * 1019;` : '';
        return `{ __u32 E0 = LIN; long rc = bpf_xdp_adjust_head(ctx, ${dh}); __u32 E = LIN; __u8 *b = (__u8 *)o + 64; long r1 = bpf_xdp_load_bytes(ctx, ${at}, b, ${n});` +
          ` ${wo()} += rc * 1000039 + r1 * 1013 + E + bpf_xdp_get_buff_len(ctx) * 5; if (!r1) ${wo()} ^= fold(b, ${n});${st} }`;
      }
      case 'stale': {
        const n = w.pick([1, 2, 4, 8, 16]);
        const at = w.pick([`S - ${n}`, `S - ${Math.max(1, n >> 1)}`, `bpf_xdp_get_buff_len(ctx) - ${n}`, `bpf_xdp_get_buff_len(ctx) - ${Math.max(1, n >> 1)}`, '3519', '3520', '4095']);
        const adj = w.chance(0.5) ? ` ${wo()} += bpf_dynptr_clone(&dp, &c) * 7; ${wo()} += bpf_dynptr_adjust(&c, ${w.pick(['0', '1', '3519', '3520', 'S - 8', 'S'])}, ${w.pick(['S', 'S - 1', 'S + 1', '3521', '4096', 'bpf_xdp_get_buff_len(ctx)'])}) * 1021 + bpf_dynptr_size(&c);` +
          ` ${wo()} += bpf_dynptr_read(buf, ${n}, &c, ${w.pick(['0', '1', '3519'])}, 0) * 100003 + buf[0];` : '';
        const wr = w.chance(0.5) ? ` buf[0] ^= ${wB()}; ${wo()} += bpf_dynptr_write(&dp, ${at}, buf, ${n}, 0) * 100019;` : '';
        return `{ struct bpf_dynptr dp, c; __u8 *buf = (__u8 *)o + 96; long rc = bpf_dynptr_from_xdp(ctx, 0, &dp); __u32 S = bpf_dynptr_size(&dp); rc = rc * 1000 + bpf_xdp_adjust_tail(ctx, ${tailDelta()});` +
          ` ${wo()} += rc * 1000033 + S + bpf_dynptr_size(&dp) * 7 + bpf_xdp_get_buff_len(ctx); ${wo()} += bpf_dynptr_read(buf, ${n}, &dp, ${at}, 0) * 100000 + buf[0] + buf[${n - 1}] * 256;${wr}${adj} }`;
      }
      default: { // mtu
        const d = w.pick(['0', '14', '-14', '1', '-1', '65536 - (int)bpf_xdp_get_buff_len(ctx)', '65550 - (int)bpf_xdp_get_buff_len(ctx)', '65551 - (int)bpf_xdp_get_buff_len(ctx)', '-65536', `(int)in.h[${w.int(32)}]`]);
        const pre = w.chance(0.4) ? ` ${wo()} += bpf_xdp_adjust_tail(ctx, ${tailDelta()}) * 7;` : '';
        return `{${pre} __u32 m = ${w.pick(['0', '0', '1500', '65536', `${wB()}`])}; ${wo()} += bpf_check_mtu(ctx, ${w.pick(['0', '0', '1'])}, &m, ${d}, 0) * 100000 + m + bpf_xdp_get_buff_len(ctx); }`;
      }
    }
  };
  const addWide = (xs: string[]): string[] => {
    if (!wide) return xs;
    const out: string[] = [];
    for (const x of xs) {
      if (w.chance(0.5)) out.push(wideStmt());
      out.push(x);
    }
    out.push(wideStmt());
    return out;
  };

  const body: string[] = [];
  const n = 3 + r.int(10);
  for (let i = 0; i < n; i++) body.push(stmt());
  const main = addWide(body);
  const chain = r.chance(0.55);
  const tails: string[] = [];
  if (chain) {
    kinds.add('chain');
    for (const t of [1, 2, 3]) {
      const stmts: string[] = [];
      const m = r.int(3);
      for (let i = 0; i < m; i++) stmts.push(stmt());
      const next = r.pick([`${t}`, `${(t % 3) + 1}`, `(hops[${t}] + in.b[${r.int(64)}]) & 3`, `hops[${t}] & 3`, '0', `${r.pick([1, 2, 3])}`]);
      tails.push(`SEC("xdp.frags")
int t${t}(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  hops[${t}]++;
  if (bpf_xdp_load_bytes(ctx, 0, in.b, 64) < 0) return XDP_PASS;
${addWide(stmts).map((s) => `  ${s}`).join('\n')}
  tacc[${t}] = tacc[${t}] * 31 + o[0] + o[${r.int(16)}] * 7 + bpf_xdp_get_buff_len(ctx);
  if (${r.pick(['1', '1', `in.b[${r.int(64)}] & 7`, `hops[${t}] < ${r.pick([5, 40, 100])}`])}) bpf_tail_call(ctx, &jt, ${next});
  return (tacc[${t}] + hops[${t}]) % 4;
}`);
    }
  }
  const proto = `__attribute__((noinline)) int gfrag(struct xdp_md *ctx, __u32 off, __u32 x);
static __attribute__((noinline)) __u64 sub(struct xdp_md *ctx, __u32 off, __u64 *ap, __u32 x, int how);`;
  const fns = `__attribute__((noinline)) int gfrag(struct xdp_md *ctx, __u32 off, __u32 x) {
  __u8 b[16];
  if (!ctx) return -1;
  long rc = bpf_xdp_load_bytes(ctx, off, b, 16);
  if (rc) return rc;
  b[${r.int(16)}] ^= x;
  rc = bpf_xdp_store_bytes(ctx, off + ${r.pick([0, 1, 16, 3520, 4096])}, b, 16);
  return rc * 3 + b[0] + b[15];
}
static __attribute__((noinline)) __u64 sub(struct xdp_md *ctx, __u32 off, __u64 *ap, __u32 x, int how) {
  __u8 b[32];
  long rc = bpf_xdp_load_bytes(ctx, off, b, how & 1 ? 8 : 32);
  __u32 k = x & 7;
  __u64 *v = bpf_map_lookup_elem(&acc, &k);
  if (rc) { *ap += rc; return 9; }
  if (v) *v += fold(b, 8);
  if (how & 2) { b[3] ^= x; rc = bpf_xdp_store_bytes(ctx, off, b, 8); *ap ^= rc; }
  *ap = *ap * 17 + b[0];
  return fold(b, 8) >> (x & 31);
}`;
  const source = `${HEADER}${wide ? WIDE_HEADER : ''}
${proto}
${chain ? 'int t1(struct xdp_md *ctx); int t2(struct xdp_md *ctx); int t3(struct xdp_md *ctx);\nstruct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 5); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = { .values = { [1] = (void *)&t1, [2] = (void *)&t2, [3] = (void *)&t3 } };' : ''}
${fns}
${tails.join('\n')}
SEC("xdp.frags")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  if (bpf_xdp_load_bytes(ctx, 0, in.b, 64) < 0) return XDP_PASS;
${main.map((l) => `  ${l}`).join('\n')}
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  bpf_xdp_store_bytes(ctx, bpf_xdp_get_buff_len(ctx) - 16, o, 16);
${chain ? `  if (${r.pick(['1', '1', `in.b[${r.int(64)}] & 3`])}) bpf_tail_call(ctx, &jt, ${r.pick(['1', '2', '3', '4', `in.b[${r.int(64)}] & 3`])});\n` : ''}  return (o[${r.int(16)}] ^ o[0]) % 4;
}
`;
  return { source: genSource(source), opt: r.pick(['-O1', '-O2', '-O2', '-O3']), mcpu: r.pick(['-mcpu=v3', '-mcpu=v3', '-mcpu=v2']), frags: true, kinds: [...kinds].sort() };
}

/** Frames for an fgen seed: mostly multi-buffer (3,521..73,152 bytes), random bytes, an Ethernet/IPv4 start on half. */
export function fPackets(seed: number, count = 6, _frags = true): Uint8Array[] {
  const r = new Prng(seed ^ 0xf7a65);
  return Array.from({ length: count }, (_, i) => {
    const len = r.pick(LENS);
    const p = new Uint8Array(len);
    for (let j = 0; j < len; j++) p[j] = r.chance(0.2) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.int(256);
    if (i % 2 === 0) p.set([0x08, 0x00], 12);
    return p;
  });
}
