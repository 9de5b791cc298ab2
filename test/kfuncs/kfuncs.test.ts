// kfuncs, the simulator against the kernel (BPF_PROG_TEST_RUN) where the kernel can run them:
//   - dynptr: bpf_dynptr_from_xdp, bpf_dynptr_slice (contiguous, across the linear part and a fragment with and
//     without a buffer, out of range), bpf_dynptr_read / bpf_dynptr_write (helpers 201/202, across fragments, bad
//     flags), bpf_dynptr_adjust, _clone, _size, _is_null, _is_rdonly, a failed from_xdp; results in .bss and the
//     packet, compared byte for byte on frames from 60 to 9000 bytes;
//   - conntrack: bpf_xdp_ct_lookup / _alloc / bpf_ct_insert_entry / _release / _set_timeout / _set_status and the
//     opts->error values (-ENOENT, -EINVAL for a bad opts size, -EPROTO), run in a network namespace of the test's
//     own so that the kernel's table starts empty;
//   - the RX metadata kfuncs: the kernel loads them only bound to a device, and BPF_PROG_TEST_RUN refuses
//     device-bound programs, so the kernel proves the program loads and the values are checked against the driver
//     model (mlx5: capture timestamp, Toeplitz hash and type, -ENODATA for no stripped tag; i40e: -EOPNOTSUPP);
//   - a kfunc XDP Lens does not model is a load error naming it and the instruction; a weak one is NULL to
//     bpf_ksym_exists().
// The bool kfuncs are declared returning __u8 and masked: the kernel (x86-64 JIT) leaves the upper bits of r0
// undefined after a bool return, so a program that uses the full register sees garbage there.
// bpf_dynptr_slice_rdwr is run by the simulator only: this machine's 6.18 build refuses it in every program type
// ("bpf_dynptr_slice_rdwr() is not allowed", EPERM), which mainline 6.18 does not (its only check there is that the
// program type may write packet data, which XDP may). `run` reports that refusal before the first packet (tested
// against the kernel) and still runs the program with mainline's semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadObject } from '../../simulator/elf/index.ts';
import { loadProgramFile, Session, XdpLensError } from '../../simulator/session.ts';
import { KernelLoadError, defaultObjectName, kernelOrSkip, runKernel, type KernelRunOptions } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { readFileSync } from 'node:fs';
import { programListing } from '../../simulator/analysis/listing.ts';
import { toeplitzHash } from '../../simulator/net/toeplitz.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-kfunc-'));
const HEAD = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *ptr, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *ptr, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern int bpf_dynptr_adjust(const struct bpf_dynptr *ptr, __u32 start, __u32 end) __ksym;
extern __u8 bpf_dynptr_is_null(const struct bpf_dynptr *ptr) __ksym;
extern __u8 bpf_dynptr_is_rdonly(const struct bpf_dynptr *ptr) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *ptr) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *ptr, struct bpf_dynptr *clone__uninit) __ksym;
`;

function write(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, HEAD + body);
  return path;
}

/** Deterministic frames: Ethernet + IPv4 + UDP/TCP headers, then a byte pattern; sizes across the linear limit. */
function frame(len: number, seed: number, proto = 17): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed * 13) & 0xff;
  b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  if (len >= 42) {
    b.set([0x45, 0, (len - 14) >> 8, (len - 14) & 0xff, 0, 0, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1 + (seed % 3), 10, 0, 0, 2], 14);
    b.set([0x30, 0x39 + (seed % 2), 0, 80], 34);
  }
  return b;
}
const SIZES = [60, 100, 1500, 3518, 3530, 5000, 9000];
const packets = SIZES.flatMap((n, i) => [frame(n, i), frame(n, i + 7)]);

function agree(path: string, opts: KernelRunOptions & { netns?: boolean } = {}): string[] {
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const kernel = runKernel(compiled.objectPath, 'prog', packets, { objectName: defaultObjectName(path), only: true, ...opts });
  const session = new Session(loadProgramFile(path), { program: 'prog', nrCpus: kernel.cpus, cpu: 0 });
  const problems: string[] = [];
  packets.forEach((bytes, i) => {
    const s = session.runPacket(bytes);
    const k = kernel.results[i];
    if (s.fault) problems.push(`packet ${i} (${bytes.length} bytes): simulator fault ${s.fault.kind}: ${s.fault.message}`);
    if (k.errno !== undefined) problems.push(`packet ${i}: the kernel's test_run failed with errno ${k.errno}`);
    else if (k.retval !== s.retval) problems.push(`packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
    const d = k.errno === undefined ? diffBytes(k.out, s.out) : undefined;
    if (d) problems.push(`packet ${i} (${bytes.length} bytes): ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())));
  return problems;
}

