// kfuncs the 6.18 kernel lets an XDP program call (each measured: the kernel loads it) that the simulator refused as
// not modelled: bpf_xdp_pull_data (new in 6.18: fragment bytes into the linear part), bpf_dynptr_copy,
// bpf_dynptr_memset, the bits iterator (bpf_iter_bits_new/_next/_destroy, what bpf_for_each(bits, ...) expands to),
// and the RCU / preemption / interrupt section kfuncs. Against the kernel, both engines; each program writes its
// results into the packet (XDP_TX), so the packet after the run holds every return value and the moved bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { assertAgreesWithKernel, skipIfBuildTakesHelper, compileTestSource, i64 } from './kernel-agree.ts';

const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_iter_bits { __u64 __opaque[2]; } __attribute__((aligned(8)));
extern int bpf_xdp_pull_data(struct xdp_md *x, __u32 len) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
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
char LICENSE[] SEC("license") = "GPL";
`;

/** A frame of `len` bytes: byte i is i * 7 + 3, then the selector bytes at 14.. (the programs read them). */
function frame(len: number, selectors: number[]): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (i * 7 + 3) & 0xff;
  p[12] = 0x08;
  p[13] = 0x00;
  selectors.forEach((s, i) => (p[14 + i] = s));
  return p;
}

// The pull length is selector * 64, or all of the frame (255), or one more than it (254), or 0 (0); selector 1 at
// byte 15 first grows 8 bytes of metadata, so the pull must move it too.
const PULL = HEAD + `
SEC("xdp.frags")
int prog(struct xdp_md *ctx) {
  __u8 sel[2];
  if (bpf_xdp_load_bytes(ctx, 14, sel, 2) < 0) return XDP_ABORTED;
  __u32 total = bpf_xdp_get_buff_len(ctx);
  __u32 len = sel[0] == 255 ? total : sel[0] == 254 ? total + 1 : sel[0] * 64;
  if (sel[1] == 1 && bpf_xdp_adjust_meta(ctx, -8)) return XDP_ABORTED;
  if (sel[1] == 1) {
    __u64 *meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 1) > (void *)(long)ctx->data) return XDP_ABORTED;
    *meta = 0x1122334455667788ULL;
  }
  __s64 o[4];
  o[0] = bpf_xdp_pull_data(ctx, len);
  o[1] = (long)ctx->data_end - (long)ctx->data;
  o[2] = bpf_xdp_get_buff_len(ctx);
  o[3] = 0;
  if (sel[1] == 1) {
    __u64 *meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 1) > (void *)(long)ctx->data) return XDP_DROP;
    o[3] = *meta;
  }
  if (bpf_xdp_store_bytes(ctx, 16, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bpf_xdp_pull_data: fragment bytes into the linear part, metadata moved, -EINVAL past the frame or the room, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (const len of [64, 1500, 3600, 5000, 9000]) {
    for (const sel of [0, 1, 30, 55, 56, 57, 58, 60, 62, 70, 80, 140, 255, 254]) packets.push(frame(len, [sel, 0]));
    for (const sel of [56, 57, 58, 255]) packets.push(frame(len, [sel, 1]));
  }
  if (skipIfBuildTakesHelper(t, 'pull-data', PULL)) return;
  const kernel = assertAgreesWithKernel('pull-data', PULL, packets);
  const rets = new Set(kernel.results.map((r) => i64(r.out, 2)));
  assert.ok(rets.has(0) && rets.has(-22), `both a pull and a refused one: ${[...rets]}`);
  // Some pull really moved bytes: a 9000-byte frame whose linear part grew past the test run's 3520 bytes.
  assert.ok(kernel.results.some((r, i) => packets[i]!.length === 9000 && i64(r.out, 2) === 0 && i64(r.out, 3) > 3520));
});

