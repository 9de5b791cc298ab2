// The packet corpus of the parity tests: Ethernet frames from the shared captures (classic pcap, link type 1) plus
// synthetic frames built here for the edges the captures lack (runt, minimum size, the 3520-byte linear limit and
// one byte past it, jumbo frames that spill into fragments, VLAN stacks, IPv6 extension headers, ICMP echo, DNS).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorpusPacket {
  /** Where the frame came from: `capture.pcap#3` or `synthetic:name`. */
  name: string;
  bytes: Uint8Array;
}

const LINKTYPE_ETHERNET = 1;

/** Frames of a classic pcap file with an Ethernet link type; anything else (pcapng, other links, damage) gives []. */
export function readPcapFrames(path: string): Uint8Array[] {
  const d = readFileSync(path);
  if (d.length < 24) return [];
  const magic = d.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else return [];
  const u32 = (o: number) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  if (u32(20) !== LINKTYPE_ETHERNET) return [];
  const frames: Uint8Array[] = [];
  for (let off = 24; off + 16 <= d.length;) {
    const incl = u32(off + 8);
    if (off + 16 + incl > d.length) break;
    frames.push(Uint8Array.from(d.subarray(off + 16, off + 16 + incl)));
    off += 16 + incl;
  }
  return frames;
}

/** All Ethernet frames of the classic pcaps in `dir`, sorted by file name; frames under 14 bytes are left out
 * (BPF_PROG_TEST_RUN refuses them with EINVAL, so there is nothing to compare). */
export function captureCorpus(dir: string): CorpusPacket[] {
  if (!existsSync(dir)) return [];
  const out: CorpusPacket[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap')).sort()) {
    readPcapFrames(join(dir, f)).forEach((bytes, i) => {
      if (bytes.length >= 14) out.push({ name: `${f}#${i}`, bytes });
    });
  }
  return out;
}

// --- synthetic frames -------------------------------------------------------------------------------------------

const MAC_A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

function csum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function eth(type: number, vlans: { tpid: number; vid: number }[] = []): number[] {
  const h = [...MAC_B, ...MAC_A];
  for (const v of vlans) h.push(...be16(v.tpid), ...be16(v.vid));
  h.push(...be16(type));
  return h;
}

function ipv4(proto: number, payload: number[], src = 0xc0a80102, dst = 0x0a000001, ttl = 64): number[] {
  const h = [0x45, 0, ...be16(20 + payload.length), 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0, ...be32(src), ...be32(dst)];
  const c = csum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...payload];
}

/** UDP with the IPv4 pseudo-header checksum. */
function udp4(sport: number, dport: number, data: number[], src = 0xc0a80102, dst = 0x0a000001): number[] {
  const u = [...be16(sport), ...be16(dport), ...be16(8 + data.length), 0, 0, ...data];
  const pseudo = [...be32(src), ...be32(dst), 0, 17, ...be16(u.length), ...u];
  const c = csum(pseudo) || 0xffff;
  u[6] = c >> 8;
  u[7] = c & 0xff;
  return u;
}

function tcp4(sport: number, dport: number, data: number[], src = 0xc0a80102, dst = 0x0a000001): number[] {
  const t = [...be16(sport), ...be16(dport), ...be32(1000), ...be32(0), 0x50, 0x18, ...be16(65535), 0, 0, 0, 0, ...data];
  const pseudo = [...be32(src), ...be32(dst), 0, 6, ...be16(t.length), ...t];
  const c = csum(pseudo);
  t[16] = c >> 8;
  t[17] = c & 0xff;
  return t;
}

function icmpEcho(data: number[]): number[] {
  const m = [8, 0, 0, 0, 0x12, 0x34, 0, 1, ...data];
  const c = csum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

const fill = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + (i >> 8)) & 0xff);

function dnsQuery(name: string): number[] {
  const q = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.split('.')) q.push(label.length, ...[...label].map((c) => c.charCodeAt(0)));
  q.push(0, 0, 1, 0, 1);
  return q;
}

/** A frame of exactly `total` bytes: IPv4/UDP (or TCP) with a payload that fills it. */
function sized(total: number, proto: 'udp' | 'tcp', seed: number): number[] {
  const head = 14 + 20 + (proto === 'udp' ? 8 : 20);
  const data = fill(total - head, seed);
  const l4 = proto === 'udp' ? udp4(40000 + seed, 9000, data) : tcp4(40000 + seed, 80, data);
  return [...eth(0x0800), ...ipv4(proto === 'udp' ? 17 : 6, l4)];
}

function ipv6(next: number, payload: number[]): number[] {
  const src = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
  const dst = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 2];
  return [0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...src, ...dst, ...payload];
}