const DYNPTR = write('kf_dynptr.c', `
__s64 res[24];

SEC("xdp.frags")
int prog(struct xdp_md *ctx)
{
	struct bpf_dynptr p, q, z;
	__u8 buf[16] = {};
	__u8 *s;
	__u32 size;

	res[0] += bpf_dynptr_from_xdp(ctx, 0, &p);
	size = bpf_dynptr_size(&p);
	res[1] += size;
	s = bpf_dynptr_slice(&p, 12, buf, 2);
	if (s) res[2] += (s[0] << 8) | s[1]; else res[2] -= 1;
	s = bpf_dynptr_slice(&p, 3510, buf, 16);
	if (s) { res[3] += s[0] + s[15]; res[4] += s == buf; } else res[3] -= 1000;
	s = bpf_dynptr_slice(&p, 3510, 0, 16);
	if (s) res[5] += s[3]; else res[5] -= 1;
	s = bpf_dynptr_slice(&p, size - 4, buf, 8);
	res[6] += s ? 1 : 100;
	s = bpf_dynptr_slice(&p, 4000, buf, 4);
	if (s) res[7] += s[0] + s[3] * 256; else res[7] -= 1;
	res[8] += bpf_dynptr_read(buf, 16, &p, 3512, 0);
	res[9] += buf[0] + buf[9] + buf[15];
	res[10] += bpf_dynptr_read(buf, 4, &p, 0, 1);
	res[11] += bpf_dynptr_read(buf, 16, &p, size - 8, 0);
	res[12] += bpf_dynptr_clone(&p, &q);
	res[13] += bpf_dynptr_adjust(&q, 14, 34);
	res[14] += bpf_dynptr_size(&q);
	res[15] += bpf_dynptr_adjust(&q, 7, 3);
	res[16] += bpf_dynptr_adjust(&q, 0, 100);
	s = bpf_dynptr_slice(&q, 9, buf, 1);
	if (s) res[17] += s[0]; else res[17] -= 1;
	res[18] += (bpf_dynptr_is_null(&q) & 1) + 2 * (bpf_dynptr_is_rdonly(&q) & 1);
	res[19] += bpf_dynptr_from_xdp(ctx, 1, &z);
	res[20] += (bpf_dynptr_is_null(&z) & 1) + 2 * (bpf_dynptr_is_rdonly(&z) & 1);
	res[21] += (__s32)bpf_dynptr_size(&z);
	buf[0] = 0xaa; buf[5] = 0xbb; buf[9] = 0xcc;
	res[22] += bpf_dynptr_write(&p, 3515, buf, 10, 0);
	res[23] += bpf_dynptr_write(&q, 0, buf, 2, 0) + 1000 * bpf_dynptr_write(&p, 0, buf, 2, 4);
	return XDP_PASS;
}
`);

test('dynptr kfuncs and helpers agree with the kernel on frames of 60 to 9000 bytes (linear part and fragments)', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(DYNPTR), []);
});

const RDWR = write('kf_rdwr.c', `
__s64 res[4];

SEC("xdp.frags")
int prog(struct xdp_md *ctx)
{
	struct bpf_dynptr p;
	__u8 buf[8] = {};
	__u8 *s;

	if (bpf_dynptr_from_xdp(ctx, 0, &p)) return XDP_ABORTED;
	s = bpf_dynptr_slice_rdwr(&p, 0, buf, 6);
	if (!s) return XDP_DROP;
	s[0] = 0x0e;
	res[0] += s == buf;
	s = bpf_dynptr_slice_rdwr(&p, 3516, buf, 8);
	if (!s) return XDP_PASS;
	s[0] = 0x77;
	res[1] += s == buf;
	return XDP_PASS;
}
`);

