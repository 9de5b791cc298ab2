// len() of a protocol and a protocol compared with a protocol, as tshark 4.0 takes them: the protocol's item bytes
// (the same bytes as its slices: udp's 8-byte header, tcp's header with options, ip's header, eth's 14 bytes), byte
// strings ordered the shorter first, then byte by byte. Each expression selects the frames tshark -Y selects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../simulator/filter.ts';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const ip4 = (proto: number, p: number[], opts: number[] = []) => [0x45 + opts.length / 4, 0, ...be16(20 + opts.length + p.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...opts, ...p];
const udp = (s: number, d: number, body: number[]) => [...be16(s), ...be16(d), ...be16(8 + body.length), 0, 0, ...body];
const tcp = (s: number, d: number, opts: number[], body: number[]) => [...be16(s), ...be16(d), 0, 0, 0, 1, 0, 0, 0, 1, 0x50 + opts.length * 4, 0x18, 0x20, 0, 0, 0, 0, 0, ...opts, ...body];
const frame = (b: number[]) => Uint8Array.from([...MACS, 8, 0, ...b]);
// A VXLAN frame carrying a UDP datagram: two udp items, the outer one's bytes before the inner's.
const inner = [...MACS, 8, 0, ...ip4(17, udp(1000, 2000, [1, 2, 3]))];
const vxlan = [8, 0, 0, 0, 0, 0, 42, 0, ...inner];

const FRAMES = [
  /* 0 */ frame(ip4(17, udp(40000, 40001, [9, 9, 9, 9]))),
  /* 1 */ frame(ip4(6, tcp(40000, 80, [], [1, 2]))),
  /* 2 */ frame(ip4(6, tcp(40000, 80, [2, 4, 5, 0xb4], [1, 2]), [1, 1, 1, 0])), // tcp with MSS, ip with options
  /* 3 */ frame(ip4(17, udp(40000, 4789, vxlan))),
];

test('len() of a protocol, a protocol compared with a protocol', () => {
  agreeWithTshark(FRAMES, [
    ['len(udp) == 8', [0, 3]],
    ['len(tcp) == 20', [1]],
    ['len(tcp) == 24', [2]],
    ['len(ip) == 24', [2]],
    ['len(eth) == 14', [0, 1, 2, 3]],
    ['len(udp) + len(ip) == 28', [0, 3]],
    ['udp == udp', [0, 3]],
    ['udp != udp', []],
    ['udp > udp', [3]],
    ['ip < ip', [3]],
    ['tcp == udp', []],
    ['ip > udp', [0, 3]], // 20 bytes after 8, whatever the first byte
    ['udp >= ip', []],
    ['eth == eth', [0, 1, 2, 3]],
    ['frame == eth', []],
    ['udp[0:2] == udp', []],
    ['udp[0:8] == udp', [0, 3]],
  ]);
  // tshark: "tcp.payload and udp are not of compatible types"; a protocol whose item length is not modelled.
  assert.throws(() => compileFilter('tcp.payload == udp'));
  assert.throws(() => compileFilter('len(dns) > 0'), /not supported/);
});
