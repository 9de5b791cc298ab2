// A GRE header cut short inside its optional fields (checksum, key, sequence number): its flags and protocol and the
// fields that were captured are there, as tshark -Y keeps them (found on a random capture: seed 101 frame 32, an IPv6
// GRE header with C, K and S set cut after the checksum). Expected selections written out; checked against tshark -Y
// when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const ip6 = (nh: number, body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), nh, 64, 0xfe, 0x80, ...Array(13).fill(0), 1, 0xfe, 0x80, ...Array(13).fill(0), 2, ...body];
const eth = (type: number, body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body]);
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(47, [0x80, 0, 0x08, 0x00, 0x12])),
  /* 1 */ eth(0x0800, ip4(47, [0xa0, 0, 0x65, 0x58, 0xab, 0xcd, 0, 0, 0, 0])),
  /* 2 */ eth(0x0800, ip4(47, [0x20, 0, 0x08, 0x00, 0, 0, 0, 7, ...ip4(17, [0, 53, 0, 53, 0, 8, 0, 0])])),
  /* 3 */ eth(0x86dd, ip6(47, [0xb0, 0, 0x65, 0x58, 0, 0, 0, 0, 0xb3, 0xac])),
  /* 4 */ eth(0x0800, ip4(47, [0x10, 0, 0x86, 0xdd, 0, 0])),
  /* 5 */ eth(0x0800, ip4(47, [0x80, 0])),
];
const CASES: [string, number[]][] = [
  ['gre', [0, 1, 2, 3, 4]],
  ['gre.flags.checksum == 1', [0, 1, 3]],
  ['gre.flags.key == 1', [1, 2, 3]],
  ['gre.flags.sequence_number == 1', [3, 4]],
  ['gre.checksum', [1, 3]],
  ['gre.checksum == 0xabcd', [1]],
  ['gre.key', [2]],
  ['gre.key == 7', [2]],
  ['gre.proto == 0x6558', [1, 3]],
  ['gre.flags.version == 0', [0, 1, 2, 3, 4]],
  ['udp.port == 53', [2]],
];

test('a GRE header cut short keeps its flags and the fields captured, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
