// Random XDP programs in C that string kfuncs together (kfuzz), for what the other generators leave out: fgen.ts and
// cgen.ts read, write and slice an xdp dynptr; here every kfunc and dynptr helper the simulator models for XDP is
// called with edge-case arguments, in sequences where one call's result is the next one's input:
//   dynptr:   bpf_dynptr_from_xdp (flags 0 and others) and bpf_dynptr_from_mem over a stack array or an ARRAY value
//             (sizes 0..56, flags), bpf_dynptr_clone, bpf_dynptr_adjust (start past end, end past the size, offsets
//             from bpf_dynptr_size), is_null / is_rdonly / size, bpf_dynptr_read / write (flags), bpf_dynptr_slice and
//             now and then slice_rdwr (refused by the running kernel), bpf_dynptr_copy between any two of
//             them (overlapping, across fragments) and bpf_dynptr_memset, at offsets around the linear part's end, the
//             frame's end and u32 wrap-around;
//   ringbuf:  bpf_ringbuf_reserve_dynptr of sizes around the ring's, flags, writes/memset/adjust on the record, then
//             submit or discard, and bpf_ringbuf_query (nobody consumes: the ring fills up across packets);
//   bits:     bpf_iter_bits_new/_next/_destroy over stack words, a map value, NULL, a bad address, nr_words 0..4 and
//             past the kernel's maximum, loops that stop early;
//   counts:   bpf_map_sum_elem_count of HASH / LRU_HASH / PERCPU_HASH / LRU_PERCPU_HASH / ARRAY after updates and deletes;
//   locks:    bpf_res_spin_lock (and _irqsave) around map value updates; RCU, preemption and irq sections;
//   ct:       bpf_xdp_ct_lookup / bpf_xdp_ct_alloc with tuples from the packet, tuple and opts sizes, netns ids, l4
//             protocols and reserved bytes; set_timeout / set_status / insert_entry / change_status; status read back
//             (the kernel side runs in a network namespace of its own, so the table starts empty);
//   throw:    bpf_throw with a cookie from the entry or a static function, on some packets.
// Results go to o[16]: a per-packet HASH log and the packet (as in sgen.ts); all maps are compared after the run.
import { Prng } from './gen.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_iter_bits { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct bpf_res_spin_lock { __u32 val; };
struct bpf_map { int opaque; };
struct bpf_ct_opts { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u16 ct_zone_id; __u8 ct_zone_dir; __u8 reserved[3]; };
/* struct nf_conn as laid out by the 6.18 x86-64 kernel (status at 128, mark at 168), without CO-RE. */
struct nf_conn { __u8 _a[8]; __u32 timeout; __u8 _b[116]; unsigned long status; __u8 _c[32]; __u32 mark; };
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end) __ksym;
/* bool as in the kernel. Only the low byte of the kernel's return register is defined (6.18 x86-64 leaves bits 8..63 as
 * they were: 0xffffff00 seen after a failed bpf_dynptr_copy), and clang trusts a _Bool result to be 0 or 1: read through
 * a byte. */
