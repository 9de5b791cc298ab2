// Random XDP programs in C from a small grammar where values flow from one helper or map into the next (the other C
// generators take every argument from packet bytes or constants, one statement at a time): eight typed variables
// (__u8 .. __s64) read from the packet, assigned expressions over each other (32- and 64-bit arithmetic, casts between
// signed and unsigned widths, unsigned division and modulo (divisors or-ed with 1: a C division by 0 lets clang leave
// a key unwritten, and the kernel's stack garbage then decides the lookup), masked shifts, signed comparisons,
// ternaries), dense switches that clang turns into lookup tables in .rodata, bounded loops, and statements whose
// arguments and results are those variables: QUEUE/STACK push/pop/peek (popped values become keys), ARRAY_OF_MAPS and
// HASH_OF_MAPS lookups with computed outer and inner keys, LPM trie updates and lookups with computed prefixes, HASH
// updates/lookups/deletes, atomics of 32 and 64 bits with and without fetch (add, sub, or, and, xor, xchg, cmpxchg) on
// map values, globals and the stack, bpf_loop and bpf_for_each_map_elem with generated callbacks, ring buffer
// output/reserve/submit/discard with computed sizes and flags, bpf_csum_diff with computed sizes, load/store_bytes at
// computed offsets, adjust_tail/head by computed amounts, bpf_redirect_map with computed keys and flags, bpf_check_mtu,
// bpf_fib_lookup. Every variable ends in o[16], logged per packet in a HASH and written over the packet's start.
// The walked HASH is BPF_F_ZERO_SEED (with a random seed the kernel's walk order differs from run to run); bpf_loop
// counts stay small (8,388,608 callbacks per packet take minutes in the simulator).
import { Prng } from './gen.ts';
import type { SProgram } from './sgen.ts';