test('bpf_dynptr_slice_rdwr: a slice inside one buffer writes the packet, one across a fragment is a copy (simulator; refused by this kernel build)', () => {
  const session = new Session(loadProgramFile(RDWR), { program: 'prog' });
  const small = session.runPacket(frame(100, 1));
  assert.equal(small.fault, undefined);
  assert.equal(small.action, 'XDP_PASS');
  assert.equal(small.data[0], 0x0e);
  const big = session.runPacket(frame(5000, 1));
  assert.equal(big.data[0], 0x0e);
  // Offset 3516 + 8 crosses the 3520-byte linear part: the write lands in the buffer, not in the packet.
  assert.equal(big.data[3516], frame(5000, 1)[3516]);
  const res = session.mapsJson()['kf_rdwr.bss'][0].value!;
  // res[0]: the first slice pointed into the packet both times (0); res[1]: the crossing one was the buffer once.
  assert.equal(res.slice(0, 16), '0000000000000000');
  assert.equal(res.slice(16, 32), '0100000000000000');
});

test('bpf_dynptr_slice_rdwr: the kernel refuses the program, and run says so on the call\'s line before the first packet; bpf_dynptr_slice is not refused', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(RDWR);
  assert.ok(compiled.objectPath, compiled.stderr);
  assert.throws(() => runKernel(compiled.objectPath!, 'prog', [frame(100, 1)], { objectName: defaultObjectName(RDWR), only: true }),
    (e: unknown) => e instanceof KernelLoadError && /bpf_dynptr_slice_rdwr\(\) is not allowed/.test(e.log));
  const obj = loadProgramFile(RDWR);
  const session = new Session(obj, { program: 'prog' });
  const refusals = refusalsBeforeRun(obj, session.program, session.machine).filter((r) => r.rule === 'kfunc');
  assert.equal(refusals.length, 1);
  const callLine = readFileSync(RDWR, 'utf8').split('\n').findIndex((l) => l.includes('bpf_dynptr_slice_rdwr(&p, 0')) + 1;
  assert.equal(refusals[0].line, callLine);
  assert.match(refusals[0].message, /bpf_dynptr_slice_rdwr\(\) is not allowed/);
  // The read-only slice loads in the kernel (the dynptr test above runs it) and is not called refused.
  const ro = write('kf_ro_only.c', `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct bpf_dynptr p;
	__u8 buf[8] = {};
	__u8 *s;
	if (bpf_dynptr_from_xdp(ctx, 0, &p)) return XDP_ABORTED;
	s = bpf_dynptr_slice(&p, 0, buf, 6);
	return s && s[0] == 2 ? XDP_DROP : XDP_PASS;
}
`);
  const roCompiled = compileC(ro);
  assert.ok(roCompiled.objectPath, roCompiled.stderr);
  runKernel(roCompiled.objectPath, 'prog', [frame(100, 1)], { objectName: defaultObjectName(ro), only: true });
  const roObj = loadProgramFile(ro);
  const roSession = new Session(roObj, { program: 'prog' });
  assert.deepEqual(refusalsBeforeRun(roObj, roSession.program, roSession.machine), []);
});

const CT_DECLS = `
struct bpf_ct_opts { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u16 ct_zone_id; __u8 ct_zone_dir; __u8 reserved[3]; };
/* struct nf_conn as laid out by the 6.18 x86-64 kernel (timeout at 8, status at 128, mark at 168), without CO-RE. */
struct nf_conn { __u8 _a[8]; __u32 timeout; __u8 _b[116]; unsigned long status; __u8 _c[32]; __u32 mark; };
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_xdp_ct_alloc(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern struct nf_conn *bpf_ct_insert_entry(struct nf_conn *) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
extern void bpf_ct_set_timeout(struct nf_conn *, __u32) __ksym;
extern int bpf_ct_set_status(const struct nf_conn *, __u32) __ksym;
extern int bpf_ct_change_status(struct nf_conn *, __u32) __ksym;
`;

