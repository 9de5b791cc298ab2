// `xdp-lens test` as CI runs it: the example file passes, a file with wrong expectations fails with a diff per
// expectation at its line, malformed files give file:line:column and exit status 2 (never a stack), the CI formats
// parse, and --kernel runs the same cases through BPF_PROG_TEST_RUN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const EXAMPLE = join(REPO, 'examples', 'xdp_filter.xdptest.yaml');
const PROGRAM = join(REPO, 'examples', 'xdp_filter.c');

function cli(args: string[], cwd = REPO) {
  // From source: dist/cli.js may be older than this tree.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-test-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The example with the program's absolute path, so it can live in a temporary directory. */
const exampleText = () => readFileSync(EXAMPLE, 'utf8').replace('file: xdp_filter.c', `file: ${PROGRAM}`);

function line(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, needle);
  return i + 1;
}

test('the example test file passes (exit 0), directories are searched', { skip }, () => {
  const r = cli(['test', 'examples']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ok {4}telnet is dropped/);
  assert.match(r.stdout, /5 cases: 5 passed, 0 failed/);
});

test('wrong expectations fail (exit 1) with expected/actual at the expectation line', { skip }, () => {
  const text = exampleText()
    .replace('exit: blocked-port', 'exit: blocklisted')
    .replace('{key: 4, value: 2}', '{key: 4, value: 3}')
    .replace('ipv4.src: 10.0.0.1', 'ipv4.src: 10.0.0.9')
    .replace('      action: XDP_PASS\n      outcome: passed', '      action: XDP_DROP\n      outcome: dropped');
  const file = tmpFile('wrong.xdptest.yaml', text);
  const r = cli(['test', file]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const src = readFileSync(PROGRAM, 'utf8');
  const blocked = line(src, 'xdp-test: blocked-port');
  const listed = line(src, 'xdp-test: blocklisted');
  assert.ok(r.stdout.includes(`${file}:${line(text, 'exit: blocklisted')}:13: exit\n          expected: line ${listed} (blocklisted)\n          actual:   line ${blocked} (blocked-port)`), r.stdout);
  assert.ok(r.stdout.includes(`${file}:${line(text, '{key: 4, value: 3}')}:13: map proto_count key 4\n          expected: 3\n          actual:   2`), r.stdout);
  assert.ok(r.stdout.includes(`${file}:${line(text, 'ipv4.src: 10.0.0.9')}:9: packet ipv4.src\n          expected: 10.0.0.9\n          actual:   10.0.0.1`), r.stdout);
  assert.ok(r.stdout.includes(`action\n          expected: XDP_DROP\n          actual:   XDP_PASS`), r.stdout);
  assert.ok(r.stdout.includes(`outcome\n          expected: dropped\n          actual:   passed`), r.stdout);
  assert.match(r.stdout, /ok {4}blocklisted source is dropped and counted/);
  assert.match(r.stdout, /5 cases: 2 passed, 3 failed/);
});

test('a whole-packet expectation that differs is shown field by field', { skip }, () => {
  const file = tmpFile('whole.xdptest.yaml', `program: ${PROGRAM}
cases:
  - name: echo
    packet: [eth, ipv4: {src: 10.0.0.2, dst: 10.0.0.1, ttl: 5}, icmp: {type: 8}]
    expect:
      packet: [eth: {src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02"}, ipv4: {src: 10.0.0.1, dst: 10.0.0.2, ttl: 4}, icmp: {type: 0}]
`);
  const r = cli(['test', file, '--format', 'json']);
  assert.equal(r.status, 1, r.stderr);
  const j = JSON.parse(r.stdout);
  const f = j.files[0].cases[0].failures;
  // Only the TTL differs (the program swaps addresses and turns the request into a reply, checksum fixed up): and the
  // IPv4 header checksum, which follows from the TTL.
  assert.deepEqual(f.map((x: any) => x.what), ['packet ip.ttl', 'packet bytes from offset 22']);
  assert.equal(f[0].expected, '4');
  assert.equal(f[0].actual, '5');
  assert.equal(f[0].line, 6);
});

test('malformed files: exit 2, file:line:column, no stack', { skip }, () => {
  const cases: [string, RegExp][] = [
    ['program: x.c\ncases:\n  - name: a\n    packet: [eth]\n    expect: {action: XDP_DROPP}\n', /:5:22: expect\.action is one of XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT, not 'XDP_DROPP'/],
    ['program: x.c\ncases:\n  - name: a\n    packet: [eth]\n    expect: {action: DROP\n', /:6:1: Flow map .*end with a \}/],
    ['program: x.c\ncases:\n  - name: a\n    expect: {action: DROP}\n', /:3:5: case 'a' needs exactly one of packet \(layers\), hex, or capture/],
    ['program: x.c\ncases:\n  - name: a\n    hex: "0011"\n    expct: {}\n', /:5:5: unknown key 'expct' in case 1/],
    ['program: x.c\nprogram: y.c\ncases: []\n', /:2:1: .*(duplicate|unique)/i],
    ['cases: []\nprogram: nope.c\n', /:2:1: cannot compile .*nope\.c/],
    [`program: ${PROGRAM}\ncases:\n  - name: a\n    packet: [eth]\n    expect: {exit: nowhere}\n`, /:5:20: no '\/\/ xdp-test: nowhere' label in .*xdp_filter\.c \(labels: blocklisted, blocked-port, echo-reply\)/],
    [`program: ${PROGRAM}\ncases:\n  - name: a\n    packet: [eth]\n    expect: {maps: {nomap: [{key: 0, value: 0}]}}\n`, /:5:21: no map named 'nomap' in the program/],
    [`program: ${PROGRAM}\nmaps:\n  blocklist: [{key: 1.2.3.4, value: \"0102\"}]\ncases: []\n`, /:3:37: maps\.blocklist\[0\]\.value: 2 bytes given, the map's are 8/],
    [`program: ${PROGRAM}\ncases:\n  - name: a\n    packet: [eth]\n    expect: {packet: {ip.tll: 3}}\n`, /:5:23: unknown packet field 'ip\.tll'/],
    [`program: ${PROGRAM}\ncases:\n  - name: a\n    capture: {file: ${join(REPO, 'examples', 'demo.pcap')}, index: 99}\n    expect: {action: PASS}\n`, /:4:\d+: .*demo\.pcap has no packet 99/],
  ];
  for (const [text, re] of cases) {
    const file = tmpFile('bad.xdptest.yaml', text);
    const r = cli(['test', file]);
    assert.equal(r.status, 2, `${text}\n${r.stdout}${r.stderr}`);
    assert.ok(r.stdout.includes(file), r.stdout);
    assert.match(r.stdout, re, text);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('capture packets: by index and by display filter', { skip }, () => {
  const pcap = join(REPO, 'examples', 'demo.pcap');
  const jl = cli(['run', PROGRAM, pcap, '--format', 'jsonl']);
  const recs = jl.stdout.trim().split('\n').map((l) => JSON.parse(l)).slice(0, -1);
  const firstUdp = recs.find((p) => /UDP/.test(p.summary));
  assert.ok(firstUdp);
  const file = tmpFile('cap.xdptest.yaml', `program: ${PROGRAM}
cases:
  - name: third
    fresh: true
    capture: {file: ${pcap}, index: 2}
    expect: {action: ${recs[2].action}, outcome: ${JSON.stringify(recs[2].outcome)}}
  - name: first udp
    fresh: true
    capture: {file: ${pcap}, filter: udp}
    expect: {action: ${firstUdp.action}}
`);
  const r = cli(['test', file, '--format', 'json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.passed, 2);
});

test('TAP, JUnit and JSON reports', { skip }, () => {
  const file = tmpFile('f.xdptest.yaml', exampleText().replace('exit: blocked-port', 'exit: blocklisted'));
  const tap = cli(['test', file, '--format', 'tap']);
  assert.equal(tap.status, 1);
  const lines = tap.stdout.split('\n');
  assert.equal(lines[0], 'TAP version 13');
  assert.equal(lines[1], '1..5');
  assert.equal(lines.filter((l) => /^ok \d/.test(l)).length, 4);
  assert.match(tap.stdout, /^not ok 1 - .*: telnet is dropped$/m);
  const junit = cli(['test', file, '--format', 'junit']);
  assert.match(junit.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="xdp-lens test" tests="5" failures="1" errors="0">/);
  assert.match(junit.stdout, /<testcase name="telnet is dropped" [^>]*line="\d+">\n {6}<failure message="exit: expected line \d+ \(blocklisted\), actual line \d+ \(blocked-port\)">/);
  assert.equal((junit.stdout.match(/<testcase /g) ?? []).length, 5);
  const json = JSON.parse(cli(['test', file, '--format', 'json']).stdout);
  assert.deepEqual(json.summary, { passed: 4, failed: 1, errors: 0 });
  const c = json.files[0].cases[0];
  assert.equal(c.status, 'fail');
  assert.equal(c.actual.action, 'XDP_DROP');
  assert.match(c.actual.data, /^([0-9a-f]{2})+$/);
});

test('--case runs the named case after the cases before it (map state carried)', { skip }, () => {
  const r = cli(['test', EXAMPLE, '--case', 'web traffic passes', '--format', 'json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const cases = JSON.parse(r.stdout).files[0].cases;
  assert.deepEqual(cases.map((c: any) => c.name), ['web traffic passes']);
});

test('--kernel: the example agrees with BPF_PROG_TEST_RUN; a case the kernel answers otherwise fails', { skip }, (t) => {
  if (kernelOrSkip(t)) return;
  const r = cli(['test', EXAMPLE, '--kernel', '--format', 'json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.files[0].cases.length, 5);
  for (const c of j.files[0].cases) {
    assert.equal(c.kernel.agrees, true, JSON.stringify(c));
    assert.equal(c.kernel.action, c.actual.action);
    // The kernel's output bytes are the simulator's.
    assert.equal(c.kernel.data, c.actual.data);
  }
  // An expectation the program does not meet fails on both sides, the kernel's named.
  const file = tmpFile('k.xdptest.yaml', exampleText().replace('      action: XDP_PASS\n      outcome: passed', '      action: XDP_DROP'));
  const k = JSON.parse(cli(['test', file, '--kernel', '--format', 'json']).stdout);
  const web = k.files[0].cases.find((c: any) => c.name === 'web traffic passes');
  assert.deepEqual(web.failures.map((x: any) => x.what), ['action', 'action (kernel)']);
  assert.equal(web.kernel.action, 'XDP_PASS');
});

test('xdp-lens test with no test files is a usage error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-empty-'));
  const r = cli(['test', dir]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no \*\.xdptest\.yaml files in/);
  assert.ok(existsSync(dir));
});

test('run --save-tests: one case per exit path, and the saved suite passes', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-save-'));
  const file = join(dir, 'saved.xdptest.yaml');
  const run = cli(['run', PROGRAM, join(REPO, 'examples', 'demo.pcap'), '--maps', join(REPO, 'examples', 'blocklist.json'), '--format', 'jsonl', '--save-tests', file]);
  assert.equal(run.status, 0, run.stderr);
  const recs = run.stdout.trim().split('\n').map((l) => JSON.parse(l)).slice(0, -1);
  const paths = new Set(recs.map((p) => `${p.action}|${p.line}|${p.outcome}|${p.fault?.kind ?? ''}`));
  const m = /saved (\d+) test cases? \(one per exit path\)/.exec(run.stderr);
  assert.ok(m, run.stderr);
  const dropped = /left out (\d+) exit path/.exec(run.stderr);
  assert.equal(Number(m[1]) + Number(dropped?.[1] ?? 0), paths.size);
  const saved = readFileSync(file, 'utf8');
  assert.equal((saved.match(/^ {2}- name: /gm) ?? []).length, Number(m[1]));
  assert.match(saved, /^ {4}fresh: true$/m);
  const r = cli(['test', file, '--format', 'json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.summary.passed, Number(m[1]));
  // Every saved case names the exit line the run reported for its first packet.
  for (const c of j.files[0].cases) assert.ok(recs.some((p) => p.action === c.actual.action && p.line === c.actual.exitLine), JSON.stringify(c.actual));
});

test('--export-case: the capture and maps the debugger replays a case from reproduce the case', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-export-'));
  const r = cli(['test', EXAMPLE, '--export-case', 'blocklisted source is dropped and counted', '--out-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  // The third case, after the two before it (no fresh case in between): packet 2 of a three-packet capture.
  assert.equal(e.packet, 2);
  assert.equal(e.program, PROGRAM);
  const run = cli(['run', e.program, e.capture, '--maps', e.maps, '--format', 'jsonl']);
  assert.equal(run.status, 0, run.stderr);
  const recs = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 4);
  assert.deepEqual(recs.slice(0, 3).map((p) => p.action), ['XDP_DROP', 'XDP_PASS', 'XDP_DROP']);
  assert.deepEqual(recs[3].maps.blocklist, [{ key: 'c0000242', value: '0100000000000000' }]);
  const bad = cli(['test', EXAMPLE, '--export-case', 'nope', '--out-dir', dir]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has no case named 'nope'/);
});