const DYNPTR = HEAD + `
SEC("xdp.frags")
int prog(struct xdp_md *ctx) {
  __u8 sel[6];
  struct bpf_dynptr p, q;
  if (bpf_xdp_load_bytes(ctx, 14, sel, 6) < 0) return XDP_ABORTED;
  if (bpf_dynptr_from_xdp(ctx, 0, &p)) return XDP_ABORTED;
  __u32 dst = sel[0] * 32, src = sel[1] * 32, size = sel[2] * 16 + sel[3];
  __s64 o[3];
  o[0] = bpf_dynptr_copy(&p, dst, &p, src, size);
  o[1] = bpf_dynptr_memset(&p, sel[4] * 32, size, sel[5]);
  bpf_dynptr_clone(&p, &q);
  o[2] = bpf_dynptr_copy(&q, 64, &p, 0, 0);
  if (bpf_xdp_store_bytes(ctx, 40, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bpf_dynptr_copy and bpf_dynptr_memset over the frame: overlapping, across fragments, out of range, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  const sels: number[][] = [
    [3, 4, 2, 5, 6, 0xab], [4, 3, 2, 5, 6, 0], [5, 5, 1, 0, 7, 1], [3, 10, 0, 0, 3, 9], // small, overlapping both ways, size 0
    [3, 4, 255, 15, 9, 0xee], [200, 3, 20, 0, 3, 0x55], [3, 108, 8, 0, 108, 0x77], // past the end, across the linear end
    [3, 112, 40, 0, 100, 0x31], [120, 3, 40, 0, 20, 0x32], [3, 250, 16, 0, 250, 0x33], // into and out of fragments
  ];
  for (const len of [200, 1500, 5000, 9000]) for (const s of sels) packets.push(frame(len, s));
  const kernel = assertAgreesWithKernel('dynptr-copy', DYNPTR, packets);
  const rets = new Set(kernel.results.flatMap((r) => [i64(r.out.subarray(40), 0), i64(r.out.subarray(40), 1)]));
  assert.ok(rets.has(0) && rets.has(-7), `copies that worked and out-of-range ones (-E2BIG): ${[...rets]}`);
});

const BITS = HEAD + `
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 sel[2];
  __u64 words[4];
  struct bpf_iter_bits it;
  int *bit;
  if (bpf_xdp_load_bytes(ctx, 14, sel, 2) < 0) return XDP_ABORTED;
  if (bpf_xdp_load_bytes(ctx, 16, words, sizeof(words)) < 0) return XDP_ABORTED;
  const __u64 *from = sel[1] == 1 ? (const __u64 *)0 : sel[1] == 2 ? (const __u64 *)0x1000 : sel[1] == 3 ? (const __u64 *)0xffffffffff600000ULL : words;
  __s64 o[4] = {};
  __u32 n = sel[0] == 200 ? 512 : sel[0] == 201 ? 511 : sel[0];
  o[0] = bpf_iter_bits_new(&it, from, n);
  while ((bit = bpf_iter_bits_next(&it))) {
    o[1] += *bit + 1;
    o[2]++;
    if (o[2] > 300) break;
  }
  o[3] = bpf_iter_bits_next(&it) ? 1 : 0;
  bpf_iter_bits_destroy(&it);
  if (bpf_xdp_store_bytes(ctx, 48, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bits iterator (bpf_iter_bits_new/_next/_destroy): one and several words, 0, 511 and 512 words, NULL and unmapped addresses, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (const [n, from] of [[1, 0], [2, 0], [3, 0], [4, 0], [0, 0], [200, 0], [201, 2], [1, 1], [2, 1], [1, 2], [2, 2], [1, 3], [2, 3]]) {
    packets.push(frame(96, [n!, from!]));
    const zeros = frame(96, [n!, from!]);
    zeros.fill(0, 16, 48);
    zeros[16] = 0x80; // only bit 7
    packets.push(zeros);
  }
  const kernel = assertAgreesWithKernel('iter-bits', BITS, packets);
  const news = new Set(kernel.results.map((r) => i64(r.out.subarray(48), 0)));
  assert.ok(news.has(0) && news.has(-22) && news.has(-7) && news.has(-14), `every return of bpf_iter_bits_new: ${[...news]}`);
});

