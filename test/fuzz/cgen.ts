// Random XDP programs in C for differential fuzzing of the helpers and maps (gen.ts covers the instruction set in
// assembly). A program is a random sequence of statements, each taking its arguments from the first 64 bytes of the
// packet (copied once with bpf_xdp_load_bytes, so later packet changes do not move them) or from constants, and
// storing its result in o[i]:
//   bpf_xdp_adjust_head / adjust_tail / adjust_meta (odd sizes, both signs), bpf_xdp_load_bytes / store_bytes (any
//   offset, including past the end), bpf_xdp_get_buff_len, bpf_csum_diff (sizes that are and are not multiples of 4),
//   direct packet reads and writes after a bounds check, ARRAY / HASH / LRU_HASH (small, so it evicts) / PERCPU_ARRAY
//   / PERCPU_HASH / LRU_PERCPU_HASH updates with every flag, lookups and deletes, atomics on map values (add, or, and,
//   xor, xchg, cmpxchg; 32 and 64 bits; with and without fetch), bpf_spin_lock around a value update, bpf_loop with a
//   callback that updates maps and its context, globals (.data, .bss, const volatile .rodata at a packet-chosen index),
//   C arithmetic on packet values (unsigned / and % by values that may be 0, shifts by packet-chosen amounts, 32/64-bit,
//   signed), dynptrs over the frame (bpf_dynptr_from_xdp, read/write/slice/size at any offset, fragments included), a
//   HASH_OF_MAPS, array edges (keys past the end, delete, BPF_NOEXIST), bpf_map_lookup_percpu_elem,
//   QUEUE/STACK push/pop/peek, ring buffer output/reserve, bpf_perf_event_output (packet bytes asked for in the flags), a map of maps
//   (static inner map), bpf_fib_lookup and bpf_check_mtu (the test run's answers), bpf_strncmp against .rodata,
//   bpf_get_smp_processor_id, bpf_probe_read_kernel (stack, packet, scalar addresses), bpf_timer init/set_callback/start (1000 s ahead)/cancel, bpf_for_each_map_elem over an array (stopping anywhere) or a hash, bpf_for (bpf_iter_num_new/next/destroy, nested, empty and refused ranges, early break), map values as helper memory (load/store_bytes, csum_diff, a map's key and value, probe_read, ringbuf_output), global functions (a context argument with its own packet check, a nullable pointer), and, last, a bpf_tail_call through a PROG_ARRAY whose slot 1 holds a second program.
// The epilogue writes o[] into the packet when it fits and into a per-packet HASH entry (key: a packet counter in
// .bss) in any case, so every packet's results are compared, and the action is derived from the results.
// A third of the programs are SEC("xdp.frags") and also get frames of up to 9000 bytes (multi-buffer).
// Programs are compiled with clang (-mcpu=v3, -O1/-O2/-O3 by seed): the shapes are whatever clang makes of them.
import { spawnSync } from 'node:child_process';
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';

/** Whether this clang knows -mcpu=v4 (clang 18 and later). */
const CLANG_V4 = (() => {
  const r = spawnSync('clang', ['-target', 'bpf', '-mcpu=v4', '-x', 'c', '-c', '-o', '/dev/null', '-'], { input: 'int x;', encoding: 'utf8' });
  return r.status === 0;
})();

export interface CProgram {
  source: string;
  /** clang optimisation flag for this seed. */
  opt: string;
  /** -mcpu for this seed: v3 (-mcpu=v3, the default) for most; v1/v2 (no 32-bit jumps/ALU subregisters; no fetching
   * atomics, so those seeds have no atomic statements and count packets without one) and v4 (when clang knows it) for
   * some. */
  mcpu: string;
  /** Statement kinds used, for diagnostics. */
  kinds: string[];
  /** SEC("xdp.frags"): packets above a page arrive in fragments. */
  frags: boolean;
}

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
#define N_OUT 24
struct sl { struct bpf_spin_lock lock; __u64 cnt; __u32 last; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } arr32 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 6); __type(key, __u32); __type(value, __u64); } hsh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 5); __type(key, __u16); __type(value, __u64); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } pca SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } pch SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH); __uint(max_entries, 3); __type(key, __u8); __type(value, __u64); } lpch SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct sl); } locked SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 3); __type(value, __u32); } que SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 2); __type(value, __u64); } stk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __uint(value_size, 4); } perfm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 512); __type(key, __u32); __type(value, __s64[N_OUT]); } rlog SEC(".maps");
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } in0 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps") = { .values = { [0] = &in0 } };
const char word[] = "\\x08\\x00E";
__u64 gdata[8] = { 1, 2, 3, 0xffffffffffffffffULL, 5, 0x8000000000000000ULL, 7, 8 };
__u32 gbss[4];
__u8 gsmall;
const volatile __u32 gro[16] = { 0, 1, 2, 3, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 9, 10, 11, 12, 13, 14, 15 };
struct hinner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } hin0 SEC(".maps"), hin1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 4); __type(key, __u32); __array(values, struct hinner); } houter SEC(".maps") = { .values = { [1] = &hin0, [2] = &hin1 } };
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
/* Open-coded iterators (bpf_for in bpf_experimental.h); the system's uapi header may predate struct bpf_iter_num. */
struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
/* Map values handed to helpers as memory (64-byte values). */
struct big { __u8 b[64]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct big); } bigv SEC(".maps");
/* Global (non-static) functions: the verifier checks each once, on its own, from its BTF argument types (a context, a
 * pointer to memory that may be NULL, numbers of any value), not at each call. */