const CONNTRACK = write('kf_ct.c', CT_DECLS + `
__s64 res[12];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct bpf_sock_tuple tup = {};
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_UDP };
	struct nf_conn *ct, *ins;
	__u16 *ports;

	if ((void *)(ip + 1) + 4 > end) return XDP_PASS;
	ports = (void *)(ip + 1);
	tup.ipv4.saddr = ip->saddr;
	tup.ipv4.daddr = ip->daddr;
	tup.ipv4.sport = ports[0];
	tup.ipv4.dport = ports[1];
	opts.l4proto = ip->protocol;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, 8);
	res[0] += opts.error;
	if (ct) bpf_ct_release(ct);
	opts.error = 0;
	opts.l4proto = 1;
	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	res[1] += opts.error;
	if (ct) bpf_ct_release(ct);
	opts.error = 0;
	opts.l4proto = ip->protocol;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (ct) {
		res[2]++;
		res[3] += opts.dir;
		res[4] += ct->status;
		res[5] += ct->mark;
		ct->mark = ct->mark + 1;
		res[6] += bpf_ct_change_status(ct, 2);
		bpf_ct_release(ct);
		return XDP_TX;
	}
	res[7] += opts.error;
	ct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (!ct) { res[8] += opts.error; return XDP_ABORTED; }
	bpf_ct_set_timeout(ct, 30000);
	res[9] += bpf_ct_set_status(ct, 4);
	ins = bpf_ct_insert_entry(ct);
	if (!ins) { res[10]++; return XDP_DROP; }
	res[11] += ins->status;
	bpf_ct_release(ins);
	return XDP_PASS;
}
`);

test('conntrack kfuncs agree with the kernel in a fresh network namespace: lookups, errors, alloc, insert, status, mark', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(CONNTRACK, { netns: true }), []);
});

const METADATA = write('kf_meta.c', `
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;
enum xdp_rss_hash_type { XDP_RSS_TYPE_NONE = 0 };
extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash, enum xdp_rss_hash_type *rss_type) __ksym;
extern int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto, __u16 *vlan_tci) __ksym;
__s64 res[8];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 ts = 0;
	__u32 hash = 0;
	enum xdp_rss_hash_type type = 0;
	__be16 proto = 0;
	__u16 tci = 0;

	res[0] = bpf_xdp_metadata_rx_timestamp(ctx, &ts);
	res[1] = ts;
	res[2] = bpf_xdp_metadata_rx_hash(ctx, &hash, &type);
	res[3] = hash;
	res[4] = type;
	res[5] = bpf_xdp_metadata_rx_vlan_tag(ctx, &proto, &tci);
	res[6] = bpf_ntohs(proto);
	res[7] = tci;
	return XDP_PASS;
}
`);

function metaResults(s: Session): bigint[] {
  const v = s.mapsJson()['kf_meta.bss'][0].value!;
  return Array.from({ length: 8 }, (_, i) => Buffer.from(v.slice(i * 16, i * 16 + 16), 'hex').readBigInt64LE());
}

test('RX metadata kfuncs: the kernel loads the program bound to a device; the values come from the modelled driver', (t) => {
  const obj = loadProgramFile(METADATA);
  const f = frame(100, 0);
  // BPF_PROG_TEST_RUN shape (the default mlx5 profile): capture timestamp, Toeplitz hash of the UDP flow, no tag.
  const s = new Session(obj, { program: 'prog' });
  s.runPacket(f, { tsNs: 1_764_000_000_123_456_789n });
  const input = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0, 80]);
  assert.deepEqual(metaResults(s), [0n, 1_764_000_000_123_456_789n, 0n, BigInt(toeplitzHash(input) >>> 0), 41n /* L4_IPV4_UDP */, -61n, 0n, 0n]);
  if (kernelOrSkip(t)) return;
  const compiled = compileC(METADATA);
  assert.ok(compiled.objectPath, compiled.stderr);
  // The kernel refuses metadata kfuncs in a program that is not device-bound, loads a bound one, and refuses to
  // BPF_PROG_TEST_RUN it (EINVAL): the load is all it can show.
  assert.throws(() => runKernel(compiled.objectPath!, 'prog', [f], { only: true }), (e: unknown) => e instanceof KernelLoadError && /device-bound/.test(e.log));
  const k = runKernel(compiled.objectPath!, 'prog', [f], { only: true, deviceBound: true });
  assert.equal(k.results[0]?.errno, 22);
});

