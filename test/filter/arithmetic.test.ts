// Display filter arithmetic as tshark 4.0 has it: + - * / % and & on number fields and functions, a unary minus,
// {braces} to group, on either side of a comparison. Wireshark's integer semantics: 32-bit values, an unsigned
// subtraction below zero and a unary minus become signed, a result out of range or a division by zero is no value
// (so `!=` holds and `==` does not), an unsigned value has no relation with a negative one, a lone expression holds
// when a value is not zero, constants take the type of the first field. Checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreeWithTshark } from './tshark-agree.ts';
import { compileFilter, FilterError } from '../../simulator/filter.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (ttl: number, proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0x40, 0, ttl, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (sp: number, dp: number, flags: number, payload: number[] = []) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 32, 0, 0, 0, 0, 0, ...payload];
const udp = (sp: number, dp: number, payload: number[]) => [...be16(sp), ...be16(dp), ...be16(8 + payload.length), 0, 0, ...payload];
const eth = (type: number, body: number[]) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(5, 6, tcp(40000, 80, 0x02))),
  /* 1 */ eth(0x0800, ip4(64, 6, tcp(80, 40000, 0x10, [104, 101, 108, 108, 111]))),
  /* 2 */ eth(0x0800, ip4(255, 17, udp(1234, 5353, Array(29).fill(0x41)))),
  /* 3 */ eth(0x0800, ip4(1, 1, [8, 0, 0, 0, 0, 1, 0, 1])),
  /* 4 */ eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...Array(20).fill(0)]),
];

test('arithmetic selects what tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['ip.ttl + 1 == 6', [0]],
    ['frame.len - +11 == 60', [2]], // a unary plus after an operator
    ['abs(frame.len - +71) == 11', [0, 1, 3, 4]],
    ['tcp.srcport + 1 == 81', [1]],
    ['frame.len % 2 == 0', [0, 1, 3, 4]],
    ['ip.ttl + 250 == 255', [0]],
    ['ip.ttl + 255 == 4', []],
    ['ip.ttl - 10 == -5', [0]],
    ['ip.ttl - 10 > 100', [2]],
    ['ip.ttl - 10 < 0', [0, 3]],
    ['ip.ttl - 10 > -1', []],
    ['-ip.ttl == -5', [0]],
    ['-ip.ttl < 0', [0, 1, 2, 3]],
    ['-ip.ttl > -6', [0, 3]],
    ['ip.ttl / 0 == 0', []],
    ['ip.ttl / 0 != 1', [0, 1, 2, 3]],
    ['ip.ttl / 2 == 2', [0]],
    ['ip.ttl % 2 == 1', [0, 2, 3]],
    ['ip.ttl == {60+4}', [1]],
    ['ip.ttl == 60 + 4', [1]],
    ['ip.ttl == 2 + 3', [0]],
    ['ip.ttl == {2 + 3} * 1', [0]],
    ['{ip.ttl + 1} == 6', [0]],
    ['ip.ttl + 2 * 3 == 11', [0]],
    ['ip.ttl - 1 - 1 == 3', [0]],
    ['ip.ttl -1 == 4', [0]],
    ['ip.ttl * -1 == -5', []],
    ['ip.ttl - -5 == 10', []],
    ['ip.ttl + ip.ttl == 10', [0]],
    ['tcp.srcport + ip.ttl == 144', [1]],
    ['frame.len - ip.ttl > 0', [0, 3]],
    ['ip.ttl - frame.len == -55', [0]],
    ['ip.ttl - frame.len + 100 == 45', [0]],
    ['len(tcp.payload) + 1 == 6', [1]],
    ['count(ip.ttl) + 1 == 2', [0, 1, 2, 3]],
    ['ip.ttl == ip.ttl + 0', [0, 1, 2, 3]],
    ['ip.ttl == -ip.ttl', []],
    ['ip.ttl + 1 != 6', [1, 2, 3]],
    ['ip.ttl + 1 === 6', [0]],
    ['ip.ttl + 1 ~= 6', [1, 2, 3]],
    ['ip.ttl & 3 + 1 == 4', [0, 2]],
    ['ip.ttl + 1', [0, 1, 2, 3]],
    ['ip.ttl - 5', [1, 2, 3]],
    ['ip.ttl % 3 & 1', [1, 3]],
    ['ip.ttl + 1 & 2', [0, 3]],
    ['ip.ttl % -1 == 0', []],
    ['udp.srcport % 2 == 0 && udp.dstport % 2 == 1', [2]],
    ['eth.type + 1 == 2049', [0, 1, 2, 3]],
  ]);
});

test('arithmetic tshark 4.0 refuses is refused at its place', () => {
  const cases: [string, RegExp, number][] = [
    ['5 + ip.ttl == 10', /starts with a field or function/, 0],
    ['ip.ttl + 255 == 260', /'260' is too big for ip\.ttl/, 16],
    ['ip.ttl * 16777216 == 0', /'16777216' is too big for ip\.ttl/, 9],
    ['ip.src + 1 == 1', /arithmetic takes number fields; ip\.src is an IPv4 address/, 0],
    ['tcp.flags.syn + 1 == 2', /tcp\.flags\.syn is a boolean/, 0],
    ['ip.ttl + 1 in {6, 7}', /'in' does not take arithmetic on its left/, 11],
    ['frame[0] + 1 == 3', /./, 0],
  ];
  for (const [text, message, pos] of cases)
    assert.throws(() => compileFilter(text), (e: unknown) => e instanceof FilterError && message.test(e.message) && (text.startsWith('frame[') || e.position === pos), text);
});
