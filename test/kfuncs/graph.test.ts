// The object and collection kfuncs against the kernel (BPF_PROG_TEST_RUN, 6.18): bpf_obj_new / bpf_obj_drop,
// bpf_list_push_front/back, bpf_list_pop_front/back, bpf_list_front/back, bpf_rbtree_add / _remove / _first / _root /
// _left / _right, bpf_refcount_acquire and bpf_percpu_obj_new / _drop, in XDP programs whose lists and trees live in
// global data and in array map values, under a bpf_spin_lock. Each program runs a fixed sequence of packets whose bytes
// choose the operation and the key, so the collections carry their contents from packet to packet; what the program
// saw (node values, NULLs, the tree's shape through root/left/right, push results) lands in .bss and in the packet,
// compared byte for byte with the kernel's, on both engines.
// A map value holding a list head is not compared: the kernel's dump shows its internal pointers there (the tree root
// dumps as zeros, as the simulator's does).
// bpf_wq: the kernel loads bpf_wq_init and bpf_wq_start in XDP and refuses bpf_wq_set_callback_impl ("sleepable callback
// in a program that is not sleepable"): without a callback bpf_wq_start is -EINVAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-graph-'));
// Declarations as bpf_experimental.h has them (written here: the Debian headers do not ship it).
const HEAD = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_list_head { __u64 a, b; } __attribute__((aligned(8)));
struct bpf_list_node { __u64 a, b, c; } __attribute__((aligned(8)));
struct bpf_rb_root { __u64 a, b; } __attribute__((aligned(8)));
struct bpf_rb_node { __u64 a, b, c, d; } __attribute__((aligned(8)));
struct bpf_refcount { __u32 a; } __attribute__((aligned(4)));
struct bpf_wq { __u64 a, b; } __attribute__((aligned(8)));
#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#define private(name) SEC(".data." #name) __attribute__((aligned(8))) __attribute__((visibility("hidden")))
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern void *bpf_percpu_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_percpu_obj_drop_impl(void *kptr, void *meta) __ksym;
extern void *bpf_refcount_acquire_impl(void *kptr, void *meta) __ksym;
extern int bpf_list_push_front_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta, __u64 off) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta, __u64 off) __ksym;
extern struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_pop_back(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_back(struct bpf_list_head *head) __ksym;
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root, struct bpf_rb_node *node) __ksym;
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node,
	_Bool (less)(struct bpf_rb_node *a, const struct bpf_rb_node *b), void *meta, __u64 off) __ksym;
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_root(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_left(struct bpf_rb_root *root, struct bpf_rb_node *node) __ksym;
extern struct bpf_rb_node *bpf_rbtree_right(struct bpf_rb_root *root, struct bpf_rb_node *node) __ksym;
extern int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags) __ksym;
extern int bpf_wq_start(struct bpf_wq *wq, unsigned int flags) __ksym;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (callback_fn)(void *map, int *key, void *value),
	unsigned int flags, void *aux__ign) __ksym;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), 0))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, 0)
