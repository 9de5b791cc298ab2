// The display filter's `matches` (simulator/filter-regex.ts): PCRE2's syntax as tshark compiles it (caseless by
// default, bytes), matched in linear time, so a pattern that makes a backtracking engine run for ever answers at
// once; constructs that need backtracking are refused naming their column. The expected selections are written out
// (the test fails without tshark too); with tshark installed each one is checked against tshark -Y as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, FilterError, type PacketFacts } from '../../simulator/filter.ts';
import { compileRegex } from '../../simulator/filter-regex.ts';
import { classicPcap } from '../net/pcap-file.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

const NAMES = ['www.example.com', 'ABC.def', 'aaa', 'a-b_c', 'x1y2z3', 'foo bar.baz', 'The.Quick.Brown', 'abab.abab', 'Z', 'zz.top', '123.456', 'mix_Ed-9.q'];

/** An Ethernet/IPv4/UDP frame to port 53 carrying a DNS query for `name` (dotted text, or its labels' bytes). */
function dnsQuery(name: string | Buffer[]): Uint8Array {
  const labels = (typeof name === 'string' ? name.split('.').map((l) => Buffer.from(l)) : name).flatMap((l) => [l.length, ...l]);
  const q = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1];
  const udp = [0x10, 0x00, 0, 53, (8 + q.length) >> 8, (8 + q.length) & 255, 0, 0, ...q];
  const ip = [0x45, 0, (20 + udp.length) >> 8, (20 + udp.length) & 255, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...udp];
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, ...ip]);
}
const FRAMES = NAMES.map(dnsQuery);

/** The frames as a classic pcap (all at time 0). */
const pcap = (frames: Uint8Array[]): Buffer => classicPcap(frames.map((data) => ({ data, sec: 0 })));

const facts = (f: Uint8Array, index: number): PacketFacts => ({ index, frame: f, wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2, outcome: 'passed', line: 1 });

/** The names (1-based frame numbers, as tshark prints them) the filter selects. */
function ours(filter: string): number[] {
  const f = compileFilter(filter);
  return FRAMES.flatMap((fr, i) => (f.test(facts(fr, i)) ? [i + 1] : []));
}

