// TCP fields that depend on the IP packet around the segment and on the stream, as tshark 4.0 shows them (with the
// README's prefs: no reassembly): tcp.options.sack_le/sack_re relative to the other direction's base (known from a
// segment seen that way or from an acknowledgment number; as sent when none is known); a segment in a first fragment
// (IPv4 MF, an IPv6 fragment header's M; kept for an IPv6 packet inside, not for an IPv4 one) has its numbers as sent,
// no tcp.len, and moves no stream's base; an IPv6 atomic fragment (offset 0, M 0) is no fragment. The expected values
// are written out (the test fails without tshark too) and checked against tshark -T fields and -Y when it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { haveTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const MAC = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
function tcp(sp: number, dp: number, seq: number, ack: number, flags: number, opts: number[] = [], data: number[] = []): number[] {
  while (opts.length % 4) opts.push(1);
  return [...be16(sp), ...be16(dp), ...be32(seq), ...be32(ack), ((20 + opts.length) / 4) << 4, flags, 0x20, 0, 0, 0, 0, 0, ...opts, ...data];
}
const ip4 = (src: number, dst: number, proto: number, b: number[], frag = 0) => [0x45, 0, ...be16(20 + b.length), 0, 1, ...be16(frag), 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, dst, ...b];
const ip6 = (src: number, dst: number, nxt: number, b: number[]) => [0x60, 0, 0, 0, ...be16(b.length), nxt, 64, 0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), src, 0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), dst, ...b];
const e4 = (b: number[]) => [...MAC, 8, 0, ...b];
const e6 = (b: number[]) => [...MAC, 0x86, 0xdd, ...b];
/** An IPv6 fragment header: `fo` is the 16-bit offset-and-flags word (offset in its top 13 bits, M the lowest). */
const frag6 = (nxt: number, fo: number, b: number[]) => [nxt, 0, ...be16(fo), 0, 0, 0, 9, ...b];
const sack = (...edges: number[]) => [1, 1, 5, 2 + 4 * edges.length, ...edges.flatMap(be32)];
const D = [1, 2, 3];

const FRAMES: number[][] = [
  /* 1 */ e4(ip4(1, 2, 6, tcp(1000, 80, 1000, 0, 0x02))),
  /* 2 */ e4(ip4(2, 1, 6, tcp(80, 1000, 5000, 1001, 0x12))),
  /* 3 */ e4(ip4(1, 2, 6, tcp(1000, 80, 1001, 5001, 0x10, sack(5100, 5200, 5300, 5400)))), // edges less 5000
  /* 4 */ e4(ip4(3, 4, 6, tcp(1000, 80, 77, 9000, 0x10, sack(9100, 9200)))), // the other way's base from the ack: 8999
  /* 5 */ e4(ip4(5, 6, 6, tcp(1000, 80, 77, 9000, 0x00, sack(9100, 9200)))), // no ACK, nothing known: as sent
  /* 6 */ e4(ip4(7, 8, 6, tcp(1000, 80, 77, 9000, 0x10))),
  /* 7 */ e4(ip4(8, 7, 6, tcp(80, 1000, 9999, 0, 0x00, sack(100, 200)))), // no ACK, the other way known: 100 - 76
  /* 8 */ e4(ip4(9, 10, 6, tcp(1000, 80, 100, 0, 0x10, sack(500, 600), D), 0x2000)), // first fragment: as sent
  /* 9 */ e4(ip4(9, 10, 6, tcp(1000, 80, 200, 0, 0x10, [], D))), // the stream starts here, not at 8
  /* 10 */ e4(ip4(10, 9, 6, tcp(80, 1000, 300, 150, 0x10, [], D))),
  /* 11 */ e6(ip6(1, 2, 44, frag6(6, 0, tcp(1000, 80, 100, 0, 0x10, [], D)))), // atomic fragment: no fragment
  /* 12 */ e6(ip6(1, 2, 44, frag6(6, 1, tcp(1000, 80, 200, 0, 0x10, [], D)))), // M: a first fragment
  /* 13 */ e6(ip6(1, 2, 6, tcp(1000, 80, 300, 0, 0x10, [], D))),
  /* 14 */ e4(ip4(11, 12, 4, ip4(13, 14, 6, tcp(1000, 80, 100, 0, 0x10, [], D)), 0x2000)), // IPv4 inside: not a fragment
  /* 15 */ e4(ip4(11, 12, 41, ip6(13, 14, 6, tcp(1000, 80, 100, 0, 0x10, [], D)), 0x2000)), // IPv6 inside: still one
  /* 16 */ e6(ip6(5, 6, 44, frag6(41, 0, ip6(17, 18, 6, tcp(1000, 80, 100, 0, 0x10, [], D))))),
  /* 17 */ e6(ip6(5, 6, 44, frag6(4, 1, ip4(15, 16, 6, tcp(1000, 80, 100, 0, 0x10, [], D))))),
];

