// The layer tree of the packet view: field values agree with `tcpdump -n -vv` on every shared capture and on crafted
// frames of the protocols the captures lack (GENEVE, IPv6 extension headers, IPv4 options, GRE keys); every field lies
// inside the frame and inside its layer, and the byte-to-field lookup finds it; hostile and cut-short frames give a
// bounded tree, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dissectTree, fieldAt, type TreeField, type TreeLayer } from '../../simulator/net/dissect-tree.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { sharedPath } from '../repo.ts';

const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const CAPTURES = sharedPath('captures');
const noCaptures = !existsSync(CAPTURES) && `${CAPTURES} is absent`;

function* allFields(fields: TreeField[]): Generator<TreeField> {
  for (const f of fields) {
    yield f;
    if (f.children) yield* allFields(f.children);
  }
}
/** Every value of a field key (or of any of several keys), outermost layer first. */
function values(layers: TreeLayer[], key: string | string[]): string[] {
  const keys = typeof key === 'string' ? [key] : key;
  return layers.flatMap((l) => [...allFields(l.fields)].filter((f) => keys.includes(f.key)).map((f) => f.value));
}
const num = (v: string) => /\((\d+)\)$/.exec(v)?.[1] ?? /^(\d+) bytes$/.exec(v)?.[1] ?? v;

/** What tcpdump -vv prints, by regular expression, paired with the tree's field keys (compared in order of occurrence). */
const CHECKS: { re: RegExp; keys: (string | string[])[]; map?: (v: string, key: string) => string }[] = [
  { re: /\bttl (\d+), id (\d+), offset (\d+)/g, keys: ['ip.ttl', 'ip.id', 'ip.frag_offset'] },
  { re: /proto \S+ \((\d+)\), length (\d+)[),]/g, keys: ['ip.proto', 'ip.len'] },
  { re: /\(hlim (\d+), next-header \S+ \((\d+)\) payload length: (\d+)\)/g, keys: ['ipv6.hlim', 'ipv6.nxt', 'ipv6.plen'] },
  // tcpdump says "vlan" for 802.1ad service tags too.
  { re: /\bvlan (\d+), p (\d+)/g, keys: [['ieee8021ad.id', 'vlan.id'], ['ieee8021ad.priority', 'vlan.priority']] },
  { re: /Flags \[[^\]]*\], (?:cksum 0x([0-9a-f]+) \([^)]*\), )?seq (\d+)(?::\d+)?, (?:ack (\d+), )?win (\d+)/g, keys: ['tcp.checksum', 'tcp.seq', 'tcp.ack', 'tcp.window_size_value'] },
  { re: /\bmss (\d+)/g, keys: ['tcp.options.mss_val'] },
  { re: /\bwscale (\d+)/g, keys: ['tcp.options.wscale.shift'] },
  { re: /\bTS val (\d+) ecr (\d+)/g, keys: ['tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr'] },
  { re: /VXLAN, flags \[\w*\] \(0x[0-9a-f]+\), vni (\d+)/g, keys: ['vxlan.vni'] },
  { re: /who-has (\d+\.\d+\.\d+\.\d+) tell (\d+\.\d+\.\d+\.\d+)/g, keys: ['arp.dst.proto_ipv4', 'arp.src.proto_ipv4'] },
  { re: /Reply (\d+\.\d+\.\d+\.\d+) is-at ([0-9a-f:]{17})/g, keys: ['arp.src.proto_ipv4', 'arp.src.hw_mac'] },
  { re: /: (?:\[[^\]]*\] )?(\d+)[*+%$|-]*(?: \[[^\]]+\])* (?:q: )?([A-Z0-9]+)\? (\S+)\./g, keys: ['dns.id', 'dns.qry.type', 'dns.qry.name'], map: (v, k) => (k === 'dns.qry.type' ? v.split(' ')[0]! : v) },
  { re: /Geneve, Flags \[[^\]]*\], vni (0x[0-9a-f]+)/g, keys: ['geneve.vni'], map: (v) => v },
  { re: /GREv0, Flags \[[^\]]*\], key=(0x[0-9a-f]+)/g, keys: ['gre.key'], map: (v) => v },
  { re: /\bfrag \(0x([0-9a-f]+):(\d+)\|/g, keys: ['ipv6.fragment.id', 'ipv6.fragment.offset'] },
];