#define bpf_percpu_obj_new(type) ((type *)bpf_percpu_obj_new_impl(bpf_core_type_id_local(type), 0))
#define bpf_percpu_obj_drop(kptr) bpf_percpu_obj_drop_impl(kptr, 0)
#define bpf_refcount_acquire(kptr) bpf_refcount_acquire_impl(kptr, 0)
#define bpf_list_push_front(head, node) bpf_list_push_front_impl(head, node, 0, 0)
#define bpf_list_push_back(head, node) bpf_list_push_back_impl(head, node, 0, 0)
#define bpf_rbtree_add(head, node, less) bpf_rbtree_add_impl(head, node, less, 0, 0)
`;

function write(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, HEAD + body);
  return path;
}

/** 64-byte frames; byte 16 is the operation (below `ops`), 17 the key, 18 a selector, from a fixed LCG. */
function packets(count: number, ops: number, keys: number, seed: number): Uint8Array[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) >>> 0) >>> 16;
  return Array.from({ length: count }, (_, i) => {
    const b = new Uint8Array(64);
    b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5], 0);
    b[16] = next() % ops;
    b[17] = next() % keys;
    b[18] = next() & 0xff;
    b[30] = i;
    return b;
  });
}

function agree(path: string, pkts: Uint8Array[], skipMaps: string[] = []): string[] {
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const kernel = runKernel(compiled.objectPath, 'prog', pkts, { objectName: defaultObjectName(path), only: true });
  const problems: string[] = [];
  for (const engine of ['interp', 'compiled'] as const) {
    const session = new Session(loadProgramFile(path), { program: 'prog', nrCpus: kernel.cpus, cpu: 0, engine });
    pkts.forEach((bytes, i) => {
      const s = session.runPacket(bytes);
      const k = kernel.results[i]!;
      if (s.fault) problems.push(`${engine}: packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
      if (k.errno !== undefined) problems.push(`packet ${i}: the kernel's test_run failed with errno ${k.errno}`);
      else if (k.retval !== s.retval) problems.push(`${engine}: packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
      const d = k.errno === undefined ? diffBytes(k.out, s.out) : undefined;
      if (d) problems.push(`${engine}: packet ${i}: ${d}`);
    });
    const keep = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([name]) => !skipMaps.includes(name)));
    problems.push(...diffMaps(keep(kernel.maps) as typeof kernel.maps, keep(normaliseSimMaps(session.mapsJson())) as typeof kernel.maps).map((p) => `${engine}: ${p}`));
  }
  return problems;
}

const LIST = write('graph_list.c', `
struct elem { long v; struct bpf_list_node node; long w; };
struct mv { struct bpf_spin_lock lock; struct bpf_list_head head __contains(elem, node); };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, int); __type(value, struct mv); } lists SEC(".maps");
private(A) struct bpf_spin_lock glock;
private(A) struct bpf_list_head ghead __contains(elem, node);
long res[16];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_list_node *n;
	struct elem *e;
	struct mv *m;
	int k;

	if (d + 20 > end) return XDP_ABORTED;
	__u8 op = d[16], key = d[17];
	k = d[18] & 1;
	m = bpf_map_lookup_elem(&lists, &k);
	if (!m) return XDP_ABORTED;
	if (op < 4) {
		e = bpf_obj_new(typeof(*e));
		if (!e) return XDP_ABORTED;
		e->v = key; e->w = op;
		if (op & 1) {
			bpf_spin_lock(&m->lock);
			res[0] += (op & 2) ? bpf_list_push_back(&m->head, &e->node) : bpf_list_push_front(&m->head, &e->node);
			bpf_spin_unlock(&m->lock);
		} else {
			bpf_spin_lock(&glock);
			res[1] += (op & 2) ? bpf_list_push_back(&ghead, &e->node) : bpf_list_push_front(&ghead, &e->node);
			n = bpf_list_front(&ghead);
			if (n) res[2] += container_of(n, struct elem, node)->v;
			n = bpf_list_back(&ghead);
			if (n) { e = container_of(n, struct elem, node); res[3] += e->v; e->w += 100; }
			bpf_spin_unlock(&glock);
		}
		return XDP_PASS;
	}
	if (op < 8) {
		if (op & 1) {
			bpf_spin_lock(&m->lock);
			n = (op & 2) ? bpf_list_pop_back(&m->head) : bpf_list_pop_front(&m->head);
			bpf_spin_unlock(&m->lock);
		} else {
			bpf_spin_lock(&glock);
			n = (op & 2) ? bpf_list_pop_back(&ghead) : bpf_list_pop_front(&ghead);
			bpf_spin_unlock(&glock);
		}
		if (!n) { res[4]++; return XDP_DROP; }
		e = container_of(n, struct elem, node);
		d[19] = e->v; d[18] = e->w;
		res[5] += e->v * 3 + e->w;
		res[6]++;
		bpf_obj_drop(e);
		return XDP_TX;
	}
	bpf_spin_lock(&glock);
	n = bpf_list_front(&ghead);
	res[7] += n ? container_of(n, struct elem, node)->v : -1;
	n = bpf_list_back(&ghead);
	res[8] += n ? container_of(n, struct elem, node)->w : -1;
	bpf_spin_unlock(&glock);
	return XDP_PASS;
}
`);

test('bpf_list_* in global data and array map values agree with the kernel over 300 packets (push, pop, front, back, NULL on empty)', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(LIST, packets(300, 9, 200, 1), ['.data.A', 'lists']), []);
});

const RB = write('graph_rb.c', `
struct nd { long key; struct bpf_rb_node rb; long seq; };
private(A) struct bpf_spin_lock glock;
private(A) struct bpf_rb_root groot __contains(nd, rb);
long res[24];
long seq;

