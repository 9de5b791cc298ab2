// Random XDP programs in C that parse and rewrite protocol headers (pfuzz), for what the other generators leave out:
// their packets are random bytes with at most an Ethernet/IPv4-looking start, and their packet offsets are constants or
// masked packet bytes. Here the packets are well-formed (and now and then truncated or malformed) Ethernet frames with
// 0..2 VLAN tags, IPv4 with options (ihl 5..15, fragments, IPIP) or IPv6 with extension header chains (hop-by-hop,
// routing, destination options, fragment), then TCP with options (doff 5..15: NOP, MSS, window scale, SACK, timestamps,
// EOL), UDP or ICMP/ICMPv6; and the program walks them as real XDP code does, with offsets read from the headers:
//   parse:    a header cursor moved by ihl * 4, (hdrlen + 1) * 8 and doff * 4, re-checked against data_end after each
//             move; the VLAN and extension header walks unrolled or in bounded loops; the parser inline, a static
//             noinline function or a global function given the context (its results in a struct on the caller's stack);
//   rewrite:  MAC swap, TTL / hop limit decrement with an incremental checksum, the IPv4 checksum recomputed with
//             bpf_csum_diff over the header copied out with bpf_xdp_load_bytes (ihl * 4 bytes), ports rewritten with the
//             L4 checksum updated by bpf_csum_diff, a TCP MSS option clamped (an option walk), an ICMP echo turned into
//             a reply;
//   layout:   IPIP encapsulation and decapsulation, VLAN push and pop (bpf_xdp_adjust_head and a moved Ethernet header),
//             trimming the frame to the IP length (bpf_xdp_adjust_tail by a computed delta), parse results written to
//             the metadata area (bpf_xdp_adjust_meta) and read back through data_meta; the parser runs again after each;
//   maps:     a HASH / LRU_HASH keyed by a padded 5-tuple struct (insert or count), PERCPU_ARRAY counters per protocol;
//   bytes:    bpf_xdp_load_bytes / store_bytes at header-derived offsets, a bounded byte loop hashing the L4 payload.
// A quarter are SEC("xdp.frags") with frames up to 9,000 bytes (the headers in the linear part, the payload across
// fragments). The action comes from what was parsed. Results go to o[16], logged per packet in a HASH; the packet itself is the
// rewritten frame; all maps are compared after the run (sfuzz.test.ts `pfuzz`). generatePProgram(seed, true) splices in
// more statements from a PRNG of their own (widen(): adjust sequences, struct copies, IPv6 compares, per-CPU atomics,
// packet callbacks), leaving the plain program of every seed as it was.
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
struct vhdr { __be16 tci; __be16 proto; };
struct xopt { __u8 nexthdr; __u8 hdrlen; __u8 rest[6]; };
struct pinfo { __u32 off3; __u32 off4; __u32 pay; __u16 proto; __u8 l4; __u8 vlans; __u8 hl; __u8 doff; __u8 ok; __u8 frag;
  __u32 saddr; __u32 daddr; __u16 sport; __u16 dport; __u8 type; __u8 code; __u16 iplen; };