__attribute__((noinline)) int gsum(struct xdp_md *ctx, __u32 off, __u32 n) {
  __u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  __u8 *q = d + (off & 63);
  __u32 s = n;
  if (q + 8 > e) return -1;
  for (int i = 0; i < 8; i++) s = s * 31 + q[i];
  q[7] ^= (__u8)s;
  return s;
}
__attribute__((noinline)) __u64 gmix(__u64 *acc, __u32 x) {
  if (!acc) return 7;
  *acc = (*acc ^ x) * 0x100000001b3ULL;
  return *acc >> (x & 31);
}
__u32 counter;
struct lctx { __u64 acc; __u32 k; __u32 lim; };
static long cb_bad(__u64 i, void *ctx) { return 2; }
static long cb(__u64 i, void *ctx) {
  struct lctx *c = ctx;
  c->acc = c->acc * 3 + i;
  __u32 k = (c->k + i) & 7;
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (v) *v += i + 1;
  return i >= c->lim;
}
struct tmv { struct bpf_timer t; __u64 n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct tmv); } tmr SEC(".maps");
static int tmr_cb(void *map, __u32 *key, struct tmv *v) { v->n += 1000; return 0; }
struct fctx { __u64 acc; __u32 stop; __u32 n; };
static long fe_arr(void *map, __u32 *key, __u64 *val, struct fctx *c) {
  c->acc = c->acc * 7 + *val + *key;
  c->n++;
  *val += c->n;
  return *key == c->stop;
}
static long fe_hsh(void *map, __u32 *key, __u64 *val, struct fctx *c) {
  c->acc += *val ^ *key;
  c->n++;
  *val |= 1;
  return 0;
}
SEC("xdp")
int tail1(struct xdp_md *ctx) {
  __u32 z = 0;
  __u64 *v = bpf_map_lookup_elem(&arr, &z);
  if (v) *v += 1000;
  return XDP_TX;
}
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 3); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = { .values = { [1] = (void *)&tail1 } };
struct lpmk { __u32 plen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 6); __type(key, struct lpmk); __type(value, __u32); __uint(map_flags, BPF_F_NO_PREALLOC); } lpm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } dev SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } devh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, struct bpf_cpumap_val); } cpum SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsk SEC(".maps");
/* bpf-to-bpf calls three frames deep, the caller's stack reached through pointers. */
static __attribute__((noinline)) __u64 mix(__u64 *acc, const __u8 *b, __u32 i) {
  *acc = (*acc ^ b[i & 15]) * 0x100000001b3ULL;
  return *acc >> (i & 31);
}
static __attribute__((noinline)) long fold(__u8 *buf, __u32 n, __u64 *acc) {
  long r = 0;
  for (__u32 i = 0; i < 16; i++) {
    if (i >= n) break;
    r += mix(acc, buf, i);
    buf[i] ^= (__u8)r;
  }
  return r;
}
/* A program that tail-calls itself until the kernel's limit (33 tail calls) stops it, counting in arr[7]. */
int again(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __uint(key_size, 4); __array(values, int (void *)); } chain SEC(".maps") = { .values = { [0] = (void *)&again } };
SEC("xdp")
int again(struct xdp_md *ctx) {
  __u32 k = 7;
  __u64 *v = bpf_map_lookup_elem(&arr, &k);
  if (v) *v += 1;
  bpf_tail_call(ctx, &chain, 0);
  return XDP_PASS;
}
`;

/** A program for `seed`. */
/**
 * Mistakes in C the verifier refuses (6.18 as root), for cfuzz.test.ts's verdict test: a ring buffer record not
 * released on one path, a helper called and a return inside a bpf_spin_lock region, a bpf_loop callback returning 2, a
 * map value read past its size at a packet-chosen index, a lookup's result used without a NULL check, a write into
 * .rodata, a packet byte read at a packet-chosen offset without a bounds check, a packet pointer used after
 * bpf_xdp_adjust_head.
 */
export const C_MISTAKES = ['ring-leak', 'lock-call', 'lock-exit', 'cb-ret', 'value-oob', 'no-null-check', 'rodata-write',
  'pkt-unchecked', 'stale-pkt'] as const;
export type CMistake = (typeof C_MISTAKES)[number];

function mistakeSource(m: CMistake, B: () => string): string {
  switch (m) {
    case 'ring-leak': return `{ __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0); if (e) { *e = ${B()}; if (${B()} & 1) bpf_ringbuf_submit(e, 0); } }`;
    case 'lock-call': return `{ __u32 k = 0; struct sl *v = bpf_map_lookup_elem(&locked, &k); if (v) { bpf_spin_lock(&v->lock); v->cnt += bpf_get_smp_processor_id(); bpf_spin_unlock(&v->lock); } }`;
    case 'lock-exit': return `{ __u32 k = 1; struct sl *v = bpf_map_lookup_elem(&locked, &k); if (v) { bpf_spin_lock(&v->lock); v->cnt++; if (${B()} == 7) return XDP_DROP; bpf_spin_unlock(&v->lock); } }`;
    case 'cb-ret': return `{ struct lctx c = {}; o[0] += bpf_loop(${B()} & 3, cb_bad, &c, 0); }`;
    case 'value-oob': return `{ __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k); if (v) o[0] += ((volatile __u64 *)v)[${B()} & 1]; }`; // volatile: a later o[0] = ... must not make the read dead (seed 2200100013)
    case 'no-null-check': return `{ __u32 k = ${B()}; __u64 *v = bpf_map_lookup_elem(&hsh, &k); o[0] += *(volatile __u64 *)v; }`;
    case 'rodata-write': return `{ ((volatile __u32 *)gro)[${B()} & 3] = 1; }`;
    case 'pkt-unchecked': return `{ volatile __u8 *d = (void *)(long)ctx->data; o[0] += d[${B()}]; }`;
    case 'stale-pkt': return `{ __u8 *d = (void *)(long)ctx->data; if (d + 20 <= (__u8 *)(long)ctx->data_end) { bpf_xdp_adjust_head(ctx, 0); o[0] += *(volatile __u8 *)(d + 10); } }`;
  }
}

export function generateCProgram(seed: number, mistake?: CMistake): CProgram {
  const r = new Prng(seed);
  const mcpu = new Prng(seed ^ 0x6d637075).pick(['-mcpu=v3', '-mcpu=v3', '-mcpu=v3', '-mcpu=v1', '-mcpu=v2', ...(CLANG_V4 ? ['-mcpu=v4'] : [])]);
  const fetchAtomics = mcpu !== '-mcpu=v1' && mcpu !== '-mcpu=v2';
  const n = 4 + r.int(14);
  const body: string[] = [];
  const kinds: string[] = [];
  const B = () => `p[${r.int(64)}]`;
  const S8 = () => `(__s8)p[${r.int(64)}]`;
  const U16 = () => `(p[${r.int(64)}] | p[${r.int(64)}] << 8)`;
  const small = () => r.pick([0, 1, 2, 3, 4, 5, 7, 8, 13, 14, 16, 20, 31, 33, 60, 64, 100, 255, 256, 4096]);
  const signed = () => r.pick([-1, -2, -3, -4, -7, -8, -14, -15, -16, -20, -32, -64, -100, -256, -300, 1, 2, 3, 5, 8, 14, 16, 64, 100, 256, 400, 3000]);
  let usesTail = false;
  for (let i = 0; i < n; i++) {
    const kind = r.pick(['head', 'tail', 'meta', 'load', 'store', 'csum', 'pkt', 'map', 'map', 'atomic', 'atomic', 'lock', 'loop', 'queue', 'ring', 'mim', 'fib', 'mtu', 'strncmp', 'cpu', 'percpu', 'lru', 'len', 'foreach', 'timer', 'probe', 'lpm', 'redirect', 'datameta', 'calls', 'glob', 'glob', 'arith', 'arith', 'dynptr', 'hom', 'arredge', 'pcpulookup', 'iter', 'mapmem', 'mapmem', 'global', 'perf']);
    const o = `o[${i}]`;
    if ((kind === 'atomic' || kind === 'foreach' || kind === 'calls') && !fetchAtomics) {
      // Fetching atomics need -mcpu=v3 (and fe_arr/fold use none, but keep v1/v2 programs simple): a plain read instead.
      kinds.push('len');
      body.push(`${o} = bpf_xdp_get_buff_len(ctx);`);
      continue;
    }
    kinds.push(kind);
    switch (kind) {
      case 'head': body.push(`${o} = bpf_xdp_adjust_head(ctx, ${r.chance(0.5) ? signed() : `${S8()} >> ${r.pick([0, 1, 2])}`});`); break;
      case 'tail': body.push(`${o} = bpf_xdp_adjust_tail(ctx, ${r.chance(0.5) ? signed() : `(int)(${U16()} % ${r.pick([64, 512, 4000])}) - ${r.pick([32, 256, 2000])}`});`); break;
      case 'meta': body.push(`${o} = bpf_xdp_adjust_meta(ctx, ${r.chance(0.6) ? `-(int)(${B()} & ${r.pick([7, 31, 63])})` : signed()});`); break;
      case 'len': body.push(`${o} = bpf_xdp_get_buff_len(ctx);`); break;
      case 'load': {
        const sz = r.pick([1, 2, 4, 7, 8, 16, 32]);
        body.push(`{ __u8 b[32] = {}; ${o} = bpf_xdp_load_bytes(ctx, ${r.chance(0.5) ? small() : `${B()} * ${r.pick([1, 4, 16])}`}, b, ${sz}); ${o} = ${o} * 1000003 + b[0] + b[${sz - 1}] * 7; }`);
        break;
      }
      case 'store': {
        const sz = r.pick([1, 2, 3, 4, 8]);
        body.push(`{ __u64 v = ${U16()} * 0x10001ULL; ${o} = bpf_xdp_store_bytes(ctx, ${r.chance(0.5) ? small() : `${B()} * ${r.pick([1, 2, 8])}`}, &v, ${sz}); }`);
        break;
      }
      case 'csum': {
        const a = r.pick([0, 4, 8, 12, 16, 20, 3, 6]);
        const b = r.pick([0, 4, 8, 16, 20, 40, 5]);
        body.push(`${o} = bpf_csum_diff(${a ? `(__be32 *)pw` : '0'}, ${a}, ${b ? `(__be32 *)(pw + ${r.int(4)})` : '0'}, ${b}, ${r.chance(0.5) ? `pw[${r.int(16)}]` : r.u32()});`);
        break;
      }
      case 'pkt': {
        const off = r.int(80);
        const w = r.pick([1, 2, 4, 8]);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[w];
        body.push(`{ __u8 *d = (void *)(long)ctx->data; void *e = (void *)(long)ctx->data_end; if ((void *)(d + ${off + w}) <= e) { ${o} = *(${t} *)(d + ${off}); *(${t} *)(d + ${off}) ${r.pick(['^=', '+=', '='])} (${t})${U16()}; } else ${o} = -1; }`);
        break;
      }
      case 'map': {
        const m = r.pick(['arr', 'hsh', 'hsh']);
        const op = r.pick(['update', 'update', 'lookup', 'delete']);
        body.push(`{ __u32 k = ${B()} & ${m === 'arr' ? 15 : 7}; __u64 v = ${U16()};`);
        if (op === 'update') body.push(`  ${o} = bpf_map_update_elem(&${m}, &k, &v, ${r.chance(0.5) ? `${B()} & 3` : r.pick([0, 1, 2, 4])}); }`);
        else if (op === 'lookup') body.push(`  __u64 *pv = bpf_map_lookup_elem(&${m}, &k); ${o} = pv ? (__s64)*pv : -1; if (pv) *pv += v; }`);
        else body.push(`  ${o} = bpf_map_delete_elem(&${m}, &k); }`);
        break;
      }
      case 'atomic': {
        const w64 = r.chance(0.5);
        const m = w64 ? 'arr' : 'arr32';
        const t = w64 ? '__u64' : '__u32';
        const op = r.pick(['add', 'or', 'and', 'xor', 'xchg', 'cas', 'addnf', 'ornf']);
        const v = `(${t})${U16()}${w64 ? ' * 0x100000001ULL' : ''}`;
        const e = {
          add: `__sync_fetch_and_add(pv, ${v})`, or: `__sync_fetch_and_or(pv, ${v})`, and: `__sync_fetch_and_and(pv, ${v})`,
          xor: `__sync_fetch_and_xor(pv, ${v})`, xchg: `__sync_lock_test_and_set(pv, ${v})`, cas: `__sync_val_compare_and_swap(pv, ${r.chance(0.5) ? '*pv' : v}, ${v})`,
          addnf: `(__sync_fetch_and_add(pv, ${v}), *pv)`, ornf: `(__sync_fetch_and_or(pv, ${v}), *pv)`,
        }[op];
        body.push(`{ __u32 k = ${B()} & 3; ${t} *pv = bpf_map_lookup_elem(&${m}, &k); ${o} = pv ? (__s64)${e} : -1; }`);
        break;
      }
      case 'lock':
        body.push(`{ __u32 k = ${B()} & 1; struct sl *s = bpf_map_lookup_elem(&locked, &k); if (s) { bpf_spin_lock(&s->lock); s->cnt += ${U16()}; s->last = ${B()}; ${o} = s->cnt; bpf_spin_unlock(&s->lock); } }`);
        break;
      case 'loop':
        body.push(`{ struct lctx c = { .acc = ${B()}, .k = ${B()}, .lim = ${B()} & 15 }; ${o} = bpf_loop(${r.chance(0.7) ? `${B()} & 15` : r.pick([0, 1, 20])}, cb, &c, 0) * 100000 + c.acc; }`);
        break;
      case 'queue': {
        const q = r.chance(0.5);
        const t = q ? '__u32' : '__u64';
        const op = r.pick(['push', 'push', 'pop', 'peek']);
        if (op === 'push') body.push(`{ ${t} v = ${U16()}; ${o} = bpf_map_push_elem(&${q ? 'que' : 'stk'}, &v, ${r.pick([0, 2, `${B()} & 2`])}); }`);
        else body.push(`{ ${t} v = 77; ${o} = bpf_map_${op}_elem(&${q ? 'que' : 'stk'}, &v) * 1000 + v; }`);
        break;
      }
      case 'ring':
        if (r.chance(0.5)) body.push(`{ __u64 v[3] = { ${B()}, ${B()}, 9 }; ${o} = bpf_ringbuf_output(&rb, v, ${r.pick([1, 8, 20, 24])}, ${r.pick([0, 1, 2, 4])}); }`);
        else body.push(`{ __u64 *e = bpf_ringbuf_reserve(&rb, ${r.pick([8, 100, 1000, 4088])}, 0); ${o} = e ? 1 : 0; if (e) { *e = ${B()}; if (${B()} & 1) bpf_ringbuf_submit(e, 0); else bpf_ringbuf_discard(e, 0); } }`);
        break;
      case 'mim':
        body.push(`{ __u32 k = ${B()} & 1; void *im = bpf_map_lookup_elem(&outer, &k); if (im) { __u32 j = ${B()} & 1; __u64 *pv = bpf_map_lookup_elem(im, &j); ${o} = pv ? (__s64)(*pv += ${U16()}) : -2; } else ${o} = -1; }`);
        break;
      case 'fib':
        body.push(`{ struct bpf_fib_lookup f = {}; __builtin_memcpy(&f, p + ${r.pick([0, 8, 16])}, 48); f.family = ${r.pick([2, 10, `${B()} & 1 ? 2 : 10`])}; f.ifindex = ${r.pick([0, 1, 2, `${B()} & 3`])}; ${o} = bpf_fib_lookup(ctx, &f, sizeof(f), ${r.pick([0, 1, 2, 4, 8, 9, 16, `${B()} & 31`])}) * 100 + f.ifindex; }`);
        break;
      case 'mtu':
        body.push(`{ __u32 m = ${r.pick(['0', '1500', U16()])}; ${o} = bpf_check_mtu(ctx, ${r.pick([0, 1, 2])}, &m, ${r.pick(['0', `(__s16)${U16()}`, '65000'])}, 0) * 100000 + m; }`);
        break;
      case 'strncmp':
        body.push(`${o} = bpf_strncmp((char *)p + ${r.int(40)}, ${1 + r.int(16)}, word);`);
        break;
      case 'cpu':
        body.push(`${o} = bpf_get_smp_processor_id();`);
        break;
      case 'timer': {
        // Relative expiry 1000 s ahead: no callback runs during the test (the simulator never runs one).
        const op = r.pick(['init', 'init', 'cb', 'start', 'cancel', 'reset']);
        const call = {
          init: `bpf_timer_init(&v->t, &tmr, ${r.pick([0, 1, 7, 5, `${B()} & 1`])})`,
          cb: 'bpf_timer_set_callback(&v->t, tmr_cb)',
          start: `bpf_timer_start(&v->t, 1000000000000ULL, ${r.pick([0, 2, 4, `${B()} & 2`])})`,
          cancel: 'bpf_timer_cancel(&v->t)',
          reset: 'bpf_map_update_elem(&tmr, &k, &z, 0)',
        }[op];
        body.push(`{ __u32 k = ${B()} & 1; struct tmv z = {}; struct tmv *v = bpf_map_lookup_elem(&tmr, &k); ${o} = v ? ${call} : -1; }`);
        break;
      }
      case 'probe': {
        const sz = r.pick([1, 2, 4, 8]);
        // Packet reads stay inside the packet (past its end the kernel reads whatever memory follows).
        const off = r.int(64);
        const src = r.pick([`p + ${r.int(56)}`, `dd + ${off}`, '(void *)0', `(void *)(long)${r.pick(['0x1000', '0x8000000000000000ULL', '0xfffffffffffff000ULL'])}`]);
        body.push(`{ __u64 v = 0x55; void *dd = (void *)(long)ctx->data; if (dd + ${off + sz} <= (void *)(long)ctx->data_end) ${o} = bpf_probe_read_kernel(&v, ${sz}, ${src}) * 1000 + (v & 0xffff); else ${o} = -1; }`);
        break;
      }
      case 'foreach': {
        // Arrays walk in index order (a stop anywhere is deterministic); hashes only with order-independent callbacks.
        const a = r.chance(0.5);
        body.push(`{ struct fctx c = { .stop = ${B()} & 15 }; ${o} = bpf_for_each_map_elem(&${a ? 'arr' : 'hsh'}, ${a ? 'fe_arr' : 'fe_hsh'}, &c, 0) * 1000000 + c.acc % 1000000 + c.n; }`);
        break;
      }
      case 'lpm': {
        const op = r.pick(['update', 'update', 'lookup', 'lookup', 'delete']);
        const plen = r.chance(0.5) ? `${B()} & 31` : String(r.pick([0, 8, 16, 24, 32, 33]));
        body.push(`{ struct lpmk k = { .plen = ${op === 'lookup' ? r.pick(['32', plen]) : plen}, .d = { ${B()}, ${r.chance(0.5) ? B() : '10'}, ${B()}, ${B()} } };`);
        if (op === 'update') body.push(`  __u32 v = ${U16()}; ${o} = bpf_map_update_elem(&lpm, &k, &v, ${r.pick([0, 0, 1, 2])}); }`);
        else if (op === 'lookup') body.push(`  __u32 *pv = bpf_map_lookup_elem(&lpm, &k); ${o} = pv ? (__s64)*pv : -1; }`);
        else body.push(`  ${o} = bpf_map_delete_elem(&lpm, &k); }`);
        break;
      }
      case 'redirect': {
        // Empty target maps (the test run cannot seed devices): the flags' low bits are the fallback action.
        const m = r.pick(['dev', 'devh', 'cpum', 'xsk']);
        if (r.chance(0.25)) body.push(`${o} = bpf_redirect(${r.pick([0, 1, 2, `${B()} & 3`])}, ${r.pick([0, 1, 8])});`);
        else body.push(`${o} = bpf_redirect_map(&${m}, ${B()} & 7, ${r.pick([0, 1, 2, 3, 4, 5, `${B()} & 7`])});`);
        break;
      }
      case 'perf': {
        // No perf event is open in the test run: the answer is the flags' and length checks, then -ENOENT (or -E2BIG).
        const len = r.chance(0.5) ? r.pick([0, 1, 14, 64, 1500, 9000]) : U16();
        body.push(`{ __u64 v[2] = { ${B()}, ${U16()} }; ${o} = bpf_perf_event_output(ctx, &perfm, ${r.pick(['BPF_F_CURRENT_CPU', '0', '3', '4', `${B()} & 7`, '(1ULL << 31)'])} | ((__u64)(${len}) << 32), v, ${r.pick([0, 8, 16])}); }`);
        break;
      }
      case 'datameta': {
        const n = r.pick([4, 8, 12, 16]);
        body.push(`{ long rc = bpf_xdp_adjust_meta(ctx, -${n}); ${o} = rc; __u8 *m = (void *)(long)ctx->data_meta; __u8 *d = (void *)(long)ctx->data;` +
          ` if (m + 4 <= d) { *(__u32 *)m = ${U16()}; ${o} = rc * 100000 + m[0] + m[3]; } }`);
        break;
      }
      case 'calls':
        body.push(`{ __u8 buf[16]; __u64 acc = ${B()}; __builtin_memcpy(buf, p + ${r.int(48)}, 16); ${o} = fold(buf, ${r.chance(0.5) ? `${B()} & 31` : r.pick([0, 1, 16])}, &acc) ^ acc ^ buf[${r.int(16)}]; }`);
        break;
      case 'percpu': {
        const hashMap = r.chance(0.5);
        body.push(`{ __u32 k = ${B()} & 3; ${hashMap ? '__u32' : '__u64'} v = ${U16()};`);
        body.push(`  ${o} = bpf_map_update_elem(&${hashMap ? 'pch' : 'pca'}, &k, &v, ${r.pick([0, 1, 2])}); }`);
        break;
      }
      case 'glob': {
        // Globals: .data (initialised), .bss, .rodata read at a packet-chosen index; the maps are compared after the run.
        const k = r.int(3);
        if (k === 0) body.push(`{ __u32 i = ${B()} & 7; gdata[i] = gdata[i] * ${r.pick([3, 31, 257])} + ${U16()}; ${o} = gdata[i] ^ gro[${B()} & 15]; }`);
        else if (k === 1) body.push(`{ __u32 i = ${B()} & 3; gbss[i] += ${r.chance(0.5) ? U16() : `gro[${B()} & 15]`}; ${o} = gbss[i] + gsmall; gsmall = (__u8)(${B()} + gsmall); }`);
        else body.push(`{ ${o} = gro[${B()} & 15] * gro[${r.int(16)}] + gdata[${r.int(8)}]; gdata[${r.int(8)}] ^= ${o}; }`);
        break;
      }
      case 'arith': {
        // C arithmetic on packet values: unsigned division and modulo by values that may be 0 (the ISA gives 0 and the
        // dividend), shifts by packet-chosen amounts, 32- and 64-bit, signed right shifts and comparisons.
        const t = r.pick(['__u64', '__u32', '__s64', '__s32']);
        const leaf = (): string => r.pick([B(), U16(), S8(), `${r.pick([0, 1, 7, 255, 65535, 0x7fffffff, 0x80000000, -1, -2, 1000000007])}`, `(${t})${U16()} << ${r.int(40)}`]);
        const expr = (d: number): string => {
          if (d === 0 || r.chance(0.25)) return `(${t})(${leaf()})`;
          const a = expr(d - 1);
          const b = expr(d - 1);
          const op = r.pick(['+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^', '<', 's<', '?:']);
          const ut = t.startsWith('__s') ? t.replace('__s', '__u') : t;
          if (op === '/' || op === '%') return `((${ut})${a} ${op} (${ut})${b})`;
          if (op === '<<' || op === '>>') return `(${a} ${op} (${b} & ${t.endsWith('64') ? 63 : 31}))`;
          if (op === 's<') return `((__s64)${a} < (__s64)${b})`;
          if (op === '?:') return `(${a} > ${b} ? ${a} : ${b})`;
          return `(${a} ${op} ${b})`;
        };
        body.push(`{ ${t} x = ${expr(1 + r.int(3))}; ${o} = (__s64)x; }`);
        break;
      }
      case 'dynptr': {
        // A dynptr over the whole frame (fragments included): read, write and slice at any offset and length.
        const off = r.pick([0, 1, 14, 60, 63, 64, 200, 1000, 1499, 1500, 3000, 4000, 8999, `${U16()}`]);
        const n = r.pick([1, 2, 4, 8, 16]);
        // No bpf_dynptr_slice_rdwr: this machine's 6.18 build refuses every program calling it, mainline does not, and
        // the simulator follows mainline (test/kfuncs/kfuncs.test.ts).
        const op = r.pick(['read', 'read', 'write', 'slice', 'slice', 'size']);
        const pre = `struct bpf_dynptr d; __u8 buf[16] = {}; long rc = bpf_dynptr_from_xdp(ctx, 0, &d);`;
        if (op === 'read') body.push(`{ ${pre} ${o} = rc ? rc : bpf_dynptr_read(buf, ${n}, &d, ${off}, 0) * 100000 + buf[0] + buf[${n - 1}] * 256; }`);
        else if (op === 'write') body.push(`{ ${pre} buf[0] = ${B()}; buf[${n - 1}] = ${B()}; ${o} = rc ? rc : bpf_dynptr_write(&d, ${off}, buf, ${n}, 0); }`);
        else if (op === 'size') body.push(`{ ${pre} ${o} = rc ? rc : bpf_dynptr_size(&d); }`);
        else {
          body.push(`{ ${pre} __u8 *sl = rc ? 0 : bpf_${op === 'slice' ? 'dynptr_slice' : 'dynptr_slice_rdwr'}(&d, ${off}, buf, ${n}); ${o} = sl ? sl[0] + sl[${n - 1}] * 256 + (sl == buf) * 100000 : -1;` +
            `${op === 'slice_rdwr' ? ` if (sl) { sl[0] ^= ${B()}; if (sl == buf) bpf_dynptr_write(&d, ${off}, buf, ${n}, 0); }` : ''} }`);
        }
        break;
      }
      case 'hom': {
        const op = r.pick(['lookup', 'lookup', 'update', 'delete']);
        body.push(`{ __u32 k = ${B()} & 3; void *im = bpf_map_lookup_elem(&houter, &k); if (im) { __u32 j = ${B()} & 3;`);
        if (op === 'lookup') body.push(`  __u64 *pv = bpf_map_lookup_elem(im, &j); ${o} = pv ? (__s64)(*pv += ${U16()}) : -2; } else ${o} = -1; }`);
        else if (op === 'update') body.push(`  __u64 v = ${U16()}; ${o} = bpf_map_update_elem(im, &j, &v, ${r.pick([0, 1, 2])}); } else ${o} = -1; }`);
        else body.push(`  ${o} = bpf_map_delete_elem(im, &j); } else ${o} = -1; }`);
        break;
      }
      case 'arredge': {
        // Array edges: keys past max_entries, delete (always -EINVAL), update with BPF_NOEXIST (always -EEXIST).
        const op = r.pick(['lookup', 'update', 'delete']);
        const key = r.pick(['8', '0xffffffff', `${B()} & 15`, `${B()}`]);
        if (op === 'lookup') body.push(`{ __u32 k = ${key}; __u64 *pv = bpf_map_lookup_elem(&arr, &k); ${o} = pv ? (__s64)*pv : -1; }`);
        else if (op === 'update') body.push(`{ __u32 k = ${key}; __u64 v = ${U16()}; ${o} = bpf_map_update_elem(&arr, &k, &v, ${r.pick([0, 1, 2, 3, 4])}); }`);
        else body.push(`{ __u32 k = ${key}; ${o} = bpf_map_delete_elem(&arr, &k); }`);
        break;
      }
      case 'pcpulookup': {
        // Another CPU's copy of a per-CPU value (NULL past the last possible CPU).
        const hashMap = r.chance(0.5);
        body.push(`{ __u32 k = ${B()} & 3; ${hashMap ? '__u32' : '__u64'} *pv = bpf_map_lookup_percpu_elem(&${hashMap ? 'pch' : 'pca'}, &k, ${r.pick(['0', '1', `${B()} & 3`, '4096'])}); ${o} = pv ? (__s64)*pv : -1; if (pv) *pv += 1; }`);
        break;
      }
      case 'iter': {
        // bpf_for: a numbered iterator over [start, end) from packet values (start > end: -EINVAL, no element), a body
        // that may stop early; sometimes one nested in another.
        // A range over BPF_MAX_LOOPS (8M) is refused with -E2BIG; 200,000 turns of the body run past the 1M-instruction
        // budget (given back at each bpf_iter_num_next, up to 100M per packet: README, a range near 8M would reach that).
        const hi = r.pick([`(${B()} & 15) + 1`, '0', '5', `${B()}`, '200000', '8388609']);
        const lo = hi === '8388609' ? r.pick(['0', '-3']) : r.pick([`${B()} & 7`, '0', '-3', `${S8()}`]);
        const stop = r.chance(0.4) ? ` if (*v == (${B()} & 7)) break;` : '';
        const inner = r.chance(0.25) ? ` { struct bpf_iter_num j; int *w; bpf_iter_num_new(&j, 0, ${B()} & 3); while ((w = bpf_iter_num_next(&j))) acc += *w * 5; bpf_iter_num_destroy(&j); }` : '';
        body.push(`{ struct bpf_iter_num it; int *v; __s64 acc = ${B()}; ${o} = bpf_iter_num_new(&it, ${lo}, ${hi}) * 1000;` +
          ` while ((v = bpf_iter_num_next(&it))) { acc = acc * 3 + *v + p[*v & 63];${stop}${inner} } bpf_iter_num_destroy(&it); ${o} += acc; }`);
        break;
      }
      case 'mapmem': {
        // A map value as a helper's memory argument: bytes in and out of the frame, a checksum over it, a key and a
        // value of another map, a kernel read into it, a ring buffer record from it.
        const a = r.int(8) * 4;
        const n = r.pick([1, 2, 4, 8, 12, 16, 20, 32]);
        const call = r.pick([
          `bpf_xdp_load_bytes(ctx, ${r.chance(0.5) ? small() : `${B()} * ${r.pick([1, 4])}`}, b->b + ${a}, ${n})`,
          `bpf_xdp_store_bytes(ctx, ${r.chance(0.5) ? small() : B()}, b->b + ${a}, ${n})`,
          `bpf_csum_diff((__be32 *)(b->b + ${a}), ${n & ~3}, (__be32 *)(b->b + ${r.int(8) * 4}), ${r.pick([0, 4, 8, 16])}, ${r.chance(0.5) ? U16() : 0})`,
          `bpf_map_update_elem(&hsh, (__u32 *)(b->b + ${a}), (__u64 *)(b->b + ${r.int(7) * 8}), ${r.pick([0, 1, 2])})`,
          `bpf_probe_read_kernel(b->b + ${a}, ${n}, p + ${r.int(32)})`,
          `bpf_ringbuf_output(&rb, b->b + ${a}, ${n}, 0)`,
        ]);
        body.push(`{ __u32 k = ${B()} & 1; struct big *b = bpf_map_lookup_elem(&bigv, &k); if (b) { b->b[${r.int(64)}] ^= ${B()}; ${o} = ${call}; ${o} = ${o} * 1000 + b->b[${r.int(64)}]; } else ${o} = -1; }`);
        break;
      }
      case 'global':
        if (r.chance(0.5)) body.push(`${o} = gsum(ctx, ${B()}, ${U16()});`);
        else body.push(`{ __u64 acc = ${U16()}; ${o} = gmix(${r.chance(0.8) ? '&acc' : '0'}, ${B()}) ^ acc; }`);
        break;
      case 'lru': {
        const pc = r.chance(0.3);
        body.push(`{ ${pc ? '__u8' : '__u16'} k = ${pc ? `${B()} & 7` : `${B()} & 15`}; __u64 v = ${U16()}; void *pv = bpf_map_lookup_elem(&${pc ? 'lpch' : 'lru'}, &k); ${o} = pv ? 1 : bpf_map_update_elem(&${pc ? 'lpch' : 'lru'}, &k, &v, ${r.pick([0, 0, 1])}); }`);
        break;
      }
    }
  }
  if (mistake) {
    const m = new Prng(seed ^ 0x6d157a6b);
    // First or last (a statement may span two lines of `body`).
    body.splice(m.chance(0.5) ? 0 : body.length, 0, mistakeSource(mistake, () => `p[${m.int(64)}]`));
    kinds.push(`mistake:${mistake}`);
  }
  if (r.chance(0.4)) {
    usesTail = true;
    kinds.push('tail-call');
  }
  const wantChain = !usesTail && r.chance(0.25);
  const ret = r.int(n);
  const frags = r.chance(0.3);
  // An xdp.frags program tail-calling through the chain (owned by the plain `again`) is refused at load: keep a quarter
  // of those for the verdict, so most programs still load.
  const chainTail = wantChain && (!frags || (seed & 3) === 0);
  if (chainTail) kinds.push('tail-chain');
  // The same for `jt` (slot 1 holds the plain tail1).
  if (usesTail && frags && (seed & 3) !== 0) {
    usesTail = false;
    kinds.splice(kinds.indexOf('tail-call'), 1);
  }
  if (frags) kinds.push('frags');
  const source = `${HEADER}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __s64 o[N_OUT] = {};
  __u32 pw[16];
  __u8 *p = (__u8 *)pw;
  if (bpf_xdp_load_bytes(ctx, 0, pw, 64) < 0) return XDP_PASS;