test('RX metadata kfuncs per profile: i40e (6.18) implements none; mlx5 reports a stripped VLAN tag', async () => {
  const { Driver } = await import('../../simulator/driver/rx.ts');
  const { PROFILES } = await import('../../simulator/driver/profiles.ts');
  const tagged = new Uint8Array([...frame(100, 0).subarray(0, 12), 0x81, 0x00, 0x20, 0x05, ...frame(100, 0).subarray(12)]);
  const i40e = new Session(loadProgramFile(METADATA), { program: 'prog' });
  new Driver(i40e, { mode: 'native', profile: PROFILES.i40e, queues: 1 }).receive(tagged, 5n);
  assert.deepEqual(metaResults(i40e), [-95n, 0n, -95n, 0n, 0n, -95n, 0n, 0n]);
  const mlx5 = new Session(loadProgramFile(METADATA), { program: 'prog' });
  const r = new Driver(mlx5, { mode: 'native', profile: PROFILES.mlx5, queues: 1, vlanStrip: true }).receive(tagged, 5n);
  const m = metaResults(mlx5);
  assert.deepEqual([m[0], m[1], m[5], m[6], m[7]], [0n, 5n, 0n, 0x8100n, 0x2005n]);
  assert.equal(r.out.length, 100, 'the tag was removed from the frame the program saw');
  // Generic (skb) mode: the kernel does not attach a device-bound program there.
  assert.throws(() => new Driver(new Session(loadProgramFile(METADATA), { program: 'prog' }), { mode: 'generic', profile: PROFILES.mlx5, queues: 1 }),
    (e: unknown) => e instanceof XdpLensError && /Can't attach device-bound programs in generic mode/.test(e.message));
});

test('a kfunc XDP Lens does not model is a load error naming it and the instruction; a weak one is absent to bpf_ksym_exists', () => {
  const path = write('kf_unknown.c', `
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be __weak"); !!sym; })
#endif
extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign, __u64 flags) __ksym;
extern __u64 *bpf_session_cookie(void) __ksym __weak;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *ptr) __ksym __weak;
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	char buf[8];
	return bpf_copy_from_user_str(buf, sizeof(buf), 0, 0) ? XDP_PASS : XDP_DROP;
}
SEC("xdp")
int weak(struct xdp_md *ctx)
{
	if (bpf_ksym_exists(bpf_session_cookie))
		return bpf_session_cookie() ? XDP_PASS : XDP_DROP;
	if (bpf_ksym_exists(bpf_dynptr_size))
		return XDP_TX;
	return XDP_DROP;
}
`);
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const { object, diagnostics } = loadObject(readFileSync(compiled.objectPath!), path);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const named = diagnostics.filter((d) => /program 'prog' insn \d+ .*kfunc 'bpf_copy_from_user_str' is not modelled by XDP Lens/.test(d.message));
  assert.equal(named.length, 1, diagnostics.map((e) => e.message).join('\n'));
  if (named[0]!.severity === 'warning') {
    // The running kernel has it (its BTF says so): the program links and runs; a packet that reaches the call stops.
    assert.match(named[0]!.message, /the running kernel has it/);
    assert.equal(errors.length, 0);
    const r = new Session(object!, { program: 'prog' }).runPacket(frame(60, 0));
    assert.equal(r.fault?.kind, 'unsupported');
    assert.match(r.fault?.message ?? '', /kfunc 'bpf_copy_from_user_str' is not modelled by XDP Lens, and this packet reached the call/);
  } else {
    // No kernel BTF to say the kernel has it: the program is refused.
    assert.equal(errors.length, 1);
    assert.equal(errors[0].program, 'prog');
    assert.throws(() => new Session(object!, { program: 'prog' }), XdpLensError);
  }
  // The weak program loads: bpf_session_cookie is absent, bpf_dynptr_size present.
  const s = new Session(object!, { program: 'weak' });
  assert.equal(s.runPacket(frame(60, 0)).action, 'XDP_TX');
  assert.match(programListing(object!, 'weak'), /call runtime \d+ # kfunc bpf_session_cookie/);
});

test('the bytecode tier types kfunc results as the verifier does: no findings on the kfunc programs the kernel loads, the refused slice_rdwr call once, an unchecked slice reported', async () => {
  const { analyzeFile } = await import('../../simulator/analysis/index.ts');
  for (const path of [DYNPTR, CONNTRACK, METADATA, RDWR, ITER]) {
    const r = await analyzeFile(path, undefined, { driverMode: 'native' });
    const bytecode = r.findings.filter((f) => f.rule !== 'tx-unmodified');
    // kf_rdwr.c is refused by this kernel (bpf_dynptr_slice_rdwr is not allowed for XDP): check reports that
    // refusal once, on the first call, and nothing else.
    const expected = path === RDWR
      ? [`${readFileSync(RDWR, 'utf8').split('\n').findIndex((l) => l.includes('bpf_dynptr_slice_rdwr(&p, 0')) + 1}: verifier`]
      : [];
    assert.deepEqual(bytecode.map((f) => `${f.line}: ${f.rule}`), expected, path);
    if (path === RDWR) assert.match(bytecode[0]!.message, /bpf_dynptr_slice_rdwr\(\) is not allowed/);
  }
  const unchecked = write('kf_unchecked.c', `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct bpf_dynptr p;
	__u8 buf[2];
	__u8 *s;

	bpf_dynptr_from_xdp(ctx, 0, &p);
	s = bpf_dynptr_slice(&p, 12, buf, 2);
	return s[0] == 8 ? XDP_PASS : XDP_DROP; /* unchecked */
}

SEC("xdp")
int written(struct xdp_md *ctx)
{
	struct bpf_dynptr p;
	__u8 mac[6] = { 2, 0, 0, 0, 0, 9 };

	bpf_dynptr_from_xdp(ctx, 0, &p);
	bpf_dynptr_write(&p, 0, mac, 6, 0);
	return XDP_TX;
}
`);
  const r = await analyzeFile(unchecked, undefined, { driverMode: 'native' });
  const lines = readFileSync(unchecked, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('/* unchecked */')) + 1;
  const f = r.findings.filter((x) => x.rule === 'map-value-null');
  assert.equal(f.length, 1, JSON.stringify(r.findings));
  assert.equal(f[0].line, at);
  assert.match(f[0].message, /bpf_dynptr_slice/);
  // bpf_dynptr_write changed the frame before XDP_TX: no tx-unmodified.
  assert.deepEqual(r.findings.filter((x) => x.rule === 'tx-unmodified'), []);
});

const CONNTRACK2 = write('kf_ct2.c', CT_DECLS + `
extern int bpf_ct_change_timeout(struct nf_conn *, __u32) __ksym;
enum nf_nat_manip_type { NF_NAT_MANIP_SRC, NF_NAT_MANIP_DST };
union nf_inet_addr { __be32 all[4]; };
extern int bpf_ct_set_nat_info(struct nf_conn *, union nf_inet_addr *addr, int port, enum nf_nat_manip_type manip) __ksym;
__s64 res[26];

static __always_inline struct nf_conn *lookup(struct xdp_md *ctx, void *tup, __u32 tsz, struct bpf_ct_opts *o, __u32 osz, int i)
{
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, tup, tsz, o, osz);
	res[i] += o->error;
	o->error = 0;
	return ct;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tup = {}, nat = {};
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_TCP };
	union nf_inet_addr addr = {};
	struct nf_conn *ct, *ins;
	__u32 n = bpf_xdp_get_buff_len(ctx);

	tup.ipv4.saddr = bpf_htonl(0x0a000001);
	tup.ipv4.daddr = bpf_htonl(0x0a000002);
	tup.ipv4.sport = bpf_htons(1000 + (n & 7));
	tup.ipv4.dport = bpf_htons(80);

	opts.netns_id = 5;
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts), 0))) bpf_ct_release(ct);
	opts.netns_id = -2;
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts), 1))) bpf_ct_release(ct);
	opts.netns_id = -1;
	opts.reserved[1] = 1;
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts), 2))) bpf_ct_release(ct);
	opts.reserved[1] = 0;
	if ((ct = lookup(ctx, &tup, 20, &opts, sizeof(opts), 3))) bpf_ct_release(ct);
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv6), &opts, sizeof(opts), 4))) bpf_ct_release(ct);
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, 12, 5))) { res[6]++; bpf_ct_release(ct); }
	/* The 12-byte opts of older kernels: byte 9 (dir, an output) and the zone bytes 10-11 set. */
	opts.dir = 1;
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, 12, 19))) bpf_ct_release(ct);
	opts.dir = 0;
	opts.ct_zone_id = 5;
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, 12, 20))) bpf_ct_release(ct);
	/* A connection in zone 5 is found in zone 5 only. */
	if (n == 60) {
		struct nf_conn *z = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
		if (z) {
			z = bpf_ct_insert_entry(z);
			if (z) { res[21]++; bpf_ct_release(z); }
		}
	}
	if ((ct = lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts), 22))) { res[23]++; bpf_ct_release(ct); }
	opts.ct_zone_id = 0;

	ct = bpf_xdp_ct_alloc(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (!ct) { res[7] += opts.error; return XDP_ABORTED; }
	res[8] += bpf_ct_set_status(ct, 8);
	addr.all[0] = bpf_htonl(0xc0000209);
	res[9] += bpf_ct_set_nat_info(ct, &addr, 4000, NF_NAT_MANIP_SRC);
	bpf_ct_set_timeout(ct, 10000);
	ins = bpf_ct_insert_entry(ct);
	if (!ins) { res[10]++; return XDP_DROP; }
	res[11] += bpf_ct_change_timeout(ins, 20000);
	res[12] += bpf_ct_change_status(ins, ins->status | 2);
	res[13] += ins->status;
	bpf_ct_release(ins);

	/* The reply to the translated source: from 10.0.0.2:80 to 192.0.2.9:4000. */
	nat.ipv4.saddr = tup.ipv4.daddr;
	nat.ipv4.daddr = addr.all[0];
	nat.ipv4.sport = tup.ipv4.dport;
	nat.ipv4.dport = bpf_htons(4000);
	ct = lookup(ctx, &nat, sizeof(nat.ipv4), &opts, sizeof(opts), 14);
	if (ct) { res[15] += 1 + opts.dir; res[16] += ct->status; bpf_ct_release(ct); }
	/* The untranslated reply is no longer a tuple of the connection. */
	nat.ipv4.daddr = tup.ipv4.saddr;
	nat.ipv4.dport = tup.ipv4.sport;
	ct = lookup(ctx, &nat, sizeof(nat.ipv4), &opts, sizeof(opts), 17);
	if (ct) { res[18]++; bpf_ct_release(ct); }
	return XDP_PASS;
}
`);

test('conntrack kfuncs agree with the kernel: opts checks (netns, reserved bytes, tuple size, old opts size), NAT, timeouts, status changes', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(CONNTRACK2, { netns: true }), []);
});