static _Bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct nd, rb)->key < container_of(b, struct nd, rb)->key;
}
#define K(n) ({ struct bpf_rb_node *__n = (n); __n ? container_of(__n, struct nd, rb)->key : -1; })

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_rb_node *n, *r, *p;
	struct nd *e;
	int i;

	if (d + 24 > end) return XDP_ABORTED;
	__u8 op = d[16], key = d[17];
	if (op < 6) {
		e = bpf_obj_new(typeof(*e));
		if (!e) return XDP_ABORTED;
		e->key = key; e->seq = ++seq;
		bpf_spin_lock(&glock);
		res[0] += bpf_rbtree_add(&groot, &e->rb, less);
	} else {
		bpf_spin_lock(&glock);
		n = op == 6 ? bpf_rbtree_first(&groot) : bpf_rbtree_root(&groot);
		if (n && op == 8) n = bpf_rbtree_left(&groot, n);
		if (n && op == 9) n = bpf_rbtree_right(&groot, n);
		if (n) n = bpf_rbtree_remove(&groot, n);
		if (n) {
			e = container_of(n, struct nd, rb);
			res[1] += e->key * 1000 + e->seq;
			d[20] = e->key; d[21] = e->seq;
			bpf_spin_unlock(&glock);
			bpf_obj_drop(e);
			bpf_spin_lock(&glock);
		} else res[2]++;
	}
	r = bpf_rbtree_root(&groot);
	res[3] = K(r);
	n = bpf_rbtree_first(&groot);
	res[4] = K(n);
	if (n) res[5] = container_of(n, struct nd, rb)->seq;
	if (r) {
		n = bpf_rbtree_left(&groot, r);
		res[6] = K(n);
		if (n) { res[7] = K(bpf_rbtree_left(&groot, n)); res[8] = K(bpf_rbtree_right(&groot, n)); }
		n = bpf_rbtree_right(&groot, r);
		res[9] = K(n);
		if (n) {
			res[10] = K(bpf_rbtree_left(&groot, n)); res[11] = K(bpf_rbtree_right(&groot, n));
			p = bpf_rbtree_right(&groot, n);
			if (p) { res[12] = K(bpf_rbtree_right(&groot, p)); res[13] = K(bpf_rbtree_left(&groot, p)); }
		}
		p = r;
		for (i = 0; i < 6 && p; i++) { res[14 + i] = K(p); p = bpf_rbtree_left(&groot, p); }
	}
	bpf_spin_unlock(&glock);
	res[21] = 0;
	for (i = 14; i < 20; i++) res[21] = res[21] * 256 + (res[i] & 0xff);
	d[22] = res[3]; d[23] = res[21];
	return XDP_TX;
}
`);

test("bpf_rbtree_* agree with the kernel over 600 packets: insertion order of equal keys, removal of first/root/children, the tree's shape", (t) => {
  if (kernelOrSkip(t)) return;
  // Few keys (duplicates: equal keys go right) and many (a deep tree), removals one packet in five or two in five.
  assert.deepEqual(agree(RB, packets(200, 8, 12, 7)), []);
  assert.deepEqual(agree(RB, packets(400, 10, 256, 3)), []);
});

const REFCOUNT = write('graph_ref.c', `
struct nd { long key; struct bpf_refcount ref; struct bpf_rb_node rb; struct bpf_list_node ln; };
private(A) struct bpf_spin_lock glock;
private(A) struct bpf_rb_root groot __contains(nd, rb);
private(A) struct bpf_list_head ghead __contains(nd, ln);
long res[16];