/** tcpdump's records (one per packet: a line starting with the timestamp, then its continuation lines). */
function tcpdumpRecords(path: string, count: number): string[] {
  const r = spawnSync('tcpdump', ['-r', path, '-n', '-vv', '-S', '-e', '-tt', '-c', String(count)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/^\d+\.\d+ /.test(line)) out.push(line);
    else if (out.length && line) out[out.length - 1] += `\n${line}`;
  }
  return out;
}

/** Keys tcpdump prints in hexadecimal (with or without 0x and leading zeros): compared as numbers. */
const HEX_KEYS = new Set(['tcp.checksum', 'ipv6.fragment.id']);

/** Compares one record with one tree; returns how many values were compared. */
function compare(record: string, layers: TreeLayer[], where: string): number {
  let compared = 0;
  for (const c of CHECKS) {
    const matches = [...record.matchAll(c.re)];
    c.keys.forEach((keys, i) => {
      const key = typeof keys === 'string' ? keys : keys.join('|');
      const theirs = matches.map((m) => m[i + 1]).filter((v): v is string => v !== undefined);
      const ours = values(layers, keys).map((v) => {
        if (HEX_KEYS.has(key)) return String(parseInt(v, 16));
        if (key === 'ip.frag_offset') return /\((\d+) bytes\)/.exec(v)![1]!; // tcpdump counts bytes
        if (key === 'geneve.vni') return `0x${Number(v).toString(16)}`;
        if (key === 'gre.key') return `0x${Number(num(v)).toString(16)}`;
        const base = key === 'dns.qry.type' ? v : num(v);
        return c.map ? c.map(base, key) : base;
      });
      // tcpdump prints more than the tree dissects (headers quoted in ICMP errors, answers), and stops early on a
      // header it cannot print: what both show is compared.
      const n = Math.min(theirs.length, ours.length);
      const mapped = theirs.slice(0, n).map((v) => (HEX_KEYS.has(key) ? String(parseInt(v, 16)) : v));
      assert.deepEqual(ours.slice(0, n), mapped, `${where}: ${key}\n${record}`);
      compared += n;
    });
  }
  return compared;
}

test('field values agree with tcpdump -vv on every shared capture', { skip: noCaptures || (!haveTcpdump && 'tcpdump is not installed') }, () => {
  let compared = 0;
  const seen = new Set<string>();
  for (const name of readdirSync(CAPTURES).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort()) {
    const path = join(CAPTURES, name);
    const records = tcpdumpRecords(path, 400);
    const reader = openCapture(path);
    try {
      for (let i = 0, p; i < records.length && (p = reader.next()); i++) {
        const layers = dissectTree(p.frame);
        for (const l of layers) seen.add(l.key);
        compared += compare(records[i]!, layers, `${name} packet ${i}`);
      }
    } finally {
      reader.close();
    }
  }
  assert.ok(compared > 2000, `only ${compared} values compared`);
  for (const k of ['eth', 'vlan', 'ieee8021ad', 'arp', 'ip', 'ipv6', 'tcp', 'udp', 'icmpv6', 'gre', 'vxlan', 'dns']) assert.ok(seen.has(k), `no ${k} layer in the shared captures`);
});

// Fields whose name is the same in Wireshark: compared with what tshark decodes, occurrence by occurrence.
const TSHARK_FIELDS = [
  'eth.dst', 'eth.src', 'eth.type', 'vlan.id', 'vlan.priority', 'vlan.etype', 'ieee8021ad.id', 'ieee8021ad.priority', 'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4',
  'arp.dst.proto_ipv4', 'ip.version', 'ip.hdr_len', 'ip.dsfield', 'ip.len', 'ip.id', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.ttl',
  'ip.proto', 'ip.checksum', 'ip.src', 'ip.dst', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.flow', 'ipv6.src', 'ipv6.dst', 'tcp.srcport',
  'tcp.dstport', 'tcp.seq', 'tcp.ack', 'tcp.hdr_len', 'tcp.flags', 'tcp.window_size_value', 'tcp.checksum', 'tcp.urgent_pointer',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr', 'udp.srcport', 'udp.dstport',
  'udp.length', 'udp.checksum', 'icmp.type', 'icmp.code', 'icmp.checksum', 'icmpv6.type', 'icmpv6.code', 'icmpv6.checksum', 'gre.proto',
  'vxlan.vni', 'geneve.vni', 'dns.id', 'dns.flags', 'dns.count.queries', 'dns.count.answers', 'dns.count.auth_rr', 'dns.count.add_rr',
  'dns.qry.name', 'dns.qry.type', 'dns.qry.class',
];
const haveTshark = spawnSync('tshark', ['--version']).status === 0;

