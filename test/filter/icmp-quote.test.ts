// What an ICMP error quotes, and IP headers of the other version, as tshark -Y selects them (found on random
// captures): a redirect quotes the IP header and 8 bytes (no protocol past them), a nested error's quote is followed,
// a quoted header with nothing after it is followed by no protocol, EtherType 0x0800 carrying version 6 is IPv6
// after a bogus IPv4 header, IPv6 of another version is data, ICMPv6 quotes only IPv6, an IP packet whose stated
// length leaves no payload has none, and an ICMP message of fewer than 6 bytes has no icmp fields. Expected
// selections written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (proto: number, body: number[], total = 20 + body.length) => [0x45, 0, ...be16(total), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const ip6 = (nh: number, body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), nh, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, ...body];
const udp = (p: number[] = [104, 101, 108, 108, 111]) => [4, 210, 16, 225, ...be16(8 + p.length), 0, 0, ...p];
const icmp = (type: number, body: number[]) => [type, 0, 0, 0, 0, 0, 0, 0, ...body];
const eth = (type: number, body: number[]) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const U = ip4(17, udp());
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(1, icmp(3, ip4(1, icmp(11, U))))),
  /* 1 */ eth(0x0800, ip4(1, icmp(5, ip4(1, icmp(11, U))))),
  /* 2 */ eth(0x0800, ip4(1, icmp(5, U))),
  /* 3 */ eth(0x0800, ip6(17, udp())),
  /* 4 */ eth(0x86dd, U),
  /* 5 */ eth(0x86dd, ip6(58, icmp(1, U))),
  /* 6 */ eth(0x0800, ip4(17, [])),
  /* 7 */ eth(0x0800, ip4(1, icmp(3, ip4(6, [], 40)))),
  /* 8 */ eth(0x0800, ip4(1, [3, 1, 0, 0])),
  // A quoted TCP header, whole (20 bytes) and with 4 bytes after it: tshark gives it no tcp.len.
  /* 9 */ eth(0x0800, ip4(1, icmp(3, ip4(6, [0, 80, 4, 210, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 2, 0, 0, 0, 0, 0, 1, 2, 3, 4])))),
];
const CASES: [string, number[]][] = [
  ['udp', [0, 2, 3]],
  ['icmp', [0, 1, 2, 7, 9]],
  ['icmp.type == 11', [0, 1]],
  ['ip.proto == 17', [0, 2, 6]],
  ['ip.version == 6', [3, 5]],
  ['ipv6', [3, 4, 5]],
  ['tcp', [9]],
  ['tcp.len', []],
  ['tcp.hdr_len == 20', [9]],
  ['data', [0, 3, 4, 5]],
];

test('ICMP quotes and IP versions where another was announced, as tshark -Y selects them', () => {
  agreeWithTshark(FRAMES, CASES);
});