const SECTIONS = HEAD + `
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } counter SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned long flags;
  __u32 k = 0;
  bpf_rcu_read_lock();
  __u64 *v = bpf_map_lookup_elem(&counter, &k);
  if (v) *v += 1;
  bpf_rcu_read_unlock();
  bpf_preempt_disable();
  if (v) *v += 0x100;
  bpf_preempt_enable();
  bpf_local_irq_save(&flags);
  if (v) *v += 0x10000;
  bpf_local_irq_restore(&flags);
  return v && *v > 0x30000 ? XDP_DROP : XDP_PASS;
}
`;

test('bpf_rcu_read_lock/unlock, bpf_preempt_disable/enable, bpf_local_irq_save/restore run as in 6.18 (no effect on results)', (t) => {
  if (kernelOrSkip(t)) return;
  const p = frame(64, []);
  const kernel = assertAgreesWithKernel('sections', SECTIONS, [p, p, p, p]);
  assert.deepEqual(kernel.results.map((r) => r.retval), [2, 2, 1, 1]);
});

// bpf_xdp_pull_data can move the frame: the verifier forgets packet pointers across it, as across bpf_xdp_adjust_head.
const STALE = HEAD + `
SEC("xdp.frags")
int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 20 > e) return XDP_ABORTED;
  bpf_xdp_pull_data(ctx, 200);
#ifdef FRESH
  d = (void *)(long)ctx->data;
  e = (void *)(long)ctx->data_end;
  if (d + 20 > e) return XDP_ABORTED;
#endif
  return d[15] == 3 ? XDP_PASS : XDP_DROP;
}
`;

/** The kernel's load log when it refuses the program `source` (empty when it loads), and what `run` reports before the first packet. */
function kernelAndOurRefusals(name: string, source: string): { refused: string; found: ReturnType<typeof refusalsBeforeRun> } {
  const { path, objectPath } = compileTestSource(name, source);
  let refused = '';
  try {
    runKernel(objectPath, 'prog', [frame(64, [])], { objectName: defaultObjectName(path) });
  } catch (e) {
    assert.ok(e instanceof KernelLoadError, String(e));
    refused = e.log;
  }
  const object = loadProgramFile(objectPath);
  const s = new Session(object, { program: 'prog' });
  return { refused, found: refusalsBeforeRun(object, s.program, s.machine) };
}

test('a packet pointer kept across bpf_xdp_pull_data: refused by 6.18 and reported before the run; reloaded: loads, nothing reported', (t) => {
  if (kernelOrSkip(t)) return;
  for (const fresh of [false, true]) {
    const { refused, found } = kernelAndOurRefusals(`pull-stale-${fresh}`, fresh ? `#define FRESH\n${STALE}` : STALE);
    if (fresh) {
      assert.equal(refused, '', 'the kernel loads the program that reloads its pointers');
      assert.deepEqual(found, []);
    } else {
      assert.match(refused, /invalid mem access 'scalar'/);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]!.rule, 'stale-packet-pointer');
      assert.match(found[0]!.message, /bpf_xdp_pull_data/);
    }
  }
});

// bpf_throw: the default exception callback makes the cookie the program's return value, from any frame.
const THROW = HEAD + `
extern void bpf_throw(__u64 cookie) __ksym;
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
static __attribute__((noinline)) int deep(struct xdp_md *ctx, int sel) {
  if (sel == 9) bpf_throw(0x100000002ULL);
  return sel + 1;
}
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  __u32 k = 0;
  if (d + 20 > e) return XDP_ABORTED;
  if (d[14] == 7) bpf_throw(3);
  int r = deep(ctx, d[14]);
  __u64 *v = bpf_map_lookup_elem(&seen, &k);
  if (v) *v += 1;
  return r > 4 ? XDP_PASS : XDP_DROP;
}
`;

