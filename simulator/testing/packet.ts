// Packets built from layers, as a test file writes them:
//
//   packet:
//     - eth: {src: 02:00:00:00:00:02}
//     - vlan: {id: 10}
//     - ipv4: {src: 10.0.0.1, dst: 10.0.0.2, ttl: 64}
//     - tcp: {sport: 40000, dport: 23, flags: [syn]}
//     - payload: {text: "hello"}
//
// Every field has a default; what links the layers (EtherType, IP protocol, UDP port 4789 for VXLAN, GRE protocol),
// lengths and checksums are computed from what follows unless given. The result is checked against tcpdump's
// decoding of it (test/testing/packet.test.ts).
import { NIC_MAC, PEER_MAC } from '../net/capture.ts';
import { Reader, type YNode, type Pos } from './yaml.ts';

export const LAYERS = ['eth', 'vlan', 'arp', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'vxlan', 'payload'] as const;
export type LayerKind = (typeof LAYERS)[number];

/** The fields each layer takes (what the JSON schema offers too). */
export const LAYER_FIELDS: Record<LayerKind, readonly string[]> = {
  eth: ['src', 'dst', 'type'],
  vlan: ['id', 'pcp', 'dei', 'tpid', 'type'],
  arp: ['op', 'sha', 'spa', 'tha', 'tpa'],
  ipv4: ['src', 'dst', 'ttl', 'tos', 'id', 'df', 'mf', 'frag', 'proto', 'len', 'ihl', 'options', 'checksum'],
  ipv6: ['src', 'dst', 'hlim', 'tc', 'flow', 'nxt', 'plen'],
  tcp: ['sport', 'dport', 'seq', 'ack', 'flags', 'window', 'urg', 'doff', 'options', 'checksum'],
  udp: ['sport', 'dport', 'len', 'checksum'],
  icmp: ['type', 'code', 'id', 'seq', 'checksum'],
  icmpv6: ['type', 'code', 'id', 'seq', 'checksum'],
  gre: ['proto', 'checksum', 'key', 'seq'],
  vxlan: ['vni', 'flags'],
  payload: ['hex', 'text', 'len'],
};

interface Layer {
  kind: LayerKind;
  pos: Pos;
  f: Map<string, { keyPos: Pos; value: YNode }>;
}

const ETHERTYPE: Partial<Record<LayerKind, number>> = { vlan: 0x8100, arp: 0x0806, ipv4: 0x0800, ipv6: 0x86dd };
const IPPROTO: Partial<Record<LayerKind, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, gre: 47, ipv4: 4, ipv6: 41 };
const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

export function parseMac(s: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})$/i.exec(s.trim());
  return m ? Uint8Array.from(m.slice(1).map((x) => parseInt(x, 16))) : undefined;
}

export function parseIpv4(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? Uint8Array.from(b) : undefined;
}

