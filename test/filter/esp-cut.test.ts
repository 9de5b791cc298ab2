// An ESP header shorter than its 8 bytes (a cut packet, an IP length too small for it) is still esp to tshark 4.0,
// malformed, with no data after it; its SPI when its 4 bytes are there. Checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (len: number, body: number[]) => [0x45, 0, ...be16(len), 0, 1, 0x40, 0, 64, 50, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const eth = (body: number[], pad = true) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, ...body];
  while (pad && f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth(ip4(20, [])), // no ESP byte, padding after the packet
  /* 1 */ eth(ip4(22, [1, 2])), // 2 bytes
  /* 2 */ eth(ip4(30, [1, 2]), false), // 2 of 10 bytes captured
  /* 3 */ eth(ip4(26, [0, 0, 0, 5, 0, 1])), // SPI and half a sequence number
  /* 4 */ eth(ip4(28, [0, 0, 0, 5, 0, 0, 0, 1])), // a whole header
];

test('an ESP header cut short is esp, not data, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['esp', [1, 2, 3, 4]],
    ['data', []],
    ['esp.spi == 5', [3, 4]],
    ['esp.spi', [3, 4]],
    ['frame.protocols contains "esp"', [1, 2, 3, 4]],
  ]);
});
