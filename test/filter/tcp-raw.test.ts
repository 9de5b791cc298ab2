// tcp.seq_raw and tcp.ack_raw: the numbers as sent (tcp.seq and tcp.ack are relative to the stream, as tshark's:
// test/filter/tcp-relative). They were unknown fields. Expected selections
// written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const eth = (body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, ...body]);
const ip4 = (body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (seq: number, ack: number, flags: number) => [...be16(40000), ...be16(80), ...be32(seq), ...be32(ack), 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];

const FRAMES = [
  /* 0 */ eth(ip4(tcp(3_551_837_848, 0, 0x02))), // SYN
  /* 1 */ eth(ip4(tcp(1000, 3_551_837_849, 0x12))), // SYN-ACK
  /* 2 */ eth(ip4(tcp(3_551_837_849, 1001, 0x10))),
  /* 3 */ eth(ip4(tcp(0xffffffff, 7, 0x18))),
];
const CASES: [string, number[]][] = [
  ['tcp.seq_raw == 3551837848', [0]],
  ['tcp.seq_raw > 3000000000', [0, 2, 3]],
  ['tcp.seq_raw == 0xffffffff', [3]],
  ['tcp.ack_raw == 0', [0]],
  ['tcp.ack_raw == 3551837849', [1]],
  ['tcp.ack_raw', [0, 1, 2, 3]],
  ['tcp.ack_raw == tcp.seq_raw', []],
  ['tcp.ack_raw < 2000 && tcp.ack_raw > 0', [2, 3]],
];

test('tcp.seq_raw and tcp.ack_raw select what tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
