// Arithmetic as an argument of abs(), max() and min(), as tshark 4.0 takes it: `max(tcp.srcport + 1, tcp.dstport)`,
// `abs(ip.ttl - 100)`, `min(-ip.ttl, 0)`. The argument's type is its first field's (max() and min() refuse arguments
// of two types), it cannot start with a constant, and a value below zero keeps its sign. Checked against tshark -Y
// when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreeWithTshark } from './tshark-agree.ts';
import { compileFilter, FilterError } from '../../simulator/filter.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (ttl: number, proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0x40, 0, ttl, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (sp: number, dp: number) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 32, 0, 0, 0, 0, 0];
const eth = (type: number, body: number[]) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(64, 6, tcp(79, 80))),
  /* 1 */ eth(0x0800, ip4(128, 6, tcp(8080, 40000))),
  /* 2 */ eth(0x0800, ip4(100, 17, [0, 53, 0, 53, 0, 8, 0, 0])),
  /* 3 */ eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...Array(20).fill(0)]),
];

test('arithmetic in the arguments of abs(), max() and min() selects what tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['max(tcp.srcport + 1, tcp.dstport) == 80', [0]],
    ['max(tcp.srcport + 1, tcp.dstport) > 80', [1]],
    ['abs(ip.ttl - 100) == 36', [0]],
    ['abs(ip.ttl - 100) == 28', [1]],
    ['abs(ip.ttl - 100) == 0', [2]],
    ['abs(ip.ttl - 100) < 0', []],
    ['abs(ip.ttl - 100) != 36', [1, 2]],
    ['abs(-ip.ttl) == 64', [0]],
    ['abs({ip.ttl}) == 100', [2]],
    ['max(ip.ttl - 100, 0) == 0', [0, 2, 3]],
    ['min(ip.ttl - 100, 0) < 0', [0]],
    ['min(ip.ttl - 100, 0) == -36', [0]],
    ['min(ip.ttl - 100) == -36', [0]],
    ['max(ip.ttl * 2, 5) == 128', [0]],
    ['max(ip.ttl, 1 + 2) == 3', [3]],
    ['max(ip.ttl / 0, 1) == 1', [0, 1, 2, 3]],
    ['abs(ip.ttl / 0) >= 0', []],
    ['max(-tcp.port, 0) == 0', [0, 1, 2, 3]],
    ['abs(len(frame) - 100) == 40', [0, 1, 2, 3]],
    ['ip.ttl == max(ip.ttl - 1, 64)', [0]],
    ['max(tcp.srcport + 1, tcp.dstport) + 1 == 81', [0]],
  ]);
});

test('arithmetic arguments tshark refuses are refused', () => {
  for (const [expr, message] of [
    ['max(1 + 2, ip.ttl) > 0', /arithmetic of constants alone cannot be the first argument of max\(\)/],
    ['max(3, ip.ttl) > 0', /max\(\) takes a field as its first argument/],
    ['max(tcp.srcport + 1, ip.ttl) > 80', /max\(\) takes fields of one type/],
    ['max(ip.ttl + 300, 0) > 0', /'300' is too big for ip.ttl/],
    ['max(ip.src + 1, 0) > 0', /arithmetic takes number fields/],
  ] as const)
    assert.throws(() => compileFilter(expr), (e: unknown) => e instanceof FilterError && message.test(e.message), expr);
});