function tshark(dir: string, filter: string): number[] | 'error' {
  const r = spawnSync('tshark', ['-r', join(dir, 'names.pcap'), '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (r.status !== 0) return 'error';
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

// [pattern as written in the filter's string, frames selected]
const CASES: [string, number[]][] = [
  ['EXAMPLE', [1]], // caseless by default
  ['(?-i)EXAMPLE', []],
  ['(?-i)ABC', [2]],
  ['^a+$', [3]],
  ['\\\\bdef\\\\b', [2]],
  ['\\\\Bef', [2]],
  ['[[:upper:]]{2}', [1, 2, 3, 6, 7, 8, 10, 12]], // caseless: any two letters in a row
  ['[^a-z.]', [4, 5, 6, 11, 12]],
  ['\\\\d{3}', [11]],
  ['\\\\w+\\\\s\\\\w+', [6]],
  ['z$', [6, 9]],
  ['top\\\\z', [10]],
  ['\\\\x41bc', [2]],
  ['\\\\QABC.d\\\\E', [2]],
  ['(?x) a b c', [2]],
  ['[]a]', [1, 2, 3, 4, 6, 8]],
  ['(?i:A)(?-i:b)', [8]],
  ['(?:ab){2}', [8]],
  ['^(a|b)+\\\\.', [8]],
  ['a{,2}', []], // not a quantifier: a literal
  ['(a*)*b', [2, 4, 6, 7, 8]],
  ['(a|aa)+$', [3]],
  ['\\\\101', [1, 2, 3, 4, 6, 8]], // octal 'A' (there is no group 101), caseless
];

test('matches selects what tshark -Y selects (caseless by default, PCRE2 syntax)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-regex-'));
  try {
    writeFileSync(join(dir, 'names.pcap'), pcap(FRAMES));
    for (const [pattern, want] of CASES) {
      const filter = `dns.qry.name matches "${pattern}"`;
      assert.deepEqual(ours(filter), want, filter);
      if (haveTshark) assert.deepEqual(tshark(dir, filter), want, `tshark -Y '${filter}'`);
    }
    // A raw string keeps its backslashes, as tshark's.
    assert.deepEqual(ours('dns.qry.name matches r"\\d{3}"'), [11]);
    if (haveTshark) assert.deepEqual(tshark(dir, 'dns.qry.name matches r"\\d{3}"'), [11]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a DNS name is the text tshark filters: spaces kept, control bytes as \\ooo, UTF-8 text, other bytes U+FFFD', () => {
  const labels = [[Buffer.from('a b')], [Buffer.from('a\x01b')], [Buffer.from('a.b'), Buffer.from('c')], [Buffer.from('a\\b')], [Buffer.from('été')], [Buffer.from([0x61, 0x7f, 0x62])], [Buffer.from([0x61, 0xff, 0x62])], [Buffer.from('A"B')]];
  const frames = labels.map(dnsQuery);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-regex-'));
  try {
    writeFileSync(join(dir, 'names.pcap'), pcap(frames));
    for (const [filter, want] of [
      ['dns.qry.name contains "a b"', [1]],
      ['dns.qry.name contains "\\\\001"', [2]],
      ['dns.qry.name matches "\\\\\\\\177"', [6]],
      ['dns.qry.name == "a.b.c"', [3]],
      ['dns.qry.name == "a\\\\b"', [4]],
      ['dns.qry.name == "été"', [5]],
      ['dns.qry.name matches "a\\\\xef\\\\xbf\\\\xbdb"', [7]],
      ['dns.qry.name matches "a\\\\xffb"', []],
      ['dns.qry.name matches "^.{3}$"', [1, 4, 8]],
    ] as const) {
      const f = compileFilter(filter);
      assert.deepEqual(frames.flatMap((fr, i) => (f.test(facts(fr, i)) ? [i + 1] : [])), want, filter);
      if (haveTshark) assert.deepEqual(tshark(dir, filter), want, `tshark -Y '${filter}'`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('patterns tshark refuses are refused, naming the column of what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-regex-'));
  try {
    writeFileSync(join(dir, 'names.pcap'), pcap(FRAMES));
    // [filter, column of the error (0-based), words of the message]
    const bad: [string, number, RegExp][] = [
      ['dns.qry.name matches "a{2,1}"', 27, /numbers out of order/],
      ['dns.qry.name matches "(ab"', 22, /missing closing parenthesis/],
      ['dns.qry.name matches "ab)"', 24, /unmatched closing parenthesis/],
      ['dns.qry.name matches "[ab"', 22, /missing terminating \]/],
      ['dns.qry.name matches "a**"', 24, /quantifier does not follow/],
      ['dns.qry.name matches "x{1,2}{3}"', 28, /quantifier does not follow/],
      ['dns.qry.name matches "[z-a]"', 25, /range out of order/],
      ['dns.qry.name matches "\\\\i"', 22, /unrecognized character follows/],
      ['dns.qry.name matches "[\\\\d-z]"', 26, /invalid range/],
      ['dns.qry.name matches "\\w"', 22, /\\w is not a valid character escape sequence/], // the string's escape, before the regex
    ];
    for (const [filter, column, message] of bad) {
      assert.throws(() => compileFilter(filter), (e: unknown) => e instanceof FilterError && e.position === column && message.test(e.message), filter);
      if (haveTshark) assert.equal(tshark(dir, filter), 'error', `tshark -Y '${filter}' refuses it too`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('constructs that need backtracking are refused with their column, not run', () => {
  for (const [pattern, column, message] of [
    ['(a)\\\\1', 25, /backreferences/],
    ['x(?=a)', 23, /lookahead and lookbehind/],
    ['a++', 24, /possessive/],
    ['(?>a)', 22, /atomic groups/],
  ] as const) {
    const filter = `dns.qry.name matches "${pattern}"`;
    assert.throws(() => compileFilter(filter), (e: unknown) => e instanceof FilterError && e.position === column && message.test(e.message), filter);
  }
  assert.throws(() => compileRegex('(a{1000}){1000}'), /too large/);
  assert.throws(() => compileRegex('('.repeat(5000) + ')'.repeat(5000)), /nested deeper/);
});

test('patterns that make a backtracking engine run for ever answer in one pass over the text', () => {
  // Each of these takes a backtracking matcher (JavaScript's RegExp, PCRE2 without its match limit) exponential or
  // high-polynomial time on these texts; here every text is read once.
  const a = 'a'.repeat(100_000);
  assert.equal(compileRegex('(a*)*b').test(a), false);
  assert.equal(compileRegex('(x+x+)+y').test('x'.repeat(100_000)), false);
  assert.equal(compileRegex('.*.*.*.*.*.*=').test(a), false);
  assert.equal(compileRegex('(a|aa)+$').test(`${a}b`), false);
  assert.equal(compileRegex('(a|aa)+$').test(a), true);
  assert.equal(compileRegex('(.*a){20}').test(`${a}b`), true);
  // Many distinct states (the DFA cache starts over when full) still give the right answer.
  const wide = compileRegex('[ab]*a[ab]{12}c');
  assert.equal(wide.test(`${'ab'.repeat(5000)}a${'b'.repeat(12)}c`), true);
  assert.equal(wide.test(`${'ab'.repeat(5000)}a${'b'.repeat(11)}c`), false);
});

test('text beyond ASCII is matched as its UTF-8 bytes, as tshark does', () => {
  assert.equal(compileRegex('^.{2}$').test('é'), true); // two bytes
  assert.equal(compileRegex('\\xc3\\xa9').test('é'), true);
  assert.equal(compileRegex('é').test('xé'), true);
  assert.equal(compileRegex('(?-i)É').test('é'), false);
  assert.equal(compileRegex('a$').test('a\n'), true); // $ before a final newline
  assert.equal(compileRegex('a\\z').test('a\n'), false);
  assert.equal(compileRegex('(?m)^b').test('a\nb'), true);
  assert.equal(compileRegex('^b').test('a\nb'), false);
});