test('a kfunc result returned as the verdict is an invalid action in both tiers (0 or -errno)', async () => {
  const { analyzeFile } = await import('../../simulator/analysis/index.ts');
  const path = write('kf_ret.c', `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct bpf_dynptr p;

	return bpf_dynptr_from_xdp(ctx, 0, &p); /* -EINVAL is not an action */
}
`);
  const r = await analyzeFile(path, undefined, { driverMode: 'native' });
  const at = readFileSync(path, 'utf8').split('\n').findIndex((l) => l.includes('not an action')) + 1;
  const found = r.findings.filter((f) => f.rule === 'invalid-action');
  assert.equal(found.length, 1, JSON.stringify(r.findings));
  assert.equal(found[0].line, at);
});

test('every modelled kfunc has a hover doc', async () => {
  const { KFUNCS } = await import('../../simulator/isa/kfunc-names.ts');
  const { HELPER_DOCS } = await import('../../server/docs.ts');
  assert.deepEqual(KFUNCS.map((k) => k.name).filter((n) => !HELPER_DOCS[n]), []);
  assert.ok(HELPER_DOCS.bpf_dynptr_read && HELPER_DOCS.bpf_dynptr_write);
});

test('the kernel tier does not report the device-binding refusal of a metadata-kfunc program as a mistake', (t) => {
  if (kernelOrSkip(t)) return;
  return import('../../simulator/analysis/verifier.ts').then(({ verifyWithKernel }) => {
    const compiled = compileC(METADATA);
    assert.ok(compiled.objectPath, compiled.stderr);
    const r = verifyWithKernel(compiled.objectPath!, METADATA);
    assert.deepEqual(r.findings, []);
    assert.match(r.skipped ?? '', /program prog calls the RX metadata kfuncs, so it loads only bound to a device/);
  });
});