test('bpf_throw ends the program with the cookie as its return value (from the main program and a subprogram), as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const kernel = assertAgreesWithKernel('throw', THROW, [7, 9, 1, 5, 9].map((s) => frame(64, [s])));
  assert.deepEqual(kernel.results.map((r) => r.retval), [3, 2, 1, 2, 2]);
});

// bpf_map_sum_elem_count: the element count of hash maps (LRU included, after evictions), 0 for an array.
const SUM = HEAD + `
struct bpf_map { int opaque; }; /* libbpf matches a struct, not a forward declaration, against the kernel's */
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u32); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u32); } ph SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u32); } arr SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  if (d + 24 > e) return XDP_ABORTED;
  __u32 k = d[14], v = 1;
  if (d[15] == 1) bpf_map_delete_elem(&h, &k); else bpf_map_update_elem(&h, &k, &v, BPF_ANY);
  bpf_map_update_elem(&lru, &k, &v, BPF_ANY);
  bpf_map_update_elem(&ph, &k, &v, BPF_NOEXIST);
  bpf_map_update_elem(&arr, &v, &v, BPF_ANY);
  __s64 o[4];
  o[0] = bpf_map_sum_elem_count((const struct bpf_map *)&h);
  o[1] = bpf_map_sum_elem_count((const struct bpf_map *)&lru);
  o[2] = bpf_map_sum_elem_count((const struct bpf_map *)&ph);
  o[3] = bpf_map_sum_elem_count((const struct bpf_map *)&arr);
  if (bpf_xdp_store_bytes(ctx, 24, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bpf_map_sum_elem_count counts hash, LRU (after evictions) and per-CPU hash elements, 0 for an array, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const sels = [[1, 0], [2, 0], [1, 0], [3, 0], [2, 1], [4, 0], [5, 0], [6, 0], [7, 0], [3, 1], [8, 0]];
  const kernel = assertAgreesWithKernel('sum-elem', SUM, sels.map((s) => frame(64, s)));
  assert.ok(kernel.results.some((r) => i64(r.out.subarray(24), 1) === 4), 'the LRU filled up');
});

// Resilient spin locks (6.15+): a lone program always gets the lock; the counter beside it in the map value is what
// the maps show (the lock word reads back as 0, as bpftool dumps special fields).
const RES_LOCK = HEAD + `
struct bpf_res_spin_lock { __u32 val; };
extern int bpf_res_spin_lock(struct bpf_res_spin_lock *lock) __ksym;
extern void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock) __ksym;
extern int bpf_res_spin_lock_irqsave(struct bpf_res_spin_lock *lock, unsigned long *flags__irq_flag) __ksym;
extern void bpf_res_spin_unlock_irqrestore(struct bpf_res_spin_lock *lock, unsigned long *flags__irq_flag) __ksym;
struct val { struct bpf_res_spin_lock lock; __u32 n; __u64 bytes; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } h SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data;
  struct val zero = {}, *v;
  unsigned long flags;
  if ((void *)(d + 1) > (void *)(long)ctx->data_end) return XDP_ABORTED;
  __u32 k = d[0] & 1;
  bpf_map_update_elem(&h, &k, &zero, BPF_NOEXIST);
  v = bpf_map_lookup_elem(&h, &k);
  if (!v) return XDP_ABORTED;
  int r = bpf_res_spin_lock(&v->lock);
  if (r) return XDP_DROP;
  v->n += 1;
  bpf_res_spin_unlock(&v->lock);
  __u64 len = bpf_xdp_get_buff_len(ctx); /* no helper calls while a lock is held */
  if (bpf_res_spin_lock_irqsave(&v->lock, &flags)) return XDP_DROP;
  v->bytes += len;
  bpf_res_spin_unlock_irqrestore(&v->lock, &flags);
  return XDP_PASS;
}
`;

test('bpf_res_spin_lock / _unlock and the irqsave forms: taken at once, the value updated under them, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const kernel = assertAgreesWithKernel('res-lock', RES_LOCK, [frame(64, []), frame(100, []), frame(64, [])].map((f, i) => { f[0] = i; return f; }));
  assert.deepEqual(kernel.results.map((r) => r.retval), [2, 2, 2]);
});

// An iterator never destroyed is an unreleased reference to the verifier; `run` reports it before the first packet.
const ITER_LEAK = HEAD + `
struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u64 w = 0x8001;
  int s = 0, *b;
