// A TCP reset's payload is its reset cause to tshark: no protocol in it, not even DNS on port 53 (RST, RST+ACK),
// while the same payload without RST is DNS over TCP. Selections checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const name = (n: string) => [...n.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const query = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name('www.example.com'), 0, 1, 0, 1];
const dnsTcp = [...be16(query.length), ...query];
const tcp = (sp: number, dp: number, flags: number, p: number[]) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0, 100, 0, 0, 0, 0, ...p];
const ip4 = (body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const eth = (body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, ...body]);
const FRAMES = [
  /* 0 */ eth(ip4(tcp(53, 1234, 0x04, dnsTcp))),
  /* 1 */ eth(ip4(tcp(53, 1235, 0x14, dnsTcp))),
  /* 2 */ eth(ip4(tcp(1234, 4000, 0x04, [...Buffer.from('hello world')]))),
  /* 3 */ eth(ip4(tcp(1234, 4001, 0x18, [...Buffer.from('hello world')]))),
  /* 4 */ eth(ip4(tcp(53, 1236, 0x18, dnsTcp))),
];

test("a reset's payload on port 53 is no DNS, as tshark -Y selects", () => {
  agreeWithTshark(FRAMES, [
    ['dns', [4]],
    ['dns.qry.name == "www.example.com"', [4]],
    ['frame.protocols == "eth:ethertype:ip:tcp"', [0, 1, 2]],
    ['frame.protocols contains "dns"', [4]],
    ['data', [3]],
    ['tcp.flags.reset == 1 && tcp.len > 0', [0, 1, 2]],
  ]);
});