${body.map((l) => `  ${l}`).join('\n')}
  __u32 key = ${fetchAtomics ? '__sync_fetch_and_add(&counter, 1)' : 'counter++'};
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
${usesTail ? `  if (p[${r.int(64)}] & 1) bpf_tail_call(ctx, &jt, p[${r.int(64)}] & 3);\n` : ''}${chainTail ? `  if (p[${r.int(64)}] & 1) bpf_tail_call(ctx, &chain, 0);\n` : ''}  return (__u32)(o[${ret}] ^ o[0]) % 4;
}
`;
  return { source: genSource(source), opt: r.pick(['-O1', '-O2', '-O2', '-O3']), kinds, frags, mcpu };
}

/** Packets for a C-fuzz seed: sizes from 64 to 1600 bytes (to 9000 for xdp.frags programs: fragments), random bytes
 * with an Ethernet/IPv4-looking start. */
export function cfuzzPackets(seed: number, count = 12, frags = false): Uint8Array[] {
  const r = new Prng(seed ^ 0x2545f491);
  return Array.from({ length: count }, (_, i) => {
    const len = r.pick([64, 65, 66, 80, 100, 128, 192, 200, 255, 256, 300, 511, 600, 1000, 1514, 1600, ...(frags ? [3000, 3519, 3520, 3521, 4096, 5000, 9000] : [])]);
    const p = new Uint8Array(len);
    for (let j = 0; j < len; j++) p[j] = r.chance(0.2) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.int(256);
    if (i % 2 === 0) p.set([0x08, 0x00, 0x45, 0x00], 12);
    return p;
  });
}
