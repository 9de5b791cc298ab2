// The socket and SYN-cookie helpers against the kernel, with a program of our own:
//   - bpf_tcp_raw_gen_syncookie_ipv4/ipv6 on SYNs with MSS options across both MSS tables (below the first entry, on
//     and just below each entry, above the last, MSS 0, no option, options before it, malformed options): the MSS the
//     cookie encodes (upper 32 bits) must be the kernel's; -EINVAL for a th_len below 20 or not doff * 4;
//   - round trip: an ACK built from the SYN (seq + 1, ack_seq = cookie + 1) passes bpf_tcp_raw_check_syncookie_*
//     (0) on both sides; the same ACK with the cookie's minute counter moved back three minutes is refused (-EACCES);
//   - bpf_sk_lookup_tcp/udp and bpf_skc_lookup_tcp return NULL (no sockets) for good and bad tuple sizes, flags and
//     netns ids.
// The cookie itself depends on a boot-time secret and is not written to the packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, loadProgramFileWithObject, Session } from '../../simulator/session.ts';
import { compareWithKernel } from '../../simulator/kernel-compare.ts';
import { analyzeObjectReport } from '../../simulator/analysis/bytecode.ts';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { MSS_TABLE_V4, MSS_TABLE_V6, checkSyncookie, drawSecrets, genSyncookie, parseMssOption, siphash } from '../../simulator/vm/helper-impl/syncookie.ts';

const SOURCE = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";

static __always_inline void out(__u8 *d, __s64 gen, __s64 ok, __s64 bad, __s64 e1, __s64 e2) {
  __u32 mss = gen < 0 ? 0xffffffff : (__u32)(gen >> 32);
  __builtin_memcpy(d, &mss, 4);
  d[4] = (__u8)ok; d[5] = (__u8)bad; d[6] = (__u8)e1; d[7] = (__u8)e2;
#ifdef COOKIE
  __u32 c = (__u32)gen;
  __builtin_memcpy(d + 9, &c, 4);
#endif
}

static __always_inline void lookups(struct xdp_md *ctx, __u8 *d, void *tuple) {
  struct bpf_sock *sk;
  __u8 found = 0;
  sk = bpf_sk_lookup_tcp(ctx, tuple, sizeof(((struct bpf_sock_tuple *)0)->ipv4), BPF_F_CURRENT_NETNS, 0);
  if (sk) { found |= 1; bpf_sk_release(sk); }
  sk = bpf_sk_lookup_udp(ctx, tuple, sizeof(((struct bpf_sock_tuple *)0)->ipv6), BPF_F_CURRENT_NETNS, 0);
  if (sk) { found |= 2; bpf_sk_release(sk); }
  sk = bpf_skc_lookup_tcp(ctx, tuple, 7, BPF_F_CURRENT_NETNS, 0);
  if (sk) { found |= 4; bpf_sk_release(sk); }
  sk = bpf_sk_lookup_tcp(ctx, tuple, sizeof(((struct bpf_sock_tuple *)0)->ipv4), 0, 1);
  if (sk) { found |= 8; bpf_sk_release(sk); }
  sk = bpf_skc_lookup_tcp(ctx, tuple, sizeof(((struct bpf_sock_tuple *)0)->ipv4), 12345, 0);
  if (sk) { found |= 16; bpf_sk_release(sk); }
  d[8] = found;
}

SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u8 *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = (void *)d;
  struct bpf_sock_tuple tuple = {};
  if ((void *)(eth + 1) > end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *iph = (void *)(eth + 1);
    struct tcphdr *th = (void *)(iph + 1);
    if ((void *)th + 64 > end) return XDP_PASS;
    __u32 len = th->doff * 4;
    if (len < 20 || len > 60) return XDP_PASS;
    __s64 gen = bpf_tcp_raw_gen_syncookie_ipv4(iph, th, len);
    __s64 e1 = bpf_tcp_raw_gen_syncookie_ipv4(iph, th, len == 20 ? 24 : 20);
    __s64 e2 = bpf_tcp_raw_gen_syncookie_ipv4(iph, th, 8);
    struct tcphdr ack;
    __builtin_memcpy(&ack, th, sizeof(ack));
    ack.seq = bpf_htonl(bpf_ntohl(th->seq) + 1);
    ack.ack_seq = bpf_htonl((__u32)gen + 1);
    __s64 ok = bpf_tcp_raw_check_syncookie_ipv4(iph, &ack);
    ack.ack_seq = bpf_htonl((__u32)gen + 1 - (3u << 24));
    __s64 bad = bpf_tcp_raw_check_syncookie_ipv4(iph, &ack);
    tuple.ipv4.saddr = iph->saddr;
    tuple.ipv4.daddr = iph->daddr;
    tuple.ipv4.sport = th->source;
    tuple.ipv4.dport = th->dest;
    out(d, gen, ok, bad, e1, e2);
    lookups(ctx, d, &tuple);
    return XDP_TX;
  }
  if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *iph = (void *)(eth + 1);
    struct tcphdr *th = (void *)(iph + 1);
    if ((void *)th + 64 > end) return XDP_PASS;
    __u32 len = th->doff * 4;
    if (len < 20 || len > 60) return XDP_PASS;
    __s64 gen = bpf_tcp_raw_gen_syncookie_ipv6(iph, th, len);
    __s64 e1 = bpf_tcp_raw_gen_syncookie_ipv6(iph, th, len == 20 ? 24 : 20);
    __s64 e2 = bpf_tcp_raw_gen_syncookie_ipv6(iph, th, 8);
    struct tcphdr ack;
    __builtin_memcpy(&ack, th, sizeof(ack));
    ack.seq = bpf_htonl(bpf_ntohl(th->seq) + 1);
    ack.ack_seq = bpf_htonl((__u32)gen + 1);
    __s64 ok = bpf_tcp_raw_check_syncookie_ipv6(iph, &ack);
    ack.ack_seq = bpf_htonl((__u32)gen + 1 - (3u << 24));
    __s64 bad = bpf_tcp_raw_check_syncookie_ipv6(iph, &ack);
    __builtin_memcpy(tuple.ipv6.saddr, &iph->saddr, 16);
    __builtin_memcpy(tuple.ipv6.daddr, &iph->daddr, 16);
    tuple.ipv6.sport = th->source;
    tuple.ipv6.dport = th->dest;
    out(d, gen, ok, bad, e1, e2);
    lookups(ctx, d, &tuple);
    return XDP_TX;
  }
  return XDP_PASS;
}
`;

/** A SYN with these TCP option bytes (padded with NOPs to a multiple of 4), followed by payload to 64+ bytes. */
function syn(v6: boolean, options: number[], seq: number, sport: number): Uint8Array {
  const opts = [...options];
  while (opts.length % 4) opts.push(1);
  const ipLen = v6 ? 40 : 20;
  const b = new Uint8Array(14 + ipLen + 64 + 16);
  const dv = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  dv.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  if (v6) {
    b[ip] = 0x60;
    dv.setUint16(ip + 4, 64 + 16);
    b[ip + 6] = 6;
    b[ip + 7] = 64;
    b.set([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1], ip + 8);
    b.set([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 2], ip + 24);
  } else {
    b[ip] = 0x45;
    dv.setUint16(ip + 2, 20 + 64 + 16);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  }
  const th = ip + ipLen;
  dv.setUint16(th, sport);
  dv.setUint16(th + 2, 80);
  dv.setUint32(th + 4, seq);
  b[th + 12] = ((20 + opts.length) / 4) << 4;
  b[th + 13] = 0x02;
  dv.setUint16(th + 14, 64240);
  b.set(opts, th + 20);
  return b;
}

const mssOpt = (mss: number): number[] => [2, 4, mss >> 8, mss & 0xff];

const OPTION_SETS: number[][] = [
  [],
  mssOpt(0),
  mssOpt(100),
  ...[...MSS_TABLE_V4, ...MSS_TABLE_V6].flatMap((m) => [mssOpt(m - 1), mssOpt(m), mssOpt(m + 1)]),
  mssOpt(65535),
  [1, 1, 1, ...mssOpt(1400)], // NOPs first
  [3, 3, 7, ...mssOpt(1460)], // window scale then MSS
  [0, ...mssOpt(1460)], // EOL ends the options
  [2, 1, 5, 0xb4], // silly option size
  [2, 3, 5, 0xb4], // MSS option of the wrong size
  [8, 10, 1, 2, 3, 4, 5, 6, 7, 8, ...mssOpt(1300)], // timestamps then MSS
  [2, 60, 5, 0xb4], // option longer than the header
];

test('SYN cookie and socket helpers agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-syncookie-'));
  const path = join(dir, 'cookies.bpf.c');
  writeFileSync(path, SOURCE);
  const compiled = compileC(path);
  assert.ok(compiled.objectPath, compiled.stderr);
  const packets = [false, true].flatMap((v6) => OPTION_SETS.map((o, i) => syn(v6, o, 0x12345678 + i * 0x01010101, 1000 + i)));
  const kernel = runKernel(compiled.objectPath, 'prog', packets, { objectName: defaultObjectName(path) });
  const session = new Session(loadProgramFile(path), { program: 'prog', nrCpus: kernel.cpus, cpu: 0 });
  const problems: string[] = [];
  let tx = 0;
  packets.forEach((bytes, i) => {
    const s = session.runPacket(bytes);
    const k = kernel.results[i];
    if (s.fault) problems.push(`packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
    if (k.retval !== s.retval) problems.push(`packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
    if (k.retval === 3) tx++;
    const d = diffBytes(k.out, s.out);
    if (d) problems.push(`packet ${i}: ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())));
  assert.deepEqual(problems, []);
  // Every packet went through the helpers, and the round trip was accepted.
  assert.equal(tx, packets.length);
  for (const r of kernel.results) assert.deepEqual([r.out[4], r.out[5], r.out[6], r.out[7], r.out[8]], [0, 256 - 13, 256 - 22, 256 - 22, 0]);
});

