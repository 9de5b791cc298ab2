// Random XDP programs in structured C (a small Csmith-like grammar), for what the other generators leave out: what
// clang makes of ordinary C control flow and data layout. gen.ts/agen.ts write bytecode by hand and cgen.ts strings
// helper calls together; here the program is a tree of statements over typed local variables:
//   data:       a union over the first 64 packet bytes (bytes, u16/u32/u64 arrays, a packed struct of every width at odd
//               offsets, a struct of bitfields), read with bpf_xdp_load_bytes or __builtin_memcpy from the packet after
//               one bounds check; direct packet reads and writes of 1/2/4/8 bytes at unaligned offsets after a check
//   variables:  8 locals of every integer type (signed and unsigned 8-64 bits), some volatile (kept on the stack)
//   statements: assignments and compound assignments (unsigned arithmetic, / and % by values made non-zero, shifts by
//               masked amounts, signed right shifts, casts that truncate and sign-extend, comparisons signed and
//               unsigned of both widths, ternaries, && and ||), if/else, switch (dense and sparse cases, fall-through,
//               default), for loops with constant trip counts (unrolled or not) and with trip counts masked from
//               packet values, nested two deep, break/continue, local arrays indexed by masked values,
//               __builtin_memset/__builtin_memcpy on local structs and arrays, bitfield reads and writes, inline
//               assembly (64-bit ALU by immediates, byte swaps), bpf_xdp_adjust_head/tail/meta in sequences and loops
//               that re-read data/data_end and re-check the bounds after each call, bpf_xdp_load_bytes/store_bytes at
//               offsets from values (across the fragments of an xdp.frags frame), bpf_xdp_get_buff_len, bpf_csum_diff
//   functions:  (a Prng of their own, so the rest of a seed's program is as before) value functions static
//               __always_inline, static noinline and global noinline (scalars, the input union and the local array by
//               pointer, locals of their own, loops, calls to earlier functions so chains nest; a global one checks its
//               pointer for NULL), header-cursor parsers (void **pos, data_end, an accumulator: the caller's stack holds a
//               packet pointer the callee reads, checks, moves and writes through, chained; inline and noinline; the
//               caller reads or writes at the moved cursor after its own check), a struct returned by value and struct
//               copies through pointers (noinline)
//   results:    o[16] (u64), stored in a per-packet HASH entry (key: a packet counter in .bss) and into the packet;
//               the action from o[].
// Compiled by clang at -O1/-O2/-O3/-Os/-Oz with -mcpu=v1/v2/v3 by seed; a quarter are SEC("xdp.frags") with frames up
// to 9000 bytes.
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';

export interface SProgram {
  source: string;
  opt: string;
  mcpu: string;
  frags: boolean;
  kinds: string[];
}