export function parseIpv6(s: string): Uint8Array | undefined {
  const t = s.trim();
  if (!/^[0-9a-f:]+$/i.test(t) || t.split('::').length > 2) return undefined;
  const [head, rest] = t.split('::') as [string, string | undefined];
  const parse = (x: string) => (x === '' ? [] : x.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const h = parse(head);
  const r = rest !== undefined ? parse(rest) : [];
  if (rest !== undefined && h.length + r.length > 7) return undefined;
  const groups = rest !== undefined ? [...h, ...Array<number>(8 - h.length - r.length).fill(0), ...r] : h;
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export function parseHex(s: string): Uint8Array | undefined {
  const t = s.replace(/\s+|:/g, '').replace(/^0x/i, '');
  if (t.length % 2 || !/^[0-9a-f]*$/i.test(t)) return undefined;
  return Uint8Array.from(Buffer.from(t, 'hex'));
}

/** The one's-complement sum of `parts`, folded and complemented (the Internet checksum). */
export function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = false;
  let carry = 0;
  for (const p of parts) {
    for (const b of p) {
      if (odd) sum += carry | b;
      else carry = b << 8;
      odd = !odd;
    }
  }
  if (odd) sum += carry;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const u16 = (v: number) => Uint8Array.of(v >> 8, v & 0xff);
const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

class Fields {
  constructor(
    private readonly r: Reader,
    private readonly l: Layer,
  ) {}
  has(k: string): boolean {
    return this.l.f.has(k);
  }
  node(k: string): YNode | undefined {
    return this.l.f.get(k)?.value;
  }
  int(k: string, dflt: number, max: number): number {
    const n = this.node(k);
    return n ? this.r.int(n, `${this.l.kind}.${k}`, 0, max) : dflt;
  }
  opt(k: string, max: number): number | undefined {
    const n = this.node(k);
    return n ? this.r.int(n, `${this.l.kind}.${k}`, 0, max) : undefined;
  }
  bool(k: string, dflt: boolean): boolean {
    const n = this.node(k);
    if (!n) return dflt;
    if (n.kind === 'scalar' && (n.value === 0 || n.value === 1)) return n.value === 1;
    return this.r.bool(n, `${this.l.kind}.${k}`);
  }
  addr(k: string, dflt: Uint8Array, parse: (s: string) => Uint8Array | undefined, what: string): Uint8Array {
    const n = this.node(k);
    if (!n) return dflt;
    const v = parse(this.r.raw(n, `${this.l.kind}.${k}`));
    if (!v) this.r.fail(n, `${this.l.kind}.${k} must be ${what}`);
    return v;
  }
  bytes(k: string): Uint8Array | undefined {
    const n = this.node(k);
    if (!n) return undefined;
    const v = parseHex(this.r.raw(n, `${this.l.kind}.${k}`));
    if (!v) this.r.fail(n, `${this.l.kind}.${k} must be hex bytes (an even number of hex digits)`);
    return v;
  }
}

function readLayers(r: Reader, list: YNode[]): Layer[] {
  return list.map((item, i) => {
    if (item.kind === 'scalar' && typeof item.value === 'string' && (LAYERS as readonly string[]).includes(item.value))
      return { kind: item.value as LayerKind, pos: item.pos, f: new Map() };
    if (item.kind === 'scalar' && typeof item.value === 'string') r.fail(item, `unknown layer '${item.value}' (layers: ${LAYERS.join(', ')})`);
    if (item.kind !== 'map' || item.entries.length !== 1) r.fail(item, `packet layer ${i + 1} must be one of ${LAYERS.join(', ')} with its fields, e.g. "- ipv4: {src: 10.0.0.1}"`);
    const e = item.entries[0]!;
    if (!(LAYERS as readonly string[]).includes(e.key)) r.fail({ pos: e.keyPos }, `unknown layer '${e.key}' (layers: ${LAYERS.join(', ')})`);
    const kind = e.key as LayerKind;
    const f = e.value.kind === 'scalar' && e.value.value === null ? new Map() : r.map(e.value, `the ${kind} layer`, LAYER_FIELDS[kind]);
    return { kind, pos: e.keyPos, f };
  });
}

const NIC_IP = Uint8Array.of(10, 0, 0, 1);
const PEER_IP = Uint8Array.of(10, 0, 0, 2);
const NIC_IP6 = parseIpv6('fd00::1')!;
const PEER_IP6 = parseIpv6('fd00::2')!;

/** Builds the frame the layers describe. Throws TestFileError at the field that is wrong. */
export function buildPacket(r: Reader, node: YNode): Uint8Array {
  const layers = readLayers(r, r.seq(node, 'packet'));
  if (!layers.length) r.fail(node, 'packet has no layers');
  // Built from the last layer to the first: each header knows the bytes after it (lengths, checksums).
  let after = new Uint8Array(0);
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    const next = layers[i + 1];
    const f = new Fields(r, l);
    const ip = (() => {
      for (let j = i - 1; j >= 0; j--) if (layers[j]!.kind === 'ipv4' || layers[j]!.kind === 'ipv6') return layers[j]!;
      return undefined;
    })();
    const pseudo = (proto: number, len: number): Uint8Array => {
      if (ip?.kind === 'ipv6') {
        const g = new Fields(r, ip);
        return concat(g.addr('src', PEER_IP6, parseIpv6, 'an IPv6 address'), g.addr('dst', NIC_IP6, parseIpv6, 'an IPv6 address'), u32(len), u32(proto));
      }
      const g = ip ? new Fields(r, ip) : undefined;
      const src = g ? g.addr('src', PEER_IP, parseIpv4, 'an IPv4 address') : PEER_IP;
      const dst = g ? g.addr('dst', NIC_IP, parseIpv4, 'an IPv4 address') : NIC_IP;
      return concat(src, dst, Uint8Array.of(0, proto), u16(len));
    };
    const nextType = (dflt: number) =>
      next?.kind === 'vlan' ? new Fields(r, next).int('tpid', 0x8100, 0xffff) : next ? (ETHERTYPE[next.kind] ?? (next.kind === 'eth' ? 0x6558 : dflt)) : dflt;
    let hdr: Uint8Array;
    switch (l.kind) {
      case 'payload': {
        const hex = f.bytes('hex');
        const text = f.node('text');
        if (hex && text) r.fail(l, 'payload takes hex or text, not both');
        let b = hex ?? (text ? new Uint8Array(Buffer.from(r.string(text, 'payload.text'), 'utf8')) : new Uint8Array(0));
        const len = f.opt('len', 65535);
        if (len !== undefined) {
          if (b.length > len) b = b.subarray(0, len);
          else b = concat(b, new Uint8Array(len - b.length));
        }
        hdr = b;
        break;
      }
      case 'eth':
        hdr = concat(f.addr('dst', NIC_MAC, parseMac, 'a MAC address (aa:bb:cc:dd:ee:ff)'), f.addr('src', PEER_MAC, parseMac, 'a MAC address (aa:bb:cc:dd:ee:ff)'), u16(f.int('type', nextType(0x0800), 0xffff)));
        break;
      case 'vlan': {
        const tci = (f.int('pcp', 0, 7) << 13) | (f.bool('dei', false) ? 1 << 12 : 0) | f.int('id', 1, 4095);
        hdr = concat(u16(tci), u16(f.int('type', nextType(0x0800), 0xffff)));
        break;
      }
      case 'arp':
        hdr = concat(
          Uint8Array.of(0, 1, 8, 0, 6, 4),
          u16(f.int('op', 1, 0xffff)),
          f.addr('sha', PEER_MAC, parseMac, 'a MAC address'),
          f.addr('spa', PEER_IP, parseIpv4, 'an IPv4 address'),
          f.addr('tha', new Uint8Array(6), parseMac, 'a MAC address'),
          f.addr('tpa', NIC_IP, parseIpv4, 'an IPv4 address'),
        );
        break;
      case 'ipv4': {
        const options = f.bytes('options') ?? new Uint8Array(0);
        if (options.length % 4) r.fail(f.node('options')!, 'ipv4.options must be a multiple of 4 bytes');
        const ihl = f.int('ihl', 5 + options.length / 4, 15);
        const frag = (f.bool('df', false) ? 0x4000 : 0) | (f.bool('mf', false) ? 0x2000 : 0) | f.int('frag', 0, 0x1fff);
        const proto = f.int('proto', next ? (IPPROTO[next.kind] ?? 0) : 0, 255);
        const h = concat(
          Uint8Array.of(0x40 | ihl, f.int('tos', 0, 255)),
          u16(f.int('len', 20 + options.length + after.length, 0xffff)),
          u16(f.int('id', 1, 0xffff)),
          u16(frag),
          Uint8Array.of(f.int('ttl', 64, 255), proto, 0, 0),
          f.addr('src', PEER_IP, parseIpv4, 'an IPv4 address (10.0.0.1)'),
          f.addr('dst', NIC_IP, parseIpv4, 'an IPv4 address (10.0.0.1)'),
          options,
        );
        const c = f.opt('checksum', 0xffff) ?? inetChecksum(h);
        h.set(u16(c), 10);
        hdr = h;
        break;
      }
      case 'ipv6': {
        const w = (6 << 28) | (f.int('tc', 0, 255) << 20) | f.int('flow', 0, 0xfffff);
        hdr = concat(
          u32(w >>> 0),
          u16(f.int('plen', after.length, 0xffff)),
          Uint8Array.of(f.int('nxt', next ? (IPPROTO[next.kind] ?? 59) : 59, 255), f.int('hlim', 64, 255)),
          f.addr('src', PEER_IP6, parseIpv6, 'an IPv6 address (fd00::1)'),
          f.addr('dst', NIC_IP6, parseIpv6, 'an IPv6 address (fd00::1)'),
        );
        break;
      }
      case 'tcp': {
        const options = f.bytes('options') ?? new Uint8Array(0);
        if (options.length % 4) r.fail(f.node('options')!, 'tcp.options must be a multiple of 4 bytes');
        let flags = 0x02;
        const fn = f.node('flags');
        if (fn) {
          if (fn.kind === 'scalar' && typeof fn.value === 'number') flags = r.int(fn, 'tcp.flags', 0, 0x1ff);
          else {
            flags = 0;
            const names = fn.kind === 'seq' ? r.stringList(fn, 'tcp.flags') : r.string(fn, 'tcp.flags').split(/[\s,|]+/).filter(Boolean);
            for (const n of names) {
              const b = TCP_FLAGS.indexOf(n.toLowerCase());
              if (b < 0) r.fail(fn, `unknown TCP flag '${n}' (flags: ${TCP_FLAGS.join(', ')})`);
              flags |= 1 << b;
            }
          }
        }
        const doff = f.int('doff', 5 + options.length / 4, 15);
        const h = concat(
          u16(f.int('sport', 40000, 0xffff)),
          u16(f.int('dport', 80, 0xffff)),
          u32(f.int('seq', 1, 0xffffffff)),
          u32(f.int('ack', flags & 0x10 ? 1 : 0, 0xffffffff)),
          Uint8Array.of((doff << 4) | (flags >> 8), flags & 0xff),
          u16(f.int('window', 65535, 0xffff)),
          Uint8Array.of(0, 0),
          u16(f.int('urg', 0, 0xffff)),
          options,
        );
        h.set(u16(f.opt('checksum', 0xffff) ?? inetChecksum(pseudo(6, h.length + after.length), h, after)), 16);
        hdr = h;
        break;
      }
      case 'udp': {
        const len = f.int('len', 8 + after.length, 0xffff);
        const h = concat(u16(f.int('sport', 40000, 0xffff)), u16(f.int('dport', next?.kind === 'vxlan' ? 4789 : 53, 0xffff)), u16(len), Uint8Array.of(0, 0));
        let c = f.opt('checksum', 0xffff);
        if (c === undefined) {
          c = inetChecksum(pseudo(17, 8 + after.length), h, after);
          if (c === 0) c = 0xffff;
        }
        h.set(u16(c), 6);
        hdr = h;
        break;
      }
      case 'icmp':
      case 'icmpv6': {
        const v6 = l.kind === 'icmpv6';
        const type = f.int('type', v6 ? 128 : 8, 255);
        const h = concat(Uint8Array.of(type, f.int('code', 0, 255), 0, 0), u16(f.int('id', 1, 0xffff)), u16(f.int('seq', 1, 0xffff)));
        const c = f.opt('checksum', 0xffff) ?? (v6 ? inetChecksum(pseudo(58, h.length + after.length), h, after) : inetChecksum(h, after));
        h.set(u16(c), 2);
        hdr = h;
        break;
      }
      case 'gre': {
        const key = f.opt('key', 0xffffffff);
        const seq = f.opt('seq', 0xffffffff);
        const csum = f.has('checksum');
        const flags = (csum ? 0x8000 : 0) | (key !== undefined ? 0x2000 : 0) | (seq !== undefined ? 0x1000 : 0);
        const proto = f.int('proto', next ? (ETHERTYPE[next.kind] ?? (next.kind === 'eth' ? 0x6558 : 0)) : 0, 0xffff);
        const h = concat(u16(flags), u16(proto), csum ? new Uint8Array(4) : new Uint8Array(0), key !== undefined ? u32(key) : new Uint8Array(0), seq !== undefined ? u32(seq) : new Uint8Array(0));
        if (csum) {
          const n = f.node('checksum')!;
          const c = n.kind === 'scalar' && n.value === true ? inetChecksum(h, after) : r.int(n, 'gre.checksum', 0, 0xffff);
          h.set(u16(c), 4);
        }
        hdr = h;
        break;
      }
      case 'vxlan':
        hdr = concat(Uint8Array.of(f.int('flags', 0x08, 255), 0, 0, 0), u32((f.int('vni', 1, 0xffffff) << 8) >>> 0));
        break;
    }
    after = concat(hdr, after);
  }
  return after;
}
