// Wireshark 4's display filter functions: len(), count(), upper(), lower(), abs(), max(), min(), string(), on fields of every
// type they take, with occurrences repeated by a tunnel (IP in IP) and absent fields; and the errors for what they do
// not take. Expected selections written out; checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreeWithTshark } from './tshark-agree.ts';
import { compileFilter, FilterError } from '../../simulator/filter.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (proto: number, body: number[], src = 1) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, 2, ...body];
const ip6 = (nh: number, body: number[]) => [0x60, 0, 0, 0, ...be16(body.length), nh, 64, 0xfe, 0x80, ...Array(13).fill(0), 1, ...Array(15).fill(0), 2, ...body];
const tcp = (sp: number, dp: number, payload: number[] = []) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 32, 0, 0, 0, 0, 0, ...payload];
const udp = (sp: number, dp: number, p: number[]) => [...be16(sp), ...be16(dp), ...be16(8 + p.length), 0, 0, ...p];
const name = (n: string) => [...n.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const dnsQuery = (n: string) => [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name(n), 0, 1, 0, 1];
const eth = (type: number, body: number[]) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(6, tcp(22, 40000, [...Buffer.from('GET / HTTP/1.1\r\n')]))),
  /* 1 */ eth(0x0800, ip4(17, udp(40001, 53, dnsQuery('www.Example.com')))),
  /* 2 */ eth(0x0800, ip4(4, ip4(6, tcp(80, 443), 9))),
  /* 3 */ eth(0x86dd, ip6(17, udp(5000, 53, dnsQuery('a.io')))),
  /* 4 */ eth(0x0800, ip4(6, tcp(1000, 999))),
];
const CASES: [string, number[]][] = [
  ['len(frame) > 60', [0, 1, 2, 3]],
  ['len(frame) == frame.len', [0, 1, 2, 3, 4]],
  ['len(eth.src) == 6', [0, 1, 2, 3, 4]],
  ['len(ip.src) == 4', [0, 1, 2, 4]],
  ['len(ipv6.src) == 16', [3]],
  ['len(tcp.payload) == 16', [0]],
  ['len(tcp.payload) > 0', [0]],
  ['len(dns.qry.name) > 10', [1]],
  ['len(dns.qry.name) == 4', [3]],
  ['count(ip) == 2', [2]],
  ['count(ip) == 1', [0, 1, 4]],
  ['count(ip.addr) == 4', [2]],
  ['count(ip.addr) == count(ip)', []],
  ['count(ip.src) == count(ip)', [0, 1, 2, 4]],
  ['count(vlan) == 0', []],
  ['count(tcp.port) > 1', [0, 2, 4]],
  ['upper(dns.qry.name) == "WWW.EXAMPLE.COM"', [1]],
  ['lower(dns.qry.name) contains "example"', [1]],
  ['upper(dns.qry.name) contains "example"', []],
  ['max(tcp.srcport, tcp.dstport) > 1000', [0]],
  ['max(tcp.srcport, tcp.dstport) == 443', [2]],
  ['min(tcp.srcport, tcp.dstport) < 100', [0, 2]],
  ['min(tcp.srcport, 500) == 500', [1, 3, 4]],
  ['max(udp.port) == 5000', [3]],
  ['abs(tcp.port) == 22', [0]],
  ['len(frame) > 60 && !(count(ip) == 1)', [2, 3]],
  // string(): numbers in decimal, addresses as text (tshark 4.0; text, bytes and times are refused).
  ['string(tcp.port) == "22"', [0]],
  ['string(tcp.srcport) < "3"', [0, 4]],
  ['string(udp.srcport) matches "^4000"', [1]],
  ['string(ip.src) == "10.0.0.9"', [2]],
  ['string(ip.src) matches r"^10\\.0\\.0\\.[0-9]$"', [0, 1, 2, 4]],
  ['string(ipv6.src) == "fe80::1"', [3]],
  ['string(ipv6.dst) contains "::"', [3]],
  ['string(eth.src) == "02:00:00:00:00:01"', [0, 1, 2, 3, 4]],
  ['string(eth.type) == "34525"', [3]],
  ['string(ip.proto) == "4"', [2]],
  // Text contains "" nowhere (tshark 4.0).
  ['dns.qry.name contains ""', []],
  ['lower(dns.qry.name) contains ""', []],
  ['string(tcp.port) contains ""', []],
];

test('len, count, upper, lower, max, min, abs select the frames tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});

test('a function of a field it does not take, alone, or with a wrong argument: an error at its place', () => {
  const cases: [string, RegExp, number][] = [
    ['upper(ip.src) == "X"', /upper\(\) takes a text field; ip\.src is an IPv4 address/, 6],
    ['len(frame)', /len\(frame\) alone is not a test/, 10],
    ['len(ip.src, ip.dst) > 1', /len\(\) takes one field, found 2 arguments/, 0],
    ['count(nosuch.field) > 1', /unknown field 'nosuch\.field'/, 6],
    ['max(dns.qry.name) > 1', /max\(\) takes a number field; dns\.qry\.name is text/, 4],
    ['len(tcp.port) == 2', /len\(\) takes a field of bytes, text or an address/, 4],
    ['count(ip) == "x"', /'x'/, 13],
    ['len(frame > 3', /expected ',' or '\)' in len\(\)/, 10],
    ['upper(dns.qry.name) == count(ip)', /cannot be compared/, 23],
    ['string(tcp.payload) contains "a"', /string\(\) takes a number or address field; tcp\.payload is a byte string/, 7],
    ['string(dns.qry.name) == "a"', /string\(\) takes a number or address field; dns\.qry\.name is text/, 7],
  ];
  for (const [text, message, pos] of cases) {
    assert.throws(() => compileFilter(text), (e: unknown) => e instanceof FilterError && message.test(e.message) && e.position === pos, text);
  }
});
