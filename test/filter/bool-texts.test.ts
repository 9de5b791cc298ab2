// A boolean field compared with the texts tshark 4.0 shows for it (its true_false_string): `tcp.flags.syn == Set`,
// `ip.flags.df == "not set"`, case-insensitive, quoted or not; another field's texts, or a text with a space more, are
// refused as tshark refuses them. Checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreeWithTshark } from './tshark-agree.ts';
import { compileFilter, FilterError } from '../../simulator/filter.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const eth = (type: number, body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body]);
const ip4 = (df: boolean, proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, df ? 0x40 : 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (flags: number) => [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 2, 0, 0, 0, 0, 0];
const dnsQuery = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0, 0, 1, 0, 1];
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(true, 6, tcp(0x02))),
  /* 1 */ eth(0x0800, ip4(false, 6, tcp(0x18))),
  /* 2 */ eth(0x0800, ip4(false, 17, [0x9c, 0x40, 0, 53, ...be16(8 + dnsQuery.length), 0, 0, ...dnsQuery])),
];

test("a boolean field's true and false texts select what tshark -Y selects", () => {
  agreeWithTshark(FRAMES, [
    ['tcp.flags.syn == Set', [0]],
    ['tcp.flags.syn == set', [0]],
    ['tcp.flags.syn == "Not set"', [1]],
    ['tcp.flags.syn == "not SET"', [1]],
    ['tcp.flags.push != Set', [0]],
    ['tcp.flags.ack in {Set}', [1]],
    ['ip.flags.df == "Set"', [0]],
    ['ip.flags.df == r"not set"', [1, 2]],
    ['dns.flags.response == "Message is a query"', [2]],
    ['dns.flags.recdesired == "do query recursively"', [2]],
    ['tcp.flags.syn == True', [0]],
  ]);
});

test("a boolean field refuses another field's texts", () => {
  for (const expr of ['tcp.flags.syn == Yes', 'tcp.flags.syn == " Set"', 'ip.flags.df == Eligible', 'tcp.flags.syn == "True"']) {
    assert.throws(() => compileFilter(expr), (e: unknown) => e instanceof FilterError && /is not one/.test(e.message) && e.position === expr.indexOf('==') + 3, expr);
  }
});