#ifdef BITS
  struct bpf_iter_bits it;
  bpf_iter_bits_new(&it, &w, 1);
  while ((b = bpf_iter_bits_next(&it))) s += *b;
#ifdef DESTROY
  bpf_iter_bits_destroy(&it);
#endif
#else
  struct bpf_iter_num it;
  bpf_iter_num_new(&it, 0, 5);
  while ((b = bpf_iter_num_next(&it))) s += *b;
#ifdef DESTROY
  bpf_iter_num_destroy(&it);
#endif
#endif
  return s > 3 ? XDP_PASS : XDP_DROP;
}
`;

test('an open-coded iterator (num, bits) never destroyed: refused by 6.18 and reported before the run; destroyed: loads, nothing reported', (t) => {
  if (kernelOrSkip(t)) return;
  for (const bits of [false, true]) {
    for (const destroy of [false, true]) {
      const defs = `${bits ? '#define BITS\n' : ''}${destroy ? '#define DESTROY\n' : ''}`;
      const { refused, found } = kernelAndOurRefusals(`iter-leak-${bits}-${destroy}`, defs + ITER_LEAK);
      if (destroy) {
        assert.equal(refused, '', `bits=${bits}: the kernel loads it`);
        assert.deepEqual(found, [], `bits=${bits}`);
      } else {
        assert.match(refused, /Unreleased reference/, `bits=${bits}`);
        assert.equal(found.length, 1, JSON.stringify(found));
        assert.match(found[0]!.message, /Unreleased reference.*iterator/);
      }
    }
  }
});

// bpf_dynptr_copy between the frame and a map value (a LOCAL dynptr from bpf_dynptr_from_mem), both ways, and
// bpf_dynptr_memset on the map value: what a program keeping packet samples in a map does.
const COPY_MAP = HEAD + `
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u8[48]); } buf SEC(".maps");
SEC("xdp.frags")
int prog(struct xdp_md *ctx) {
  __u8 sel[3];
  __u32 k = 0;
  struct bpf_dynptr pkt, mem;
  if (bpf_xdp_load_bytes(ctx, 14, sel, 3) < 0) return XDP_ABORTED;
  __u8 *v = bpf_map_lookup_elem(&buf, &k);
  if (!v) return XDP_ABORTED;
  if (bpf_dynptr_from_xdp(ctx, 0, &pkt) || bpf_dynptr_from_mem(v, 48, 0, &mem)) return XDP_ABORTED;
  __s64 o[3];
  o[0] = bpf_dynptr_copy(&mem, sel[0], &pkt, sel[1] * 64, 24);
  o[1] = bpf_dynptr_memset(&mem, 40, sel[2], 0x5a);
  o[2] = bpf_dynptr_copy(&pkt, 100, &mem, 0, 40);
  if (bpf_xdp_store_bytes(ctx, 20, o, sizeof(o)) < 0) return XDP_ABORTED;
  return XDP_TX;
}
`;

test('bpf_dynptr_copy between the frame and a map value, and bpf_dynptr_memset on a map value, as 6.18', (t) => {
  if (kernelOrSkip(t)) return;
  const packets: Uint8Array[] = [];
  for (const len of [200, 5000]) for (const s of [[0, 1, 8], [24, 3, 9], [25, 1, 8], [8, 60, 0], [0, 54, 4], [4, 2, 2]]) packets.push(frame(len, s));
  const kernel = assertAgreesWithKernel('copy-map', COPY_MAP, packets);
  const rets = new Set(kernel.results.flatMap((r) => [0, 1, 2].map((j) => i64(r.out.subarray(20), j))));
  assert.ok(rets.has(0) && rets.has(-7), `copies that worked and ones out of range: ${[...rets]}`);
});