static _Bool less(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	return container_of(a, struct nd, rb)->key < container_of(b, struct nd, rb)->key;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_list_node *ln;
	struct bpf_rb_node *rn;
	struct nd *e, *m;

	if (d + 24 > end) return XDP_ABORTED;
	__u8 op = d[16], key = d[17];
	if (op == 0) {
		e = bpf_obj_new(typeof(*e));
		if (!e) return XDP_ABORTED;
		e->key = key;
		m = bpf_refcount_acquire(e);
		bpf_spin_lock(&glock);
		res[0] += bpf_rbtree_add(&groot, &e->rb, less);
		res[1] += bpf_list_push_back(&ghead, &m->ln);
		bpf_spin_unlock(&glock);
		return XDP_PASS;
	}
	if (op == 1) {
		bpf_spin_lock(&glock);
		ln = bpf_list_front(&ghead);
		m = ln ? bpf_refcount_acquire(container_of(ln, struct nd, ln)) : 0;
		bpf_spin_unlock(&glock);
		if (!m) { res[2]++; return XDP_DROP; }
		e = bpf_refcount_acquire(m);
		bpf_spin_lock(&glock);
		res[3] += bpf_list_push_front(&ghead, &m->ln);
		if (e) res[4] += bpf_rbtree_add(&groot, &e->rb, less);
		bpf_spin_unlock(&glock);
		return XDP_TX;
	}
	if (op == 2) {
		bpf_spin_lock(&glock);
		ln = bpf_list_pop_front(&ghead);
		bpf_spin_unlock(&glock);
		if (!ln) { res[5]++; return XDP_DROP; }
		m = container_of(ln, struct nd, ln);
		d[20] = m->key;
		bpf_spin_lock(&glock);
		rn = bpf_rbtree_remove(&groot, &m->rb);
		bpf_spin_unlock(&glock);
		res[6] += m->key;
		if (rn) { res[7]++; bpf_obj_drop(container_of(rn, struct nd, rb)); }
		bpf_obj_drop(m);
		return XDP_TX;
	}
	if (op == 3) {
		bpf_spin_lock(&glock);
		rn = bpf_rbtree_first(&groot);
		if (rn) rn = bpf_rbtree_remove(&groot, rn);
		bpf_spin_unlock(&glock);
		if (!rn) { res[8]++; return XDP_DROP; }
		e = container_of(rn, struct nd, rb);
		d[21] = e->key;
		res[9] += e->key;
		e->key += 1000;
		bpf_obj_drop(e);
		return XDP_TX;
	}
	bpf_spin_lock(&glock);
	ln = bpf_list_front(&ghead);
	res[10] += ln ? container_of(ln, struct nd, ln)->key : -1;
	ln = bpf_list_back(&ghead);
	res[11] += ln ? container_of(ln, struct nd, ln)->key : -1;
	rn = bpf_rbtree_first(&groot);
	res[12] += rn ? container_of(rn, struct nd, rb)->key : -1;
	bpf_spin_unlock(&glock);
	return XDP_PASS;
}
`);

test('bpf_refcount_acquire: one object in a list and a tree, a second push or add of a node already held is -EINVAL, agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(REFCOUNT, packets(300, 5, 100, 11), ['.data.A']), []);
});

const WQ_UPDATE = write('graph_wq.c', `
struct elem { long v; struct bpf_list_node node; };
struct mv { struct bpf_spin_lock lock; struct bpf_list_head head __contains(elem, node); struct bpf_wq wq; long n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, int); __type(value, struct mv); } vals SEC(".maps");
long res[8];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_list_node *n;
	struct mv *m, zero = {};
	struct elem *e;
	int k;

	if (d + 20 > end) return XDP_ABORTED;
	__u8 op = d[16], key = d[17];
	k = d[18] & 1;
	m = bpf_map_lookup_elem(&vals, &k);
	if (!m) return XDP_ABORTED;
	switch (op) {
	case 0:
		res[0] += bpf_wq_init(&m->wq, &vals, 0);
		res[1] += bpf_wq_init(&m->wq, &vals, d[19] & 1);
		return XDP_PASS;
	case 1:
		res[2] += bpf_wq_start(&m->wq, 0);
		res[3] += bpf_wq_start(&m->wq, 1);
		return XDP_PASS;
	case 2:
		/* the slot's old value goes with its workqueue and its list (bpf_obj_free_fields) */
		zero.n = key;
		res[4] += bpf_map_update_elem(&vals, &k, &zero, BPF_ANY);
		return XDP_PASS;
	case 3:
	case 4:
		e = bpf_obj_new(typeof(*e));
		if (!e) return XDP_ABORTED;
		e->v = key;
		bpf_spin_lock(&m->lock);
		bpf_list_push_back(&m->head, &e->node);
		bpf_spin_unlock(&m->lock);
		m->n++;
		return XDP_PASS;
	default:
		bpf_spin_lock(&m->lock);
		n = bpf_list_pop_front(&m->head);
		bpf_spin_unlock(&m->lock);
		if (!n) { res[5]++; return XDP_DROP; }
		e = container_of(n, struct elem, node);
		res[6] += e->v;
		d[19] = e->v;
		bpf_obj_drop(e);
		return XDP_TX;
	}
}
`);

test('bpf_wq_init (0, then -EBUSY until the map slot is overwritten; -EINVAL for flags) and bpf_wq_start (-EINVAL: no callback in XDP); an overwritten slot\'s list is emptied; agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(WQ_UPDATE, packets(300, 7, 100, 5), ['vals']), []);
});

const PERCPU = write('graph_percpu.c', `
struct val { long c[4]; };
long res[4];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct val *v = bpf_percpu_obj_new(struct val);
	if (!v) return XDP_ABORTED;
	res[0]++;
	bpf_percpu_obj_drop(v);
	return XDP_PASS;
}
`);

test('bpf_percpu_obj_new / _drop: never NULL, agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(PERCPU, packets(5, 1, 1, 1)), []);
});

const WQ_CALLBACK = write('graph_wq_cb.c', `
struct mv { struct bpf_wq wq; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int); __type(value, struct mv); } vals SEC(".maps");

