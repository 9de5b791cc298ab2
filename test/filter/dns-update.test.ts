// A DNS UPDATE (opcode 5) counts Zones, Prerequisites, Updates and Additional RRs where a query counts questions,
// answers, authority and additional records: Wireshark names them dns.count.zones, dns.count.prerequisites,
// dns.count.updates and dns.count.add_rr, so dns.count.queries/answers/auth_rr do not select an UPDATE (they did here:
// found on a random capture), and its zone section is still dns.qry.*. Beside it, ICMP and ICMPv6 errors quoted in an
// error are followed as tshark follows them (agreed before; kept as a guard). Expected selections written out; checked
// against tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const eth = (type: number, body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...be16(type), ...body]);
const ip4 = (proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const a6 = (last: number) => [0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), last];
const ip6 = (nxt: number, body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), nxt, 64, ...a6(1), ...a6(2), ...body];
const udp = (sport: number, dport: number, body: number[]) => [...be16(sport), ...be16(dport), ...be16(8 + body.length), 0, 0, ...body];
const icmpErr = (type: number, code: number, quoted: number[]) => [type, code, 0, 0, 0, 0, 0, 0, ...quoted];
const dnsMsg = (flags: number, counts: number[]) => [0x12, 0x34, ...be16(flags), ...counts.flatMap(be16), 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 6, 0, 1];

const FRAMES = [
  /* 0 */ eth(0x0800, ip4(1, icmpErr(3, 1, ip4(17, udp(1000, 2000, [1, 2, 3, 4]))))), // unreachable quoting UDP
  /* 1 */ eth(0x0800, ip4(1, icmpErr(11, 0, ip4(1, icmpErr(3, 3, ip4(17, udp(1000, 2000, [1, 2, 3, 4]))))))), // error in error
  /* 2 */ eth(0x86dd, ip6(58, icmpErr(1, 4, ip6(17, udp(1000, 2000, [1, 2, 3, 4]))))),
  /* 3 */ eth(0x86dd, ip6(58, icmpErr(3, 0, ip6(58, icmpErr(1, 4, ip6(17, udp(1000, 2000, [1, 2, 3, 4]))))))),
  /* 4 */ eth(0x0800, ip4(17, udp(53, 53, dnsMsg(0x2800, [1, 0, 1, 0])))), // UPDATE: 1 zone, 1 update
  /* 5 */ eth(0x0800, ip4(17, udp(40000, 53, dnsMsg(0x0100, [1, 0, 0, 0])))), // query
];
const CASES: [string, number[]][] = [
  ['icmp.type == 3', [0, 1]],
  ['icmp.code == 3', [1]],
  ['icmp.type == 11', [1]],
  ['udp.port == 2000', [0, 1, 2, 3]],
  ['ip.proto == 17', [0, 1, 4, 5]],
  ['icmpv6.type == 1', [2, 3]],
  ['icmpv6.code == 4', [2, 3]],
  ['ipv6.nxt == 17', [2, 3]],
  ['dns.count.queries == 1', [5]],
  ['dns.count.auth_rr', [5]],
  ['dns.count.zones == 1', [4]],
  ['dns.count.prerequisites == 0', [4]],
  ['dns.count.updates == 1', [4]],
  ['dns.count.answers', [5]],
  ['dns.count.add_rr == 0', [4, 5]],
  ['dns.qry.name == "example.com"', [4, 5]],
  ['dns.qry.type == 6', [4, 5]],
];

test('a DNS UPDATE names its counts as Wireshark does, and errors quoted in errors are followed, as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
