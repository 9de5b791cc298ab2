// Random XDP programs in C that call helpers and kfuncs with edge-case arguments, for what sgen/mgen/cgen leave out:
//   strtox:   bpf_strtol / bpf_strtoul on stack strings built from white space (incl. 0xa0), signs, base prefixes and
//             digits or letters chosen by packet bytes, with lengths shorter and longer than the text and every base flag
//             (0, 8, 10, 16, others, bits past the base);
//   snprintf: bpf_snprintf with formats from a grammar of the kernel's bpf_bprintf_prepare (%d %i %u %x %X with l/ll,
//             flags 0 + - and space, widths, %c, %%, %s and %pks of stack / packet / NULL / unreadable pointers, %pI4 %pi4
//             %pI6 %pi6, %p of NULL) into buffers of 1 to 32 bytes; now and then a format the verifier refuses (%#x,
//             %.3d, %px, %lc, a control byte): the kernel refuses the object and `run` must too;
//   strings:  the string kfuncs of 6.17+ (bpf_strcmp, strcasecmp, strchr, strchrnul, strnchr, strrchr, strlen, strnlen,
//             strspn, strcspn, strstr, strnstr) on stack strings with and without an end, .rodata strings, the packet,
//             NULL and small numbers; bpf_probe_read_kernel_str into buffers of 1 to 32 bytes;
//   loop:     bpf_loop with counts 0, small, 1 << 23, past it and u32 values from the packet, flags 0 and 1, a callback that
//             stops anywhere;
//   csum:     bpf_csum_diff with sizes 0..64 that are and are not multiples of 4 and seeds of every kind;
//   meta:     bpf_xdp_adjust_meta by multiples of 4 and others (past 32 too) interleaved with adjust_head/adjust_tail,
//             the metadata's length, reads and writes after each call;
//   sock:     bpf_sk_lookup_tcp/udp and bpf_skc_lookup_tcp with tuple sizes of both families and neither, netns ids and
//             flags (the kernel side runs in a namespace of its own: nothing is found);
//   cookie:   bpf_tcp_raw_check_syncookie_ipv4/ipv6 on headers from the packet (ack/syn/rst bits and doff chosen) and
//             bpf_tcp_raw_gen_syncookie_ipv4's errors and MSS (the cookie itself hangs on the kernel's secret);
//   numa:     bpf_get_numa_node_id.
// Every result folds into o[16] (u64), written to a per-packet HASH entry and into the packet (as in sgen.ts); the
// kernel side runs in a network namespace of its own (xfuzz in sfuzz.test.ts).
import { Prng } from './gen.ts';
import { genSource } from './kernel-build.ts';
import type { SProgram } from './sgen.ts';