export function syntheticCorpus(): CorpusPacket[] {
  const list: [string, number[]][] = [
    ['runt-14-ipv4', eth(0x0800)],
    ['runt-14-unknown', eth(0x88b5)],
    ['ipv4-truncated-20', [...eth(0x0800), 0x45, 0, 0, 40, 0, 0]],
    ['icmp-echo-60', [...eth(0x0800), ...ipv4(1, icmpEcho(fill(18, 1)))]],
    ['icmp-echo-ttl1', [...eth(0x0800), ...ipv4(1, icmpEcho(fill(40, 2)), 0x0a0a0a0a, 0xc0a80001, 1)]],
    ['udp-60', [...eth(0x0800), ...ipv4(17, udp4(1234, 5678, fill(18, 3)))]],
    ['udp-zero-csum', (() => { const u = udp4(5, 7, fill(30, 4)); u[6] = 0; u[7] = 0; return [...eth(0x0800), ...ipv4(17, u)]; })()],
    ['tcp-syn-74', [...eth(0x0800), ...ipv4(6, tcp4(33000, 443, fill(20, 5)), 0xac100001, 0xac100002)]],
    ['dns-query', [...eth(0x0800), ...ipv4(17, udp4(5353, 53, dnsQuery('www.example.com')))]],
    ['dns-long-name', [...eth(0x0800), ...ipv4(17, udp4(5353, 53, dnsQuery('a.very-long-label-indeed.of.many.labels.in.the.name.example.org')))]],
    ['vlan-udp', [...eth(0x0800, [{ tpid: 0x8100, vid: 42 }]), ...ipv4(17, udp4(1, 2, fill(40, 6)))]],
    ['qinq-tcp', [...eth(0x0800, [{ tpid: 0x88a8, vid: 7 }, { tpid: 0x8100, vid: 8 }]), ...ipv4(6, tcp4(80, 1024, fill(10, 7)))]],
    ['qinqinq', [...eth(0x0800, [{ tpid: 0x88a8, vid: 1 }, { tpid: 0x8100, vid: 2 }, { tpid: 0x8100, vid: 3 }]), ...ipv4(17, udp4(9, 9, fill(8, 8)))]],
    ['ipv6-udp', [...eth(0x86dd), ...ipv6(17, [...be16(1000), ...be16(53), ...be16(8 + 24), 0, 0, ...dnsQuery('ipv6.test')])]],
    ['ipv6-ext', [...eth(0x86dd), ...ipv6(0, [43, 0, 0, 0, 0, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 9,
      ...be16(7), ...be16(4789), ...be16(16), 0, 0, ...fill(8, 9)])]],
    ['ipv6-icmp', [...eth(0x86dd), ...ipv6(58, [128, 0, 0, 0, 0, 1, 0, 2, ...fill(32, 10)])]],
    ['arp-42', [...eth(0x0806), 0, 1, 8, 0, 6, 4, 0, 1, ...MAC_A, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]],
    ['ipv4-options', (() => {
      const opts = [1, 1, 1, 1, 0x94, 4, 0, 0];
      const l4 = udp4(7, 7, fill(12, 11));
      const h = [0x47, 0, ...be16(28 + l4.length), 0, 1, 0, 0, 64, 17, 0, 0, ...be32(0x01020304), ...be32(0x05060708), ...opts];
      const c = csum(h);
      h[10] = c >> 8; h[11] = c & 0xff;
      return [...eth(0x0800), ...h, ...l4];
    })()],
    ['vxlan-small', [...eth(0x0800), ...ipv4(17, udp4(51000, 4789, [0x08, 0, 0, 0, 0, 0, 0x2a, 0, ...eth(0x0800), ...ipv4(17, udp4(1, 2, fill(20, 12)))]))]],
    ['ethertype-0801', [...eth(0x0801), ...fill(46, 13)]],
    ['ethertype-8863', [...eth(0x8863), ...fill(46, 14)]],
    ['udp-1514', sized(1514, 'udp', 1)],
    ['tcp-3519', sized(3519, 'tcp', 2)],
    ['tcp-3520', sized(3520, 'tcp', 3)],
    ['udp-3521', sized(3521, 'udp', 4)],
    ['udp-4096', sized(4096, 'udp', 5)],
    ['tcp-7617', sized(7617, 'tcp', 6)],
    ['udp-9000', sized(9000, 'udp', 7)],
    ['vxlan-9000', [...eth(0x0800), ...ipv4(17, udp4(51001, 4789, [0x08, 0, 0, 0, 0, 0, 0x07, 0, ...sized(9000 - 50, 'udp', 8)]))]],
  ];
  return list.map(([name, b]) => ({ name: `synthetic:${name}`, bytes: Uint8Array.from(b) }));
}