const TYPES = ['__u8', '__s8', '__u16', '__s16', '__u32', '__s32', '__u64', '__s64'] as const;
type CType = (typeof TYPES)[number];
const WIDE: Record<CType, boolean> = { __u8: false, __s8: false, __u16: false, __s16: false, __u32: false, __s32: false, __u64: true, __s64: true };

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct lpmk { __u32 plen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 6); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, __u64); } hsh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } que SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 3); __type(value, __u64); } stk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 6); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lpmk); __type(value, __u32); } lpm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } dev SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } cpum SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
struct ainner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } ai0 SEC(".maps"), ai1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 3); __type(key, __u32); __array(values, struct ainner); } aom SEC(".maps") = { .values = { [0] = &ai0, [2] = &ai1 } };
struct hinner { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 3); __type(key, __u32); __type(value, __u32); } hi0 SEC(".maps"), hi1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 4); __type(key, __u32); __array(values, struct hinner); } hom SEC(".maps") = { .values = { [1] = &hi0, [3] = &hi1 } };
struct cbctx { __u64 a; __u64 b; __u32 w; __s32 s; };
__u64 g64[4] = { 1, 0xffffffffffffffffULL, 0x8000000000000000ULL, 7 };
__u32 g32[4] = { 0, 0xffffffff, 0x80000000, 3 };
__u32 counter;
`;

// Drawn apart from the rest (EXTRA_SALT), so a seed keeps the statements it had before these were added, and
// generateEProgram(seed, false) gives the program it gave then.
const EXTRA_SALT = 0x5eed1207;
const EXTRA_HEADER: Record<string, string> = {
  ro: `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __uint(map_flags, BPF_F_RDONLY_PROG); __type(key, __u32); __type(value, __u64[3]); } ro SEC(".maps");`,
  rodata: `const volatile __u8 ron = RON; const volatile __u32 rc32[4] = { 3, 0xffffffff, 0x80000000, 0 }; const volatile __s64 rc64 = -5; const volatile __u16 rmask = 0x0ff0;`,
  big: `struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u8[24]); } big SEC(".maps");`,
};

export function generateEProgram(seed: number, extras = true): SProgram {
  let r = new Prng(seed);
  const kinds = new Set<string>();
  const mcpu = r.pick(['-mcpu=v3', '-mcpu=v3', '-mcpu=v3', '-mcpu=v2']);
  const fetch = mcpu === '-mcpu=v3';
  const nv = 8;
  const vt: CType[] = Array.from({ length: nv }, () => r.pick(TYPES));
  const V = (): string => `v${r.int(nv)}`;
  const B = (): string => `p[${r.int(64)}]`;
  const edge = (): string =>
    r.pick(['0', '1', '2', '3', '7', '31', '32', '63', '64', '255', '0x7f', '0x80', '0xffff', '0x7fffffff', '0x80000000', '0xffffffffU',
      '0x100000000ULL', '0x7fffffffffffffffLL', '0x8000000000000000ULL', '-1', '-2', '-128', '-32768', '(-0x7fffffff - 1)']);
  let depth = 0;
  const expr = (d: number): string => {
    if (d <= 0 || r.chance(0.25)) return r.chance(0.7) ? V() : edge();
    const a = expr(d - 1);
    const b = expr(d - 1);
    switch (r.int(14)) {
      case 0: return `(${a} + ${b})`;
      case 1: return `(${a} - ${b})`;
      case 2: return `(${a} * ${b})`;
      case 3: return `(${a} & ${b})`;
      case 4: return `(${a} | ${b})`;
      case 5: return `(${a} ^ ${b})`;
      case 6: { const w = r.pick(['__u32', '__u64']); return `((${w})(${a}) << ((${b}) & ${w === '__u32' ? 31 : 63}))`; }
      case 7: { const w = r.pick(['__u32', '__u64', '__s32', '__s64']); return `((${w})(${a}) >> ((${b}) & ${w.endsWith('32') ? 31 : 63}))`; }
      case 8: { const w = r.pick(['__u32', '__u64']); return `((${w})(${a}) ${r.pick(['/', '%'])} (${w})((${b}) | 1))`; }
      case 9: return `((${r.pick(TYPES)})(${a}))`;
      case 10: { const w = r.pick(['__s32', '__s64', '__u32', '__s8', '__s16']); return `((${w})(${a}) ${r.pick(['<', '>', '<=', '>=', '==', '!='])} (${w})(${b}))`; }
      case 11: return `(${expr(d - 1)} ${r.pick(['<', '>', '=='])} ${a} ? ${b} : ${expr(d - 1)})`;
      case 12: return `(-(${a}))`;
      default: return `(~(${a}))`;
    }
  };
  const small = (mask: number): string => `((__u32)(${expr(2)}) & ${mask})`;
  const out = (): string => `o[${r.int(16)}]`;
  const cbs: string[] = [];
  const cbBody = (): string => {
    const f = (): string => r.pick(['c->a', 'c->b', 'c->w', 'c->s']);
    const e = (): string => r.pick([f(), 'i', 'k', edge(), `(${f()} ${r.pick(['+', '^', '*', '-', '|'])} ${r.pick([f(), 'i', 'k', edge()])})`]);
    const lines: string[] = [];
    for (let j = 0, m = 1 + r.int(3); j < m; j++) lines.push(`${f()} ${r.pick(['=', '+=', '^=', '|='])} ${e()};`);
    lines.push(`return ${r.pick(['0', '0', `(${f()} & ${r.pick([1, 3, 7, 15])}) == ${r.int(4)}`, `i >= ${r.int(6)}`, '1', '0', '1'])};`);
    return lines.join(' ');
  };
  const stmt = (): string => {
    const k = r.pick(['assign', 'assign', 'assign', 'if', 'switch', 'loop', 'queue', 'stack', 'aom', 'hom', 'lpm', 'hash', 'atomic', 'atomic', 'bloop', 'foreach',
      'ring', 'csum', 'bytes', 'tail', 'head', 'redir', 'mtu', 'fib', 'assign']);
    kinds.add(k);
    switch (k) {
      case 'assign': return `${V()} ${r.pick(['=', '=', '+=', '^=', '-=', '|='])} ${expr(1 + r.int(3))};`;
      case 'if': {
        if (depth >= 2) return `${V()} = ${expr(2)};`;
        depth++;
        const s = `if (${expr(2)}) { ${block(1 + r.int(2))} } else { ${block(r.int(2))} }`;
        depth--;
        return s;
      }
      case 'switch': {
        const n = 4 + r.int(6);
        const x = V();
        const target = V();
        if (r.chance(0.6)) {
          // Constants only: clang makes a lookup table of them.
          const cases = Array.from({ length: n }, (_, i) => `case ${i}: ${target} = ${r.chance(0.5) ? edge() : String(r.int(100000))}; break;`).join(' ');
          return `switch (${r.chance(0.5) ? `(__u32)${x} & 15` : `(__s32)${x}`}) { ${cases} default: ${target} ${r.pick(['+=', '='])} ${r.int(9)}; }`;
        }
        if (depth >= 2) return `${V()} = ${expr(2)};`;
        depth++;
        const step = r.pick([1, 1, 2, 3]);
        const cases = Array.from({ length: n }, (_, i) => `case ${i * step}: ${block(1)} ${r.chance(0.8) ? 'break;' : ''}`).join(' ');
        depth--;
        return `switch ((__u32)${x} & 7) { ${cases} default: ${V()} ^= ${edge()}; }`;
      }
      case 'loop': {
        if (depth >= 2) return `${V()} += ${expr(2)};`;
        depth++;
        const s = `for (int i = 0; i < ${1 + r.int(6)}; i++) { ${V()} ${r.pick(['+=', '^=', '='])} ${expr(2)} + i; ${r.chance(0.4) ? block(1) : ''} ${r.chance(0.3) ? `if (${expr(1)} & 1) break;` : ''} }`;
        depth--;
        return s;
      }
      case 'queue': {
        const op = r.pick(['push', 'push', 'pop', 'peek']);
        if (op === 'push') return `{ __u32 x = ${expr(2)}; ${out()} += bpf_map_push_elem(&que, &x, ${r.pick(['0', '0', '2', `(${V()} & 2)`, '1'])}); }`;
        return `{ __u32 x = ${r.pick(['0', V()])}; long e = bpf_map_${op}_elem(&que, &x); ${out()} += e; ${V()} = ${r.chance(0.5) ? 'x' : 'e ? x * 3 : x'}; }`;
      }
      case 'stack': {
        const op = r.pick(['push', 'push', 'pop', 'peek']);
        if (op === 'push') return `{ __u64 x = ${expr(2)}; ${out()} += bpf_map_push_elem(&stk, &x, ${r.pick(['0', '0', '2', `(${V()} & 2)`])}); }`;
        return `{ __u64 x = ${r.pick(['5', V()])}; ${out()} += bpf_map_${op}_elem(&stk, &x); ${V()} = x; }`;
      }
      case 'aom': {
        const write = r.chance(0.5) ? `*pv ${r.pick(['+=', '^=', '='])} ${expr(2)};` : '';
        return `{ __u32 ok = ${r.chance(0.7) ? small(3) : V()}; void *im = bpf_map_lookup_elem(&aom, &ok); if (im) { __u32 ik = ${r.chance(0.8) ? small(r.pick([3, 7])) : V()}; __u64 *pv = bpf_map_lookup_elem(im, &ik); if (pv) { ${V()} = *pv; ${write} } else ${out()} += 11; } else ${out()} += 13; }`;
      }
      case 'hom': {
        const op = r.pick(['update', 'update', 'lookup', 'lookup', 'delete']);
        const body = op === 'update' ? `__u32 x = ${expr(2)}; ${out()} += bpf_map_update_elem(im, &ik, &x, ${r.pick(['0', '0', '1', '2', `(${V()} & 3)`])}) + 20;`
          : op === 'delete' ? `${out()} += bpf_map_delete_elem(im, &ik) + 30;`
          : `__u32 *pv = bpf_map_lookup_elem(im, &ik); if (pv) { ${V()} = *pv; ${r.chance(0.5) ? `${fetch ? '__sync_fetch_and_add(pv, 1)' : '*pv += 1'};` : ''} } else ${out()} += 7;`;
        return `{ __u32 ok = ${small(3)}; void *im = bpf_map_lookup_elem(&hom, &ok); if (im) { __u32 ik = ${small(r.pick([3, 7]))}; ${body} } else ${out()} += 17; }`;
      }
      case 'lpm': {
        const op = r.pick(['update', 'update', 'lookup', 'lookup', 'delete']);
        const plen = op === 'lookup' && r.chance(0.6) ? r.pick(['32', `${small(63)}`]) : r.pick([`${small(31)}`, `${small(63)}`, String(r.pick([0, 1, 8, 16, 24, 31, 32, 33]))]);
        const d = Array.from({ length: 4 }, (_, i) => (i === 0 ? r.pick(['10', `(__u8)${V()}`]) : r.pick(['0', `(__u8)${V()}`, `(__u8)(${V()} >> 8)`, '0xff', `(${B()} & 0x81)`]))).join(', ');
        const mk = `struct lpmk k = { .plen = ${plen}, .d = { ${d} } };`;
        if (op === 'update') return `{ ${mk} __u32 x = ${expr(2)}; ${out()} += bpf_map_update_elem(&lpm, &k, &x, ${r.pick(['0', '0', '1', '2'])}) + 40; }`;
        if (op === 'delete') return `{ ${mk} ${out()} += bpf_map_delete_elem(&lpm, &k) + 50; }`;
        return `{ ${mk} __u32 *pv = bpf_map_lookup_elem(&lpm, &k); ${V()} = pv ? *pv : ${edge()}; }`;
      }
      case 'hash': {
        const op = r.pick(['update', 'lookup', 'lookup', 'delete']);
        const key = r.chance(0.7) ? small(r.pick([3, 7, 15])) : `(__u32)${V()}`;
        if (op === 'update') return `{ __u32 k = ${key}; __u64 x = ${expr(2)}; ${out()} += bpf_map_update_elem(&hsh, &k, &x, ${r.pick(['0', '0', '1', '2', `(${V()} & 3)`])}); }`;
        if (op === 'delete') return `{ __u32 k = ${key}; ${out()} += bpf_map_delete_elem(&hsh, &k); }`;
        return `{ __u32 k = ${key}; __u64 *pv = bpf_map_lookup_elem(&${r.pick(['hsh', 'arr'])}, &k); if (pv) { ${V()} = *pv; *pv ${r.pick(['+=', '^=', '='])} ${expr(1)}; } else ${out()} += 3; }`;
      }
      case 'atomic': {
        const w64 = r.chance(0.5);
        const t = w64 ? '__u64' : '__u32';
        const target = r.pick(['map', 'global', 'stack']);
        const arg = `(${t})(${expr(2)})`;
        const ops = fetch
          ? [`__sync_fetch_and_add(pv, ${arg})`, `__sync_fetch_and_sub(pv, ${arg})`, `__sync_fetch_and_or(pv, ${arg})`, `__sync_fetch_and_and(pv, ${arg})`,
              `__sync_fetch_and_xor(pv, ${arg})`, `__sync_lock_test_and_set(pv, ${arg})`, `__sync_val_compare_and_swap(pv, ${r.chance(0.5) ? '*pv' : arg}, ${arg})`]
          : [];
        const op = fetch && r.chance(0.75) ? `${V()} = ${r.pick(ops)};` : `__sync_fetch_and_add(pv, ${arg});`;
        if (target === 'global') return `{ ${t} *pv = &g${w64 ? 64 : 32}[${r.int(4)}]; ${op} }`;
        if (target === 'stack') return `{ ${t} s = ${expr(1)}; ${t} *pv = &s; ${op} ${V()} ^= s; }`;
        if (w64) return `{ __u32 k = ${small(7)}; __u64 *pv = bpf_map_lookup_elem(&arr, &k); if (pv) { ${op} } }`;
        return `{ __u32 ok = ${small(3)}; void *im = bpf_map_lookup_elem(&hom, &ok); if (im) { __u32 ik = ${small(3)}; __u32 *pv = bpf_map_lookup_elem(im, &ik); if (pv) { ${op} } } }`;
      }
      case 'bloop': {
        const name = `cb${cbs.length}`;
        cbs.push(`static long ${name}(__u32 i, struct cbctx *c) { __u32 k = i; ${cbBody()} }`);
        return `{ struct cbctx c = { .a = ${V()}, .b = ${V()}, .w = ${V()}, .s = ${V()} }; ${out()} += bpf_loop(${r.chance(0.7) ? small(15) : r.pick(['0', '1', '300', '8388609'])}, ${name}, &c, ${r.pick(['0', '0', '0', '1'])}); ${V()} = c.a; ${V()} ^= c.b + c.w + c.s; }`;
      }
      case 'foreach': {
        const name = `fe${cbs.length}`;
        const m = r.pick(['arr', 'hsh']);
        cbs.push(`static long ${name}(void *m, __u32 *kp, __u64 *v, struct cbctx *c) { __u32 i = *kp; __u64 k = *v; ${r.chance(0.4) ? `*v += c->w;` : ''} ${cbBody()} }`);
        return `{ struct cbctx c = { .a = ${V()}, .b = ${V()}, .w = ${V()}, .s = ${V()} }; ${out()} += bpf_for_each_map_elem(&${m}, ${name}, &c, 0); ${V()} = c.a ^ c.b; ${V()} += c.w; }`;
      }
      case 'ring': {
        if (r.chance(0.5)) return `{ __u64 b[4] = { ${V()}, ${V()}, ${expr(1)}, 9 }; ${out()} += bpf_ringbuf_output(&rb, b, ${r.chance(0.5) ? small(31) : r.pick(['1', '8', '32', '0'])}, ${r.pick(['0', '1', '2', '3', `(${V()} & 3)`])}); }`;
        const sz = r.pick(['8', '16', '4088', '4096', '1', '3']);
        return `{ __u64 *e = bpf_ringbuf_reserve(&rb, ${sz}, 0); ${V()} = e ? 1 : 0; if (e) { *(__u8 *)e = ${V()}; if (${expr(1)} & 1) bpf_ringbuf_submit(e, ${r.pick(['0', '1', '2'])}); else bpf_ringbuf_discard(e, ${r.pick(['0', '1', '2'])}); } }`;
      }
      case 'csum': {
        const from = r.chance(0.5) ? small(r.pick([63, 60, 28])) : r.pick(['0', '4', '64', '3', '60']);
        const to = r.chance(0.5) ? small(r.pick([31, 28, 4])) : r.pick(['0', '4', '8', '32']);
        return `{ ${V()} = bpf_csum_diff((__be32 *)p, ${from}, (__be32 *)(p + ${r.pick([0, 0, 32])}), ${to}, ${r.chance(0.5) ? V() : edge()}); }`;
      }
      case 'bytes': {
        const off = r.chance(0.6) ? small(r.pick([63, 255, 2047, 0xffff])) : `(__u32)${V()}`;
        const len = r.chance(0.5) ? String(r.pick([1, 2, 4, 8, 16])) : `${small(15)} + 1`;
        if (r.chance(0.5)) return `{ __u8 b[16] = {}; ${out()} += bpf_xdp_load_bytes(ctx, ${off}, b, ${len}); ${V()} = b[${r.int(16)}] | (__u64)b[${r.int(4)}] << 8; }`;
        return `{ __u64 b[2] = { ${V()}, ${expr(1)} }; ${out()} += bpf_xdp_store_bytes(ctx, ${off}, b, ${len}); }`;
      }
      case 'tail': return `${out()} += bpf_xdp_adjust_tail(ctx, ${r.chance(0.6) ? `(int)${small(r.pick([255, 4095, 0xffff]))} - ${r.pick([0, 64, 2048, 32768])}` : `(int)${V()}`});`;
      case 'head': return `${out()} += bpf_xdp_adjust_head(ctx, ${r.chance(0.6) ? `(int)${small(r.pick([63, 255]))} - ${r.pick([0, 32, 128])}` : `(int)${V()}`});`;
      case 'redir': {
        redirected = true;
        return `${V()} = bpf_redirect_map(&${r.pick(['dev', 'cpum', 'xsk'])}, ${r.chance(0.7) ? small(7) : V()}, ${r.chance(0.5) ? small(r.pick([3, 7, 31])) : r.pick(['0', '1', '2', '8', '16', '24', '0x100'])});`;
      }
      case 'mtu': return `{ __u32 m = ${r.chance(0.5) ? V() : '0'}; ${out()} += bpf_check_mtu(ctx, ${r.pick(['0', '1', small(3)])}, &m, ${r.chance(0.5) ? `(__s32)${V()}` : r.pick(['0', '-14', '1500', '65535'])}, 0); ${V()} = m; }`;
      case 'fib': {
        return `{ struct bpf_fib_lookup f = {}; f.family = ${r.pick(['2', '10', `(${V()} & 1) ? 2 : 10`])}; f.ifindex = ${r.pick(['1', small(3)])}; f.ipv4_dst = ${V()}; f.tot_len = ${V()}; ${out()} += bpf_fib_lookup(ctx, &f, sizeof(f), ${r.pick(['0', '1', '2', small(15)])}); ${V()} = f.ifindex ^ f.mtu_result; }`;
      }
    }
    return '';
  };
  const block = (n: number): string => Array.from({ length: n }, () => stmt()).join(' ');
  const uses = new Set<string>();
  let label = 0;
  const pkt = 'void *d = (void *)(long)ctx->data, *de = (void *)(long)ctx->data_end;';
  // What an XDP developer writes that the statements above never give: bit counting, byte swaps, checked arithmetic,
  // read-only maps and `const volatile` settings (a constant index the verifier folds, a computed one it does not),
  // goto to a cleanup label, memcpy of odd sizes between packet, stack and map value, switch on a packet byte read in
  // place. (clang 14 compiles no signed division or modulo by a constant for BPF, nor __builtin_memcmp: a call to
  // memcmp; a 64-bit __builtin_mul_overflow needs __multi3.)
  const extra = (): string => {
    const k = r.pick(['bits', 'bswap', 'ovf', 'ovf', 'rodata', 'rodata', 'romap', 'goto', 'goto', 'copy', 'copy', 'pswitch', 'pswitch']);
    kinds.add(k);
    switch (k) {
      case 'bits': {
        const f = r.pick(['__builtin_popcount((__u32)', '__builtin_popcountll((__u64)', '__builtin_parity((__u32)', '__builtin_parityll((__u64)', '__builtin_popcount((__u16)']);
        return `${V()} ${r.pick(['=', '+=', '^='])} ${f}(${expr(2)}))${r.chance(0.3) ? ` * ${r.pick(['3', V()])}` : ''};`;
      }
      case 'bswap': {
        const w = r.pick(['16', '32', '64']);
        return `${V()} ${r.pick(['=', '^=', '+='])} __builtin_bswap${w}((__u${w})(${expr(2)}));`;
      }
      case 'ovf': {
        const op = r.pick(['add', 'sub', 'mul']);
        const t = op === 'mul' ? r.pick(['__u16', '__s16', '__u32', '__s32', '__u8', '__s8']) : r.pick(['__u16', '__s16', '__u32', '__s32', '__u64', '__s64', '__u8']);
        // No 64-bit operand to a product: clang 14 calls __muloti4 for it.
        const narrow = TYPES.filter((x) => op !== 'mul' || !WIDE[x]);
        const a = r.chance(0.7) ? `(${r.pick(narrow)})(${expr(1)})` : `(${r.pick(narrow)})${edge()}`;
        const b = r.chance(0.7) ? `(${r.pick(narrow)})(${expr(1)})` : `(${r.pick(narrow)})${edge()}`;
        const use = r.chance(0.5) ? `if (__builtin_${op}_overflow(${a}, ${b}, &x)) ${r.chance(0.5) ? `${out()} += 1;` : `{ ${block(1)} }`} ${V()} = x;`
          : `${out()} += __builtin_${op}_overflow(${a}, ${b}, &x); ${V()} ^= x;`;
        return `{ ${t} x; ${use} }`;
      }
      case 'rodata': {
        uses.add('rodata');
        switch (r.int(4)) {
          case 0: return `if (ron) { ${block(1)} } else { ${V()} ^= rc32[${r.int(4)}]; }`;
          case 1: return `${V()} += rc32[${small(3)}];`;
          case 2: return `${V()} = (${V()} & rmask) ${r.pick(['+', '^', '*'])} rc64;`;
          default: return `if (rc32[${r.int(4)}] ${r.pick(['>', '==', '<'])} ${r.pick(['2', '0x80000000', '0'])}) { ${V()} += ${expr(1)}; } else { ${V()} -= rc64; }`;
        }
      }
      case 'romap': {
        uses.add('ro');
        // Now and then a store the verifier refuses ("write into map forbidden").
        const write = r.chance(0.06) ? `(*pv)[${r.int(3)}] = ${V()};` : '';
        return `{ __u32 k = ${small(r.pick([3, 7]))}; __u64 (*pv)[3] = bpf_map_lookup_elem(&ro, &k); if (pv) { ${write}${V()} ${r.pick(['=', '+=', '^='])} (*pv)[${r.int(3)}] + ${r.pick(['1', V()])}; } else ${out()} += 19; }`;
      }
      case 'goto': {
        const l = label++;
        const fail = `err${l}`, done = `done${l}`;
        if (r.chance(0.4)) {
          return `{ __u64 *e = bpf_ringbuf_reserve(&rb, ${r.pick(['8', '16'])}, 0); if (!e) goto ${fail}; *e = ${V()}; if (${expr(1)} & 1) { bpf_ringbuf_discard(e, 0); goto ${fail}; } bpf_ringbuf_submit(e, 0); ${V()} += 2; goto ${done}; ${fail}: ${out()} += ${1 + r.int(9)}; ${done}: ; }`;
        }
        return `{ __u32 k = ${small(r.pick([7, 15]))}; __u64 *pv = bpf_map_lookup_elem(&${r.pick(['arr', 'hsh'])}, &k); if (!pv) goto ${fail}; if ((${expr(1)}) ${r.pick(['& 1', '> 5', '== 0'])}) goto ${fail}; *pv ${r.pick(['+=', '^=', '='])} ${expr(1)}; ${V()} = *pv; goto ${done}; ${fail}: ${V()} ${r.pick(['^=', '+='])} ${edge()}; ${out()} += 1; ${done}: ; }`;
      }
      case 'copy': {
        const n = r.pick([1, 2, 3, 5, 6, 7, 9, 11, 13, 15, 17]);
        const so = r.int(24 - n + 1), po = r.pick([0, 1, 3, 14, 63, 64, 99, 130, 200]);
        const dir = r.pick(['pkt2stk', 'stk2pkt', 'pkt2map', 'map2stk', 'map2pkt', 'stk2map']);
        if (dir.includes('map')) uses.add('big');
        const fold = `${V()} ^= b[${r.int(24)}] | (__u64)b[${r.int(24)}] << 8; ${V()} += *(__u64 *)(b + ${r.pick([0, 8, 16])});`;
        const stack = `__u8 b[24] __attribute__((aligned(8))) = { ${V()}, ${V()} >> 8, 0xff };`;
        const check = `if (d + ${po + n} > de) { ${out()} += 23; } else`;
        const map = `__u32 mk = ${small(1)}; __u8 (*m)[24] = bpf_map_lookup_elem(&big, &mk); if (!m) { ${out()} += 29; } else`;
        switch (dir) {
          case 'pkt2stk': return `{ ${pkt} ${stack} ${check} { __builtin_memcpy(b + ${so}, d + ${po}, ${n}); ${fold} } }`;
          case 'stk2pkt': return `{ ${pkt} ${stack} ${check} { __builtin_memcpy(d + ${po}, b + ${so}, ${n}); } }`;
          case 'pkt2map': return `{ ${pkt} ${map} ${check} { __builtin_memcpy(*m + ${so}, d + ${po}, ${n}); } }`;
          case 'map2pkt': return `{ ${pkt} ${map} ${check} { __builtin_memcpy(d + ${po}, *m + ${so}, ${n}); } }`;
          case 'map2stk': return `{ ${stack} ${map} { __builtin_memcpy(b + ${so}, *m + ${r.int(24 - n + 1)}, ${n}); ${fold} } }`;
          default: return `{ ${stack} ${map} { __builtin_memcpy(*m + ${so}, b + ${r.int(24 - n + 1)}, ${n}); } }`;
        }
      }
      default: {
        const wide = r.chance(0.35);
        const off = wide ? r.pick([12, 12, 20, 23]) : r.pick([12, 13, 14, 23, 30, 47]);
        const vals = wide ? ['0x0008', '0xdd86', '0x0608', '0', '0xffff', '0x0081'] : ['0', '1', '6', '17', '0x7f', '0x80', '0xff', '0x45', '0x86', '0x08'];
        const cases = r.pick([vals.slice(0, 3), vals.slice(0, 5), vals]).map((c) => `case ${c}: ${r.chance(0.6) ? `${V()} ${r.pick(['=', '+=', '^='])} ${r.chance(0.5) ? edge() : expr(1)};` : block(1)} ${r.chance(0.85) ? 'break;' : ''}`);
        const sel = wide ? `*(__u16 *)(d + ${off})` : r.chance(0.3) ? `*(__u8 *)(d + ${off}) >> 4` : `*(__u8 *)(d + ${off})`;
        return `{ ${pkt} if (d + ${off + (wide ? 2 : 1)} <= de) { switch (${sel}) { ${cases.join(' ')} default: ${out()} += ${r.int(5)}; } } }`;
      }
    }
  };
  let redirected = false;
  const body: string[] = [];
  const n = 6 + r.int(12);
  for (let i = 0; i < n; i++) body.push(stmt());
  let ronValue = '0';
  if (extras) {
    const saved = r;
    r = new Prng((seed ^ EXTRA_SALT) >>> 0);
    ronValue = r.pick(['0', '1']);
    for (let i = 0, m = 2 + r.int(5); i < m; i++) body.splice(r.int(body.length + 1), 0, extra());
    r = saved;
  }
  const frags = r.chance(0.2);
  const inits = vt.map((t, i) => {
    const w = WIDE[t] ? 8 : t.endsWith('16') ? 2 : t.endsWith('32') ? 4 : 1;
    return `${t} v${i}; __builtin_memcpy(&v${i}, p + ${r.int(64 - w + 1)}, ${w});`;
  });
  const fold = vt.map((_, i) => `o[${i}] += (__u64)v${i}; o[${8 + (i % 8)}] ^= (__u64)v${i} << ${i};`).join(' ');
  const ret = redirected && r.chance(0.5) ? `o[${r.int(16)}] & 7` : `(o[${r.int(16)}] ^ o[0]) % 4`;
  const extraHeader = [...uses].sort().map((u) => EXTRA_HEADER[u]!.replace('RON', ronValue));
  const source = `${HEADER}${extraHeader.map((l) => `${l}\n`).join('')}
${cbs.join('\n')}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  __u8 p[64];
  if (bpf_xdp_load_bytes(ctx, 0, p, 64) < 0) return XDP_PASS;
  ${inits.join('\n  ')}
${body.map((l) => `  ${l}`).join('\n')}
  ${fold}
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return ${ret};
}
`;
  return { source, opt: r.pick(['-O1', '-O2', '-O2', '-O3', '-Os']), mcpu, frags, kinds: [...kinds].sort() };
}
