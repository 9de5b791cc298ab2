// Constants of number fields as tshark 4.0 takes them: each field has Wireshark's type (boolean, 8/16/24/32-bit,
// signed 32-bit); a constant past the type's range, `&` on a boolean, string() of a boolean and max()/min() of fields
// of two types are refused at their place; a boolean's constant is true unless 0; octal constants (0100); a negative
// constant for an unsigned field matches nothing (but `!=`). Selections checked against tshark -Y when installed.
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
const ip4 = (proto: number, body: number[], flags = 0x40) => [0x45, 0, ...be16(20 + body.length), 0, 1, flags, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const tcp = (sp: number, dp: number, flags: number) => [...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 32, 0, 0, 0, 0, 0];
const eth = (type: number, body: number[]) => {
  const f = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...be16(type), ...body];
  while (f.length < 60) f.push(0);
  return Uint8Array.from(f);
};
const FRAMES = [
  /* 0 */ eth(0x0800, ip4(6, tcp(40000, 80, 0x02))),
  /* 1 */ eth(0x0800, ip4(6, tcp(80, 40000, 0x12), 0)),
  /* 2 */ eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...Array(20).fill(0)]),
];

test('constants of booleans, octal and negative constants select the frames tshark -Y selects', () => {
  agreeWithTshark(FRAMES, [
    ['tcp.flags.syn == 2', [0, 1]],
    ['tcp.flags.ack == 0', [0]],
    ['tcp.flags.syn == 0x100000000', [0, 1]],
    ['tcp.flags.ack < 2', [0]],
    ['tcp.flags.syn in {6..23}', [0, 1]],
    ['not (ip.flags.df in {8..18})', [1, 2]],
    ['abs(tcp.flags.ack) == 3', [1]],
    ['max(ip.flags.df, ip.flags.mf) == 1', [0]],
    ['ip.ttl == 0100', [0, 1]],
    ['ip.ttl == -1', []],
    ['ip.ttl > -1', []],
    ['ip.ttl != -1', [0, 1]],
    ['count(ip) != -1', [0, 1]],
    ['ip.ttl & -1', [0, 1]],
    ['min(ip.ttl, -1) < 100', [0, 1, 2]],
    ['max(tcp.srcport, tcp.dstport) == 40000', [0, 1]],
    ['ip.ttl == 255', []],
  ]);
});

test('a constant past its field type, & on a boolean, string() of a boolean, max() of two types: refused at their place as tshark refuses them', () => {
  const cases: [string, RegExp, number][] = [
    ['ip.ttl == 256', /'256' is too big for ip\.ttl, an 8-bit number \(at most 255\)/, 10],
    ['ip.ttl == -256', /'-256' is too big for ip\.ttl/, 10],
    ['ip.ttl in {1, 300}', /'300' is too big for ip\.ttl/, 14],
    ['ip.ttl in {1..0x1ff}', /too big for ip\.ttl/, 11],
    ['tcp.port == 70000', /'70000' is too big for tcp\.port, a 16-bit number \(at most 65535\)/, 12],
    ['frame.len == 0x100000000', /at most 4294967295/, 13],
    ['tcp.flags & 0x100000', /'0x100000' is too big for tcp\.flags/, 12],
    ['min(ip.ttl, 1000) == 1', /'1000' is too big for ip\.ttl/, 12],
    ['len(ip.src) == 0x100000000', /too big for len\(ip\.src\), a 32-bit number/, 15],
    ['abs(ip.ttl) == 256', /too big for abs\(ip\.ttl\)/, 15],
    ['ip.flags.df & 0x10', /'&' takes a number field and a mask; ip\.flags\.df is a boolean/, 12],
    ['tcp.flags.syn & 1 == 1', /tcp\.flags\.syn is a boolean/, 14],
    ['tcp.flags.syn == -1', /tcp\.flags\.syn is a boolean \(0 or 1\); '-1' cannot be one/, 17],
    ['string(tcp.flags.syn) == "1"', /string\(\) takes a number or address field; tcp\.flags\.syn is a boolean/, 7],
    ['max(tcp.srcport, ip.ttl) > 1', /max\(\) takes fields of one type: tcp\.srcport is a 16-bit number, ip\.ttl an 8-bit number/, 17],
    ['min(frame.len, udp.length) > 0', /min\(\) takes fields of one type/, 15],
    ['max(ip.ttl, tcp.flags.syn) > 0', /ip\.ttl is an 8-bit number, tcp\.flags\.syn a boolean/, 12],
    ['ip.ttl == 08', /ip\.ttl is a number; '08' is not one/, 10],
  ];
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-numbers-'));
  try {
    const path = join(dir, 'frames.pcap');
    writeFileSync(path, classicPcap(FRAMES.map((data, i) => ({ data, sec: i }))));
    for (const [text, message, pos] of cases) {
      assert.throws(() => compileFilter(text), (e: unknown) => e instanceof FilterError && message.test(e.message) && e.position === pos, text);
      if (!haveTshark) continue;
      const t = spawnSync('tshark', ['-r', path, '-Y', text], { encoding: 'utf8' });
      assert.notEqual(t.status, 0, `tshark -Y '${text}' takes it`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!haveTshark) console.log('# tshark is not installed: the refusals were not checked against it');
});
