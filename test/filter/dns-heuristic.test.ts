// tshark 4.0's heuristic DNS dissector claims a UDP payload on ports no dissector is registered for when it looks like
// a DNS message: more than the 12-byte header, opcode 0, a query with one question and no answer or authority record,
// a response with at most one question, 100 answers, 10 authority records; at most 10 additional records. Each
// expression selects the frames tshark -Y selects (made frames, measured with tshark 4.0.17).
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const MACS = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const ip4 = (p: number[]) => [8, 0, 0x45, 0, ...be16(20 + p.length), 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...p];
const udp = (s: number, d: number, body: number[]) => [...be16(s), ...be16(d), ...be16(8 + body.length), 0, 0, ...body];
const hdr = (flags: number, qd: number, an: number, ns: number, ar: number) => [0x12, 0x34, ...be16(flags), ...be16(qd), ...be16(an), ...be16(ns), ...be16(ar)];
const Q = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1];
const RR0 = [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 5, 6, 7, 8];
const RR = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4];
const frame = (s: number, d: number, body: number[]) => Uint8Array.from([...MACS, ...ip4(udp(s, d, body))]);

const FRAMES = [
  /* 0 */ frame(1234, 40000, [...hdr(0x0100, 1, 0, 0, 0), ...Q]), // query: dns
  /* 1 */ frame(1234, 40000, hdr(0x0100, 1, 0, 0, 0)), // header only: data
  /* 2 */ frame(1234, 40000, [...hdr(0x0100, 1, 0, 0, 0), 0]), // header + 1 byte: dns
  /* 3 */ frame(1234, 40000, [...hdr(0x0100, 2, 0, 0, 0), ...Q, ...Q]), // query with 2 questions: data
  /* 4 */ frame(1234, 40000, [...hdr(0x0100, 1, 1, 0, 0), ...Q, ...RR]), // query with an answer: data
  /* 5 */ frame(1234, 40000, [...hdr(0x0100, 1, 0, 0, 10), ...Q, ...RR]), // 10 additional: dns
  /* 6 */ frame(1234, 40000, [...hdr(0x0100, 1, 0, 0, 11), ...Q, ...RR]), // 11 additional: data
  /* 7 */ frame(1234, 40000, [...hdr(0x2800, 1, 0, 0, 0), ...Q]), // opcode 5: data
  /* 8 */ frame(40000, 1234, [...hdr(0x8180, 0, 100, 10, 0), ...RR0]), // response, 100 answers, 10 authority: dns
  /* 9 */ frame(40000, 1234, [...hdr(0x8180, 1, 101, 0, 0), ...Q, ...RR]), // 101 answers: data
  /* 10 */ frame(40000, 1234, [...hdr(0x8180, 1, 1, 11, 0), ...Q, ...RR]), // 11 authority: data
  /* 11 */ frame(40000, 1234, [...hdr(0x8180, 2, 1, 0, 0), ...Q, ...Q, ...RR]), // 2 questions: data
  /* 12 */ frame(40000, 123, [...hdr(0x0100, 1, 0, 0, 0), ...Q]), // NTP's port: ntp
  /* 13 */ frame(40000, 53, [...hdr(0x0100, 1, 0, 0, 0), ...Q]), // DNS by port
  /* 14 */ frame(40000, 40001, [...hdr(0x8183, 1, 0, 0, 0), ...Q]), // NXDOMAIN response: dns
];

test('DNS on UDP ports without a dissector, as tshark 4.0 finds it by its bytes', () => {
  agreeWithTshark(FRAMES, [
    ['dns', [0, 2, 5, 8, 13, 14]],
    ['data', [1, 3, 4, 6, 7, 9, 10, 11]],
    ['dns.qry.name == "example.com"', [0, 5, 13, 14]],
    ['dns.a == 1.2.3.4', [5]], // an additional record of a query
    ['dns.a == 5.6.7.8', [8]],
    ['dns.flags.rcode == 3', [14]],
    ['frame.protocols contains "dns"', [0, 2, 5, 8, 13, 14]],
    ['dns.count.answers > 50', [8]],
  ]);
});
