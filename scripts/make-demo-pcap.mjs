// Writes examples/demo.pcap: a small, hand-made capture that exercises every branch of examples/xdp_filter.c.
// Run: node scripts/make-demo-pcap.mjs   (the output is committed; this script documents how it was made)
import { writeFileSync } from 'node:fs';

const mac = (s) => s.split(':').map((x) => parseInt(x, 16));
const ip4 = (s) => s.split('.').map(Number);
const be16 = (n) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function csum(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const A = mac('02:00:00:00:00:0a');
const B = mac('02:00:00:00:00:0b');
const eth = (type, dst = B, src = A) => [...dst, ...src, ...be16(type)];
const vlan = (id, type) => [...be16(id), ...be16(type)];

function ipv4(proto, src, dst, payload, id = 1) {
  const h = [0x45, 0, ...be16(20 + payload.length), ...be16(id), 0x40, 0, 64, proto, 0, 0, ...ip4(src), ...ip4(dst)];
  const c = csum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...payload];
}

function l4csum(proto, src, dst, seg) {
  return csum([...ip4(src), ...ip4(dst), 0, proto, ...be16(seg.length), ...seg]);
}

function tcp(src, dst, sport, dport, flags = 0x02, seq = 1000) {
  const seg = [...be16(sport), ...be16(dport), ...be32(seq), ...be32(0), 0x50, flags, ...be16(64240), 0, 0, 0, 0];
  const c = l4csum(6, src, dst, seg);
  seg[16] = c >> 8;
  seg[17] = c & 0xff;
  return ipv4(6, src, dst, seg);
}

function udp(src, dst, sport, dport, payload) {
  const seg = [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
  const c = l4csum(17, src, dst, seg);
  seg[6] = c >> 8;
  seg[7] = c & 0xff;
  return ipv4(17, src, dst, seg);
}

function icmpEcho(src, dst, id, seq) {
  const m = [8, 0, 0, 0, ...be16(id), ...be16(seq), ...Array.from({ length: 32 }, (_, i) => 0x61 + (i % 23))];
  const c = csum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return ipv4(1, src, dst, m);
}

const dnsQuery = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1];
const arp = [0, 1, 8, 0, 6, 4, 0, 1, ...A, ...ip4('10.0.0.1'), 0, 0, 0, 0, 0, 0, ...ip4('10.0.0.2')];
const ipv6Echo = [0x60, 0, 0, 0, 0, 16, 58, 64,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
  128, 0, 0x14, 0x2a, 0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];

const pad = (f) => (f.length < 60 ? [...f, ...new Array(60 - f.length).fill(0)] : f);
const frames = [
  pad([...eth(0x0806, mac('ff:ff:ff:ff:ff:ff')), ...arp]),
  [...eth(0x0800), ...icmpEcho('10.0.0.1', '10.0.0.2', 0x4242, 1)],
  pad([...eth(0x0800), ...tcp('10.0.0.1', '10.0.0.2', 40000, 80)]),
  pad([...eth(0x0800), ...tcp('10.0.0.1', '10.0.0.2', 40001, 23)]),
  pad([...eth(0x0800), ...udp('10.0.0.1', '10.0.0.53', 53000, 53, dnsQuery)]),
  [...eth(0x86dd), ...ipv6Echo],
  pad([...eth(0x8100), ...vlan(100, 0x0800), ...tcp('10.0.1.1', '10.0.0.2', 40002, 23)]),
  pad([...eth(0x8100), ...vlan(100, 0x0800), ...tcp('10.0.1.1', '10.0.0.2', 40003, 443)]),
  pad([...eth(0x0800), ...tcp('192.0.2.66', '10.0.0.2', 50000, 80)]),
  [...eth(0x0800), ...icmpEcho('192.0.2.7', '10.0.0.2', 7, 2)],
];

const chunks = [];
const hdr = Buffer.alloc(24);
hdr.writeUInt32LE(0xa1b2c3d4, 0);
hdr.writeUInt16LE(2, 4);
hdr.writeUInt16LE(4, 6);
hdr.writeUInt32LE(262144, 16);
hdr.writeUInt32LE(1, 20);
chunks.push(hdr);
frames.forEach((f, i) => {
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1764000000 + Math.floor(i / 4), 0);
  rec.writeUInt32LE((i % 4) * 250000 + i * 17, 4);
  rec.writeUInt32LE(f.length, 8);
  rec.writeUInt32LE(f.length, 12);
  chunks.push(rec, Buffer.from(f));
});
writeFileSync(new URL('../examples/demo.pcap', import.meta.url), Buffer.concat(chunks));