const ITER = write('kf_iter.c', `
struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
__s64 res[8];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_iter_num it;
	int *v, n = 0;
	__u32 len = end - data;

	/* what bpf_for(i, 0, len % 37) expands to */
	bpf_iter_num_new(&it, 0, len % 37);
	while ((v = bpf_iter_num_next(&it))) {
		res[0] += *v;
		n++;
	}
	bpf_iter_num_destroy(&it);
	res[1] += n;
	res[2] += bpf_iter_num_new(&it, 5, 1);
	res[3] += bpf_iter_num_next(&it) ? 1 : 100;
	bpf_iter_num_destroy(&it);
	res[4] += bpf_iter_num_new(&it, -2000000000, 2000000000);
	bpf_iter_num_destroy(&it);
	res[5] += bpf_iter_num_new(&it, -3, 2);
	while ((v = bpf_iter_num_next(&it)))
		res[6] += *v * 10;
	bpf_iter_num_destroy(&it);
	return XDP_PASS;
}
`);

test('open-coded numeric iterators (bpf_for / bpf_repeat) agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  assert.deepEqual(agree(ITER), []);
});

test('NULL or an unchecked result passed to a kfunc: the bytecode tier reports exactly what the kernel refuses', async (t) => {
  const { analyzeFile } = await import('../../simulator/analysis/index.ts');
  const cases: { name: string; body: string; refused?: string }[] = [
    { name: 'unchecked_release', refused: 'trusted arg0', body: `
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	bpf_ct_release(ct); /* here */
	return XDP_PASS;` },
    { name: 'null_tuple', refused: 'trusted arg1', body: `
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, 0, 0, &o, sizeof(o)); /* here */
	if (ct) bpf_ct_release(ct);
	return XDP_PASS;` },
    { name: 'null_opts', refused: 'trusted arg3', body: `
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), 0, 0); /* here */
	if (ct) bpf_ct_release(ct);
	return XDP_PASS;` },
    { name: 'null_buffer_opt', body: `
	struct bpf_dynptr p;
	__u8 *s;
	bpf_dynptr_from_xdp(ctx, 0, &p);
	s = bpf_dynptr_slice(&p, 0, 0, 4);
	return s ? s[0] & 3 : XDP_PASS;` },
    { name: 'checked_release', body: `
	struct nf_conn *ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (ct) bpf_ct_release(ct);
	return XDP_PASS;` },
  ];
  const withKernel = !kernelOrSkip(t);
  for (const c of cases) {
    const path = write(`kf_null_${c.name}.c`, CT_DECLS + `
SEC("xdp")
int prog(struct xdp_md *ctx)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts o = { .netns_id = -1, .l4proto = IPPROTO_TCP };
${c.body}
}
`);
    const r = await analyzeFile(path, undefined, { driverMode: 'native' });
    const f = r.findings.filter((x) => x.rule === 'map-value-null');
    if (c.refused) {
      const at = readFileSync(path, 'utf8').split('\n').findIndex((l) => l.includes('/* here */')) + 1;
      assert.equal(f.length, 1, `${c.name}: ${JSON.stringify(r.findings)}`);
      assert.equal(f[0].line, at, c.name);
      assert.match(f[0].message, new RegExp(`Possibly NULL pointer passed to ${c.refused}`), c.name);
    } else {
      assert.deepEqual(f, [], c.name);
    }
    if (!withKernel) continue;
    const compiled = compileC(path);
    assert.ok(compiled.objectPath, compiled.stderr);
    try {
      runKernel(compiled.objectPath!, 'prog', [frame(60, 0)], { only: true, netns: true });
      assert.equal(c.refused, undefined, `${c.name}: the kernel loaded it`);
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
      assert.ok(c.refused && e.log.includes(`Possibly NULL pointer passed to ${c.refused}`), `${c.name}: ${e.log.split('\n').slice(-6).join('\n')}`);
    }
  }
});
