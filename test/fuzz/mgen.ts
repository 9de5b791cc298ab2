// Random XDP programs in C that work maps hard (sgen.ts is control flow and data layout, cgen.ts one statement per
// helper): keys and values of odd sizes and with padding (3-byte values, a 4-byte key struct with a hole, 20-byte
// values), every update flag including invalid ones (BPF_ANY/NOEXIST/EXIST, 3, BPF_F_LOCK without a lock), lookups that
// write through the value pointer, deletes, small maps that fill up (-E2BIG) and LRU maps that evict, per-CPU maps read
// on other CPUs (bpf_map_lookup_percpu_elem, CPU numbers past the last), QUEUE/STACK push with and without BPF_EXIST
// when full, pop/peek when empty, a BLOOM_FILTER (push/peek, 3 hashes, BPF_F_ZERO_SEED: with a random seed the kernel's
// false positives differ from run to run), an LPM trie (update/lookup/delete of prefixes 0..32) and tries with keys of 1, 3 (packed)
// and 16 data bytes (prefixes up to and past the maximum, data sharing leading bits, tries that fill up), redirects through
// DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP with random flags (fallback action bits, BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS,
// unknown bits), bpf_redirect with random flags, and values holding a bpf_spin_lock (an ARRAY and a HASH: updates from
// the program with and without BPF_F_LOCK, lookups under the lock and without, deletes). Keys come from packet bytes masked to small ranges, so packets
// collide on keys. Every result goes to o[16]: a per-packet HASH log and the packet (as in sgen.ts); all maps are
// compared after the run.
import { Prng } from './gen.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct k3 { __u8 a; __u16 b; };
struct v3 { __u8 x[3]; };
struct v20 { __u32 a[5]; };
struct lpmk { __u32 prefixlen; __u8 d[4]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct v20); } h1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 3); __type(key, struct k3); __type(value, __u64); } h2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 5); __type(key, __u32); __type(value, struct v3); } a1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 3); __type(key, __u16); __type(value, struct v20); } ph SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 3); __type(key, __u32); __type(value, struct v3); } pa SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 3); __type(key, __u64); __type(value, __u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH); __uint(max_entries, 2); __type(key, __u32); __type(value, __u16); } lpch SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, __u8); __type(value, __u32); } hnp SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 16); __uint(map_extra, 3); __uint(map_flags, BPF_F_ZERO_SEED); __type(value, __u32); } bl SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 2); __type(value, struct v3); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 2); __type(value, __u64); } s SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 6); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lpmk); __type(value, __u32); } lpm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } dev SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } devh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } cpum SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsk SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
struct sl { struct bpf_spin_lock lock; __u32 a; __u64 b; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 3); __type(key, __u32); __type(value, struct sl); } lka SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 3); __type(key, __u32); __type(value, struct sl); } lkh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 6); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, struct sl); } zh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, __u64); } zl SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __uint(map_flags, BPF_F_ZERO_SEED); __type(key, __u32); __type(value, __u64); } zp SEC(".maps");
struct wctx { __u64 acc; __u32 n; __u32 stop; };
static long wzh(void *m, __u32 *k, struct sl *v, struct wctx *c) { c->acc = c->acc * 31 + *k * 7 + v->a; return ++c->n == c->stop; }
static long wz8(void *m, __u32 *k, __u64 *v, struct wctx *c) { c->acc = c->acc * 31 + *k * 7 + *v; *v += c->n; return ++c->n == c->stop; }
struct __attribute__((packed)) lk1 { __u32 plen; __u8 d[1]; };
struct __attribute__((packed)) lk3 { __u32 plen; __u8 d[3]; };
struct lk16 { __u32 plen; __u8 d[16]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 4); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lk1); __type(value, __u8); } lpm1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 6); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lk3); __type(value, struct v3); } lpm3 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 8); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, struct lk16); __type(value, __u64); } lpm16 SEC(".maps");
__u32 counter;
`;

export function generateMProgram(seed: number): SProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  const B = (): string => `p[${r.int(64)}]`;
  const key = (mask: number): string => (r.chance(0.15) ? String(r.int(mask + 3)) : `(${B()} & ${mask})`);
  const flag = (): string => r.pick(['0', '0', '1', '1', '2', '2', '3', '4', `(${B()} & 3)`]);
  const o = (): string => `o[${r.int(16)}]`;
  const body: string[] = [];
  const n = 6 + r.int(20);
  let redirected = false;
  // Values with a bpf_spin_lock (chosen by a Prng of their own, so the other statements stay as they were): updates
  // from the program with BPF_F_LOCK (4) alone and with NOEXIST/EXIST, without it, and with it on a map without a lock;
  // the value passed has every byte set, lock word included (the kernel copies around the lock); lookups that take the
  // lock to change the value, lookups that read it without; deletes.
  const x = new Prng(seed ^ 0x5b10c4);
  const XB = (): string => `p[${x.int(64)}]`;
  const xo = (): string => `o[${x.int(16)}]`;
  const lockStmt = (): string => {
    const m = x.pick(['lka', 'lkh', 'lkh']);
    const k = x.chance(0.2) ? String(x.int(4)) : `(${XB()} & 3)`;
    const op = x.int(5);
    kinds.add('lock');
    if (op <= 1) {
      const fl = x.pick(['4', '4', '5', '6', '0', '1', '2', '7', `(${XB()} & 6)`]);
      const target = x.chance(0.15) ? 'h1' : m;
      const v = target === 'h1' ? `struct v20 v; __builtin_memset(&v, ${XB()}, sizeof(v));` : `struct sl v; __builtin_memset(&v, ${XB()} | 1, sizeof(v)); v.a = ${XB()} * 3; v.b = ${XB()};`;
      return `{ __u32 k = ${k}; ${v} ${xo()} += bpf_map_update_elem(&${target}, &k, &v, ${fl}) + 40; }`;
    }
    if (op === 2) return `{ __u32 k = ${k}; struct sl *v = bpf_map_lookup_elem(&${m}, &k); if (v) { bpf_spin_lock(&v->lock); v->a += ${XB()}; v->b ^= (__u64)${XB()} << ${x.int(56)}; ${xo()} += v->a; bpf_spin_unlock(&v->lock); } else ${xo()} += 77; }`;
    if (op === 3) return `{ __u32 k = ${k}; struct sl *v = bpf_map_lookup_elem(&${m}, &k); ${xo()} += v ? v->a ^ v->b : 11; }`;
    return `{ __u32 k = ${k}; ${xo()} += bpf_map_delete_elem(&${m}, &k) + 20; }`;
  };
  // Hashes created with BPF_F_ZERO_SEED walked by bpf_for_each_map_elem with callbacks that fold the keys in walk
  // order and stop early (the kernel's bucket order: replaced elements move to their bucket's head, BPF_F_LOCK updates
  // in place do not, LRU evictions and lookups' reference bits decide what is left), from a Prng of its own too.
  const z = new Prng(seed ^ 0x2e5eed);
  const ZB = (): string => `p[${z.int(64)}]`;
  const zo = (): string => `o[${z.int(16)}]`;
  const walkStmt = (): string => {
    const m = z.pick(['zh', 'zh', 'zl', 'zl', 'zp']);
    const k = `(${ZB()} & 15)`;
    const op = z.pick(['update', 'update', 'update', 'delete', 'lookup', 'walk', 'walk']);
    kinds.add('walk');
    if (op === 'walk') return `{ struct wctx c = { .stop = ${ZB()} & 7 }; ${zo()} += bpf_for_each_map_elem(&${m}, ${m === 'zh' ? 'wzh' : 'wz8'}, &c, 0) * 1000 + c.acc; }`;
    if (op === 'delete') return `{ __u32 k = ${k}; ${zo()} += bpf_map_delete_elem(&${m}, &k) + 20; }`;
    if (op === 'lookup') {
      if (m === 'zh') return `{ __u32 k = ${k}; struct sl *v = bpf_map_lookup_elem(&zh, &k); ${zo()} += v ? v->a : 5; }`;
      return `{ __u32 k = ${k}; __u64 *v = bpf_map_lookup_elem(&${m}, &k); ${zo()} += v ? *v : 5; }`;
    }
    if (m === 'zh') return `{ __u32 k = ${k}; struct sl v; __builtin_memset(&v, 0, sizeof(v)); v.a = ${ZB()}; v.b = ${ZB()}; ${zo()} += bpf_map_update_elem(&zh, &k, &v, ${z.pick(['0', '0', '4', '4', '1', '2', '5', '6'])}) + 40; }`;
    return `{ __u32 k = ${k}; __u64 v = ${ZB()} + 1; ${zo()} += bpf_map_update_elem(&${m}, &k, &v, ${z.pick(['0', '0', '1', '2'])}) + 40; }`;
  };
  // LPM tries with keys of 1, 3 (packed) and 16 data bytes (a Prng of its own too): prefixes of every length up to
  // the map's maximum and past it, data bytes that share leading bits (so the trie grows intermediate nodes and
  // entries under entries), every update flag, tries that fill up, lookups with a prefix length shorter than, equal
  // to and past the maximum, writes through the value found, deletes of entries, of intermediate nodes and of nothing.
  const w = new Prng(seed ^ 0x1b3e60);
  const WB = (): string => `p[${w.int(64)}]`;
  const wo = (): string => `o[${w.int(16)}]`;
  const lpmStmt = (): string => {
    const [m, bytes, vt] = w.pick([['lpm1', 1, '__u8'], ['lpm3', 3, 'struct v3'], ['lpm3', 3, 'struct v3'], ['lpm16', 16, '__u64'], ['lpm16', 16, '__u64']] as const);
    const max = bytes * 8;
    const kt = m === 'lpm1' ? 'lk1' : m === 'lpm3' ? 'lk3' : 'lk16';
    const op = w.pick(['update', 'update', 'update', 'lookup', 'lookup', 'delete']);
    kinds.add('lpmx');
    const plen = (): string =>
      w.chance(0.5)
        ? String(w.pick([0, 1, max, max, max - 1, max + 1, w.int(max + 1), w.int(max + 1), max + 8, 0x80000000 + max]))
        : `(${WB()} & ${max >= 128 ? 127 : max >= 16 ? 31 : 15})${max >= 128 ? ` + ${w.pick([0, 0, 1, 8])}` : ''}`;
    const byte = (i: number): string => (i >= 4 && w.chance(0.6) ? '0' : w.pick(['0x0a', '0xc0', '0', '0xff', `(${WB()} & 0xc1)`, `(${WB()} & 0x81)`, WB(), `(${WB()} | 0x0a)`]));
    const data = Array.from({ length: bytes }, (_, i) => byte(i)).join(', ');
    const mk = `struct ${kt} k = { .plen = ${op === 'lookup' && w.chance(0.5) ? w.pick([String(max), String(max), String(max + 1), String(max + 32), `${WB()} & ${max >= 32 ? 31 : 7}`]) : plen()}, .d = { ${data} } };`;
    const fl = w.pick(['0', '0', '1', '2', '3', `(${WB()} & 3)`]);
    if (op === 'update') {
      const v = vt === 'struct v3' ? `struct v3 v = { { ${WB()}, ${WB()}, 7 } };` : `${vt} v = ${WB()} + ${w.int(1000)};`;
      return `{ ${mk} ${v} ${wo()} += bpf_map_update_elem(&${m}, &k, &v, ${fl}) + 50; }`;
    }
    if (op === 'delete') return `{ ${mk} ${wo()} += bpf_map_delete_elem(&${m}, &k) + 30; }`;
    const read = vt === 'struct v3' ? `v->x[0] + v->x[1] * 3 + 1` : `*v + 1`;
    const write = vt === 'struct v3' ? `v->x[2] += ${WB()};` : `*v ${w.pick(['+=', '^='])} ${WB()};`;
    return `{ ${mk} ${vt} *v = bpf_map_lookup_elem(&${m}, &k); if (v) { ${wo()} += ${read}; ${w.chance(0.5) ? write : ''} } else ${wo()} += 3; }`;
  };
  for (let i = 0; i < n; i++) {
    if (w.chance(0.3)) body.push(lpmStmt());
    if (x.chance(0.2)) body.push(lockStmt());
    if (z.chance(0.3)) body.push(walkStmt());
    const k = r.pick(['h1', 'h2', 'a1', 'ph', 'pa', 'lru', 'lpch', 'hnp', 'bl', 'q', 's', 'lpm', 'redir', 'pcpu', 'h1', 'lru', 'h2']);
    kinds.add(k);
    switch (k) {
      case 'h1': case 'ph': {
        const kt = k === 'h1' ? '__u32' : '__u16';
        const op = r.int(4);
        if (op === 0) body.push(`{ ${kt} k = ${key(7)}; struct v20 v = {}; v.a[${r.int(5)}] = ${B()} * 77; v.a[4] = k; ${o()} += bpf_map_update_elem(&${k}, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ ${kt} k = ${key(7)}; ${o()} += bpf_map_delete_elem(&${k}, &k); }`);
        else body.push(`{ ${kt} k = ${key(7)}; struct v20 *v = bpf_map_lookup_elem(&${k}, &k); if (v) { ${o()} += v->a[${r.int(5)}] + 1; v->a[${r.int(5)}] ${r.pick(['+=', '^=', '='])} ${B()}; } else ${o()} += 1000; }`);
        break;
      }
      case 'h2': {
        const op = r.int(3);
        // The key's hole (byte 1) zeroed by memset, as the kernel compares all 4 bytes.
        const mk = `struct k3 k; __builtin_memset(&k, 0, sizeof(k)); k.a = ${key(3)}; k.b = ${r.chance(0.5) ? `${B()} & 1` : '0x1234'};`;
        if (op === 0) body.push(`{ ${mk} __u64 v = ${B()} | ((__u64)${B()} << 40); ${o()} += bpf_map_update_elem(&h2, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ ${mk} ${o()} += bpf_map_delete_elem(&h2, &k); }`);
        else body.push(`{ ${mk} __u64 *v = bpf_map_lookup_elem(&h2, &k); if (v) { ${o()} ^= *v; __sync_fetch_and_add(v, ${r.int(9)}); } }`);
        break;
      }
      case 'a1': case 'pa': {
        const op = r.int(3);
        if (op === 0) body.push(`{ __u32 k = ${key(7)}; struct v3 v = { { ${B()}, ${B()}, ${B()} } }; ${o()} += bpf_map_update_elem(&${k}, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ __u32 k = ${key(7)}; ${o()} += bpf_map_delete_elem(&${k}, &k); }`);
        else body.push(`{ __u32 k = ${key(7)}; struct v3 *v = bpf_map_lookup_elem(&${k}, &k); if (v) { ${o()} += v->x[${r.int(3)}] + 1; v->x[${r.int(3)}] += ${B()}; } else ${o()} += 500; }`);
        break;
      }
      case 'lru': case 'hnp': {
        const kt = k === 'lru' ? '__u64' : '__u8';
        const op = r.int(3);
        if (op === 0) body.push(`{ ${kt} k = ${key(7)}; __u32 v = ${B()} + 1; ${o()} += bpf_map_update_elem(&${k}, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ ${kt} k = ${key(7)}; ${o()} += bpf_map_delete_elem(&${k}, &k); }`);
        else body.push(`{ ${kt} k = ${key(7)}; __u32 *v = bpf_map_lookup_elem(&${k}, &k); if (v) { ${o()} += *v; *v += 3; } else ${o()} += 7; }`);
        break;
      }
      case 'lpch': {
        const op = r.int(3);
        if (op === 0) body.push(`{ __u32 k = ${key(3)}; __u16 v = ${B()} * 3; ${o()} += bpf_map_update_elem(&lpch, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ __u32 k = ${key(3)}; ${o()} += bpf_map_delete_elem(&lpch, &k); }`);
        else body.push(`{ __u32 k = ${key(3)}; __u16 *v = bpf_map_lookup_elem(&lpch, &k); if (v) { ${o()} += *v; *v += 1; } }`);
        break;
      }
      case 'pcpu': {
        const m = r.pick(['ph', 'pa', 'lpch']);
        const kt = m === 'ph' ? '__u16' : '__u32';
        const cpu = r.pick(['0', '1', '2', '3', '64', `${B()} & 3`]);
        const read = m === 'ph' ? `((struct v20 *)v)->a[${r.int(5)}]` : m === 'pa' ? `((struct v3 *)v)->x[${r.int(3)}]` : '*(__u16 *)v';
        body.push(`{ ${kt} k = ${key(3)}; void *v = bpf_map_lookup_percpu_elem(&${m}, &k, ${cpu}); ${o()} += v ? ${read} + 1 : 99; }`);
        break;
      }
      case 'bl': {
        if (r.chance(0.5)) body.push(`{ __u32 v = ${key(31)}; ${o()} += bpf_map_push_elem(&bl, &v, ${r.pick(['0', '0', '2', '1'])}); }`);
        else body.push(`{ __u32 v = ${key(31)}; ${o()} += bpf_map_peek_elem(&bl, &v) + 5; }`);
        break;
      }
      case 'q': {
        const op = r.pick(['push', 'push', 'pop', 'peek']);
        if (op === 'push') body.push(`{ struct v3 v = { { ${B()}, 1, 2 } }; ${o()} += bpf_map_push_elem(&q, &v, ${r.pick(['0', '2', `(${B()} & 2)`, '1'])}); }`);
        else body.push(`{ struct v3 v = { { 9, 9, 9 } }; ${o()} += bpf_map_${op}_elem(&q, &v) * 1000 + v.x[0] + v.x[2]; }`);
        break;
      }
      case 's': {
        const op = r.pick(['push', 'push', 'pop', 'peek']);
        if (op === 'push') body.push(`{ __u64 v = ${B()} + 1; ${o()} += bpf_map_push_elem(&s, &v, ${r.pick(['0', '2', `(${B()} & 2)`])}); }`);
        else body.push(`{ __u64 v = 5; ${o()} += bpf_map_${op}_elem(&s, &v) * 1000 + v; }`);
        break;
      }
      case 'lpm': {
        const op = r.int(3);
        const mk = `struct lpmk k = { .prefixlen = ${r.chance(0.5) ? r.pick([0, 8, 16, 24, 32, 7, 33]) : `${B()} & 31`}, .d = { 10, ${B()} & 3, ${B()}, ${B()} } };`;
        if (op === 0) body.push(`{ ${mk} __u32 v = ${B()} + 100; ${o()} += bpf_map_update_elem(&lpm, &k, &v, ${flag()}); }`);
        else if (op === 1) body.push(`{ ${mk} ${o()} += bpf_map_delete_elem(&lpm, &k); }`);
        else body.push(`{ ${mk} k.prefixlen = 32; __u32 *v = bpf_map_lookup_elem(&lpm, &k); ${o()} += v ? *v : 1; }`);
        break;
      }
      case 'redir': {
        redirected = true;
        const fl = r.pick(['0', '1', '2', '3', '8', '16', '24', '9', '17', '32', '0x100', `(${B()} & 31)`]);
        if (r.chance(0.25)) body.push(`${o()} += bpf_redirect(${r.pick(['1', '0', '2', `${B()} & 3`])}, ${r.pick(['0', '1', '2', '8', `(${B()} & 15)`])});`);
        else body.push(`{ __u32 k = ${key(3)}; ${o()} += bpf_redirect_map(&${r.pick(['dev', 'devh', 'cpum', 'xsk'])}, k, ${fl}); }`);
        break;
      }
    }
  }
  const frags = r.chance(0.2);
  const ret = redirected && r.chance(0.5) ? `o[${r.int(16)}] & 7` : `(o[${r.int(16)}] ^ o[0]) % 4`;
  const source = `${HEADER}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  __u8 p[64];
  if (bpf_xdp_load_bytes(ctx, 0, p, 64) < 0) return XDP_PASS;
${body.map((l) => `  ${l}`).join('\n')}
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return ${ret};
}
`;
  return { source, opt: r.pick(['-O1', '-O2', '-O2', '-O3', '-Os']), mcpu: r.pick(['-mcpu=v2', '-mcpu=v3', '-mcpu=v3']), frags, kinds: [...kinds].sort() };
}