test('compare reports the cookie bytes as clock/random-dependent, and nothing else', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-syncookie-'));
  const path = join(dir, 'cookies.bpf.c');
  writeFileSync(path, SOURCE);
  const { object, objectPath } = loadProgramFileWithObject(path, { clangFlags: ['-DCOOKIE'] });
  const frames = [false, true].flatMap((v6) => OPTION_SETS.slice(0, 6).map((o, i) => ({ frame: syn(v6, o, 0x01020304 + i, 2000 + i), tsNs: BigInt(i) * 1_000_000n })));
  const r = compareWithKernel(objectPath, object, frames);
  assert.equal(r.available, true, r.reason);
  assert.equal(r.differing, 0, JSON.stringify(r.rows.filter((x) => x.status === 'differs').slice(0, 2)));
  for (const row of r.rows) {
    // A cookie equal to the kernel's would need the kernel's secret: every row differs in the cookie, only there.
    assert.equal(row.status, 'clock/random');
    assert.ok(row.clockRandom!.bytes.every((b) => b >= 9 && b < 13), `row ${row.index}: bytes ${row.clockRandom!.bytes.join(',')}`);
  }
});

test('the bytecode analysis walks socket lookups (socket or NULL) and the cookie helpers without findings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-syncookie-'));
  const path = join(dir, 'cookies.bpf.c');
  writeFileSync(path, SOURCE);
  const r = analyzeObjectReport(loadProgramFileWithObject(path).object);
  assert.deepEqual(r.findings, []);
  assert.ok(r.programs.every((p) => p.complete), JSON.stringify(r.programs));
});

test('syncookie: SipHash-2-4 test vector, MSS parsing, and the check window', () => {
  // The reference vector of the SipHash paper: key 00..0f, message 00..0e.
  const k0 = 0x0706050403020100n;
  const k1 = 0x0f0e0d0c0b0a0908n;
  assert.equal(siphash(Uint8Array.from({ length: 15 }, (_, i) => i), k0, k1), 0xa129ca6149be45e5n);
  assert.equal(parseMssOption(syn(false, mssOpt(1234), 1, 1).subarray(34)), 1234);
  assert.equal(parseMssOption(syn(false, [0, ...mssOpt(1234)], 1, 1).subarray(34)), 0);
  let n = 1;
  const secrets = drawSecrets(() => (n = (n * 1103515245 + 12345) >>> 0));
  const p = syn(false, mssOpt(1440), 0xfffffff0, 4242);
  const ip = p.subarray(14, 34);
  const th = p.subarray(34, 34 + 24);
  const cookie = genSyncookie(false, ip, th, 100, secrets)!;
  assert.equal(Number(cookie >> 32n), 1440);
  const ack = th.slice(0, 20);
  const dv = new DataView(ack.buffer);
  dv.setUint32(4, (0xfffffff0 + 1) >>> 0);
  dv.setUint32(8, (Number(cookie & 0xffffffffn) + 1) >>> 0);
  // Valid in the minute it was made and the next; not two minutes later or before it was made.
  assert.deepEqual([99, 100, 101, 102].map((m) => checkSyncookie(false, ip, ack, m, secrets)), [false, true, true, false]);
});