static int cb(void *map, int *key, void *value) { return 0; }

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	int k = 0;
	struct mv *m = bpf_map_lookup_elem(&vals, &k);
	if (!m) return XDP_PASS;
	bpf_wq_init(&m->wq, &vals, 0);
	bpf_wq_set_callback_impl(&m->wq, cb, 0, 0);
	return XDP_PASS;
}
`);

test('bpf_wq_set_callback_impl: the kernel refuses it in XDP, and the simulator names the call\'s line with the kernel\'s words', (t) => {
  const obj = loadProgramFile(WQ_CALLBACK);
  const session = new Session(obj, { program: 'prog' });
  const refusals = refusalsBeforeRun(obj, session.program, session.machine).filter((r) => r.rule === 'kfunc');
  assert.equal(refusals.length, 1);
  const callLine = readFileSync(WQ_CALLBACK, 'utf8').split('\n').findIndex((l) => l.includes('bpf_wq_set_callback_impl(&m')) + 1;
  assert.equal(refusals[0]!.line, callLine);
  assert.match(refusals[0]!.message, /^sleepable callback in a program that is not sleepable/);
  const run = session.runPacket(packets(1, 1, 1, 1)[0]!);
  assert.match(run.fault?.message ?? '', /sleepable callback in a program that is not sleepable/);
  if (kernelOrSkip(t)) return;
  const compiled = compileC(WQ_CALLBACK);
  assert.ok(compiled.objectPath, compiled.stderr);
  assert.throws(() => runKernel(compiled.objectPath!, 'prog', packets(1, 1, 1, 1), { objectName: defaultObjectName(WQ_CALLBACK), only: true }),
    (e: unknown) => e instanceof KernelLoadError && /sleepable callback in a program that is not sleepable/.test(e.log));
});
