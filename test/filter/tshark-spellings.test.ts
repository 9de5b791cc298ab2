// Spellings tshark 4.0 takes that an earlier filter refused or read otherwise: a unary plus on a number (`+5`,
// `+ 5`, `{1..+5}`), True/TRUE/False/FALSE for a boolean field (not `true`, not in quotes); and ones it refuses: a
// word naming one of its protocols (ff, fc, ...) compared with a field other than a slice or frame ("not of compatible
// types"). Checked against tshark -Y when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agreeWithTshark, haveTshark } from './tshark-agree.ts';
import { compileFilter, FilterError } from '../../simulator/filter.ts';
import { classicPcap } from '../net/pcap-file.ts';

const be16 = (v: number) => [(v >> 8) & 255, v & 255];
const ip4 = (ttl: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0x40, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (sp: number, dp: number, flags: number) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 32, 0, 0, 0, 0, 0, 0xff, 0xfc];
const eth = (dst: number[], type: number, body: number[]) => {
  const f = [...dst, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth([255, 255, 255, 255, 255, 255], 0x0800, ip4(5, tcp(40000, 80, 0x02))),
  /* 1 */ eth([2, 0, 0, 0, 0, 2], 0x0800, ip4(64, tcp(80, 40000, 0x10))),
  /* 2 */ eth([2, 0, 0, 0, 0, 2], 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...Array(20).fill(0)]),
];

test('a unary plus and the True/False spellings of a boolean select what tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['ip.ttl == +5', [0]],
    ['ip.ttl == + 5', [0]],
    ['ip.ttl > +5', [1]],
    ['+ip.ttl == 64', [1]],
    ['ip.ttl == +0x40', [1]],
    ['ip.ttl in {+5, +64}', [0, 1]],
    ['ip.ttl in {1..+5}', [0]],
    ['max(ip.ttl, +1) == 5', [0]],
    ['tcp.flags.syn == True', [0]],
    ['tcp.flags.syn == TRUE', [0]],
    ['tcp.flags.syn == False', [1]],
    ['tcp.flags.syn != FALSE', [0]],
    ['tcp.flags.ack in {True}', [1]],
    ['frame contains ff', []],
    ['frame[0] == ff', []],
  ]);
});

test('a protocol name beside a field and true in lower case are refused at their place', () => {
  const cases: [string, RegExp, number][] = [
    ['eth.addr contains ff', /eth\.addr and ff \(a protocol of Wireshark's\) are not of compatible types: write :ff for the byte/, 18],
    ['tcp.payload contains fc', /tcp\.payload and fc .* not of compatible types/, 21],
    ['tcp.payload == fefd', /tcp\.payload and fefd/, 15],
    ['frame contains dc', /frame and dc .* not of compatible types/, 15],
    ['tcp.flags.syn == true', /tcp\.flags\.syn is a number; 'true' is not one/, 17],
    ['tcp.flags.syn == "True"', /'True' is not one/, 17],
    ['ip.ttl == True', /ip\.ttl is a number; 'True' is not one/, 10],
  ];
  for (const [text, message, pos] of cases)
    assert.throws(() => compileFilter(text), (e: unknown) => e instanceof FilterError && message.test(e.message) && e.position === pos, text);
  if (!haveTshark) {
    console.log('# tshark is not installed: the refusals were not checked against it');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-spellings-'));
  try {
    const path = join(dir, 'frames.pcap');
    writeFileSync(path, classicPcap(FRAMES.map((data, i) => ({ data, sec: i }))));
    // tshark refuses them all.
    for (const [text] of cases) assert.notEqual(spawnSync('tshark', ['-r', path, '-Y', text]).status, 0, `tshark -Y '${text}' takes it`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