struct tuple { __u32 saddr; __u32 daddr; __u16 sport; __u16 dport; __u8 proto; };
struct cnt { __u64 packets; __u64 bytes; __u32 last; __u32 flags; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, struct tuple); __type(value, struct cnt); } flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4); __type(key, struct tuple); __type(value, struct cnt); } lflows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, struct cnt); } perproto SEC(".maps");
__u32 counter;
static __always_inline __u16 fold(__u64 c) {
  c = (c & 0xffffffff) + (c >> 32);
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  return (__u16)c;
}
`;

/** The parser's body (fills *pi from ctx), in one of its shapes. */
function parserBody(r: Prng, kinds: Set<string>): string {
  const vlanLoop = r.chance(0.5);
  const xhLoop = r.chance(0.5);
  const xhMax = 1 + r.int(4);
  const L: string[] = [];
  L.push(`  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;`,
    `  struct ethhdr *eth = data;`,
    `  if ((void *)(eth + 1) > end) return 0;`,
    `  void *pos = eth + 1;`,
    `  __u16 proto = eth->h_proto;`);
  if (vlanLoop) {
    kinds.add('vlan-loop');
    L.push(`  for (int i = 0; i < 2; i++) {`,
      `    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;`,
      `    struct vhdr *vh = pos;`,
      `    if ((void *)(vh + 1) > end) return 0;`,
      `    proto = vh->proto; pos = vh + 1; pi->vlans++;`,
      `  }`);
  } else {
    L.push(`  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {`,
      `    struct vhdr *vh = pos; if ((void *)(vh + 1) > end) return 0; proto = vh->proto; pos = vh + 1; pi->vlans = 1;`,
      `    if (proto == bpf_htons(ETH_P_8021Q)) { vh = pos; if ((void *)(vh + 1) > end) return 0; proto = vh->proto; pos = vh + 1; pi->vlans = 2; }`,
      `  }`);
  }
  L.push(`  pi->proto = bpf_ntohs(proto);`, `  pi->off3 = pos - data;`);
  // IPv4: ihl * 4, checked; the options skipped by moving the cursor.
  const ihlCheck = r.pick([
    `if (hl < sizeof(*ip)) return 1;\n    if (pos + hl > end) return 1;`,
    `if (hl < 20) return 1;\n    if ((void *)ip + hl > end) return 1;`,
  ]);
  L.push(`  if (proto == bpf_htons(ETH_P_IP)) {`,
    `    struct iphdr *ip = pos;`,
    `    if ((void *)(ip + 1) > end) return 1;`,
    `    __u32 hl = ip->ihl * 4;`,
    `    ${ihlCheck}`,
    `    pi->hl = hl; pi->l4 = ip->protocol; pi->saddr = ip->saddr; pi->daddr = ip->daddr; pi->iplen = bpf_ntohs(ip->tot_len);`,
    `    pi->frag = (ip->frag_off & bpf_htons(0x3fff)) != 0;`,
    `    pos += hl;`,
    `  } else if (proto == bpf_htons(ETH_P_IPV6)) {`,
    `    struct ipv6hdr *ip6 = pos;`,
    `    if ((void *)(ip6 + 1) > end) return 1;`,
    `    __u8 nh = ip6->nexthdr;`,
    `    pi->saddr = ip6->saddr.in6_u.u6_addr32[3]; pi->daddr = ip6->daddr.in6_u.u6_addr32[${r.int(4)}]; pi->iplen = bpf_ntohs(ip6->payload_len) + 40;`,
    `    pos = ip6 + 1;`);
  const xhStep = [
    `      if (nh == 0 || nh == 43 || nh == 60) { struct xopt *x = pos; if ((void *)(x + 1) > end) return 1; nh = x->nexthdr; pos += (x->hdrlen + 1) * 8; }`,
    `      else if (nh == 44) { struct xopt *x = pos; if ((void *)(x + 1) > end) return 1; nh = x->nexthdr; pi->frag = 1; pos += 8; }`,
  ];
  if (xhLoop) {
    kinds.add('xh-loop');
    L.push(`    for (int i = 0; i < ${xhMax}; i++) {`, ...xhStep, `      else break;`, `    }`);
  } else {
    for (let i = 0; i < xhMax; i++) L.push(`    {`, ...xhStep, `    }`);
  }
  L.push(`    pi->l4 = nh;`,
    `  } else return 1;`,
    `  if (pos > end) return 2;`,
    `  pi->off4 = (pos - data) & 0xfff;`);
  L.push(`  if (pi->l4 == IPPROTO_TCP) {`,
    `    struct tcphdr *th = pos;`,
    `    if ((void *)(th + 1) > end) return 2;`,
    `    pi->sport = bpf_ntohs(th->source); pi->dport = bpf_ntohs(th->dest); pi->doff = th->doff * 4;`,
    `    pi->type = ((__u8 *)th)[13];`,
    `    if (pi->doff < 20) return 2;`,
    `    pi->pay = pi->off4 + pi->doff;`,
    `  } else if (pi->l4 == IPPROTO_UDP) {`,
    `    struct udphdr *uh = pos;`,
    `    if ((void *)(uh + 1) > end) return 2;`,
    `    pi->sport = bpf_ntohs(uh->source); pi->dport = bpf_ntohs(uh->dest); pi->pay = pi->off4 + 8;`,
    `  } else if (pi->l4 == IPPROTO_ICMP || pi->l4 == 58) {`,
    `    __u8 *ic = pos;`,
    `    if ((void *)(ic + 4) > end) return 2;`,
    `    pi->type = ic[0]; pi->code = ic[1]; pi->pay = pi->off4 + 8;`,
    `  } else { pi->pay = pi->off4; }`,
    `  pi->ok = 1;`,
    `  return 3;`);
  return L.join('\n');
}

export function generatePProgram(seed: number, wide = false): SProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  const mcpu = r.pick(['-mcpu=v1', '-mcpu=v2', '-mcpu=v3', '-mcpu=v3']);
  const opt = r.pick(['-O2', '-O2', '-O1', '-O3', '-Os']);
  const v3 = mcpu === '-mcpu=v3';
  const frags = r.chance(0.25);
  if (frags) kinds.add('frags');
  const shape = r.pick(['inline', 'inline', 'static', 'global']);
  kinds.add(`parse-${shape}`);
  const pbody = parserBody(r, kinds);
  let parser: string;
  if (shape === 'global') {
    parser = `__attribute__((noinline)) int parse(struct xdp_md *ctx, struct pinfo *pi) {\n  if (!pi) return 0;\n${pbody}\n}`;
  } else {
    parser = `static ${shape === 'inline' ? '__always_inline' : '__attribute__((noinline))'} int parse(struct xdp_md *ctx, struct pinfo *pi) {\n${pbody}\n}`;
  }
  const o = (): string => `o[${r.int(16)}]`;
  // Every action starts from fresh data/data_end and the latest parse; a layout change parses again.
  const reparse = `__builtin_memset(&pi, 0, sizeof(pi)); st = parse(ctx, &pi); ${o()} += st * 0x100 + pi.off4;`;
  const fresh = `void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;`;
  // Offsets from the parse, masked as real code does; now and then a mask the verifier's packet range cannot take
  // (0xffff: past MAX_PACKET_OFF with the access size) or none at all: the kernel refuses those, and run must too.
  const mask = (base: string[]): string => (r.chance(0.04) ? r.pick(['0xffff', '0x7fff', '0xfffe', '']) : r.pick(base));
  const masked = (x: string, m: string): string => (m ? `(${x} & ${m})` : x);
  const off3 = () => masked('pi.off3', mask(['63', '0x3f', '31']));
  const off4 = () => masked('pi.off4', mask(['0x1ff', '0xff', '0x3ff']));
  const actions: (() => string)[] = [
    () => { kinds.add('macswap'); return `{ ${fresh} struct ethhdr *e = data; if ((void *)(e + 1) <= end) { __u8 t[6]; __builtin_memcpy(t, e->h_dest, 6); __builtin_memcpy(e->h_dest, e->h_source, 6); __builtin_memcpy(e->h_source, t, 6); ${o()} ^= e->h_dest[5]; } }`; },
    () => {
      kinds.add('ttl');
      return `if (pi.proto == ETH_P_IP) { ${fresh} struct iphdr *ip = data + ${off3()}; if ((void *)(ip + 1) <= end && ip->ttl > 0) {
    __u16 old = *(__u16 *)&ip->ttl; ip->ttl--; __u16 nw = *(__u16 *)&ip->ttl;
    __u32 c = (~ip->check & 0xffff) + (~old & 0xffff) + nw; ip->check = ~fold(c); ${o()} += ip->check; } }
  else if (pi.proto == ETH_P_IPV6) { ${fresh} struct ipv6hdr *ip6 = data + ${off3()}; if ((void *)(ip6 + 1) <= end) { ip6->hop_limit -= ${r.pick(['1', '2', '0x80'])}; ${o()} += ip6->hop_limit; } }`;
    },
    () => {
      kinds.add('ipcsum');
      return `if (pi.proto == ETH_P_IP && pi.hl >= 20) { __u32 hb[15] = {}; __u32 hl = pi.hl & 0x3c; if (hl < 20) hl = 20;
    long e1 = bpf_xdp_load_bytes(ctx, pi.off3 & 63, hb, hl); ${o()} += e1;
    if (e1 == 0) { ((__u16 *)hb)[5] = 0; __s64 s = bpf_csum_diff(0, 0, hb, hl, ${r.pick(['0', '0xffff', `${o()} & 0xffff`])}); ${o()} ^= s;
      __u16 ck = ~fold((__u32)s); ${o()} += bpf_xdp_store_bytes(ctx, (pi.off3 & 63) + 10, &ck, 2); } }`;
    },
    () => {
      kinds.add('ports');
      const csumOff = r.pick([['IPPROTO_TCP', 16], ['IPPROTO_UDP', 6]] as const);
      return `if (pi.l4 == ${csumOff[0]} && pi.ok) { ${fresh} __u8 *l4 = data + ${off4()}; if ((void *)(l4 + 20) <= end) {
    __u32 old = *(__u32 *)l4; __u32 nw = ${r.pick(['bpf_htonl(0x1f900050)', '(old >> 16) | (old << 16)', `old ^ ${r.pick(['0x01000000', '0xffff', '0x1'])}`])};
    *(__u32 *)l4 = nw; __u16 *ck = (__u16 *)(l4 + ${csumOff[1]});
    ${csumOff[0] === 'IPPROTO_UDP' ? 'if (*ck) ' : ''}{ __s64 s = bpf_csum_diff(&old, 4, &nw, 4, ~*ck & 0xffff); ${o()} += s; *ck = ~fold((__u32)s); } } }`;
    },
    () => {
      kinds.add('mss');
      const limit = r.pick(['1200', '536', '1460', '0x8000']);
      const loop = r.pick(['8', '10', '6']);
      return `if (pi.l4 == IPPROTO_TCP && pi.doff > 20) { ${fresh} __u32 at = ${off4()} + 20; __u32 stop = ${off4()} + (pi.doff & 0x3c);
    for (int i = 0; i < ${loop}; i++) {
      __u8 *p = data + (at & 0x7ff);
      if ((void *)(p + 4) > end || at >= stop) break;
      if (p[0] == 0) break;
      if (p[0] == 1) { at++; continue; }
      if (p[0] == 2 && p[1] == 4) { __u16 m = bpf_ntohs(*(__u16 *)(p + 2)); ${o()} += m;
        if (m > ${limit}) { __u32 old = *(__u32 *)p; *(__u16 *)(p + 2) = bpf_htons(${limit}); __u32 nw = *(__u32 *)p;
          __u8 *th = data + ${off4()}; if ((void *)(th + 20) <= end) { __u16 *ck = (__u16 *)(th + 16); __s64 s = bpf_csum_diff(&old, 4, &nw, 4, ~*ck & 0xffff); *ck = ~fold((__u32)s); ${o()} ^= s; } } }
      if (p[1] < 2) break;
      at += p[1];
    } }`;
    },
    () => {
      kinds.add('icmp-echo');
      return `if (pi.proto == ETH_P_IP && pi.l4 == IPPROTO_ICMP && pi.type == 8) { ${fresh} struct iphdr *ip = data + ${off3()}; __u8 *ic = data + ${off4()};
    if ((void *)(ip + 1) <= end && (void *)(ic + 4) <= end) { __u32 a = ip->saddr; ip->saddr = ip->daddr; ip->daddr = a;
      __u16 old = *(__u16 *)ic; ic[0] = 0; __u16 nw = *(__u16 *)ic; __u16 *ck = (__u16 *)(ic + 2);
      *ck = ~fold((~*ck & 0xffff) + (~old & 0xffff) + nw); act = XDP_TX; ${o()} += *ck; } }`;
    },
    () => {
      kinds.add('encap');
      return `if (pi.proto == ETH_P_IP && pi.vlans == 0) { long e = bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)); ${o()} += e;
    if (!e) { ${fresh} struct ethhdr *ne = data; struct iphdr *oh = data + sizeof(*ne); struct iphdr *ih = (void *)(oh + 1);
      if ((void *)(ih + 1) <= end) { __builtin_memmove(ne, data + sizeof(struct iphdr), sizeof(*ne));
        struct iphdr h = {}; h.version = 4; h.ihl = 5; h.ttl = 64; h.protocol = IPPROTO_IPIP; h.saddr = ih->daddr ^ ${r.pick(['0', '0x01010101'])}; h.daddr = ih->saddr;
        h.tot_len = bpf_htons(bpf_ntohs(ih->tot_len) + 20); h.check = ~fold(bpf_csum_diff(0, 0, (__u32 *)&h, sizeof(h), 0)); *oh = h; ne->h_proto = bpf_htons(ETH_P_IP); }
      ${reparse} } }`;
    },
    () => {
      kinds.add('decap');
      return `if (pi.proto == ETH_P_IP && (pi.l4 == IPPROTO_IPIP || pi.l4 == ${r.pick(['IPPROTO_TCP', 'IPPROTO_UDP', '41'])}) && pi.hl >= 20) { ${fresh} struct ethhdr eh;
    if (data + sizeof(eh) <= end) { __builtin_memcpy(&eh, data, sizeof(eh)); __u32 cut = (pi.off3 & 63) + (pi.hl & 0x3c) - sizeof(eh);
      long e = bpf_xdp_adjust_head(ctx, cut); ${o()} += e;
      if (!e) { ${fresh} if (data + sizeof(eh) <= end) { eh.h_proto = bpf_htons(pi.l4 == 41 ? ETH_P_IPV6 : ETH_P_IP); __builtin_memcpy(data, &eh, sizeof(eh)); } ${reparse} } } }`;
    },
    () => {
      kinds.add('vlan-push');
      return `{ long e = bpf_xdp_adjust_head(ctx, -4); ${o()} += e;
    if (!e) { ${fresh} if (data + 18 <= end) { __builtin_memmove(data, data + 4, 12); struct vhdr *vh = data + 12; vh->proto = vh->tci; vh->tci = bpf_htons(${r.int(4096)}); *(__be16 *)(data + 12) = bpf_htons(${r.pick(['ETH_P_8021Q', 'ETH_P_8021AD'])}); }
      ${reparse} } }`;
    },
    () => {
      kinds.add('vlan-pop');
      return `if (pi.vlans) { ${fresh} if (data + 18 <= end) { __u8 mac[12]; __builtin_memcpy(mac, data, 12); long e = bpf_xdp_adjust_head(ctx, 4); ${o()} += e;
    if (!e) { ${fresh} if (data + 14 <= end) __builtin_memcpy(data, mac, 12); } ${reparse} } }`;
    },
    () => {
      kinds.add('trim');
      return `if (pi.iplen && pi.proto == ${r.pick(['ETH_P_IP', 'ETH_P_IPV6'])}) { ${fresh} __s32 len = end - data; __s32 want = (pi.off3 & 63) + pi.iplen${r.pick(['', ' + 4', ' - 1'])};
    if (want < len) { long e = bpf_xdp_adjust_tail(ctx, want - len); ${o()} += e * 3 + (want - len); ${reparse} } }`;
    },
    () => {
      kinds.add('meta');
      const n = r.pick([4, 8, 12, 16, 32]);
      return `{ long e = bpf_xdp_adjust_meta(ctx, -${n}); ${o()} += e;
    if (!e) { void *meta = (void *)(long)ctx->data_meta; ${fresh} if (meta + ${n} <= data) { __u32 *m = meta; m[0] = pi.off4 | (pi.l4 << 16);${n >= 8 ? ` m[1] = pi.saddr;` : ''}${n >= 12 ? ` m[2] = pi.sport | (pi.dport << 16);` : ''} }
      meta = (void *)(long)ctx->data_meta; data = (void *)(long)ctx->data; if (meta + ${n >= 8 ? 8 : 4} <= data) ${o()} += *(__u32 *)meta${n >= 8 ? ` + ((__u32 *)meta)[1]` : ''}; } }`;
    },
    () => {
      kinds.add('flow');
      const m = r.pick(['flows', 'lflows']);
      return `if (pi.ok) { struct tuple k; __builtin_memset(&k, 0, sizeof(k)); k.saddr = pi.saddr; k.daddr = pi.daddr & ${r.pick(['0xff', '0xffffffff', '3'])}; k.sport = pi.sport & ${r.pick(['3', '0xffff'])}; k.dport = pi.dport; k.proto = pi.l4;
    struct cnt *c = bpf_map_lookup_elem(&${m}, &k);
    if (c) { ${v3 ? '__sync_fetch_and_add(&c->packets, 1);' : 'c->packets++;'} c->bytes += ctx->data_end - ctx->data; c->last = pi.type; ${o()} += c->packets; }
    else { struct cnt n = { 1, ctx->data_end - ctx->data, pi.type, pi.frag }; ${o()} += bpf_map_update_elem(&${m}, &k, &n, ${r.pick(['BPF_NOEXIST', 'BPF_ANY'])}); } }`;
    },
    () => {
      kinds.add('perproto');
      return `{ __u32 k = pi.l4 == IPPROTO_TCP ? 1 : pi.l4 == IPPROTO_UDP ? 2 : pi.l4 == IPPROTO_ICMP ? 3 : pi.l4 == 58 ? 4 : pi.proto == ETH_P_IPV6 ? 5 : st;
    struct cnt *c = bpf_map_lookup_elem(&perproto, &k); if (c) { c->packets++; c->bytes += pi.iplen; c->flags |= 1 << (pi.vlans & 3); ${o()} += c->bytes; } }`;
    },
    () => {
      kinds.add('load-bytes');
      const n = r.pick([1, 2, 4, 8, 16]);
      return `{ __u8 b[16] = {}; long e = bpf_xdp_load_bytes(ctx, ${r.pick(['pi.pay', 'pi.off4', 'pi.off3', 'pi.iplen'])} + ${r.int(24)}, b, ${n}); ${o()} += e; ${o()} ^= *(__u64 *)b + b[${n - 1}]; }`;
    },
    () => {
      kinds.add('store-bytes');
      return `{ __u32 w = ${r.pick(['0xdeadbeef', 'pi.saddr', 'st'])}; long e = bpf_xdp_store_bytes(ctx, ${r.pick(['pi.pay', 'pi.off4 + 4', 'pi.iplen + pi.off3'])}, &w, ${r.pick(['4', '2', '1'])}); ${o()} += e; }`;
    },
    () => {
      kinds.add('hash');
      return `{ ${fresh} __u32 h = 2166136261u; __u32 at = pi.pay & 0x7ff;
    for (int i = 0; i < ${r.pick(['16', '32', '8'])}; i++) { __u8 *p = data + ((at + i) & 0x7ff); if ((void *)(p + 1) > end) break; h = (h ^ *p) * 16777619u; }
    ${o()} ^= h; }`;
    },
  ];
  // A bounds check `(void *)(P) <= end` in one of the forms clang turns into different compares; rarely one the
  // verifier learns nothing from (a scalar difference) or one byte short.
  const check = (a: string): string => {
    const k = r.int(100);
    if (k < 60) return `(void *)(${a}) <= end`;
    if (k < 75) return `end >= (void *)(${a})`;
    if (k < 90) return `!((void *)(${a}) > end)`;
    if (k < 92) { kinds.add('check-end-plus'); return `(void *)(${a}) < end + 1`; }
    if (k < 97) return `(void *)(${a}) <= end`;
    if (k < 99) { kinds.add('check-scalar'); return `end - (void *)(${a}) >= 0`; }
    kinds.add('check-short');
    return `(void *)(${a}) - 1 <= end`;
  };
  const body: string[] = [];
  const n = 3 + r.int(7);
  for (let i = 0; i < n; i++) body.push(`  ${r.pick(actions)().replace(/\(void \*\)\(([^()]+)\) <= end/g, (_m, a: string) => check(a))}`);
  const ret = r.pick([
    `act ? act : st == 3 ? (pi.frag ? XDP_DROP : XDP_PASS) : st == 0 ? XDP_ABORTED : XDP_DROP`,
    `pi.l4 == IPPROTO_ICMP ? XDP_DROP : (act ? act : XDP_PASS)`,
    `(__u32)(o[${r.int(16)}] ^ o[0]) % 4`,
    `act ? act : pi.ok ? XDP_PASS : XDP_DROP`,
  ]);
  // The widened statements (wide): drawn from their own PRNG after every draw above, spliced between the actions, so
  // that a seed's program without them is the one it always was.
  const wdefs = wide ? widen(new Prng((seed ^ 0x71de1207) >>> 0), body, kinds, v3, reparse, fresh) : '';
  const source = `${HEADER}${wdefs}
