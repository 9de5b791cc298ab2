// An IPv6 extension header cut short by the snap length is still there for a display filter, with the fields that
// were captured, as tshark shows it (ipv6.routing.type of a routing header of which 12 of 24 bytes were captured,
// ah.spi of a cut Authentication Header). Expected selections written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const addr = (last: number) => [0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), last];
/** Ethernet + IPv6 (payload length `plen`, first next header `nxt`) + `ext`, cut to `keep` bytes of `ext`. */
const frame = (nxt: number, ext: number[], keep: number) =>
  Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd, 0x60, 0, 0, 0, 0, ext.length, nxt, 64, ...addr(1), ...addr(2), ...ext.slice(0, keep)]);
const FRAMES = [
  /* 0 */ frame(43, [59, 2, 4, 1, 0, 0, 0, 0, ...addr(9)], 12), // routing header type 4, 12 of 24 bytes
  /* 1 */ frame(51, [59, 4, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 1, ...new Array<number>(12).fill(0)], 10), // AH spi 0x1234, 10 of 24
  /* 2 */ frame(0, [59, 1, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 6), // hop-by-hop, 6 of 16
  /* 3 */ frame(60, [59, 0, 1, 4, 0, 0, 0, 0], 1), // destination options, 1 byte: not there
  /* 4 */ frame(43, [59, 2, 0, 0, 0, 0, 0, 0, ...addr(9)], 24), // whole routing header type 0
];
const CASES: [string, number[]][] = [
  ['ipv6.routing', [0, 4]],
  ['ipv6.routing.type == 4', [0]],
  ['ipv6.routing.segleft == 1', [0]],
  ['ah', [1]],
  ['ah.spi == 0x1234', [1]],
  ['ipv6.hopopts', [2]],
  ['ipv6.dstopts', []],
  ['ipv6', [0, 1, 2, 3, 4]],
];

test('an IPv6 extension header cut short keeps the fields that were captured, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