/** Field -> its values in each frame (occurrences joined by ','), as tshark 4.0 -T fields gives them. */
const VALUES: Record<string, string[]> = {
  'tcp.seq': ['0', '0', '1', '1', '1', '1', '1000', '100', '1', '301', '1', '200', '201', '1', '100', '1', '1'],
  'tcp.ack': ['0', '1', '1', '1', '9000', '1', '0', '0', '1', '4294967247', '1', '0', '1', '1', '0', '1', '1'],
  'tcp.len': ['0', '0', '0', '0', '0', '0', '0', '', '3', '3', '3', '', '3', '3', '', '3', '3'],
  'tcp.options.sack_le': ['', '', '100,300', '101', '9100', '', '24', '500', '', '', '', '', '', '', '', '', ''],
  'tcp.options.sack_re': ['', '', '200,400', '201', '9200', '', '124', '600', '', '', '', '', '', '', '', '', ''],
};
const PREFS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE'];
const SELECT: [string, number[]][] = [
  ['tcp.options.sack_le == 100', [3]],
  ['tcp.options.sack_re == 124', [7]],
  ['tcp.options.sack_le == 9100', [5]],
  ['tcp.options.sack_le > 1000', [5]],
  ['tcp.len == 3', [9, 10, 11, 13, 14, 16, 17]],
  ['tcp && !tcp.len', [8, 12, 15]],
  ['tcp.seq == 100', [8, 15]],
];

test('SACK edges relative to the stream, TCP in fragments and atomic fragments, as tshark', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tcp-frag-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'frames.pcap');
  writeFileSync(path, classicPcap(FRAMES.map((f, i) => ({ data: Uint8Array.from(f), sec: i }))));
  const facts: PacketFacts[] = FRAMES.map((f, index) => ({ index, frame: Uint8Array.from(f), wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2 }));
  const fields = Object.keys(VALUES);
  for (const field of fields) {
    // One filter per field, over every frame in order (the stream state follows them as in a run).
    const f = compileFilter(field);
    assert.deepEqual(facts.map((p) => f.values(p, field).join(',')), VALUES[field], field);
  }
  for (const [expr, want] of SELECT) {
    const f = compileFilter(expr);
    assert.deepEqual(facts.filter((p) => f.test(p)).map((p) => p.index + 1), want, expr);
  }
  if (!haveTshark) return void t.diagnostic('tshark is not installed: checked against the values tshark 4.0 gave, not against tshark itself');
  const ts = spawnSync('tshark', ['-r', path, ...PREFS, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const rows = ts.stdout.split('\n').slice(0, FRAMES.length).map((r) => r.split('\t'));
  fields.forEach((field, j) => assert.deepEqual(rows.map((r) => r[j]), VALUES[field], `tshark -e ${field}`));
  for (const [expr, want] of SELECT) {
    const y = spawnSync('tshark', ['-r', path, ...PREFS, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(y.status, 0, y.stderr);
    assert.deepEqual(y.stdout.split('\n').filter(Boolean).map(Number), want, `tshark -Y '${expr}'`);
  }
});
