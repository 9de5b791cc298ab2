// Random XDP programs in C for what sgen/cgen/mgen/xgen leave out or only touch (vfuzz): the shapes clang makes of
//   calls:    static noinline and global functions of five arguments of mixed widths (u8, s16, u32, s64, a pointer to a
//             stack block; a global one takes the context and checks its pointer), returning narrow and signed types
//             (u8, s8, s16, u32, s32, u64), so the caller and callee truncate and sign-extend sub-registers; chains of
//             them; bpf_loop callbacks that call them, read the context through a pointer held in their own context,
//             stop early, and nested bpf_loop
//   memory:   __builtin_memcpy / memset / memmove of odd sizes (1..37) at odd offsets: packet to stack, stack to
//             packet, packet to packet (overlapping), memset on the packet, map value to packet and back, whole
//             struct copies between stack and map values
//   atomics:  __sync_* of 32 and 64 bits (add/or/and/xor with and without fetch, xchg, cmpxchg) on the stack, on
//             .bss / .data globals at masked indexes, on ARRAY / HASH / LRU_HASH / PERCPU_ARRAY values
//   32-bit:   sub-register arithmetic that wraps, s32 compares and shifts, (s64)(s32)/(s8)/(s16) sign extensions,
//             u32 division and modulo by non-zero values, byte swaps (bpf_htons/htonl/__builtin_bswap64) of packet
//             fields written back
//   packet:   bpf_xdp_adjust_head then a memmove of the old header to the new front (encapsulation), adjust_meta and a
//             metadata struct written with memcpy and read back, adjust_tail, bpf_csum_diff over packet memory
// Results go to o[16]: a per-packet HASH log and the packet (as in sgen.ts); all maps are compared after the run.
// clang -O1/-O2/-O3/-Os with -mcpu=v1/v2/v3 (fetching atomics only at v3).
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
struct blk { __u8 b[40]; };
struct val { __u64 q[3]; __u32 w[3]; __u8 b[13]; };
struct meta { __u32 a; __u16 b; __u8 c; };
struct lctx { __u64 acc; __u32 k; __u32 stop; struct xdp_md *x; struct blk bk; };
union in64 { __u8 b[64]; __u16 h[32]; __u32 w[16]; __u64 q[8]; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } av SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u16); __type(value, struct val); } hv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 3); __type(key, __u32); __type(value, struct val); } lv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct val); } pv SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
__u64 gq[4];
__u32 gw[5];
__u64 dq[3] = { 1, 0x8000000000000000ULL, 0xffffffff };
const volatile __u32 rc[8] = { 0, 1, 0x7f, 0x80, 0xffff, 0x80000000, 0xffffffff, 3 };
__u32 counter;
`;

const TYPES = ['__u8', '__s8', '__u16', '__s16', '__u32', '__s32', '__u64', '__s64'] as const;
const SPECIAL = ['0', '1', '7', '31', '32', '0x7f', '0x80', '0xff', '0x7fff', '0x8000', '0xffff', '0x7fffffff', '0x80000000U',
  '0xffffffffU', '0x100000000ULL', '0x8000000000000000ULL', '-1', '-128', '-32768', '(-2147483647 - 1)'];

export function generateVProgram(seed: number): SProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  const mcpu = r.pick(['-mcpu=v1', '-mcpu=v2', '-mcpu=v3', '-mcpu=v3', '-mcpu=v3']);
  const opt = r.pick(['-O1', '-O2', '-O2', '-O3', '-Os']);
  const v3 = mcpu === '-mcpu=v3';
  const NV = 6;
  const vt = Array.from({ length: NV }, () => r.pick(TYPES));
  const v = (): string => `v${r.int(NV)}`;
  const o = (): string => `o[${r.int(16)}]`;
  const inF = (): string => r.pick([`in.b[${r.int(64)}]`, `in.h[${r.int(32)}]`, `in.w[${r.int(16)}]`, `in.q[${r.int(8)}]`, `in.b[${v()} & 63]`]);
  const leaf = (): string => {
    const k = r.int(8);
    if (k < 3) return v();
    if (k < 5) return inF();
    if (k < 6) return `rc[${v()} & 7]`;
    return r.pick(SPECIAL);
  };
  const expr = (d: number): string => {
    if (d <= 0 || r.chance(0.25)) return leaf();
    const a = () => expr(d - 1);
    switch (r.int(14)) {
      case 0: return `(__u32)((__u32)${a()} ${r.pick(['+', '-', '*'])} (__u32)${a()})`;
      case 1: return `((__u64)${a()} ${r.pick(['+', '-', '*', '&', '|', '^'])} (__u64)${a()})`;
      case 2: kinds.add('s32'); return `((__s32)${a()} >> ${r.int(32)})`;
      case 3: kinds.add('s32'); return `((__s32)${a()} ${r.pick(['<', '<=', '>', '>='])} (__s32)${a()} ? ${a()} : ${a()})`;
      case 4: kinds.add('sext'); return `(__s64)(${r.pick(['__s32', '__s16', '__s8'])})${a()}`;
      case 5: kinds.add('div32'); return `((__u32)${a()} ${r.pick(['/', '%'])} ((__u32)${a()} | ${r.pick(['1', '3', '0x80'])}))`;
      case 6: kinds.add('div64'); return `((__u64)${a()} ${r.pick(['/', '%'])} ((__u64)${a()} | 1))`;
      case 7: kinds.add('bswap'); return `${r.pick(['bpf_htons((__u16)', 'bpf_ntohl((__u32)', '__builtin_bswap64((__u64)', '__builtin_bswap32((__u32)'])}${a()})`;
      case 8: return `((__u32)${a()} ${r.pick(['<<', '>>'])} (${a()} & 31))`;
      case 9: return `((__u64)${a()} ${r.pick(['<<', '>>'])} (${a()} & 63))`;
      case 10: return `((${r.pick(['__u32', '__s64', '__u16'])})${a()} ${r.pick(['==', '!=', '<', '>'])} (${r.pick(['__u32', '__s64', '__u16'])})${a()})`;
      case 11: return `(__u32)~(__u32)${a()}`;
      case 12: return `(-(__s32)${a()})`;
      default: return `((__u64)${a()} + ${r.pick(SPECIAL)})`;
    }
  };
  const e = (): string => expr(1 + r.int(3));
  // An index into a 40-byte block: mostly masked; sometimes `% 40`, which clang computes as x - x / 40 * 40 and the
  // verifier cannot bound (it tracks nothing through a division): the program is refused, and run must say so.
  // Not in global functions (`mod` false): the verifier checks those on their own, with their arguments as BTF types
  // them, which run's walk does not do yet (a known gap: vfuzz seed 5443340, "math between mem pointer and register
  // with unbounded min value" in g0, run reports no refusal).
  const ix = (x: string, mod = true): string => (r.chance(0.05) && mod ? `(${x}) % 40` : `(${x}) & 31`);

  // --- Functions: static noinline / global of five arguments, bpf_loop callbacks.
  const fnDefs: string[] = [];
  const statics: { name: string; ret: string }[] = [];
  const globals: string[] = [];
  const cbs: string[] = [];
  const fe = (): string => expr(1 + r.int(2)).replace(/\bv(\d)\b/g, (_m, i) => ['a', 'b', 'c', 'd', 'a', 'c'][Number(i)]!).replace(/\bin\.(\w)\[/g, 'bk->b[').replace(/bk->b\[(\d+)\]/g, (_m, i) => `bk->b[${Number(i) % 40}]`).replace(/bk->b\[([^\]]*) & 63\]/g, (_m, x) => `bk->b[${ix(`(__u32)${x}`)}]`);
  const makeStatic = (): { name: string; ret: string } => {
    const name = `s${statics.length}`;
    const ret = r.pick(['__u8', '__s8', '__s16', '__u32', '__s32', '__u64']);
    kinds.add('fn-static5');
    const lines = [`static __attribute__((noinline)) ${ret} ${name}(__u8 a, __s16 b, __u32 c, __s64 d, struct blk *bk) {`,
      `  __u64 t = ${fe()};`,
      // A write through bk first: a pointer argument only read is split by clang (argument promotion) into the bytes
      // read, past five arguments ("defined with too many args").
      `  bk->b[${r.int(40)}] ^= (__u8)t;`];
    for (let j = 1 + r.int(3); j > 0; j--) {
      const k = r.int(4);
      if (k === 0) lines.push(`  bk->b[${ix('t ^ a')}] ${r.pick(['=', '+=', '^='])} (__u8)(${fe()});`);
      else if (k === 1) lines.push(`  t ${r.pick(['+=', '^=', '*='])} ${fe()};`);
      else if (k === 2) lines.push(`  if ((__s32)c ${r.pick(['<', '>'])} (__s32)b) t = ${fe()};`);
      else lines.push(`  __builtin_memcpy(&bk->b[${r.int(20)}], &bk->b[${20 + r.int(20 - 7)}], ${1 + r.int(7)});`);
    }
    if (statics.length && r.chance(0.5)) {
      const s = r.pick(statics);
      lines.push(`  t += ${s.name}((__u8)t, (__s16)(t >> 8), c ^ a, d - b, bk);`);
    }
    lines.push(`  return (${ret})(t ^ d ^ ((__u64)b << 3) ^ a);`, '}');
    fnDefs.push(lines.join('\n'));
    const f = { name, ret };
    statics.push(f);
    return f;
  };
  const makeGlobal = (): string => {
    const name = `g${globals.length}`;
    kinds.add('fn-global5');
    const lines = [`__attribute__((noinline)) int ${name}(struct xdp_md *x, __u32 a, __s32 b, __u64 c, struct blk *bk) {`,
      '  if (!bk) return b;', `  __u64 t = c ^ a;`];
    if (r.chance(0.6)) {
      const n = r.pick([1, 2, 4, 8]);
      const off = r.int(40);
      lines.push('  void *d = (void *)(long)x->data, *de = (void *)(long)x->data_end;',
        `  if (d + ${off + n} <= de) { t += *(__u${n * 8} *)(d + ${off}); ${r.chance(0.5) ? `*(__u${n * 8} *)(d + ${off}) ^= (__u${n * 8})a;` : ''} }`);
    } else if (r.chance(0.85)) {
      // Mostly the context is read: a `struct xdp_md *` argument the function never reads is given whatever r1 holds
      // by clang, and the verifier refuses the call ("arg#0 expects pointer to ctx").
      lines.push(`  t += x->${r.pick(['ingress_ifindex', 'rx_queue_index'])};`);
    }
    lines.push(`  bk->b[${ix('a', false)}] ^= (__u8)(t >> ${r.int(56)});`);
    if (r.chance(0.4)) lines.push(`  __builtin_memset(&bk->b[${r.int(20)}], ${r.pick(['0', '0xa5'])}, ${1 + r.int(19)});`);
    if (globals.length && r.chance(0.4)) lines.push(`  t += ${r.pick(globals)}(x, a + 1, b - 1, t, bk);`);
    lines.push(`  return (int)(t ^ (t >> 32)) ${r.pick(['+', '^'])} b;`, '}');
    fnDefs.push(lines.join('\n'));
    globals.push(name);
    return name;
  };
  const makeCb = (): string => {
    const name = `cb${cbs.length}`;
    kinds.add('bpf_loop');
    const lines = [`static long ${name}(__u64 i, struct lctx *c) {`, `  c->acc = c->acc * ${r.pick(['31', '3', '0x100000001ULL'])} + i + c->bk.b[${ix('i')}];`];
    if (r.chance(0.4)) lines.push(`  c->bk.b[${ix('i * 7 + c->k')}] ^= (__u8)c->acc;`);
    if (r.chance(0.4)) {
      lines.push(`  { void *d = (void *)(long)c->x->data, *de = (void *)(long)c->x->data_end; if (d + i + 1 <= de && i < 64) c->acc += ((__u8 *)d)[i]; }`);
      kinds.add('cb-ctx');
    }
    if (statics.length && r.chance(0.5)) lines.push(`  c->acc += ${r.pick(statics).name}((__u8)i, (__s16)c->k, (__u32)c->acc, (__s64)i - 5, &c->bk);`);
    if (cbs.length && r.chance(0.3)) {
      kinds.add('bpf_loop-nested');
      lines.push(`  c->acc += bpf_loop(i & 3, ${r.pick(cbs)}, c, 0);`);
    }
    lines.push(`  return ++c->k >= c->stop${r.chance(0.3) ? ' || (c->acc & 0xf) == 3' : ''};`, '}');
    fnDefs.push(lines.join('\n'));
    cbs.push(name);
    return name;
  };
  const nFns = r.int(5);
  for (let i = 0; i < nFns; i++) {
    const k = r.int(3);
    if (k === 0) makeStatic();
    else if (k === 1) makeGlobal();
    else makeCb();
  }

  const pkt = (): string => 'data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;';
  const atomicOn = (ptr: string, w: 32 | 64): string => {
    kinds.add(`atomic${w}`);
    const x = `(__u${w})${leaf()}`;
    if (!v3) return `__sync_fetch_and_add(${ptr}, ${x});`;
    const op = r.pick(['add', 'or', 'and', 'xor', 'xchg', 'cas', 'addnf', 'xornf']);
    const call = { add: `__sync_fetch_and_add(${ptr}, ${x})`, or: `__sync_fetch_and_or(${ptr}, ${x})`, and: `__sync_fetch_and_and(${ptr}, ${x})`,
      xor: `__sync_fetch_and_xor(${ptr}, ${x})`, xchg: `__sync_lock_test_and_set(${ptr}, ${x})`,
      cas: `__sync_val_compare_and_swap(${ptr}, ${r.chance(0.5) ? `*(${ptr})` : x}, ${x})`, addnf: `__sync_add_and_fetch(${ptr}, ${x})`,
      xornf: `__sync_xor_and_fetch(${ptr}, ${x})` }[op]!;
    return `${o()} += ${call};`;
  };
  const mapVal = (): { lookup: string; name: string } => {
    const m = r.pick(['av', 'av', 'hv', 'lv', 'pv']);
    const key = m === 'hv' ? `__u16 mk = ${leaf()} & 3;` : `__u32 mk = ${leaf()} & ${m === 'pv' ? 1 : 3};`;
    return { name: m, lookup: `${key} struct val *mv = bpf_map_lookup_elem(&${m}, &mk);` };
  };

  let budget = 10 + r.int(22);
  const stmt = (depth: number, ind: string): string[] => {
    budget--;
    const k = r.int(depth > 1 || budget < 0 ? 4 : 22);
    switch (k) {
      case 0: case 1: return [`${ind}${v()} ${r.pick(['=', '+=', '^=', '-='])} ${e()};`];
      case 2: case 3: return [`${ind}${o()} ${r.pick(['=', '+=', '^='])} ${e()};`];
      case 4: {
        kinds.add('memcpy-pkt-stack');
        const n = 1 + r.int(37);
        const off = r.int(30);
        const s = r.int(40 - Math.min(n, 40) + 1);
        const nn = Math.min(n, 40 - s);
        return r.chance(0.5)
          ? [`${ind}${pkt()}`, `${ind}if (data + ${off + nn} <= end) __builtin_memcpy(&bk.b[${s}], data + ${off}, ${nn});`]
          : [`${ind}${pkt()}`, `${ind}if (data + ${off + nn} <= end) __builtin_memcpy(data + ${off}, &bk.b[${s}], ${nn});`];
      }
      case 5: {
        kinds.add('memmove-pkt');
        const n = 1 + r.int(30);
        const a = r.int(20);
        const b = r.int(20);
        return [`${ind}${pkt()}`, `${ind}if (data + ${Math.max(a, b) + n} <= end) __builtin_${r.pick(['memmove', 'memcpy'])}(data + ${a}, data + ${b}, ${n});`];
      }
      case 6: {
        kinds.add('memset-pkt');
        const n = 1 + r.int(33);
        const off = r.int(25);
        return [`${ind}${pkt()}`, `${ind}if (data + ${off + n} <= end) __builtin_memset(data + ${off}, ${r.pick(['0', '0xff', '0x5a'])}, ${n});`];
      }
      case 7: {
        kinds.add('memset-stack');
        const n = 1 + r.int(37);
        const s = r.int(40 - n + 1);
        return [`${ind}__builtin_memset(&bk.b[${s}], ${r.pick(['0', '0xff', '0x11'])}, ${n});`, `${ind}${o()} += bk.b[${r.int(40)}] + *(__u32 *)&bk.b[${r.int(10) * 4}];`];
      }
      case 8: {
        kinds.add('map-mem');
        const { lookup, name } = mapVal();
        const n = 1 + r.int(12);
        const off = r.int(30);
        const dir = r.int(4);
        const body = dir === 0 ? `${pkt()} if (data + ${off + n} <= end) __builtin_memcpy(&mv->b[${r.int(13 - n + 1)}], data + ${off}, ${n});`
          : dir === 1 ? `${pkt()} if (data + ${off + n} <= end) __builtin_memcpy(data + ${off}, &mv->b[${r.int(13 - n + 1)}], ${n});`
            : dir === 2 ? `__builtin_memcpy(&mv->w[0], &bk.b[${r.int(28)}], ${1 + r.int(12)}); ${o()} += mv->q[${r.int(3)}] ^ mv->w[${r.int(3)}];`
              : `struct val t = *mv; t.q[${r.int(3)}] ^= ${leaf()}; ${r.chance(0.5) ? '*mv = t;' : `bpf_map_update_elem(&${name}, &mk, &t, ${r.pick(['0', '0', '1', '2'])});`} ${o()} += t.w[${r.int(3)}];`;
        const miss = name === 'av' || name === 'pv' ? '' : ` else { struct val t = {}; t.q[0] = ${leaf()}; ${o()} += bpf_map_update_elem(&${name}, &mk, &t, ${r.pick(['0', '1'])}); }`;
        return [`${ind}{ ${lookup} if (mv) { ${body} }${miss} }`];
      }
      case 9: {
        // 32-bit atomics need alu32 (-mcpu=v3): clang refuses them at v1/v2.
        const w = r.chance(0.5) || !v3 ? 64 : 32;
        const where = r.int(4);
        if (where === 0) return [`${ind}${atomicOn(w === 64 ? `&gq[${v()} & 3]` : (r.chance(0.1) ? `&gw[(__u32)${v()} % 5]` : `&gw[${v()} & 3]`), w)}`];
        if (where === 1) return [`${ind}${atomicOn(w === 64 ? `&dq[${r.int(3)}]` : `&gw[${r.int(5)}]`, w)}`];
        if (where === 2) { kinds.add('atomic-stack'); return [`${ind}${atomicOn(w === 64 ? `&sq` : `&sw`, w)}`]; }
        const { lookup } = mapVal();
        return [`${ind}{ ${lookup} if (mv) { ${atomicOn(w === 64 ? `&mv->q[${r.int(3)}]` : `&mv->w[${r.int(3)}]`, w)} } }`];
      }
      case 10: {
        if (!statics.length && !r.chance(0.5)) return [];
        const f = statics.length && r.chance(0.6) ? r.pick(statics) : makeStatic();
        return [`${ind}${o()} ${r.pick(['=', '+=', '^='])} ${f.name}(${e()}, ${e()}, ${e()}, ${e()}, &bk);`];
      }
      case 11: {
        const g = globals.length && r.chance(0.6) ? r.pick(globals) : makeGlobal();
        return [`${ind}${o()} ${r.pick(['=', '+=', '^='])} ${g}(ctx, ${e()}, ${e()}, ${e()}, ${r.chance(0.9) ? '&bk' : '0'});`];
      }
      case 12: {
        const cb = cbs.length && r.chance(0.6) ? r.pick(cbs) : makeCb();
        const n = r.chance(0.6) ? `${leaf()} & ${r.pick([3, 7, 15, 63])}` : r.pick(['0', '1', '5', '40']);
        return [`${ind}{ struct lctx c = { .acc = ${leaf()}, .stop = ${leaf()} & 31, .x = ctx }; __builtin_memcpy(&c.bk, &bk, sizeof(bk));`,
          `${ind}  ${o()} += bpf_loop(${n}, ${cb}, &c, 0) * 1000 + c.acc;${r.chance(0.5) ? ' __builtin_memcpy(&bk, &c.bk, sizeof(bk));' : ''} }`];
      }
      case 13: {
        kinds.add('bswap-pkt');
        const n = r.pick([2, 4, 8]);
        const off = r.int(40);
        const sw = { 2: 'bpf_htons', 4: 'bpf_htonl', 8: '__builtin_bswap64' }[n]!;
        return [`${ind}${pkt()}`, `${ind}if (data + ${off + n} <= end) { __u${n * 8} *f = data + ${off}; *f = ${sw}(${sw}(*f) ${r.pick(['+', '-', '^'])} (__u${n * 8})${leaf()}); ${o()} += *f; }`];
      }
      case 14: {
        kinds.add('encap');
        const k = r.pick([4, 8, 14, 20, 24, 40]);
        const h = r.pick([6, 12, 14, 20]);
        return [`${ind}if (bpf_xdp_adjust_head(ctx, -${k}) == 0) {`, `${ind}  ${pkt()}`,
          `${ind}  if (data + ${k + h} <= end) { __builtin_memmove(data, data + ${k}, ${h}); __builtin_memset(data + ${h}, ${r.pick(['0', '0x45'])}, ${k}); }`,
          `${ind}  ${r.chance(0.5) ? `if (data + ${k + h} <= end) ${o()} += bpf_xdp_adjust_head(ctx, ${k});` : `${o()} += ${k};`}`, `${ind}}`];
      }
      case 15: {
        kinds.add('meta');
        const m = r.pick([4, 8, 12, 16]);
        return [`${ind}if (bpf_xdp_adjust_meta(ctx, -${m}) == 0) {`,
          `${ind}  void *mt = (void *)(long)ctx->data_meta; data = (void *)(long)ctx->data;`,
          `${ind}  if (mt + sizeof(struct meta) <= data) { struct meta md = { .a = ${leaf()}, .b = ${leaf()}, .c = ${leaf()} }; __builtin_memcpy(mt, &md, ${r.pick([7, 8, 5])}); ${o()} += ((struct meta *)mt)->a + ((__u8 *)mt)[${r.int(7)}]; }`,
          `${ind}  ${r.chance(0.5) ? `${o()} += bpf_xdp_adjust_meta(ctx, ${m});` : ''}`, `${ind}}`];
      }
      case 16: {
        kinds.add('tail');
        return [`${ind}${o()} += bpf_xdp_adjust_tail(ctx, ${r.pick(['-1', '-3', '-14', '7', '13', '-64', `(int)(${v()} & 15) - 8`])});`];
      }
      case 17: {
        kinds.add('csum-pkt');
        const n = r.pick([4, 8, 12, 20, 40]);
        const off = r.int(10) * 2;
        return [`${ind}${pkt()}`, `${ind}if (data + ${off + n} <= end) ${o()} += bpf_csum_diff(${r.chance(0.5) ? `(__be32 *)&bk.b[${r.int(4) * 4}], ${r.pick([4, 8, 16])}` : '0, 0'}, (__be32 *)(data + ${off}), ${n}, (__u32)${leaf()});`];
      }
      case 18: case 19: return [`${ind}if (${r.chance(0.5) ? `(__s32)${e()} < (__s32)${e()}` : `(__u32)${e()} > (__u32)${e()}`}) {`, ...block(depth, ind, 1 + r.int(2)), `${ind}} else {`, ...block(depth, ind, r.int(2)), `${ind}}`];
      case 20: {
        kinds.add('switch');
        const lines = [`${ind}switch (${inF()} & 7) {`];
        for (let c = 0; c < 3 + r.int(5); c++) {
          lines.push(`${ind}case ${c}:`, ...block(depth, ind, 1));
          if (r.chance(0.7)) lines.push(`${ind}  break;`);
        }
        lines.push(`${ind}default:`, ...block(depth, ind, 1), `${ind}  break;`, `${ind}}`);
        return lines;
      }
      default: {
        kinds.add('lru');
        return [`${ind}{ __u32 lk = ${leaf()} & 7; struct val t = {}; t.w[0] = ${leaf()}; ${o()} += bpf_map_update_elem(&lv, &lk, &t, ${r.pick(['0', '1', '2'])}); struct val *p = bpf_map_lookup_elem(&lv, &lk); if (p) ${o()} ^= p->w[0]; }`];
      }
    }
  };
  const block = (depth: number, ind: string, n: number): string[] => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(...stmt(depth + 1, `${ind}  `));
    return lines;
  };
  const body: string[] = [];
  while (budget > 0) body.push(...stmt(0, '  '));

  const source = `${HEADER}
${fnDefs.join('\n')}
SEC("xdp")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  struct blk bk = {};
  __u64 sq = ${r.pick(SPECIAL)};
  __u32 sw = ${r.pick(SPECIAL)};
  void *data, *end;
  if (bpf_xdp_load_bytes(ctx, 0, &in, 64) < 0) return XDP_PASS;
  __builtin_memcpy(&bk, &in.b[${r.int(25)}], 40);
${vt.map((t, i) => `  ${t} v${i} = ${r.chance(0.7) ? inF().replace(/v\d & 63/, `${i * 9}`) : r.pick(SPECIAL)};`).join('\n')}
${body.join('\n')}
${vt.map((_, i) => `  o[${i + 8}] ^= (__u64)v${i};`).join('\n')}
  o[14] ^= sq + sw;
  o[15] ^= *(__u64 *)&bk.b[0] ^ *(__u64 *)&bk.b[${8 * (1 + r.int(4))}];
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return (__u32)(o[${r.int(16)}] ^ o[0]) % 4;
}
`;
  return { source: genSource(source), opt, mcpu, frags: false, kinds: [...kinds].sort() };
}