const HEADER = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64[16]); } rlog SEC(".maps");
__u32 counter;
extern int bpf_strcmp(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strcasecmp(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strchr(const char *s__ign, char c) __ksym;
extern int bpf_strchrnul(const char *s__ign, char c) __ksym;
extern int bpf_strnchr(const char *s__ign, __u64 count, char c) __ksym;
extern int bpf_strrchr(const char *s__ign, int c) __ksym;
extern int bpf_strlen(const char *s__ign) __ksym;
extern int bpf_strnlen(const char *s__ign, __u64 count) __ksym;
extern int bpf_strspn(const char *s__ign, const char *accept__ign) __ksym;
extern int bpf_strcspn(const char *s__ign, const char *reject__ign) __ksym;
extern int bpf_strstr(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strnstr(const char *s1__ign, const char *s2__ign, __u64 len) __ksym;
struct lc { __u64 acc; __u32 stop; __u32 k; };
static long lcb(__u64 i, struct lc *c) { c->acc = c->acc * 31 + i * 7 + c->k; return i + 1 >= c->stop; }
union in64 { __u8 b[64]; __u16 h[32]; __u32 w[16]; __u64 q[8]; };
union s32u { char c[32]; __u64 q[4]; };
static __always_inline __u64 fold32(union s32u *t) { return t->q[0] + t->q[1] * 3 + t->q[2] * 5 + t->q[3] * 7; }
/* A packet pointer (k bytes in) when the frame has 96 bytes in its first buffer, else NULL; read again at each use,
 * as a helper that changes the packet leaves earlier pointers pointing at old bytes. */
static __always_inline const char *pktp(struct xdp_md *ctx, int k) { __u8 *d = (void *)(long)ctx->data; return (void *)(d + 96) <= (void *)(long)ctx->data_end ? (const char *)d + k : 0; }
`;

/** Characters strings are built from: digits, hex letters, base prefixes' letters, signs, white space. */
const CHARSET = '0123456789abcdefABCDEFxXzZ -+.\\t\\n';
const CHARSET_LEN = 32;

export function generateXProgram(seed: number): SProgram {
  const r = new Prng(seed);
  const kinds = new Set<string>();
  const body: string[] = [];
  const B = (): string => `in.b[${r.int(64)}]`;
  const o = (): string => `o[${r.int(16)}]`;
  let frags = r.chance(0.2);
  // A C string literal for the bytes `s` (escapes for what is not printable ASCII).
  const lit = (s: number[]): string => `"${s.map((c) => (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c && c !== 0x3f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}""`)).join('')}"`;
  // Text of a number as strtol may see it: white space, a sign, a base prefix, digits (some from the packet).
  const numberText = (): number[] => {
    const ws = r.pick(['', '', ' ', '  ', '\t', '\n\x0b', '\xa0', '\x0c\r']);
    const sign = r.pick(['', '', '', '-', '+', '-+', '--']);
    const prefix = r.pick(['', '', '0', '0x', '0X', '0b', '00x', 'x']);
    const digitsPool = r.pick(['0123456789', '01234567', '0123456789abcdef', '0123456789ABCDEFxyz', '9', 'f']);
    const n = r.pick([0, 1, 2, 3, 5, 10, 16, 19, 20, 21]);
    let d = '';
    for (let i = 0; i < n; i++) d += digitsPool[r.int(digitsPool.length)];
    const tail = r.pick(['', '', '\0', 'z', ' 7', '\0' + '5']);
    return [...Buffer.from(ws + sign + prefix + d + tail, 'latin1')];
  };
  // A 32-byte stack string s<id>: a number's text or random characters, some bytes then overwritten from the packet.
  const stackString = (id: string, terminated: boolean): string => {
    const bytes = r.chance(0.6) ? numberText() : Array.from({ length: r.int(30) }, () => CHARSET.replace(/\\t/, '\t').replace(/\\n/, '\n').charCodeAt(r.int(CHARSET_LEN)));
    const text = bytes.slice(0, 31);
    while (text.length < 32) text.push(terminated ? 0 : r.pick([0x41, 0x30, 0x20]));
    if (!terminated) text[31] = 0x31;
    const over: string[] = [];
    const k = r.chance(0.5) ? r.int(4) : 0;
    for (let i = 0; i < k; i++) over.push(`${id}[${r.int(terminated ? 31 : 32)}] = "${CHARSET}"[${B()} & ${CHARSET_LEN - 1}];`);
    return `char ${id}[32]; __builtin_memcpy(${id}, ${lit(text)}, 32); ${over.join(' ')}`;
  };
  // A pointer a string kfunc or %s may get.
  const strPtr = (own: string[]): string => {
    const k = r.int(10);
    if (k < 5 && own.length) return r.pick(own);
    if (k === 5) return r.pick(['(const char *)0', '(const char *)(long)7', '(const char *)(long)-4096']);
    if (k === 6) return `(const char *)&in.b[${r.int(64)}]`;
    if (k === 7) return `pktp(ctx, ${r.int(64)})`;
    return r.pick(['"abc"', '""', '"0x1F"', '"  -12"', '"Ab\\xe9"', '"b"', '"cba"']);
  };

  // A string with no end would be read past its 32 bytes into whatever the stack holds there: locals of other
  // statements, or above the frame the kernel's own stack (bpf_prog_test_run's, which no model has). The draw is kept
  // (a seed's other choices stay) but every string gets its NUL; only bpf_probe_read_kernel_str, which stops at its
  // size, reads one without.
  const terminated = (p: number): boolean => r.chance(p) || true;
  const stmts: Record<string, () => string> = {

    strtox: () => {
      const signed = r.chance(0.5);
      const len = r.chance(0.3) ? `(${B()} & 31) + 1` : String(r.pick([1, 2, 3, 5, 8, 16, 24, 31, 32]));
      const flags = r.pick(['0', '0', '10', '16', '8', '2', '1', '36', '0x2a', '0x100', `${B()} & 31`, `${B()}`, '0x1a']);
      const t = signed ? 'long' : 'unsigned long';
      return `{ ${stackString('s', r.chance(0.8))} ${t} res = 5; long rc = bpf_${signed ? 'strtol' : 'strtoul'}(s, ${len}, ${flags}, &res); ${o()} += rc * 1000003 + (__u64)res; ${o()} ^= (__u64)res; }`;
    },
    snprintf: () => {
      const args: string[] = [];
      let fmt = '';
      let bad = false;
      const n = 1 + r.int(5);
      for (let i = 0; i < n; i++) {
        const k = r.int(20);
        if (k < 3) { fmt += r.pick(['a', 'xy', ' ', '-', ':', '%%', '[', '100%%']); continue; }
        if (k === 3 && r.chance(0.35)) {
          bad = true;
          fmt += r.pick(['%#x', '%.3d', '%px', '%lc', '%hd', '%*d', '%q', '%\\x01', '%ls', '%pI5', '\\x01', '%llld', '%pB', '%']);
          if (r.chance(0.5)) args.push('1');
          continue;
        }
        if (args.length >= 12) break;
        const flag = r.chance(0.3) ? r.pick(['-', '0', '+', ' ', '-0', '0-', '+ ', '00']) : '';
        const width = r.chance(0.3) ? String(r.pick([1, 2, 5, 12, 20, 40])) : '';
        const conv = r.pick(['d', 'i', 'u', 'x', 'X', 'ld', 'lu', 'lx', 'lld', 'llu', 'llx', 'llX', 'li', 'c', 's', 's', 'pks', 'pI4', 'pi4', 'pI6', 'pi6', 'p']);
        fmt += `%${flag}${width}${conv}`;
        if (conv === 's' || conv === 'pks') args.push(`(__u64)(long)${strPtr(['s0', 's1'])}`);
        else if (conv === 'pI4' || conv === 'pi4' || conv === 'pI6' || conv === 'pi6') args.push(r.pick([`(__u64)(long)&in.b[${r.int(conv.endsWith('6') ? 48 : 60)}]`, `(__u64)(long)pktp(ctx, ${r.int(64)})`, '0', '12']));
        else if (conv === 'p') args.push('0');
        else args.push(r.pick([`in.q[${r.int(8)}]`, `in.w[${r.int(16)}]`, `(__s64)(__s8)${B()}`, `(__s64)(__s32)in.w[${r.int(16)}]`, '0', '-1', '0x80000000', '0x8000000000000000', '0xffffffff', '-2147483648', '9']));
      }
      if (!fmt) fmt = 'x';
      if (bad) kinds.add('snprintf-bad');
      const size = r.pick([1, 2, 5, 8, 16, 31, 32]);
      const buf = r.chance(0.1) ? '0' : 't.c';
      const sz = buf === '0' ? '0' : String(size);
      const data = args.length ? `a, sizeof(a)` : r.pick(['0, 0', '0, 0', 'a, 0']);
      const decl = args.length ? `__u64 a[${args.length}] = { ${args.join(', ')} };` : '__u64 a[1] = { 3 };';
      return `{ ${stackString('s0', true)} ${stackString('s1', terminated(0.7))} ${decl} static const char f[] = "${fmt}"; union s32u t = {}; long rc = bpf_snprintf(${buf}, ${sz}, f, ${data}); ${o()} += rc; ${o()} ^= fold32(&t); }`;
    },
    strings: () => {
      const own = ['s0', 's1'];
      const fn = r.pick(['strcmp', 'strcasecmp', 'strchr', 'strchrnul', 'strnchr', 'strrchr', 'strlen', 'strnlen', 'strspn', 'strcspn', 'strstr', 'strnstr', 'probe']);
      const ch = () => r.pick([`${B()}`, `"${CHARSET}"[${B()} & ${CHARSET_LEN - 1}]`, '0', "'x'", "'1'", "' '", '0xe9', '-23', '233', '256 + 0x41']);
      const cnt = () => r.pick(['0', '1', '3', '31', '32', '100', `${B()} & 63`, '0xffffffffffffffffULL', '65537']);
      let call: string;
      switch (fn) {
        case 'strcmp': case 'strcasecmp': case 'strspn': case 'strcspn': case 'strstr':
          call = `bpf_${fn}(${strPtr(own)}, ${strPtr(own)})`; break;
        case 'strnstr': call = `bpf_strnstr(${strPtr(own)}, ${strPtr(own)}, ${cnt()})`; break;
        case 'strchr': case 'strchrnul': case 'strrchr': call = `bpf_${fn}(${strPtr(own)}, ${ch()})`; break;
        case 'strnchr': call = `bpf_strnchr(${strPtr(own)}, ${cnt()}, ${ch()})`; break;
        case 'strlen': call = `bpf_strlen(${strPtr(own)})`; break;
        case 'strnlen': call = `bpf_strnlen(${strPtr(own)}, ${cnt()})`; break;
        default: {
          const size = r.pick([1, 2, 4, 8, 31, 32]);
          return `{ ${stackString('s0', r.chance(0.6))} ${stackString('s1', true)} union s32u t = {}; long rc = bpf_probe_read_kernel_str(t.c, ${size}, ${strPtr(own).replace(/^"/, '(const char *)"')}); ${o()} += rc; ${o()} ^= fold32(&t); }`;
        }
      }
      return `{ ${stackString('s0', terminated(0.6))} ${stackString('s1', terminated(0.8))} ${o()} += (__u64)(__s64)${call} + 100; }`;
    },
    loop: () => {
      const nr = r.pick(['0', '1', '3', '40', `${B()} & 63`, '1 << 23', '(1 << 23) + 1', '0xffffffff', `in.w[${r.int(16)}]`, `in.w[${r.int(16)}] >> ${r.int(32)}`]);
      const flags = r.pick(['0', '0', '0', '1', `${B()} & 1`, '2']);
      return `{ struct lc c = { .acc = ${B()}, .stop = ${B()} % 41, .k = ${B()} }; long rc = bpf_loop(${nr}, lcb, &c, ${flags}); ${o()} += rc * 100003 + c.acc; }`;
    },
    csum: () => {
      const size = () => r.pick([0, 4, 8, 12, 16, 20, 32, 40, 64, 1, 2, 3, 5, 6, 7, 9, 62]);
      const a = size();
      const b = size();
      const ptr = (n: number) => (n === 0 && r.chance(0.5) ? '0' : `(__be32 *)&in.w[${r.int(16 - Math.ceil(n / 4) + 1)}]`);
      const seedv = r.pick(['0', '0xffffffff', `in.w[${r.int(16)}]`, '0x1234', '0xffff']);
      return `{ __s64 s = bpf_csum_diff(${ptr(a)}, ${a}, ${ptr(b)}, ${b}, ${seedv}); __u32 f = (__u32)s; f = (f & 0xffff) + (f >> 16); f = (f & 0xffff) + (f >> 16); ${o()} += s; ${o()} ^= (__u16)~f; }`;
    },
    meta: () => {
      frags = frags && r.chance(0.5);
      const steps: string[] = [];
      const n = 1 + r.int(4);
      for (let i = 0; i < n; i++) {
        const k = r.int(6);
        let call: string;
        if (k <= 2) call = `bpf_xdp_adjust_meta(ctx, ${r.pick(['-4', '-8', '-32', '-36', '-12', '-1', '-6', '4', '8', '0', '-40', `-(int)(${B()} & 15)`, `-(int)(${B()} & 12)`])})`;
        else if (k === 3) call = `bpf_xdp_adjust_head(ctx, ${r.pick(['-4', '-14', '4', '14', '-2', '1', '-64', '-300', `(int)(${B()} & 15) - 8`])})`;
        else if (k === 4) call = `bpf_xdp_adjust_tail(ctx, ${r.pick(['-4', '4', '-40', '100', '-1', `(int)(${B()} & 31) - 16`])})`;
        else call = '0';
        const rw = r.int(3);
        const w = rw === 0 ? `*(__u32 *)m = *(__u32 *)m * 3 + ${B()};` : rw === 1 ? `m[${r.int(4)}] ^= ${B()};` : '';
        steps.push(`rc = ${call}; m = (void *)(long)ctx->data_meta; d = (void *)(long)ctx->data; e = (void *)(long)ctx->data_end; acc = acc * 131 + rc + (d - m) * 7 + (e - d);` +
          ` if (m + 4 <= d) { ${w} acc = acc * 17 + *(__u32 *)m + m[3]; } if (m + ${r.pick([8, 12, 32])} <= d) acc ^= *(__u32 *)(m + 4);`);
      }
      return `{ long rc; __u8 *m, *d, *e; __u64 acc = 0; ${steps.join(' ')} ${o()} += acc; }`;
    },
    sock: () => {
      const fn = r.pick(['bpf_sk_lookup_tcp', 'bpf_sk_lookup_udp', 'bpf_skc_lookup_tcp']);
      const size = r.pick(['sizeof(t.ipv4)', 'sizeof(t.ipv6)', '7', '13', '35', `${B()} & 1 ? 12 : 36`]);
      const ns = r.pick(['BPF_F_CURRENT_NETNS', 'BPF_F_CURRENT_NETNS', '0', '1', '0x7fffffff', '(__u64)-2', '0xffffffff', `in.w[${r.int(16)}]`]);
      const fl = r.pick(['0', '0', '0', '1', `${B()} & 1`]);
      return `{ struct bpf_sock_tuple t; __builtin_memcpy(&t, &in.b[${r.int(28)}], sizeof(t)); struct bpf_sock *sk = ${fn}(ctx, &t, ${size}, ${ns}, ${fl}); if (sk) { ${o()} += 1 + sk->family; bpf_sk_release(sk); } else ${o()} += 2; }`;
    },
    cookie: () => {
      const v6 = r.chance(0.35);
      const flagsByte = r.pick(['0x10', '0x12', '0x02', '0x14', '0x11', '0x00', `${B()}`]);
      const doff = r.pick(['5', '5', '6', '4', '15', `${B()} & 15`]);
      const ip = v6 ? 'struct ipv6hdr' : 'struct iphdr';
      const setup = `${ip} ih; struct tcphdr th; __builtin_memcpy(&ih, &in.b[${r.int(64 - (v6 ? 40 : 20) + 1)}], sizeof(ih)); __builtin_memcpy(&th, &in.b[${r.int(45)}], sizeof(th)); ((__u8 *)&th)[13] = ${flagsByte}; th.doff = ${doff};`;
      if (r.chance(0.6)) return `{ ${setup} ${o()} += bpf_tcp_raw_check_syncookie_${v6 ? 'ipv6' : 'ipv4'}(&ih, &th) + 50; }`;
      // The cookie (the low 32 bits) hangs on the kernel's secret and the minute: only the error or the MSS is kept.
      const len = r.pick(['sizeof(th)', 'sizeof(th)', '20', '16', '19']);
      return `{ ${setup} __s64 c = bpf_tcp_raw_gen_syncookie_${v6 ? 'ipv6' : 'ipv4'}(&ih, &th, ${len}); ${o()} += c < 0 ? c : (c >> 32) + 1000; }`;
    },
    // The RX metadata kfuncs are left out: the kernel takes them only in device-bound programs, which
    // BPF_PROG_TEST_RUN does not run (the simulator models the device; test/kfuncs covers them).
    numa: () => `${o()} += bpf_get_numa_node_id() + 1;`,
  };
  const names = ['strtox', 'strtox', 'snprintf', 'snprintf', 'strings', 'strings', 'strings', 'loop', 'csum', 'meta', 'meta', 'sock', 'cookie', 'numa'];
  const n = 3 + r.int(9);
  for (let i = 0; i < n; i++) {
    const k = r.pick(names);
    kinds.add(k);
    body.push(stmts[k]!());
  }
  const source = `${HEADER}
SEC("${frags ? 'xdp.frags' : 'xdp'}")
int fuzz(struct xdp_md *ctx) {
  __u64 o[16] = {};
  union in64 in;
  if (bpf_xdp_load_bytes(ctx, 0, in.b, 64) < 0) return XDP_PASS;
  in.b[63] = 0; /* a string read from in.b ends inside it */
${body.map((l) => `  ${l}`).join('\n')}
  __u32 key = counter++;
  bpf_map_update_elem(&rlog, &key, o, 0);
  bpf_xdp_store_bytes(ctx, 0, o, sizeof(o));
  return (o[${r.int(16)}] ^ o[0]) % 4;
}
`;
  return { source: genSource(source), opt: r.pick(['-O1', '-O2', '-O2', '-O3', '-Os']), mcpu: r.pick(['-mcpu=v2', '-mcpu=v3', '-mcpu=v3']), frags, kinds: [...kinds].sort() };
}

/** Packets for an xgen seed: 64 to 1,514 bytes (to 9,000 for xdp.frags programs), random bytes with an Ethernet/IPv4
 * start on half, digits and letters in some bytes (strtol's material). */
export function xPackets(seed: number, count = 8, frags = false): Uint8Array[] {
  const r = new Prng(seed ^ 0x7e57);
  const ascii = [...Buffer.from('0123456789abcdefxX -+\t', 'latin1')];
  return Array.from({ length: count }, (_, i) => {
    const len = r.pick([64, 65, 96, 100, 128, 200, 300, 1000, 1514, ...(frags ? [3000, 3520, 4096, 5000, 9000] : [])]);
    const p = new Uint8Array(len);
    for (let j = 0; j < len; j++) p[j] = r.chance(0.2) ? r.pick([0, 0xff, 0x80, 0x7f, 1]) : r.chance(0.3) ? r.pick(ascii) : r.int(256);
    if (i % 2 === 0) p.set([0x08, 0x00], 12);
    p.fill(0, 92, 96); // a string read from the packet (pktp: 0..63 bytes in) ends before byte 96
    return p;
  });
}