extern _Bool bpf_dynptr_is_null(const struct bpf_dynptr *p) __ksym;
extern _Bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit) __ksym;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst_ptr, __u32 dst_off, struct bpf_dynptr *src_ptr, __u32 src_off, __u32 size) __ksym;
extern int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size, __u8 val) __ksym;
extern int bpf_iter_bits_new(struct bpf_iter_bits *it, const __u64 *unsafe_ptr__ign, __u32 nr_words) __ksym;
extern int *bpf_iter_bits_next(struct bpf_iter_bits *it) __ksym;
extern void bpf_iter_bits_destroy(struct bpf_iter_bits *it) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;
extern void bpf_local_irq_save(unsigned long *flags) __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym;
extern void bpf_throw(__u64 cookie) __ksym;
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;
extern int bpf_res_spin_lock(struct bpf_res_spin_lock *lock) __ksym;
extern void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock) __ksym;
extern int bpf_res_spin_lock_irqsave(struct bpf_res_spin_lock *lock, unsigned long *flags__irq_flag) __ksym;
extern void bpf_res_spin_unlock_irqrestore(struct bpf_res_spin_lock *lock, unsigned long *flags__irq_flag) __ksym;
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_xdp_ct_alloc(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn *) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_set_status(const struct nf_conn *, __u32) __ksym;
extern int bpf_ct_change_status(struct nf_conn *, __u32) __ksym;
#define ISNULL(p) ({ volatile __u8 _t = bpf_dynptr_is_null(p); _t; })
#define ISRDONLY(p) ({ volatile __u8 _t = bpf_dynptr_is_rdonly(p); _t; })
struct val { __u64 q[4]; __u8 b[24]; };
struct lval { struct bpf_res_spin_lock l; __u32 n; __u64 s; };
union in64 { __u8 b[64]; __u16 h[32]; __u32 w[16]; __u64 q[8]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } av SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 6); __type(key, __u32); __type(value, __u64); } hv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } lv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } phv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } lphv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct lval); } lk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
__u32 counter;
`;

const SPECIAL = ['0', '1', '7', '31', '32', '0x7f', '0x80', '0xff', '0x7fff', '0xffff', '0x7fffffff', '0x80000000U', '0xffffffffU', '-1'];
/** Offsets and lengths around the interesting places of a frame: its start, the linear part's end (3,520 bytes for a
 * frags frame), a page, the frame sizes the packets have, u32 wrap-around. */
const OFFS = ['0', '1', '2', '13', '14', '31', '32', '60', '63', '64', '65', '100', '255', '256', '511', '999', '1000', '1513', '1514',
  '3519', '3520', '3521', '4095', '4096', '8999', '9000', '0xffffffffU', '0x80000000U'];

/**
 * One misuse of a kfunc the verifier refuses, for kfuzz's verdict test (each refused by 6.18 as root): references left
 * or released twice (ring buffer records, conntrack entries, the bits iterator), a conntrack allocation released
 * instead of inserted, an entry read before its NULL check, a resilient lock left held or unlocked on its failure
 * path, unbalanced RCU / preemption / irq sections, a slice used after a call that moves the packet, a dynptr or an
 * iterator used uninitialised, a slice length not constant, bpf_throw with a reference held.
 */
export const K_MISTAKES = ['rb-leak', 'rb-twice', 'bits-leak', 'bits-uninit', 'bits-destroy-twice', 'ct-leak', 'ct-no-null', 'ct-release-alloc',
  'res-lock-held', 'res-lock-unchecked', 'rcu-unlock', 'preempt-held', 'irq-held', 'slice-after-adjust', 'dynptr-uninit', 'slice-var-size',
  'throw-with-ref'] as const;
export type KMistake = (typeof K_MISTAKES)[number];

function mistakeSource(m: KMistake, B: () => string): string {
  switch (m) {
    case 'rb-leak': return `{ struct bpf_dynptr dr; bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &dr); if (${B()} & 1) bpf_ringbuf_submit_dynptr(&dr, 0); }`;
    case 'rb-twice': return `{ struct bpf_dynptr dr; bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &dr); bpf_ringbuf_submit_dynptr(&dr, 0); if (${B()} & 1) bpf_ringbuf_discard_dynptr(&dr, 0); }`;
    case 'bits-leak': return `{ struct bpf_iter_bits it; int *b; bpf_iter_bits_new(&it, bits, 1); if ((b = bpf_iter_bits_next(&it))) o[1] += *b; if (${B()} & 1) bpf_iter_bits_destroy(&it); }`;
    case 'bits-uninit': return `{ struct bpf_iter_bits it; int *b; if (${B()} & 1) bpf_iter_bits_new(&it, bits, 1); if ((b = bpf_iter_bits_next(&it))) o[1] += *b; bpf_iter_bits_destroy(&it); }`;
    case 'bits-destroy-twice': return `{ struct bpf_iter_bits it; bpf_iter_bits_new(&it, bits, 1); bpf_iter_bits_destroy(&it); if (${B()} & 1) bpf_iter_bits_destroy(&it); }`;
    case 'ct-leak': return `{ struct bpf_sock_tuple tup = {}; struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_UDP }; tup.ipv4.saddr = ${B()};
    struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)); if (ct && (${B()} & 1)) bpf_ct_release(ct); }`;
    case 'ct-no-null': return `{ struct bpf_sock_tuple tup = {}; struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_TCP }; tup.ipv4.saddr = ${B()};
    struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)); o[2] += ct->mark; if (ct) bpf_ct_release(ct); }`;
    case 'ct-release-alloc': return `{ struct bpf_sock_tuple tup = {}; struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_TCP }; tup.ipv4.saddr = ${B()};
    struct nf_conn *ct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts)); if (ct) bpf_ct_release(ct); }`;
    case 'res-lock-held': return `{ __u32 k = ${B()} & 3; struct lval *p = bpf_map_lookup_elem(&lk, &k); if (p && !bpf_res_spin_lock(&p->l)) { p->n++; if (${B()} & 1) bpf_res_spin_unlock(&p->l); } }`;
    case 'res-lock-unchecked': return `{ __u32 k = ${B()} & 3; struct lval *p = bpf_map_lookup_elem(&lk, &k); if (p) { bpf_res_spin_lock(&p->l); p->n++; bpf_res_spin_unlock(&p->l); } }`;
    case 'rcu-unlock': return `{ if (${B()} & 1) bpf_rcu_read_lock(); o[3] += ${B()}; bpf_rcu_read_unlock(); }`;
    case 'preempt-held': return `{ bpf_preempt_disable(); o[3] += ${B()}; if (${B()} & 1) bpf_preempt_enable(); }`;
    case 'irq-held': return `{ unsigned long f; bpf_local_irq_save(&f); o[3] += ${B()}; if (${B()} & 1) bpf_local_irq_restore(&f); }`;
    case 'slice-after-adjust': return `{ struct bpf_dynptr d; __u8 bb[4]; bpf_dynptr_from_xdp(ctx, 0, &d); __u8 *sl = bpf_dynptr_slice(&d, 0, bb, 4);
    if (sl) { bpf_xdp_adjust_head(ctx, ${B()} & 1 ? 2 : -2); o[4] += sl[1]; } }`;
    case 'dynptr-uninit': return `{ struct bpf_dynptr d; __u8 bb[4] = {}; if (${B()} & 1) bpf_dynptr_from_xdp(ctx, 0, &d); o[5] += bpf_dynptr_read(bb, 4, &d, 0, 0) + bb[0]; }`;
    case 'slice-var-size': return `{ struct bpf_dynptr d; __u8 bb[16]; bpf_dynptr_from_xdp(ctx, 0, &d); __u8 *sl = bpf_dynptr_slice(&d, 0, bb, (${B()} & 7) + 1); if (sl) o[6] += sl[0]; }`;
    default: return `{ struct bpf_dynptr dr; bpf_ringbuf_reserve_dynptr(&rb, 8, 0, &dr); if ((${B()} & 3) == 1) bpf_throw(1); bpf_ringbuf_discard_dynptr(&dr, 0); }`;
  }
}

export function generateKProgram(seed: number, mistake?: KMistake): SProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  const mcpu = r.pick(['-mcpu=v2', '-mcpu=v3', '-mcpu=v3', '-mcpu=v3']);
  const opt = r.pick(['-O1', '-O2', '-O2', '-O3']);
  const frags = r.chance(0.4);
  const o = (): string => `o[${r.int(16)}]`;
  const inF = (): string => r.pick([`in.b[${r.int(64)}]`, `in.h[${r.int(32)}]`, `in.w[${r.int(16)}]`, `in.q[${r.int(8)}]`]);
  const leaf = (): string => (r.chance(0.6) ? inF() : r.chance(0.5) ? o() : r.pick(SPECIAL));
  const e = (): string => {
    switch (r.int(5)) {
      case 0: return `((__u64)${leaf()} ${r.pick(['+', '-', '^', '*', '&', '|'])} (__u64)${leaf()})`;
      case 1: return `((__u32)${leaf()} >> ${r.int(32)})`;
      default: return leaf();
    }
  };
  /** An offset or length: a constant around a frame edge, a small packet-chosen number, or one near a dynptr's size. */
  const off = (dp?: string): string => {
    const k = r.int(8);
    if (k < 3) return r.pick(OFFS);
    if (k < 5) return `(${inF()} & ${r.pick(['7', '15', '63', '0xff', '0xfff', '0x1fff'])})`;
    if (k < 6 && dp) return `(bpf_dynptr_size(&${dp}) - ${r.pick(['0', '1', '4', '8', '16', '40'])})`;
    return String(r.int(40));
  };

  // --- A static function that may throw (its own cookie), and one called inside a dynptr block.
  const fnDefs: string[] = [];
  let thrower = '';
  if (r.chance(0.3)) {
    thrower = 'thrower';
    kinds.add('throw-fn');
    fnDefs.push(`static __attribute__((noinline)) __u64 thrower(__u64 a, __u32 b) {
  if ((b & ${r.pick(['3', '7'])}) == ${r.int(3)}) bpf_throw(${r.pick(['0', '1', '2', '3', '0x100000001ULL', 'a', '0xffffffffULL'])});
  return a * 3 + b;
}`);
  }

  const dynBlock = (ind: string): string[] => {
    kinds.add('dynptr');
    const ps: string[] = [];
    const lines: string[] = [`${ind}{ __u8 buf[32] = {}; __u8 *sl; long rc;`];
    const decls: string[] = [];
    // The xdp dynptr, a mem dynptr over the stack array, and over an ARRAY value.
    const useX = r.chance(0.85);
    // bpf_dynptr_from_mem takes map values only (6.18: "Unsupported reg type fp" for the stack): now and then the
    // stack array all the same, a refusal run must report.
    const useM = r.chance(0.03);
    const useV = r.chance(0.5);
    if (useX) {
      decls.push(`struct bpf_dynptr dx; ${o()} += bpf_dynptr_from_xdp(ctx, ${r.chance(0.1) ? r.pick(['1', '2', '0x80000000']) : '0'}, &dx);`);
      ps.push('dx');
    }
    if (useM) {
      kinds.add('dynptr-mem');
      decls.push(`struct bpf_dynptr dm; ${o()} += bpf_dynptr_from_mem(mb, ${r.pick(['48', '48', '32', '1', '0', '17'])}, ${r.chance(0.1) ? '1' : '0'}, &dm);`);
      ps.push('dm');
    }
    lines.push(...decls.map((d) => `${ind}  ${d}`));
    let close = '';
    if (useV) {
      kinds.add('dynptr-mapval');
      lines.push(`${ind}  __u32 vk = ${leaf()} & 3; struct val *mv = bpf_map_lookup_elem(&av, &vk);`, `${ind}  if (mv) {`,
        `${ind}  struct bpf_dynptr dv; ${o()} += bpf_dynptr_from_mem(mv, ${r.pick(['sizeof(*mv)', '56', '24', '8'])}, 0, &dv);`);
      ps.push('dv');
      close = `${ind}  }`;
    }
    if (!ps.length) return [];
    let clones = 0;
    const nOps = 2 + r.int(6);
    for (let i = 0; i < nOps; i++) {
      const p = r.pick(ps);
      const q = r.pick(ps);
      const k = r.int(14);
      const n = r.pick(['1', '2', '4', '8', '13', '16', '32']);
      switch (k) {
        case 0: case 1:
          kinds.add('adjust');
          lines.push(`${ind}  ${o()} += bpf_dynptr_adjust(&${p}, ${off(p)}, ${off(p)}) + 100 * bpf_dynptr_size(&${p});`);
          break;
        case 2:
          lines.push(`${ind}  ${o()} += ISNULL(&${p}) * 10 + ISRDONLY(&${p}) * 100 + ((__u64)bpf_dynptr_size(&${p}) << 8);`);
          break;
        case 3: {
          if (clones >= 2) break;
          kinds.add('clone');
          const c = `dc${clones++}`;
          lines.push(`${ind}  struct bpf_dynptr ${c}; ${o()} += bpf_dynptr_clone(&${p}, &${c});`);
          ps.push(c);
          break;
        }
        case 4: case 5:
          kinds.add('read');
          lines.push(`${ind}  rc = bpf_dynptr_read(buf, ${r.chance(0.3) ? `${inF()} & 31` : n}, &${p}, ${off(p)}, ${r.chance(0.08) ? '1' : '0'}); ${o()} += rc * 1000 + buf[${r.int(32)}] + ((__u64)buf[${r.int(32)}] << 8);`);
          break;
        case 6:
          kinds.add('write');
          lines.push(`${ind}  buf[${r.int(32)}] ^= (__u8)${leaf()}; ${o()} += bpf_dynptr_write(&${p}, ${off(p)}, buf, ${r.chance(0.3) ? `${inF()} & 31` : n}, ${r.chance(0.08) ? '1' : '0'});`);
          break;
        case 7: case 8: {
          // bpf_dynptr_slice_rdwr: the running 6.18 refuses every program that calls it (verifier-refusals.ts), so rarely.
          const rw = k === 8 && r.chance(0.05);
          kinds.add(rw ? 'slice-rdwr' : 'slice');
          const sz = r.pick([1, 2, 4, 8, 16, 32]);
          const use = rw ? `sl[${r.int(sz)}] ^= (__u8)${leaf()}; ` : '';
          lines.push(`${ind}  sl = bpf_dynptr_slice${rw ? '_rdwr' : ''}(&${p}, ${off(p)}, ${r.chance(0.2) ? '0' : 'buf'}, ${sz}); if (sl) { ${use}${o()} += sl[0] + ((__u64)sl[${sz - 1}] << 8) + (sl == buf) * 100000; } else ${o()} += 77;`);
          break;
        }
        case 9: case 10:
          kinds.add('copy');
          lines.push(`${ind}  ${o()} += bpf_dynptr_copy(&${p}, ${off(p)}, &${q}, ${off(q)}, ${r.chance(0.5) ? n : off()});`);
          break;
        case 11:
          kinds.add('memset');
          lines.push(`${ind}  ${o()} += bpf_dynptr_memset(&${p}, ${off(p)}, ${r.chance(0.5) ? n : off()}, ${r.pick(['0', '0xff', '0x5a', `(__u8)${leaf()}`])});`);
          break;
        default:
          if (thrower && r.chance(0.3)) lines.push(`${ind}  ${o()} += ${thrower}(${leaf()}, ${inF()});`);
          else lines.push(`${ind}  ${o()} ^= ${e()};`);
      }
    }
    if (close) lines.push(close);
    lines.push(`${ind}}`);
    return lines;
  };

  const stmt = (ind: string): string[] => {
    const k = r.int(20);
    switch (k) {
      case 0: case 1: case 2: case 3: case 4: case 5: return dynBlock(ind);
      case 6: {
        kinds.add('ringbuf-dynptr');
        const sz = r.pick(['8', '16', '1', '0', '13', '100', '512', '4088', '4096', '5000', `${inF()} & 0x1ff`, `${inF()} & 0xfff`]);
        const lines = [`${ind}{ struct bpf_dynptr dr; __u8 rbuf[16] = {}; long rr = bpf_ringbuf_reserve_dynptr(&rb, ${sz}, ${r.chance(0.1) ? '1' : '0'}, &dr); ${o()} += rr;`];
        for (let i = r.int(4); i > 0; i--) {
          const j = r.int(5);
          if (j === 0) lines.push(`${ind}  rbuf[${r.int(16)}] = (__u8)${leaf()}; ${o()} += bpf_dynptr_write(&dr, ${off('dr')}, rbuf, ${r.pick(['1', '4', '16'])}, 0);`);
          else if (j === 1) lines.push(`${ind}  ${o()} += bpf_dynptr_memset(&dr, ${off('dr')}, ${off()}, 0xab);`);
          else if (j === 2) lines.push(`${ind}  ${o()} += bpf_dynptr_read(rbuf, ${r.pick(['1', '8', '16'])}, &dr, ${off('dr')}, 0) + rbuf[${r.int(16)}];`);
          else if (j === 3) lines.push(`${ind}  ${o()} += bpf_dynptr_adjust(&dr, ${off('dr')}, ${off('dr')}) + bpf_dynptr_size(&dr) * 3 + ISNULL(&dr);`);
          else lines.push(`${ind}  ${o()} += bpf_dynptr_size(&dr) + ISRDONLY(&dr) * 7;`);
        }
        lines.push(`${ind}  if (${inF()} & 1) bpf_ringbuf_submit_dynptr(&dr, 0); else bpf_ringbuf_discard_dynptr(&dr, 0);`,
          `${ind}  ${o()} += bpf_ringbuf_query(&rb, ${r.pick(['BPF_RB_AVAIL_DATA', 'BPF_RB_RING_SIZE', 'BPF_RB_CONS_POS', 'BPF_RB_PROD_POS', '7'])}); }`);
        return lines;
      }
      case 7: case 8: {
        kinds.add('bits');
        const src = r.pick(['bits', 'bits', '&in.q[1]', 'mvq', '0', '(const __u64 *)(long)8']);
        const max = src === 'bits' ? 4 : src === '&in.q[1]' ? 7 : src === 'mvq' ? 4 : 4;
        const nw = r.chance(0.75) ? String(r.int(max + 1)) : r.pick(['512', '513', '0x7fffffff', '0x20000000', '0x20000001']);
        const lim = r.pick(['8', '64', '300']);
        const pre = src === 'mvq' ? `__u32 bk = ${leaf()} & 3; struct val *bv = bpf_map_lookup_elem(&av, &bk); if (!bv) return XDP_ABORTED; const __u64 *mvq = bv->q; ` : '';
        return [`${ind}{ ${pre}struct bpf_iter_bits it; int *b; __u64 acc = 0; int n = 0;`,
          `${ind}  ${o()} += bpf_iter_bits_new(&it, ${src}, ${nw});`,
          `${ind}  while ((b = bpf_iter_bits_next(&it))) { acc = acc * 3 + *b; if (++n >= ${lim}) break; }`,
          `${ind}  bpf_iter_bits_destroy(&it); ${o()} += acc + n * 1000; }`];
      }
      case 9: case 10: {
        kinds.add('sum-elem');
        const m = r.pick(['hv', 'lv', 'phv', 'lphv']);
        const op = r.int(3);
        const upd = op === 2 ? `bpf_map_delete_elem(&${m}, &mk)` : `bpf_map_update_elem(&${m}, &mk, &mval, ${r.pick(['BPF_ANY', 'BPF_NOEXIST', 'BPF_EXIST'])})`;
        return [`${ind}{ __u32 mk = ${leaf()} & 7; __u64 mval = ${leaf()}; ${o()} += ${upd};`,
          `${ind}  ${o()} += bpf_map_sum_elem_count((const struct bpf_map *)&${r.pick(['hv', 'lv', 'phv', 'lphv', m, m, 'av', 'lk'])}) * 16; }`];
      }
      case 11: {
        kinds.add('res-lock');
        const irq = r.chance(0.3);
        return [`${ind}{ __u32 k = ${leaf()} & 3; struct lval z = {}; ${irq ? 'unsigned long fl; ' : ''}${o()} += bpf_map_update_elem(&lk, &k, &z, ${r.pick(['BPF_NOEXIST', 'BPF_ANY'])});`,
          `${ind}  struct lval *p = bpf_map_lookup_elem(&lk, &k);`,
          `${ind}  if (p) { if (!${irq ? 'bpf_res_spin_lock_irqsave(&p->l, &fl)' : 'bpf_res_spin_lock(&p->l)'}) { p->n += ${r.pick(['1', '3'])}; p->s ^= ${e()}; ${irq ? 'bpf_res_spin_unlock_irqrestore(&p->l, &fl)' : 'bpf_res_spin_unlock(&p->l)'}; } ${o()} += p->n + p->s; } }`];
      }
      case 12: {
        const w = r.int(3);
        kinds.add(['rcu', 'preempt', 'irq'][w]!);
        const [a, b] = w === 0 ? ['bpf_rcu_read_lock();', 'bpf_rcu_read_unlock();'] : w === 1 ? ['bpf_preempt_disable();', 'bpf_preempt_enable();']
          : ['unsigned long irqf; bpf_local_irq_save(&irqf);', 'bpf_local_irq_restore(&irqf);'];
        return [`${ind}{ ${a} ${o()} += ${e()}; { __u32 mk = ${leaf()} & 7; __u64 mval = ${leaf()}; ${o()} += bpf_map_update_elem(&hv, &mk, &mval, 0); } ${b} }`];
      }
      // (No RX metadata kfuncs: bpftool's test run cannot load them, as they need a device-bound program, while run
      // models the driver as the device and runs them.)
      case 13: return [`${ind}${o()} += ${e()};`];
      case 14: case 15: {
        kinds.add('ct');
        const v6 = r.chance(0.2);
        const tsz = r.pick([v6 ? 'sizeof(tup.ipv6)' : 'sizeof(tup.ipv4)', v6 ? 'sizeof(tup.ipv6)' : 'sizeof(tup.ipv4)', '20', '0', '37']);
        const osz = r.pick(['sizeof(opts)', 'sizeof(opts)', '12', '8', '16', '20']);
        const fill = v6
          ? `__builtin_memcpy(&tup.ipv6, &in.b[${r.int(20)}], 36);`
          : `tup.ipv4.saddr = in.w[${r.int(4)}] & 0x3030303; tup.ipv4.daddr = in.w[${r.int(4)}] & 0x3030303; tup.ipv4.sport = in.h[${r.int(8)}] & 3; tup.ipv4.dport = ${r.chance(0.5) ? '0x5000' : `in.h[${r.int(8)}] & 3`};`;
        const opts = `struct bpf_ct_opts opts = { .netns_id = ${r.pick(['-1', '-1', '-1', '0', '1', '-2'])}, .l4proto = ${r.pick(['IPPROTO_TCP', 'IPPROTO_UDP', 'IPPROTO_UDP', 'IPPROTO_ICMP', '0'])}${r.chance(0.1) ? ', .reserved = { 1 }' : ''}${r.chance(0.1) ? `, .dir = ${r.pick(['1', '2'])}` : ''}${r.chance(0.1) ? ', .ct_zone_id = 1' : ''} };`;
        const lines = [`${ind}{ struct bpf_sock_tuple tup = {}; ${opts} struct nf_conn *ct, *ins; ${fill}`];
        if (r.chance(0.5)) {
          lines.push(`${ind}  ct = bpf_xdp_ct_lookup(ctx, &tup, ${tsz}, &opts, ${osz}); ${o()} += opts.error * 7 + opts.dir;`,
            `${ind}  if (ct) { ${o()} += 1000 + (ct->status & 0xffff)${r.chance(0.3) ? ` + bpf_ct_change_status(ct, ${r.pick(['2', '4', '8', '0x10'])})` : ''}; bpf_ct_release(ct); } }`);
        } else {
          lines.push(`${ind}  ct = bpf_xdp_ct_alloc(ctx, &tup, ${tsz}, &opts, ${osz}); ${o()} += opts.error * 7;`,
            `${ind}  if (ct) { bpf_ct_set_timeout(ct, ${r.pick(['10000', '30000', '1'])}); ${o()} += bpf_ct_set_status(ct, ${r.pick(['0', '2', '4', '8', '0x10', '0x40', `${inF()} & 0xff`])});`,
            `${ind}    ins = bpf_ct_insert_entry(ct); if (ins) { ${o()} += 500 + (ins->status & 0xffff); bpf_ct_release(ins); } else ${o()} += 3; } }`);
        }
        return lines;
      }
      case 16: {
        if (!thrower && r.chance(0.7)) return [];
        kinds.add('throw');
        return [`${ind}if ((${inF()} & ${r.pick(['3', '7', '15'])}) == ${r.int(3)}) bpf_throw(${r.pick(['0', '1', '2', '3', '0x100000002ULL', '0xfffffffeULL', `${inF()}`])});`];
      }
      case 17: {
        if (!thrower) return [`${ind}${o()} += ${e()};`];
        return [`${ind}${o()} += ${thrower}(${leaf()}, ${inF()});`];
      }
      default:
        return [`${ind}if ((__u32)${e()} > (__u32)${e()}) ${o()} ^= ${e()}; else ${o()} += ${e()};`];
    }
  };
  const body: string[] = [];
  for (let n = 4 + r.int(8); n > 0; n--) body.push(...stmt('  '));
  if (mistake) {
    // A Prng of its own: the rest of the seed's program is as without the mistake.
    const m = new Prng(seed ^ 0x6d15);
    // An uninitialised dynptr goes first: a dynptr an earlier block left in the same stack slot is an initialised one.
    body.splice(m.chance(0.5) || mistake === 'dynptr-uninit' ? 0 : body.length, 0, `  ${mistakeSource(mistake, () => `in.b[${m.int(64)}]`)}`);
    kinds.add(`mistake:${mistake}`);
  }

  const source = `${HEADER}
${fnDefs.join('\n')}
SEC("xdp${frags ? '.frags' : ''}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  __u8 mb[48];
  __u64 bits[4];
  if (bpf_xdp_load_bytes(ctx, 0, &in, 64) < 0) return XDP_PASS;
  __builtin_memcpy(mb, &in.b[${r.int(17)}], 48);
  __builtin_memcpy(bits, &in.b[${r.int(33)}], 32);
${body.join('\n')}
  o[14] ^= *(__u64 *)&mb[0] ^ *(__u64 *)&mb[${8 * (1 + r.int(5))}];
  o[15] ^= bits[${r.int(4)}];
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return (__u32)(o[${r.int(16)}] ^ o[0]) % 4;
}
`;
  return { source, opt, mcpu, frags, kinds: [...kinds].sort() };
}
