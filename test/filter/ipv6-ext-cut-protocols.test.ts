// An IPv6 extension header with fewer bytes than its first fields (0 or 1 byte; a fragment header under 8) is still
// in tshark 4.0's frame.protocols (ipv6.hopopts, ipv6.fraghdr, ipv6.dstopts, ah), with none of its fields; a routing
// header's item (ipv6.routing) is there even then. Checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const ETH = [0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
const SRC = [0xff, 2, ...Array(13).fill(0), 1];
const DST = [0x20, 1, 0x0d, 0xb8, 0, 1, ...Array(9).fill(0), 9];
const v6 = (next: number, body: number[], plen = 40) => Uint8Array.from([...ETH, 0x60, 0, 0, 0, plen >> 8, plen & 255, next, 64, ...SRC, ...DST, ...body]);
const FRAMES = [
  /* 0 */ v6(0, []), // hop-by-hop, no byte of it
  /* 1 */ v6(0, [6]),
  /* 2 */ v6(60, [6]), // destination options, 1 byte
  /* 3 */ v6(43, []), // routing, no byte
  /* 4 */ v6(43, [6]),
  /* 5 */ v6(44, [6, 0]), // fragment header, 2 of 8 bytes
  /* 6 */ v6(51, [6]), // authentication header, 1 byte
  /* 7 */ v6(44, [], 0), // a fragment header by next header only (payload length 0)
  /* 8 */ v6(0, [6, 0]), // hop-by-hop, 2 of 8 bytes: shown already before
];

test('an IPv6 extension header of 0 or 1 byte is in frame.protocols, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['frame.protocols contains "hopopts"', [0, 1, 8]],
    ['frame.protocols contains "dstopts"', [2]],
    ['frame.protocols contains "routing"', [3, 4]],
    ['frame.protocols matches "fraghdr$"', [5, 7]],
    ['frame.protocols contains ":ah"', [6]],
    ['ipv6.routing', [3, 4]],
    ['ipv6.hopopts', [8]],
    ['ah', []],
    ['data', []],
  ]);
});
