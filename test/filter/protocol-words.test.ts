// A word on the right of a comparison that names one of tshark's protocols is that field to tshark 4.0, even where
// it reads as bytes in hex (`ff` is Foundation Fieldbus, `fc` Fibre Channel): `frame contains ff` and
// `eth.dst[0] == ff` select nothing, `!=` neither; a colon before it makes it the byte (`:ff`). Checked against
// tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const eth = (dst: number[], body: number[]) => {
  const f = [...dst, 2, 0, 0, 0, 0, 1, 8, 6, ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const ARP = [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
const FRAMES = [eth([255, 255, 255, 255, 255, 255], ARP), eth([2, 0, 0, 0, 0, 2], ARP), eth([0xfc, 0, 0, 0, 0, 2], ARP)];

test('a word naming a protocol of tshark is that field, not bytes; :ff is the byte', () => {
  agreeWithTshark(FRAMES, [
    ['frame contains ff', []],
    ['frame contains :ff', [0]],
    ['frame contains ff:ff', [0]],
    ['eth.dst[0] == ff', []],
    ['eth.dst[0] != ff', []],
    ['eth.dst[0] == :ff', [0]],
    ['eth.dst[0] != :ff', [1, 2]],
    ['eth.dst[0] == fc', []],
    ['eth.dst[0] == :fc', [2]],
    ['eth.dst[0] == 02', [1]],
    ['eth.addr contains :ff', [0]],
    ['frame[0:2] == fefd', []],
  ]);
});