${parser}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  struct pinfo pi = {};
  int act = 0;
  int st = parse(ctx, &pi);
  o[0] = st; o[1] = pi.off3 | ((__u64)pi.off4 << 16) | ((__u64)pi.pay << 32); o[2] = pi.proto | (pi.l4 << 16) | ((__u64)pi.vlans << 24) | ((__u64)pi.hl << 32) | ((__u64)pi.doff << 40);
  o[3] = pi.saddr | ((__u64)pi.daddr << 32); o[4] = pi.sport | (pi.dport << 16) | ((__u64)pi.type << 32) | ((__u64)pi.iplen << 40) | ((__u64)pi.frag << 56);
${body.join('\n')}
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  return ${ret};
}
`;
  return { source: genSource(source), opt, mcpu, frags, kinds: [...kinds].sort() };
}

/** Maps, types and callbacks of the widened statements (appended to HEADER only when a program uses them). */
const WIDE_DEFS = `struct l2cp { __u8 mac[12]; __be16 proto; __u16 pad; __u32 w[4]; };
struct a6 { __u64 hi; __u64 lo; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, struct l2cp); } scopy SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct in6_addr); } addr6 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, struct in6_addr); __type(value, __u64); } seen6 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, struct cnt); } pcpu SEC(".maps");
struct lctx { struct xdp_md *ctx; __u32 at; __u32 h; __u32 n; __u32 wr; };
static long pkt_cb(__u32 i, struct lctx *c) {
  void *data = (void *)(long)c->ctx->data, *end = (void *)(long)c->ctx->data_end;
  __u8 *p = data + ((c->at + i) & 0x3ff);
  if ((void *)(p + 1) > end) return 1;
  c->h = c->h * 31 + *p; c->n++;
  if (c->wr && (i & 3) == 1) *p ^= (__u8)i;
  return 0;
}
static long pkt_cb2(__u32 i, struct lctx *c) {
  void *data = (void *)(long)c->ctx->data, *end = (void *)(long)c->ctx->data_end;
  __u16 *p = data + ((c->at + i * 2) & 0x1fe);
  if ((void *)(p + 1) > end) return 1;
  c->h += *p; c->n += i;
  return c->h > 0x40000 ? 1 : 0;
}
static __always_inline int bytes_eq(const __u8 *a, const __u8 *b, int n) {
  int d = 0;
#pragma unroll
  for (int i = 0; i < 16; i++) if (i < n) d |= a[i] ^ b[i];
  return d == 0;
}
`;

/**
 * The widened statements (pfuzz wide), constructs real XDP programs use that no generator wrote: a sequence of
 * bpf_xdp_adjust_meta / adjust_head / adjust_tail with every pointer taken again after each; struct copies between the
 * packet, the stack and map values; 128-bit IPv6 address compares (two 64-bit halves, __int128, four words, a
 * byte-compare loop) against map values and a HASH keyed by the address; per-CPU array counters with atomics; bpf_loop
 * callbacks reading and writing the packet through the context kept in their state, nested in a bounded loop.
 * Spliced into `body`; returns the definitions to append to the header.
 */
function widen(w: Prng, body: string[], kinds: Set<string>, v3: boolean, reparse: string, fresh: string): string {
  const o = (): string => `o[${w.int(16)}]`;
  const stmts: (() => string)[] = [
    () => {
      kinds.add('w-adjust-seq');
      const m = w.pick([4, 8, 16, 32]);
      const h = w.pick([-8, -4, -14, 4, 8, 14, 2, -2]);
      const tl = w.pick([-4, -1, 0, 3, 8, -20, 64]);
      return `{ long e1 = bpf_xdp_adjust_meta(ctx, -${m}); ${o()} += e1 + 1;
    long e2 = bpf_xdp_adjust_head(ctx, ${h}); ${o()} += e2 * 5;
    { void *meta = (void *)(long)ctx->data_meta; ${fresh} if (meta + ${m >= 8 ? 8 : 4} <= data) { ${o()} += *(__u32 *)meta; *(__u32 *)meta = pi.off4 ^ ${w.int(65536)};${m >= 8 ? ` ((__u32 *)meta)[1] = (__u32)(end - data);` : ''} }
      if (data + 14 <= end) ${o()} ^= *(__u64 *)(data + 6) + ${w.pick(['*(__u16 *)(data + 12)', '((__u8 *)data)[0]'])}; }
    long e3 = bpf_xdp_adjust_tail(ctx, ${tl}); ${o()} += e3 * 7;
    { void *meta = (void *)(long)ctx->data_meta; ${fresh} if (meta + 4 <= data) ${o()} += *(__u32 *)meta + (data + 60 <= end); else ${o()} += 0x100000; }
    ${w.chance(0.5) ? `{ long e4 = bpf_xdp_adjust_head(ctx, ${-h}); ${o()} += e4; }` : ''} ${reparse} }`;
    },
    () => {
      kinds.add('w-struct-copy');
      const off = w.pick(['0', '6', '(pi.off3 & 31)', '2']);
      const dir = w.int(3);
      if (dir === 0) {
        return `{ __u32 k = ${w.int(2)}; struct l2cp *v = bpf_map_lookup_elem(&scopy, &k); ${fresh}
    if (v && data + ${off} + sizeof(*v) <= end) { *v = *(struct l2cp *)(data + ${off}); ${o()} += v->w[${w.int(4)}] + v->proto; } }`;
      }
      if (dir === 1) {
        return `{ __u32 k = ${w.int(2)}; struct l2cp *v = bpf_map_lookup_elem(&scopy, &k); ${fresh}
    if (v && data + ${off} + sizeof(*v) <= end) { struct l2cp t = *v; t.w[${w.int(4)}] ^= ${w.pick(['pi.saddr', '0xffffffff', 'pi.off4'])}; *(struct l2cp *)(data + ${off}) = t; ${o()} += t.mac[${w.int(12)}]; } }`;
      }
      return `if (pi.proto == ETH_P_IPV6) { ${fresh} struct ipv6hdr *ip6 = data + ${w.pick(['(pi.off3 & 63)', '14'])};
    if ((void *)(ip6 + 1) <= end) { struct ipv6hdr h = *ip6; h.hop_limit ^= ${w.int(256)}; h.saddr = ip6->daddr; h.daddr = ip6->saddr; *ip6 = h; ${o()} += h.payload_len; } }`;
    },
    () => {
      kinds.add('w-ip6-cmp');
      const form = w.int(4);
      const side = w.pick(['saddr', 'daddr']);
      const cmp = [
        `((struct a6 *)&ip6->${side})->hi == ((struct a6 *)a)->hi && ((struct a6 *)&ip6->${side})->lo == ((struct a6 *)a)->lo`,
        `*(unsigned __int128 *)&ip6->${side} ${w.pick(['==', '<', '>='])} *(unsigned __int128 *)a`,
        `ip6->${side}.in6_u.u6_addr32[0] == a->in6_u.u6_addr32[0] && ip6->${side}.in6_u.u6_addr32[1] == a->in6_u.u6_addr32[1] && ip6->${side}.in6_u.u6_addr32[2] == a->in6_u.u6_addr32[2] && ip6->${side}.in6_u.u6_addr32[3] == a->in6_u.u6_addr32[3]`,
        `bytes_eq((const __u8 *)&ip6->${side}, (const __u8 *)a, ${w.pick([16, 16, 8, 15])})`,
      ][form]!;
      return `if (pi.proto == ETH_P_IPV6) { ${fresh} struct ipv6hdr *ip6 = data + ${w.pick(['(pi.off3 & 63)', '14', '(pi.off3 & 31)'])};
    if ((void *)(ip6 + 1) <= end) { __u32 k = ${w.pick(['0', '1', 'pi.vlans & 3'])}; struct in6_addr *a = bpf_map_lookup_elem(&addr6, &k);
      if (a) { int hit = ${cmp}; ${o()} += hit * 0x10001; if (hit) act = ${w.pick(['XDP_DROP', 'XDP_TX', 'XDP_PASS'])}; else *a = ip6->${w.pick(['saddr', 'daddr'])}; }
      __u64 *n = bpf_map_lookup_elem(&seen6, &ip6->${side}); if (n) { ${v3 ? '__sync_fetch_and_add(n, 1)' : '(*n)++'}; ${o()} += *n; }
      else { __u64 one = 1; struct in6_addr key = ip6->${side}; ${o()} += bpf_map_update_elem(&seen6, &key, &one, BPF_NOEXIST); } } }`;
    },
    () => {
      kinds.add('w-pcpu-atomic');
      const k = w.pick(['pi.l4 & 3', '(__u32)st & 3', '0', 'pi.vlans']);
      const ops = v3
        ? [`${o()} += __sync_fetch_and_add(&c->packets, 1);`, `${o()} ^= __sync_fetch_and_or(&c->flags, 1u << (pi.vlans & 7));`,
          `${o()} += __sync_lock_test_and_set(&c->last, pi.sport);`, `${o()} += __sync_val_compare_and_swap(&c->last, ${w.pick(['0', 'pi.sport'])}, pi.dport);`,
          `${o()} += __sync_fetch_and_and(&c->flags, ~1u);`, `${o()} += __sync_fetch_and_xor(&c->bytes, pi.iplen);`, `${o()} += __sync_fetch_and_sub(&c->bytes, 3);`]
        : [`__sync_fetch_and_add(&c->packets, 1);`, `__sync_fetch_and_add(&c->bytes, pi.iplen);`, `__sync_fetch_and_add(&c->flags, 2);`];
      const pickOps = Array.from({ length: 1 + w.int(3) }, () => w.pick(ops)).join(' ');
      return `{ __u32 k = ${k}; struct cnt *c = bpf_map_lookup_elem(&pcpu, &k); if (c) { ${pickOps} ${o()} += c->packets + c->flags; } }`;
    },
    () => {
      kinds.add('w-loop-cb-pkt');
      const cb = w.pick(['pkt_cb', 'pkt_cb2']);
      const outer = w.pick([1, 2, 3]);
      return `{ struct lctx lc = { .ctx = ctx, .at = ${w.pick(['pi.pay', 'pi.off4', '0', 'pi.off3'])}, .h = ${w.int(1000)}, .wr = ${w.pick(['0', '1', 'pi.ok'])} };
    for (int j = 0; j < ${outer}; j++) { long n = bpf_loop(${w.pick(['8', '16', '4 + j', 'j * 5 + 1', '64'])}, ${cb}, &lc, 0); ${o()} += n + lc.h; lc.at += ${w.pick(['3', '16', 'n'])}; }
    ${o()} ^= lc.n; }`;
    },
  ];
  const n = 2 + w.int(3);
  for (let i = 0; i < n; i++) body.splice(w.int(body.length + 1), 0, `  ${w.pick(stmts)()}`);
  return WIDE_DEFS;
}

/** Packets for a pgen seed: well-formed Ethernet / VLAN / IPv4 (options) or IPv6 (extension headers) / TCP (options),
 * UDP or ICMP frames with random fields, now and then truncated, with a bad length or a bad header length. */
export function pPackets(seed: number, count = 8, frags = false): Uint8Array[] {
  const r = new Prng(seed ^ 0x9a7e);
  const rnd = (n: number): number[] => Array.from({ length: n }, () => r.int(256));
  return Array.from({ length: count }, () => {
    const b: number[] = [...rnd(12)];
    const vlans = r.pick([0, 0, 0, 1, 2]);
    const v6 = r.chance(0.4);
    for (let i = 0; i < vlans; i++) b.push(...(i === 0 && vlans === 2 ? [0x88, 0xa8] : [0x81, 0x00]), r.int(16), r.int(256));
    b.push(...(r.chance(0.05) ? [0x08, 0x06] : v6 ? [0x86, 0xdd] : [0x08, 0x00]));
    const l4 = r.pick([6, 6, 17, 17, v6 ? 58 : 1, v6 ? 58 : 1, 4, 41, 47]);
    const l4bytes: number[] = [];
    if (l4 === 6) {
      const doff = r.pick([5, 5, 6, 8, 10, 15]);
      const opts: number[] = [];
      while (opts.length < (doff - 5) * 4) {
        const k = r.pick([0, 1, 1, 2, 3, 4, 8, 9]);
        if (k === 0 || k === 1) opts.push(k);
        else if (k === 2) opts.push(2, r.pick([4, 4, 4, 3, 0]), ...(r.chance(0.5) ? [0x05, 0xb4] : [r.int(256), r.int(256)]));
        else if (k === 3) opts.push(3, 3, r.int(15));
        else if (k === 4) opts.push(4, 2);
        else if (k === 8) opts.push(8, 10, ...rnd(8));
        else opts.push(9, r.int(6));
      }
      l4bytes.push(...rnd(4), ...rnd(8), (doff << 4) | r.int(2), r.pick([2, 0x10, 0x12, 0x18, 4, 1, r.int(256)]), ...rnd(6), ...opts.slice(0, (doff - 5) * 4));
    } else if (l4 === 17) l4bytes.push(...rnd(4), 0, 8 + r.int(64), ...(r.chance(0.3) ? [0, 0] : rnd(2)));
    else if (l4 === 1 || l4 === 58) l4bytes.push(r.pick([8, 0, 3, 128, 129]), r.int(4), ...rnd(6));
    else if (l4 === 4) l4bytes.push(0x45, 0, 0, 40, ...rnd(4), 64, 6, ...rnd(10));
    const payload = rnd(r.pick([0, 1, 7, 20, 64, 200, 1000, ...(frags ? [3400, 3500, 4000, 8000] : [])]));
    if (v6) {
      const ext: number[] = [];
      let nh = l4;
      const chain = r.pick([[], [], [0], [60], [43, 60], [44], [0, 44, 60]]);
      for (let i = chain.length - 1; i >= 0; i--) {
        const len = chain[i] === 44 ? 0 : r.int(3);
        ext.unshift(nh, len, ...rnd(6 + len * 8));
        nh = chain[i]!;
      }
      const plen = ext.length + l4bytes.length + payload.length;
      b.push(0x60, r.int(256), ...rnd(2), (plen >> 8) & 0xff, plen & 0xff, nh, r.pick([64, 1, 0, 255]), ...rnd(32), ...ext);
    } else {
      const ihl = r.pick([5, 5, 5, 6, 8, 15, r.chance(0.1) ? 4 : 5]);
      const opts = Array.from({ length: (Math.max(ihl, 5) - 5) * 4 }, () => r.pick([1, 0, r.int(256)]));
      const tot = 4 * Math.max(ihl, 5) + l4bytes.length + payload.length + r.pick([0, 0, 0, -4, 10]);
      const h = [0x40 | ihl, r.int(256), (tot >> 8) & 0xff, tot & 0xff, ...rnd(2), r.pick([0, 0, 0x40, 0x20, 0x01]), r.pick([0, 0, 8]), r.pick([64, 1, 0, 128]), l4, 0, 0, ...rnd(8), ...opts];
      let s = 0;
      for (let i = 0; i < h.length; i += 2) s += (h[i]! << 8) | (h[i + 1] ?? 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      const ck = r.chance(0.8) ? ~s & 0xffff : r.int(65536);
      h[10] = ck >> 8;
      h[11] = ck & 0xff;
      b.push(...h);
    }
    b.push(...l4bytes, ...payload);
    const cut = r.chance(0.15) ? Math.max(14, r.int(b.length)) : b.length;
    return Uint8Array.from(b.slice(0, Math.min(cut, frags ? 9000 : 1600)));
  });
}