const TYPES = ['__u8', '__s8', '__u16', '__s16', '__u32', '__s32', '__u64', '__s64'] as const;
type CType = (typeof TYPES)[number];
const BITS: Record<CType, number> = { __u8: 8, __s8: 8, __u16: 16, __s16: 16, __u32: 32, __s32: 32, __u64: 64, __s64: 64 };

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct __attribute__((packed)) pk { __u8 a; __u16 b; __u32 c; __u64 d; __s8 e; __s16 f; __s32 g; __s64 h; __u8 i; };
struct bf { __u32 x : 3, y : 13, z : 16; __u64 w : 40, v : 24; __s32 s : 7, t : 25; };
struct pair { __u32 k; __u16 m; __u8 n; __u64 q; };
union in64 { __u8 b[64]; __u16 h[32]; __u32 w[16]; __u64 q[8]; struct pk pk; struct bf bf; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
__u32 counter;
`;

export function generateSProgram(seed: number): SProgram {
  const main = new Prng(seed);
  // `r` is the Prng every choice below draws from; the functions (fns below) swap in a Prng of their own while they
  // are written, so a seed's other statements stay what they were before functions existed.
  let r = main;
  const kinds = new Set<string>();
  const frags = r.chance(0.25);
  const NV = 8;
  const vt: CType[] = Array.from({ length: NV }, () => r.pick(TYPES));
  const vol = Array.from({ length: NV }, () => r.chance(0.15));
  let loopDepth = 0;
  let loopVars = 0;
  const liveLoopVars: string[] = [];
  let budget = 15 + r.int(40); // statements in all (more makes the verifier give up on most programs)

  const SPECIAL = ['0', '1', '2', '3', '7', '8', '15', '16', '31', '32', '63', '64', '0x7f', '0x80', '0xff', '0x7fff', '0x8000',
    '0xffff', '0x7fffffff', '0x80000000U', '0xffffffffU', '0x100000000ULL', '0x7fffffffffffffffULL', '0x8000000000000000ULL',
    '0xffffffffffffffffULL', '-1', '-2', '-128', '-32768', '(-2147483647 - 1)'];
  const v = (): string => `v${r.int(NV)}`;
  const inField = (noVar = false): string => {
    const k = r.int(noVar ? 8 : 9);
    if (k === 0) return `in.b[${r.int(64)}]`;
    if (k === 1) return `in.h[${r.int(32)}]`;
    if (k === 2) return `in.w[${r.int(16)}]`;
    if (k === 3) return `in.q[${r.int(8)}]`;
    if (k < 6) return `in.pk.${r.pick(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'])}`;
    if (k < 8) { kinds.add('bitfield'); return `in.bf.${r.pick(['x', 'y', 'z', 'w', 'v', 's', 't'])}`; }
    return `in.b[${v()} & 63]`;
  };
  const leaf = (): string => {
    const k = r.int(10);
    if (k < 4) return v();
    if (k < 6) return inField();
    if (k < 8) return r.pick(SPECIAL);
    if (k < 9 && liveLoopVars.length) return r.pick(liveLoopVars);
    return `${r.u32() >>> r.int(32)}U`;
  };
  const expr = (d: number): string => {
    if (d <= 0 || r.chance(0.25)) return leaf();
    const a = () => expr(d - 1);
    const w = r.chance(0.5) ? '__u64' : '__u32';
    switch (r.int(16)) {
      case 0: case 1: return `((${w})${a()} + (${w})${a()})`;
      case 2: return `((${w})${a()} - (${w})${a()})`;
      case 3: return `((${w})${a()} * (${w})${a()})`;
      case 4: kinds.add('div'); return `((${w})${a()} ${r.pick(['/', '%'])} ((${w})${a()} | ${r.pick(['1', '2', '0x80', '1'])}))`;
      case 5: return `(${a()} ${r.pick(['&', '|', '^'])} ${a()})`;
      case 6: kinds.add('shift'); return `((${w})${a()} ${r.pick(['<<', '>>'])} (${a()} & ${w === '__u64' ? 63 : 31}))`;
      case 7: kinds.add('shift'); return `((${r.pick(['__s64', '__s32'])})${a()} >> ${r.int(32)})`;
      case 8: return `((${r.pick(TYPES)})${a()})`;
      case 9: {
        const t = r.pick(['__s64', '__u64', '__s32', '__u32', '__s16', '__u8']);
        return `((${t})${a()} ${r.pick(['<', '<=', '>', '>=', '==', '!='])} (${t})${a()})`;
      }
      case 10: return `(${cond(d - 1)} ? ${a()} : ${a()})`;
      case 11: return `(${r.pick(['~', '-', '!'])}(${w})${a()})`;
      case 12: return `(${cond(d - 1)} ${r.pick(['&&', '||'])} ${cond(d - 1)})`;
      case 13: kinds.add('bswap'); return `${r.pick(['__builtin_bswap16((__u16)', '__builtin_bswap32((__u32)', '__builtin_bswap64((__u64)'])}${a()})`;
      case 14: return `((${w})${a()} ${r.pick(['<', '>'])} (${w})${a()} ? (${w})${a()} : (${w})${a()})`;
      default: return `((__u64)${a()} + ${r.pick(SPECIAL)})`;
    }
  };
  const cond = (d: number): string => {
    const t = r.pick(['__s64', '__u64', '__s32', '__u32', '__s8', '__u16']);
    if (r.chance(0.2)) return `((${expr(d)}) & ${1 << r.int(8)})`;
    return `((${t})${expr(d)} ${r.pick(['<', '<=', '>', '>=', '==', '!='])} (${t})${expr(d)})`;
  };
  const out = (): string => `o[${r.int(16)}]`;
  const pktCheck = (n: number): string => `data + ${n} <= end`;

  // --- Functions (a Prng of their own, so the statements above stay as they were for every seed): what real programs
  // split their code into. Value functions (static __always_inline, static __noinline, global __noinline: scalars and
  // pointers to the input union and the local array, locals of their own, calls to earlier functions so chains nest),
  // header-cursor parsers (void **pos, end, an accumulator: the caller's stack holds a packet pointer the callee reads,
  // checks, moves and writes through; chained), struct results by value (always_inline) and struct copies through
  // pointers (noinline).
  const fx = new Prng(seed ^ 0x5f0c7a11);
  type FnKind = 'inline' | 'static' | 'global' | 'cursor' | 'cursor-ni' | 'struct' | 'copy';
  const fns: { name: string; kind: FnKind }[] = [];
  const fnDefs: string[] = [];
  let calls = 0;
  const maxCalls = fx.chance(0.35) ? 0 : 1 + fx.int(6);
  /** `f` with fx as the Prng (and no loop variables in scope when `body`). */
  const withFx = <T>(f: () => T, body = false): T => {
    const saved = r;
    const lv = body ? liveLoopVars.splice(0) : [];
    r = fx;
    try {
      return f();
    } finally {
      r = saved;
      liveLoopVars.push(...lv);
    }
  };
  const T_OF: Record<number, string> = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' };
  const valueCall = (fn: { name: string; kind: FnKind }, inArg: string, arrArg: string): string =>
    fn.kind === 'global' ? `${fn.name}(${expr(2)}, (__u32)${expr(1)}, ${inArg})` : `${fn.name}(${expr(2)}, ${expr(2)}, ${inArg}, ${arrArg})`;
  const makeFn = (): { name: string; kind: FnKind } => withFx(() => {
    const name = `f${fns.length}`;
    const kind = fx.pick<FnKind>(['inline', 'inline', 'static', 'static', 'global', 'cursor', 'cursor-ni', 'cursor-ni', 'struct', 'copy']);
    kinds.add(`fn-${kind}`);
    const inner = (ks: FnKind[]) => {
      const c = fns.filter((f) => ks.includes(f.kind));
      return c.length && fx.chance(0.6) ? fx.pick(c) : undefined;
    };
    const fe = () => expr(1 + fx.int(3)).replace(/\bin\./g, 'inp->');
    /** Locals v0..v7 of random types (the names the expressions use). */
    const locals = () => Array.from({ length: NV }, (_, i) =>
      `  ${fx.pick(TYPES)} v${i} = ${fx.pick(['a', 'b', '(a ^ b)', '(a >> 32)', `inp->q[${i}]`, `inp->b[${fx.int(64)}]`, fx.pick(SPECIAL)])};`);
    const lines: string[] = [];
    if (kind === 'cursor' || kind === 'cursor-ni') {
      const n = fx.pick([1, 2, 4, 6, 8, 14, 20, 34, 40, 60]);
      const rd = fx.pick([1, 2, 4, 8].filter((b) => b <= n));
      const off = fx.int(n - rd + 1);
      lines.push(`static ${kind === 'cursor' ? '__always_inline' : '__attribute__((noinline))'} int ${name}(void **pos, void *end, __u64 *acc) {`,
        '  void *p = *pos;', `  if (p + ${n} > end) return ${fx.pick(['-1', '-2', '0'])};`,
        `  *acc ${fx.pick(['+=', '^='])} *(${T_OF[rd]} *)(p + ${off})${fx.chance(0.3) ? ` * ${fx.pick(['3', '0x10001', '255'])}` : ''};`);
      if (fx.chance(0.35)) {
        const wb = fx.pick([1, 2, 4].filter((b) => b <= n));
        lines.push(`  *(${T_OF[wb]} *)(p + ${fx.int(n - wb + 1)}) ${fx.pick(['=', '^=', '+='])} (${T_OF[wb]})*acc;`);
      }
      lines.push(`  *pos = p + ${n};`);
      const nx = inner(['cursor', 'cursor-ni']);
      if (nx) lines.push(`  { int rc = ${nx.name}(pos, end, acc); if (rc < 0) return rc; *acc += rc; }`);
      lines.push(`  return ${n}${fx.chance(0.4) ? ` + (int)(*acc & ${fx.pick([1, 7, 15])})` : ''};`, '}');
    } else if (kind === 'struct') {
      lines.push(`static __always_inline struct pair ${name}(__u64 a, __u64 b, union in64 *inp) {`, ...locals(), '  struct pair p = {};',
        `  p.k = ${fe()};`, `  p.m = ${fe()};`, `  p.n = ${fe()};`, `  p.q = a ^ ${fe()};`);
      if (fx.chance(0.5)) lines.push('  struct pair t = p;', `  t.${fx.pick(['k', 'm', 'n', 'q'])} ^= ${fe()};`, '  if (t.q & 1) p = t;');
      lines.push('  return p;', '}');
    } else if (kind === 'copy') {
      lines.push(`static __attribute__((noinline)) void ${name}(struct pair *dst, const struct pair *src, __u64 a) {`,
        '  *dst = *src;', `  dst->${fx.pick(['k', 'm', 'n', 'q'])} ${fx.pick(['+=', '^=', '='])} a;`,
        `  if (a & ${1 << fx.int(6)}) dst->q = src->k * ${fx.pick(['3', '7', '0x100000001ULL'])};`, '}');
    } else {
      const g = kind === 'global';
      lines.push(g ? `__attribute__((noinline)) __u64 ${name}(__u64 a, __u32 b, union in64 *inp) {` :
        `static ${kind === 'inline' ? '__always_inline' : '__attribute__((noinline))'} __u64 ${name}(__u64 a, __u64 b, union in64 *inp, __u64 *ao) {`);
      // A global function is verified on its own: a pointer argument may be NULL until checked.
      if (g) lines.push('  if (!inp) return b;');
      lines.push(...locals());
      const nx = inner(g ? ['global'] : ['inline', 'static', 'global']);
      for (let j = 1 + fx.int(4); j > 0; j--) {
        const k = fx.int(6);
        if (k < 2) lines.push(`  v${fx.int(NV)} ${fx.pick(['=', '+=', '^=', '*='])} ${fe()};`);
        else if (k === 2 && !g) lines.push(`  ao[v${fx.int(NV)} & 7] ${fx.pick(['=', '+=', '^='])} ${fe()};`);
        else if (k === 3) lines.push(`  inp->${fx.chance(0.5) ? `b[v${fx.int(NV)} & 63]` : `q[${fx.int(8)}]`} ${fx.pick(['=', '^='])} ${fe()};`);
        else if (k === 4) lines.push(`  if (${cond(1).replace(/\bin\./g, 'inp->')}) v${fx.int(NV)} = ${fe()}; else v${fx.int(NV)} ^= ${fe()};`);
        // (xor with the counter: clang folds `v = v * c + j` over the loop into a 128-bit product, __multi3, which BPF lacks)
        else lines.push(`  for (int j = 0; j < ${2 + fx.int(4)}; j++) v${fx.int(NV)} = (v${fx.int(NV)} ^ j) * ${fx.pick(['3', '31', '0x9e3779b1'])};`);
      }
      if (nx) lines.push(`  v${fx.int(NV)} += ${valueCall(nx, 'inp', g ? '' : 'ao').replace(/\bin\./g, 'inp->')};`);
      lines.push(`  return ${Array.from({ length: 2 + fx.int(NV - 1) }, (_, i) => `(__u64)v${i}`).join(' ^ ')} ^ ${fe()};`, '}');
    }
    fnDefs.push(lines.join('\n'));
    const f = { name, kind };
    fns.push(f);
    return f;
  }, true);
  /** A call of a new or earlier function, from the entry function. */
  const callStmt = (ind: string): string[] => {
    if (calls >= maxCalls || !fx.chance(0.25)) return [];
    calls++;
    const f = fns.length < 6 && (fns.length === 0 || fx.chance(0.6)) ? makeFn() : fx.pick(fns);
    return withFx(() => {
      if (f.kind === 'cursor' || f.kind === 'cursor-ni') {
        const o = out();
        const rd = fx.pick([1, 2, 4, 8]);
        return [`${ind}{ void *cur = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end; __u64 acc = ${leaf()};`,
          `${ind}  int rc = ${f.name}(&cur, end, &acc);`, `${ind}  ${o} += acc + (__u64)rc;`,
          `${ind}  if (rc >= 0 && cur + ${rd} <= end) ${fx.chance(0.3) ? `*(${T_OF[rd]} *)cur ^= (${T_OF[rd]})acc` : `${o} ^= *(${T_OF[rd]} *)cur`}; }`];
      }
      if (f.kind === 'struct') {
        return [`${ind}{ struct pair t = ${f.name}(${expr(2)}, ${expr(2)}, &in);`, `${ind}  ${out()} ^= t.k + t.m + t.n + t.q;${fx.chance(0.5) ? ' pr = t;' : ''} }`];
      }
      if (f.kind === 'copy') {
        return [`${ind}{ struct pair t;`, `${ind}  ${f.name}(&t, &pr, ${expr(2)});`, `${ind}  ${out()} += t.k ^ t.q ^ t.m ^ t.n;${fx.chance(0.5) ? ` ${f.name}(&pr, &t, ${leaf()});` : ''} }`];
      }
      return [`${ind}${fx.chance(0.7) ? `${out()} ${fx.pick(['=', '+=', '^='])}` : `${v()} =`} ${valueCall(f, '&in', 'arr')};`];
    });
  };

  const stmt = (depth: number, ind: string): string[] => {
    budget--;
    const k = r.int(depth > 2 || budget < 0 ? 8 : 27);
    const e = () => expr(2 + r.int(3));
    const block = (n: number, dd = depth + 1): string[] => {
      const lines: string[] = [];
      for (let i = 0; i < n && (budget > 0 || i === 0); i++) lines.push(...stmt(dd, `${ind}  `), ...callStmt(`${ind}  `));
      return lines;
    };
    switch (k) {
      case 0: case 1: case 2: return [`${ind}${v()} = ${e()};`];
      case 3: return [`${ind}${v()} ${r.pick(['+=', '-=', '^=', '|=', '&=', '*='])} ${e()};`];
      case 4: case 5: return [`${ind}${out()} ${r.pick(['=', '+=', '^='])} ${e()};`];
      case 6: {
        kinds.add('bitfield-write');
        return [`${ind}in.bf.${r.pick(['x', 'y', 'z', 'w', 'v', 's', 't'])} = ${e()};`];
      }
      case 7: {
        kinds.add('pkt');
        const n = r.pick([1, 2, 4, 8]);
        const off = r.int(60);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[n]!;
        if (r.chance(0.5)) return [`${ind}data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`, `${ind}if (${pktCheck(off + n)}) ${v()} ^= *(${r.chance(0.3) ? 'volatile ' : ''}${t} *)(data + ${off});`];
        return [`${ind}data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`, `${ind}if (${pktCheck(off + n)}) *(${t} *)(data + ${off}) = ${e()};`];
      }
      case 8: case 9: return [`${ind}if (${cond(2)}) {`, ...block(1 + r.int(3)), `${ind}} else {`, ...block(r.int(3)), `${ind}}`];
      case 10: case 11: {
        kinds.add('switch');
        const dense = r.chance(0.5);
        const lines = [`${ind}switch (${dense ? `(${e()}) & ${r.pick([3, 7, 15])}` : `(__u32)${e()}`}) {`];
        const n = 2 + r.int(5);
        const used = new Set<number>();
        for (let i = 0; i < n; i++) {
          let c = dense ? i : r.pick([0, 1, 2, 5, 17, 100, 255, 256, 1000, 65535, 0x80000000]);
          if (used.has(c)) c = i + 300;
          used.add(c);
          lines.push(`${ind}case ${c}${c >= 0x80000000 ? 'U' : ''}:`, ...block(1 + r.int(2)));
          if (r.chance(0.75)) lines.push(`${ind}  break;`);
        }
        if (r.chance(0.6)) lines.push(`${ind}default:`, ...block(1));
        lines.push(`${ind}}`);
        return lines;
      }
      case 12: case 13: {
        if (loopDepth >= 2) return [`${ind}${out()} += ${e()};`];
        kinds.add('loop');
        const i = `i${loopVars++}`;
        const masked = r.chance(0.35);
        const bound = masked ? `(${v()} & ${r.pick([3, 7])})` : `${2 + r.int(loopDepth ? 3 : 7)}`;
        const pragma = r.chance(0.4) ? [`${ind}#pragma clang loop unroll(${r.pick(['disable', 'full'])})`] : [];
        const t = r.pick(['int', '__u32', '__u64', '__u8']);
        loopDepth++;
        liveLoopVars.push(i);
        const body = block(1 + r.int(3));
        if (r.chance(0.25)) body.splice(r.chance(0.5) ? 0 : body.length, 0, `${ind}  if (${cond(1)}) ${r.pick(['break', 'continue'])};`);
        liveLoopVars.pop();
        loopDepth--;
        // A masked bound is a packet value: copy it first so the body's writes to the variable do not move it.
        if (masked) {
          const n = `n${loopVars}`;
          return [`${ind}{ ${t} ${n} = ${bound};`, ...pragma, `${ind}for (${t} ${i} = 0; ${i} < ${n}; ${i}++) {`, ...body, `${ind}} }`];
        }
        return [...pragma, `${ind}for (${t} ${i} = 0; ${i} < ${bound}; ${i}++) {`, ...body, `${ind}}`];
      }
      case 14: {
        kinds.add('array');
        return [`${ind}arr[${v()} & 7] ${r.pick(['=', '+=', '^='])} ${e()};`, `${ind}${v()} += arr[${r.chance(0.5) ? `${v()} & 7` : r.int(8)}];`];
      }
      case 15: {
        kinds.add('mem');
        const k2 = r.int(4);
        if (k2 === 0) return [`${ind}__builtin_memset(&pr, ${r.pick(['0', '0xff', '0x5a', '1'])}, sizeof(pr));`, `${ind}pr.k = ${e()};`, `${ind}${out()} ^= pr.q + pr.m + pr.n;`];
        if (k2 === 1) return [`${ind}__builtin_memcpy(&pr, &in.b[${r.int(64 - 16 + 1)}], sizeof(pr));`, `${ind}${out()} += pr.k ^ pr.q;`];
        if (k2 === 2) return [`${ind}__builtin_memcpy(arr, in.q, sizeof(arr));`, `${ind}arr[${r.int(8)}] = ${e()};`];
        const n = r.pick([2, 3, 4, 7, 8, 15, 16]);
        return [`${ind}__builtin_memcpy((__u8 *)arr + ${r.int(64 - n + 1)}, &in.b[${r.int(64 - n + 1)}], ${n});`];
      }
      case 16: {
        kinds.add('volatile');
        return [`${ind}{ volatile ${r.pick(TYPES)} t = ${e()}; ${v()} += t; t ^= ${leaf()}; ${out()} += t; }`];
      }
      case 17: {
        kinds.add('asm');
        const x = v();
        const op = r.pick(['%[x] += 17', '%[x] ^= -1', '%[x] <<= 3', '%[x] >>= 7', '%[x] s>>= 5', '%[x] = be16 %[x]',
          '%[x] = be32 %[x]', '%[x] = be64 %[x]', '%[x] = le16 %[x]', '%[x] = le32 %[x]', '%[x] *= 0x10001', '%[x] |= 0x80', '%[x] = -%[x]']);
        return [`${ind}{ __u64 t = ${x}; asm volatile("${op}" : [x] "+r"(t)); ${x} = t; }`];
      }
      case 18: case 19: {
        kinds.add('adjust');
        // A sequence or loop of adjust calls, the bounds re-read and re-checked after each.
        const which = r.pick(['head', 'head', 'tail', 'meta']);
        const delta = () => (r.chance(0.6) ? String(r.pick([-1, 1, -2, 2, -3, 3, -7, 7, -8, 8, -14, 14, -33, 33, -64, 64, -100, 100, -256, 256])) : `(int)(${v()} & 31) - 16`);
        const n = 1 + r.int(3);
        const rd = r.pick([1, 2, 4, 8]);
        const off = r.int(20);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[rd]!;
        const look = which === 'meta'
          ? [`${ind}  { void *m = (void *)(long)ctx->data_meta; data = (void *)(long)ctx->data; if (m + ${Math.min(rd, 4)} <= data) ${out()} += *(__u${Math.min(rd, 4) * 8} *)m; }`]
          : [`${ind}  data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`,
            `${ind}  if (${pktCheck(off + rd)}) { ${out()} += *(${t} *)(data + ${off}); *(${t} *)(data + ${off}) ^= (${t})${leaf()}; }`];
        const call = `bpf_xdp_adjust_${which}(ctx, ${delta()})`;
        if (r.chance(0.5)) {
          const i = `i${loopVars++}`;
          return [`${ind}for (int ${i} = 0; ${i} < ${n + 1}; ${i}++) {`, `${ind}  if (${call}) { ${out()} += ${i}; break; }`, ...look, `${ind}}`];
        }
        const lines: string[] = [];
        for (let j = 0; j < n; j++) lines.push(`${ind}${out()} += ${r.pick(['head', 'tail', 'meta']) === 'meta' ? `bpf_xdp_adjust_meta(ctx, ${delta()})` : call};`, ...look);
        return lines;
      }
      case 20: {
        kinds.add('bytes');
        const store = r.chance(0.5);
        const n = r.pick([1, 2, 3, 4, 8, 13, 16]);
        const off = r.chance(0.5)
          ? `(${v()} & ${frags ? r.pick([0xfff, 0x1fff, 0x3fff]) : r.pick([0x7f, 0x3ff, 0x7ff])})`
          : `(bpf_xdp_get_buff_len(ctx) - ${r.pick([n, n + 1, n - 1, 1, 64, 3000, 3520])})`;
        if (store) return [`${ind}${out()} += bpf_xdp_store_bytes(ctx, ${off}, &in.b[${r.int(64 - n + 1)}], ${n});`];
        return [`${ind}${out()} += bpf_xdp_load_bytes(ctx, ${off}, &in.b[${r.int(64 - n + 1)}], ${n});`];
      }
      case 21: {
        kinds.add('csum');
        const a = r.pick([0, 4, 8, 12, 16]);
        const b = r.pick([0, 4, 8, 20, 32]);
        return [`${ind}${out()} += bpf_csum_diff(${a ? `(__be32 *)&in.w[${r.int(16 - a / 4 + 1)}]` : '0'}, ${a}, ${b ? `(__be32 *)&in.w[${r.int(16 - b / 4 + 1)}]` : '0'}, ${b}, (__u32)${leaf()});`];
      }
      case 22: return [`${ind}${out()} += bpf_xdp_get_buff_len(ctx);`];
      case 24: {
        // A packet offset from a value, checked with it (the verifier's variable-offset packet range).
        kinds.add('pkt-var');
        const n = r.pick([1, 2, 4, 8]);
        const t = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' }[n]!;
        const mask = r.pick([7, 15, 63, 255, 1023]);
        const extra = r.int(20);
        return [`${ind}{ __u32 off = ${v()} & ${mask}; data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`,
          `${ind}  if (data + off + ${extra + n} <= end) { ${out()} ^= *(${t} *)(data + off + ${extra}); ${r.chance(0.4) ? `*(${t} *)(data + off + ${extra}) = (${t})${leaf()};` : ''} } }`];
      }
      case 25: {
        // A loop over packet bytes, each checked against data_end (a bound from the packet's length or a constant).
        kinds.add('pkt-loop');
        const lim = r.pick([4, 8, 16, 32]);
        const i = `i${loopVars++}`;
        return [`${ind}data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`,
          `${ind}for (__u32 ${i} = ${r.int(20)}; ${i} < ${lim + 20}; ${i}++) {`,
          `${ind}  if (data + ${i} + 1 > end) break;`,
          `${ind}  ${out()} += ((__u8 *)data)[${i}]${r.chance(0.3) ? ` ^ ${leaf()}` : ''};`,
          `${ind}}`];
      }
      case 26: {
        // The packet's length as a number: compared, masked, used as an offset for load_bytes.
        kinds.add('pkt-len');
        return [`${ind}data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;`,
          `${ind}{ __u64 len = end - data; ${out()} += len > ${r.pick([14, 60, 64, 100, 1500])} ? len ${r.pick(['&', '%', '>>'])} ${r.pick([7, 13, 3])} : ${leaf()}; }`];
      }
      default: {
        // A nested block with a local of its own shadowing nothing.
        return [`${ind}{`, `${ind}  ${r.pick(TYPES)} l = ${e()};`, `${ind}  ${v()} = l ${r.pick(['+', '^', '-'])} ${leaf()};`, `${ind}}`];
      }
    }
  };

  const body: string[] = [];
  while (budget > 0) body.push(...stmt(0, '  '), ...callStmt('  '));

  const viaMemcpy = r.chance(0.5);
  const opt = r.pick(['-O1', '-O2', '-O2', '-O3', '-Os', '-Oz']);
  const mcpu = r.pick(['-mcpu=v1', '-mcpu=v2', '-mcpu=v3', '-mcpu=v3']);
  const retIdx = r.int(16);
  const source = `${HEADER}
${fnDefs.join('\n')}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  __u64 arr[8] = {};
  struct pair pr = {};
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
${viaMemcpy ? '  if (data + 64 > end) return XDP_PASS;\n  __builtin_memcpy(&in, data, 64);' : '  if (bpf_xdp_load_bytes(ctx, 0, &in, 64) < 0) return XDP_PASS;'}
${vt.map((t, i) => `  ${vol[i] ? 'volatile ' : ''}${t} v${i} = ${r.chance(0.7) ? inField(true) : r.pick(SPECIAL)};`).join('\n')}
${body.join('\n')}
${vt.map((_, i) => `  o[${i + 8}] ^= (__u64)v${i};`).join('\n')}
  o[0] ^= arr[${r.int(8)}] + in.q[${r.int(8)}] + pr.q;
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return (__u32)(o[${retIdx}] ^ o[0]) % 4;
}
`;
  return { source: genSource(source), opt, mcpu, frags, kinds: [...kinds].sort() };
}

/** Packets for an sgen seed: 14 to 1,600 bytes (to 9,000 for xdp.frags programs), random bytes, an Ethernet/IPv4 start
 * on half. */
export function sPackets(seed: number, count = 8, frags = false): Uint8Array[] {
  const r = new Prng(seed ^ 0x51e9);
  return Array.from({ length: count }, (_, i) => {
    const len = r.pick([14, 40, 63, 64, 65, 66, 80, 100, 128, 200, 256, 300, 511, 1000, 1514, 1600,
      ...(frags ? [3000, 3519, 3520, 3521, 4096, 5000, 9000] : [])]);
    const p = new Uint8Array(len);
    for (let j = 0; j < len; j++) p[j] = r.chance(0.25) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.int(256);
    if (i % 2 === 0 && len >= 16) p.set([0x08, 0x00], 12);
    return p;
  });
}