/** A value as a number when both sides can say it as one ("20 bytes (5)" is 20, "ICMP (1)" is 1, "0x0800" is 2048). */
function comparable(v: string): string {
  const m = /^(\d+) bytes\b/.exec(v) ?? /\((0x[0-9a-f]+|\d+)\)$/i.exec(v) ?? /^(0x[0-9a-f]+|\d+)\b(?![.:])/i.exec(v);
  return m ? String(Number(m[1])) : v;
}

/** tshark's values per packet and field (every occurrence), first `count` packets, each frame on its own (XDP sees
 * fragments and segments, not reassembled datagrams). */
function tsharkFields(path: string, count: number, fields: string[]): Record<string, string[]>[] {
  const r = spawnSync('tshark', ['-r', path, '-c', String(count), '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'json', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return (JSON.parse(r.stdout || '[]') as { _source: { layers: Record<string, string[]> } }[]).map((p) => p._source.layers);
}

test('field values agree with tshark on every shared capture and the crafted frames', { skip: noCaptures || (!haveTshark && 'tshark is not installed') }, () => {
  let compared = 0;
  let skipped = 0;
  const files = readdirSync(CAPTURES).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort().map((n) => join(CAPTURES, n));
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tshark-'));
  try {
    const crafted = join(dir, 'crafted.pcap');
    const w = new PcapWriter(crafted);
    Object.values(CRAFTED).forEach((b, i) => w.write(BigInt(i) * 1_000_000_000n, Uint8Array.from(b)));
    w.close();
    for (const path of [...files, crafted]) {
      const theirs = tsharkFields(path, 400, [...TSHARK_FIELDS, 'frame.cap_len', 'frame.protocols', 'frame.interface_id']);
      const reader = openCapture(path);
      try {
        for (let i = 0; i < theirs.length; i++) {
          // pcapng blocks that belong to no interface are shown by tshark but are no packet an interface received.
          if (path.endsWith('.pcapng') && theirs[i]!['frame.interface_id'] === undefined) {
            skipped++;
            continue;
          }
          const p = reader.next();
          if (!p) break;
          // Frames that are not Ethernet in the file (raw IP, Linux cooked) reach XDP as Ethernet frames the reader
          // makes: tshark sees other bytes there, so only frames that are Ethernet on both sides are compared.
          if (Number(theirs[i]!['frame.cap_len']?.[0]) !== p.frame.length || !/^eth:/.test(theirs[i]!['frame.protocols']?.[0] ?? '')) {
            skipped++;
            continue;
          }
          const layers = dissectTree(p.frame);
          for (const key of TSHARK_FIELDS) {
            const a = values(layers, key).map(comparable);
            const b = (theirs[i]![key] ?? []).map(comparable);
            // tshark also decodes what the tree leaves as bytes (headers quoted in ICMP errors, DNS records, PPP):
            // the tree's occurrences must be its first ones.
            assert.ok(a.length <= b.length || b.length === 0, `${path} packet ${i}: ${key}: tree ${JSON.stringify(a)}, tshark ${JSON.stringify(b)}`);
            const n = Math.min(a.length, b.length);
            assert.deepEqual(a.slice(0, n), b.slice(0, n), `${path} packet ${i}: ${key}`);
            compared += n;
          }
        }
      } finally {
        reader.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(compared > 5000, `only ${compared} values compared (${skipped} frames not Ethernet in the file)`);
});

// ---- crafted frames

const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [...be16(n >>> 16), ...be16(n & 0xffff)];
const ETH = (type: number) => [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, ...be16(type)];
function ipv4(proto: number, payload: number[], options: number[] = []): number[] {
  const ihl = 20 + options.length;
  return [0x40 | (ihl / 4), 0, ...be16(ihl + payload.length), ...be16(0x1234), 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...options, ...payload];
}
const V6A = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
const V6B = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 2];
function ipv6(next: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, ...be16(payload.length), next, 64, ...V6A, ...V6B, ...payload];
}
const udp = (sport: number, dport: number, payload: number[]) => [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
const TCP_SYN = [...be16(1234), ...be16(80), ...be32(1000), ...be32(0), 0x60, 0x02, ...be16(1024), 0, 0, 0, 0, 2, 4, ...be16(1460)];
const DNS_Q = [...be16(0xbeef), 0x01, 0x00, ...be16(1), 0, 0, 0, 0, 0, 0, 7, ...'example'.split('').map((c) => c.charCodeAt(0)), 3, 99, 111, 109, 0, ...be16(28), ...be16(1)];

const CRAFTED: Record<string, number[]> = {
  // IPv4 with a Record Route option and a Router Alert, TCP SYN with MSS.
  ipv4Options: [...ETH(0x0800), ...ipv4(6, TCP_SYN, [7, 7, 4, 0, 0, 0, 0, 148, 4, 0, 0, 0])],
  // IPv6: hop-by-hop (Router Alert), a destination options header, a first fragment, then UDP DNS.
  ipv6Ext: [...ETH(0x86dd), ...ipv6(0, [60, 0, 5, 2, 0, 0, 1, 0, 44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 1, ...be32(0xabcdef01), ...udp(5000, 53, DNS_Q)])],
  // GENEVE with one option, carrying an Ethernet frame with IPv4/UDP.
  geneve: [...ETH(0x0800), ...ipv4(17, udp(40000, 6081, [0x02, 0x00, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef, ...ETH(0x0800), ...ipv4(17, udp(1, 2, [1, 2, 3]))]))],
  // GRE with a key, carrying IPv4/ICMP echo.
  greKey: [...ETH(0x0800), ...ipv4(47, [0x20, 0x00, 0x08, 0x00, ...be32(0x1000001), ...ipv4(1, [8, 0, 0, 0, ...be16(7), ...be16(1), 0xaa, 0xbb])])],
  // 802.1ad + 802.1Q + ICMPv6 neighbour solicitation with a source link-layer option.
  qinqNs: [...ETH(0x88a8), ...be16(0x2064), 0x81, 0x00, ...be16(0x000a), 0x86, 0xdd, ...ipv6(58, [135, 0, 0, 0, 0, 0, 0, 0, ...V6B, 1, 1, 2, 0, 0, 0, 0, 1])],
};

test('crafted frames of the protocols the captures lack: tree and tcpdump -vv agree', () => {
  const l = (name: string) => dissectTree(Uint8Array.from(CRAFTED[name]!));
  const ip4 = l('ipv4Options');
  assert.deepEqual(ip4.map((x) => x.key), ['eth', 'ip', 'tcp']);
  assert.equal(values(ip4, 'ip.hdr_len')[0], '32 bytes (8)');
  assert.deepEqual(values(ip4, 'ip.opt.type').filter((v) => v.endsWith('bytes)')), ['7 (7 bytes)', '148 (4 bytes)'], 'each option\'s line: its type, then its length');
  assert.deepEqual(values(ip4, 'tcp.options.mss_val'), ['1460']);
  const v6 = l('ipv6Ext');
  assert.deepEqual(v6.map((x) => x.key), ['eth', 'ipv6', 'udp', 'dns']);
  assert.deepEqual(v6[1]!.fields.filter((f) => f.children).map((f) => f.name), ['Hop-by-Hop Options', 'Destination Options', 'Fragment Header']);
  assert.deepEqual(values(v6, 'dns.qry.name'), ['example.com']);
  assert.deepEqual(values(v6, 'dns.qry.type'), ['AAAA (28)']);
  const g = l('geneve');
  assert.deepEqual(g.map((x) => x.key), ['eth', 'ip', 'udp', 'geneve', 'eth', 'ip', 'udp', 'data']);
  assert.deepEqual(values(g, 'geneve.vni'), ['42']);
  assert.equal(values(g, 'geneve.option').length, 1);
  const gre = l('greKey');
  assert.deepEqual(gre.map((x) => x.key), ['eth', 'ip', 'gre', 'ip', 'icmp', 'data']);
  assert.deepEqual(values(gre, 'icmp.seq'), ['1']);
  const q = l('qinqNs');
  assert.deepEqual(q.map((x) => x.key), ['eth', 'ieee8021ad', 'vlan', 'ipv6', 'icmpv6']);
  assert.deepEqual(values(q, ['ieee8021ad.id', 'vlan.id']), ['100', '10']);
  assert.deepEqual(values(q, ['ieee8021ad.priority', 'vlan.priority']), ['1', '0']);
  assert.deepEqual(values(q, 'icmpv6.nd.ns.target_address'), ['2001:db8::2']);
  assert.deepEqual(values(q, 'icmpv6.opt'), ['02:00:00:00:00:01']);

  if (!haveTcpdump) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tree-'));
  try {
    const path = join(dir, 'crafted.pcap');
    const w = new PcapWriter(path);
    const names = Object.keys(CRAFTED);
    names.forEach((n, i) => w.write(BigInt(i) * 1_000_000_000n, Uint8Array.from(CRAFTED[n]!)));
    w.close();
    const records = tcpdumpRecords(path, names.length);
    assert.equal(records.length, names.length);
    let compared = 0;
    names.forEach((n, i) => (compared += compare(records[i]!, l(n), `crafted ${n}`)));
    assert.ok(compared >= 15, `only ${compared} values compared`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every field inside the frame and inside its layer (children inside their parent), and found again by fieldAt. */
function checkShape(frame: Uint8Array, layers: TreeLayer[], where: string): void {
  assert.ok(layers.length <= 48, `${where}: ${layers.length} layers`);
  let prevEnd = 0;
  for (const [li, l] of layers.entries()) {
    assert.ok(l.offset >= prevEnd - 0 && l.length >= 0 && l.offset + l.length <= frame.length, `${where}: layer ${l.name} ${l.offset}+${l.length} of ${frame.length}`);
    prevEnd = l.offset + l.length;
    const walk = (fields: TreeField[], lo: number, hi: number) => {
      for (const f of fields) {
        assert.ok(f.offset >= lo && f.offset + f.length <= hi && f.length >= 0, `${where}: ${f.key} ${f.offset}+${f.length} outside ${lo}..${hi}`);
        if (f.length > 0) {
          const at = fieldAt(layers, f.offset);
          assert.ok(at && at.layer === li, `${where}: byte ${f.offset} of ${f.key} maps to layer ${at?.layer}, not ${li}`);
        }
        if (f.children) walk(f.children, f.offset, f.offset + f.length);
      }
    };
    walk(l.fields, l.offset, l.offset + l.length);
  }
}

test('every prefix of every crafted and shared frame gives a well-shaped tree', () => {
  const frames: Uint8Array[] = Object.values(CRAFTED).map((b) => Uint8Array.from(b));
  if (!noCaptures) {
    for (const name of ['zeek--vxlan-encapsulated-http.pcap', 'zeek--dns-edns-ecs.pcap', 'tcpdump--pptp.pcap', 'zeek--ipv6-fragmented-dns.pcap', 'zeek--vlan-qinqinq.pcap']) {
      const r = openCapture(join(CAPTURES, name));
      for (let i = 0, p; i < 20 && (p = r.next()); i++) frames.push(p.frame);
      r.close();
    }
  }
  let truncated = 0;
  for (const [fi, f] of frames.entries()) {
    for (let n = 0; n <= f.length; n++) {
      const layers = dissectTree(f.subarray(0, n));
      checkShape(f.subarray(0, n), layers, `frame ${fi} cut to ${n}`);
      // Every byte of the frame belongs to some layer.
      assert.equal(layers.reduce((a, l) => a + l.length, 0) >= n || layers.some((l) => l.truncated), true, `frame ${fi} cut to ${n}: bytes not covered`);
      if (layers.some((l) => l.truncated)) truncated++;
    }
  }
  assert.ok(truncated > 100, 'cut frames are marked truncated');
});

test('hostile frames: random bytes, mutations, tag floods and DNS pointer loops stay bounded', () => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const bases = Object.values(CRAFTED);
  for (let i = 0; i < 3000; i++) {
    const base = bases[i % bases.length]!;
    const f = Uint8Array.from(i % 3 === 0 ? Array.from({ length: rnd() }, rnd) : base);
    for (let m = 0; m < 1 + (i % 6); m++) if (f.length) f[rnd() % f.length] = rnd();
    checkShape(f, dissectTree(f), `case ${i}`);
  }
  // 4000 VLAN tags.
  const tags = Uint8Array.from([...ETH(0x8100), ...Array.from({ length: 4000 }, () => [0, 1, 0x81, 0x00]).flat()]);
  const t = dissectTree(tags);
  assert.ok(t.length <= 48);
  assert.equal(t[t.length - 1]!.key, 'data');
  // A DNS question whose name points at itself.
  const loop = Uint8Array.from([...ETH(0x0800), ...ipv4(17, udp(1, 53, [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]))]);
  const d = dissectTree(loop);
  assert.equal(d.find((x) => x.key === 'dns')?.truncated, 'question 1 does not fit');
  // VXLAN in VXLAN in ... stops at the encapsulation limit.
  let inner = [...ETH(0x0800), ...ipv4(17, udp(1, 2, []))];
  for (let k = 0; k < 20; k++) inner = [...ETH(0x0800), ...ipv4(17, udp(1, 4789, [8, 0, 0, 0, 0, 0, 1, 0, ...inner]))];
  const nested = dissectTree(Uint8Array.from(inner));
  assert.ok(nested.filter((x) => x.key === 'vxlan').length <= 5);
});
