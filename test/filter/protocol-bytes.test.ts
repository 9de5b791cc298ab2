// A protocol's bytes in a display filter, as tshark 4.0 takes them (Wireshark's docs: `tcp contains 00`, `udp contains
// "x"`, `tcp[0:2] == 00:50`): to a slice or a comparison the protocol's header (ICMP's: its message, a quoted packet
// included), to contains and matches every byte from its start its dissector was given (to the IP packet's stated end,
// a trailer left out; Ethernet and VLAN: to the frame's end). Byte strings of different lengths order by length first;
// a slice past the end of a field that is there makes `!=` hold. Checked on made frames (expected selections written
// out, and against tshark -Y when installed) and on the shared captures against tshark -Y (skipped without them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agreeWithTshark, haveTshark } from './tshark-agree.ts';
import { compileFilter, FilterError, type PacketFacts } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { sharedPath } from '../repo.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const text = (s: string) => [...Buffer.from(s, 'latin1')];
const eth = (type: number, body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body]);
const ip4 = (proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const ip6 = (next: number, body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), next, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, ...body];
const udp = (sp: number, dp: number, body: number[], len = 8 + body.length) => [...be16(sp), ...be16(dp), ...be16(len), 0, 0, ...body];
const tcp = (sp: number, dp: number, body: number[]) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 2, 0, 0, 0, 0, 0, ...body];
const TRAILER = text('TRLR');

const FRAMES = [
  /* 0 */ eth(0x0800, [...ip4(6, tcp(40000, 1234, text('PAYL'))), ...TRAILER]),
  /* 1 */ eth(0x0800, [...ip4(17, [...udp(40000, 1234, text('PAYL'), 12), ...text('XTRA')]), ...TRAILER]), // UDP length short of the IP packet
  /* 2 */ eth(0x8100, [0, 5, 8, 0, ...ip4(17, udp(40000, 1234, text('PAYL'))), ...TRAILER]),
  /* 3 */ eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...Array(20).fill(0), ...TRAILER]),
  /* 4 */ eth(0x86dd, [...ip6(17, udp(40000, 1234, text('PAYL'))), ...TRAILER]),
  /* 5 */ eth(0x0800, [...ip4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...ip4(17, udp(1, 2, text('QUOT')))]), ...TRAILER]), // port unreachable
];

test("a protocol's bytes: its header to slices and comparisons, what its dissector was given to contains", () => {
  agreeWithTshark(FRAMES, [
    ['eth contains "TRLR"', [0, 1, 2, 3, 4, 5]],
    ['vlan contains "TRLR"', [2]],
    ['ip contains "TRLR" || ipv6 contains "TRLR" || tcp contains "TRLR" || udp contains "TRLR" || arp contains "TRLR"', []],
    ['tcp contains "PAYL"', [0]],
    ['tcp matches "PAYL$"', [0]],
    ['udp contains "XTRA"', [1]],
    ['ip contains "XTRA"', [1]],
    ['data contains "PAYL"', [0, 1, 2, 4]],
    ['icmp contains "QUOT" && udp contains "QUOT" && ip contains "QUOT"', [5]],
    ['tcp[0:2] == 9c:40', [0]],
    ['tcp[20:4] == "PAYL"', []],
    ['tcp[-1:] == 00', [0]],
    ['tcp == 9c:40', []],
    ['eth[-2:] == 08:00', [0, 1, 5]],
    ['eth[12:2] == 86:dd', [4]],
    ['ip[0] == 45 && ip[9] == 11', [1, 2, 5]],
    ['ipv6[6] == 11', [4]],
    ['icmp[8] == 45 && icmp[-4:] == "QUOT"', [5]],
    ['arp[7] == 01', [3]],
    ['vlan[0:2] == 00:05', [2]],
    ['vlan > 08:00', [2]],
    ['vlan < 08:00:00:00:00', [2]],
    ['eth[40] != 00', [0, 1, 2, 3, 4, 5]],
    ['tcp[40] != 00', [0]],
    ['frame[0:1] < 00:00', [0, 1, 2, 3, 4, 5]],
  ]);
});

test("a protocol's words stay refused in comparisons", () => {
  for (const [expr, msg, col] of [
    ['tcp contains dc', /tcp and dc .* not of compatible types/, 14],
  ] as [string, RegExp, number][]) {
    assert.throws(() => compileFilter(expr), (e: unknown) => e instanceof FilterError && msg.test(e.message) && e.position + 1 === col, expr);
  }
});

const CAPTURES = sharedPath('captures');
const EXPRS = [
  'tcp contains 00:00', 'udp contains "a"', 'ip contains 0a:00', 'eth contains ff:ff', 'tcp contains "HTTP"', 'ipv6 contains 00:35',
  'tcp[0:2] == 00:50', 'tcp[13] == 02', 'tcp[12] > 50', 'ip[0] == 45', 'ip[9] == 11', 'ipv6[6] == 3a', 'eth[12:2] == 81:00',
  'vlan[2:2] == 08:00', 'arp[6:2] == 00:01', 'icmp[0] == 03', 'tcp matches "^\\x00\\x16"', 'udp matches "\\x00\\x35"',
  'eth[-2:] == 08:00', 'tcp[-4:] != 00', 'ip > 45', 'vlan > 00:00', 'tcp[60] != 00', 'eth == 00', 'icmpv6 contains 00:00',
  // udp's item is its 8-byte header, on cut frames too (len(udp) is 8 on every udp frame of the shared captures).
  'udp[0:2] == 00:35', 'udp[2:2] == 00:35', 'udp[8:1]', 'udp[-2:] == 00:00', 'udp > 00', 'udp[4:2] > 00:40',
];

test('protocol bytes select what tshark -Y selects on the shared captures', (t) => {
  if (!haveTshark) return t.skip('tshark is not installed');
  if (!existsSync(CAPTURES)) return t.skip(`no shared captures at ${CAPTURES}`);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-protocol-bytes-'));
  try {
    const path = join(dir, 'frames.pcap');
    const w = new PcapWriter(path);
    const facts: PacketFacts[] = [];
    let time = 0n;
    for (const name of readdirSync(CAPTURES).sort()) {
      if (!/\.pcap(ng)?$/.test(name)) continue;
      const r = openCapture(join(CAPTURES, name));
      try {
        for (let p; (p = r.next()); ) {
          if (p.otherLink || p.outgoing || p.frame.length < 14) continue;
          facts.push({ index: facts.length, frame: Uint8Array.from(p.frame), wireLen: p.wireLen, capLen: p.frame.length, action: 'XDP_PASS', retval: 2 });
          w.write((time += 1000n), p.frame, p.wireLen > p.frame.length ? p.wireLen : undefined);
        }
      } finally {
        r.close();
      }
    }
    w.close();
    for (const expr of EXPRS) {
      const f = compileFilter(expr);
      const ours = facts.filter((p) => f.test(p)).map((p) => p.index + 1);
      const ts = spawnSync('tshark', ['-r', path, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.equal(ts.status, 0, ts.stderr);
      assert.deepEqual(ours, ts.stdout.split('\n').filter(Boolean).map(Number), `${expr} (frame numbers from 1)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
