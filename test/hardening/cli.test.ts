// No input, however large or hostile, crashes, hangs or exhausts the CLI: each case asserts the exit status, the
// message (naming the input), a time bound and a memory bound measured on the run (generous: shared, slow machines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { compileC } from '../../simulator/compile.ts';
import { cli, cliArgv, measure, start, within } from './measure.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const noClang = !haveClang && 'clang is not installed';
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const PCAP = join(REPO, 'examples', 'demo.pcap');
const QUICK = { ms: 60_000, mib: 600 };
const tmp = () => mkdtempSync(join(tmpdir(), 'xdp-lens-hard-'));

/** Exit status 2 with a message matching `message`, no stack trace, within the bounds. */
function userError(r: ReturnType<typeof cli>, message: RegExp, what: string, bounds = QUICK): void {
  assert.equal(r.status, 2, `${what}: exit status ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /xdp-lens: internal error|\n\s+at .*:\d+:\d+/, `${what}: no internal error or stack`);
  within(r, bounds, what);
}

test('a capture from standard input: - and /dev/stdin', { skip: noClang }, () => {
  const pcap = readFileSync(PCAP);
  for (const name of ['-', '/dev/stdin']) {
    const r = cli(['run', PROG, name, '--format', 'jsonl'], { input: pcap });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 11, `${name}: ten packets and the summary`);
    assert.equal(JSON.parse(lines[10]!).summary.packets, 10);
    within(r, QUICK, name);
  }
});

test('a capture with no packet: every format says so, the table without an empty driver line', { skip: noClang }, () => {
  // A pcap file header (Ethernet, snap length 65535) and nothing after it.
  const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
  for (const name of ['-', '/dev/stdin']) {
    const table = cli(['run', PROG, name], { input: header });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^0 packets: none$/m);
    assert.match(table.stdout, /^driver: received no packet$/m);
    const jsonl = cli(['run', PROG, name, '--format', 'jsonl'], { input: header });
    assert.equal(jsonl.status, 0, jsonl.stderr);
    const lines = jsonl.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'only the summary line');
    assert.equal(JSON.parse(lines[0]!).summary.packets, 0);
  }
});

test('standard input left non-blocking by the caller is waited on, not an EAGAIN error', { skip: noClang || (spawnSync('python3', ['--version']).status !== 0 && 'python3 is not installed') }, () => {
  const argv = cliArgv(['run', PROG, '-', '--format', 'jsonl']).map((a) => `'${a}'`).join(', ');
  const setNonblock = `import os, fcntl; fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK); os.execvp('${process.execPath}', [${argv}])`;
  const r = measure(['sh', '-c', `(sleep 1; cat '${PCAP}') | python3 -c "${setNonblock}" | tail -1`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.packets, 10);
  within(r, QUICK, 'non-blocking standard input');
});

test('a capture from a FIFO is read as a stream', { skip: noClang }, async () => {
  const dir = tmp();
  const fifo = join(dir, 'live.pcap');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const writer = spawn('sh', ['-c', `cat "${PCAP}" > "${fifo}"`]);
  const run = start(cliArgv(['run', PROG, fifo]));
  run.child.stdin!.end();
  const r = await run.done;
  writer.kill();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /10 packets: /);
  within(r, QUICK, 'FIFO capture');
});

/** A pcap header and records, written to a pipe a packet at a time. */
function pcapHeader(): Buffer {
  return Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
}
function pcapRecord(i: number): Buffer {
  const frame = Buffer.alloc(60);
  frame.writeUInt16BE(0x0800, 12);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(i, 0);
  h.writeUInt32LE(60, 8);
  h.writeUInt32LE(60, 12);
  return Buffer.concat([h, frame]);
}

test('from a pipe, each verdict is written as its packet arrives (jsonl and table)', { skip: noClang }, async () => {
  for (const format of ['jsonl', 'table']) {
    const run = start(cliArgv(['run', PROG, '-', '--format', format]));
    let seen = '';
    run.child.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    const waitFor = (re: RegExp, what: string) =>
      new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const poll = setInterval(() => {
          if (re.test(seen)) {
            clearInterval(poll);
            resolve();
          } else if (Date.now() - t0 > 60_000) {
            clearInterval(poll);
            reject(new Error(`${format}: ${what} not written while the pipe stays open; got ${JSON.stringify(seen)}`));
          }
        }, 20);
      });
    const row = (i: number) => (format === 'jsonl' ? new RegExp(`"packet":${i},`) : new RegExp(`^\\s+${i}\\s+\\d`, 'm'));
    run.child.stdin!.write(Buffer.concat([pcapHeader(), pcapRecord(0)]));
    await waitFor(row(0), 'packet 0');
    assert.doesNotMatch(seen, row(1));
    run.child.stdin!.write(pcapRecord(1));
    await waitFor(row(1), 'packet 1');
    run.child.stdin!.end();
    const r = await run.done;
    assert.equal(r.status, 0, r.stderr);
    within(r, QUICK, `pipe ${format}`);
  }
});

test('a long capture from a pipe runs in constant memory', { skip: noClang }, () => {
  const n = 100_000;
  const records = Buffer.alloc(n * 76);
  for (let i = 0; i < n; i++) pcapRecord(i).copy(records, i * 76);
  const dir = tmp();
  const input = join(dir, 'long.pcap');
  writeFileSync(input, Buffer.concat([pcapHeader(), records]));
  // Through a shell so that the capture arrives on a pipe and the output goes nowhere; GNU time measures both.
  const argv = cliArgv(['run', PROG, '-', '--format', 'jsonl']).map((a) => `'${a}'`).join(' ');
  const r = measure(['sh', '-c', `cat '${input}' | ${argv} | tail -1`], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).summary.packets, n);
  within(r, { ms: 300_000, mib: 500 }, `${n} packets through a pipe`);
});

test('captures that are not captures: /proc/self/mem, a directory, /dev/zero', { skip: noClang }, () => {
  userError(cli(['run', PROG, '/proc/self/mem']), /\/proc\/self\/mem: byte offset 0: cannot read/, '/proc/self/mem');
  userError(cli(['run', PROG, tmpdir()]), /is a directory, not a capture file/, 'directory');
  userError(cli(['run', PROG, '/dev/zero']), /\/dev\/zero: byte offset 0: not a pcap or pcapng capture/, '/dev/zero as capture');
});

test('every input file is read only when it is a regular file within its limit', { skip: noClang }, () => {
  userError(cli(['run', '/dev/zero', PCAP]), /program \/dev\/zero is a character device; only regular files/, '/dev/zero as program');
  userError(cli(['run', '/dev/urandom', PCAP]), /program \/dev\/urandom is a character device/, '/dev/urandom as program');
  userError(cli(['run', PROG, PCAP, '--maps', '/dev/urandom']), /--maps file \/dev\/urandom is a character device/, '/dev/urandom as --maps');
  userError(cli(['run', PROG, PCAP, '--maps', '/dev/zero']), /--maps file \/dev\/zero is a character device/, '/dev/zero as --maps');
  userError(cli(['run', PROG, PCAP, '--routes', '/dev/zero']), /--routes file \/dev\/zero is a character device/, '/dev/zero as --routes');
  userError(cli(['check', '/dev/zero']), /input \/dev\/zero is a character device/, '/dev/zero to check');
  userError(cli(['run', PROG, PCAP, '--btf', '/dev/zero']), /BTF file \/dev\/zero is a character device/, '/dev/zero as --btf');
  userError(cli(['check', '/dev/urandom']), /input \/dev\/urandom is a character device/, '/dev/urandom to check');
  const dir = tmp();
  const fifo = join(dir, 'maps.json');
  spawnSync('mkfifo', [fifo]);
  userError(cli(['run', PROG, PCAP, '--maps', fifo]), /--maps file .*maps\.json is a FIFO/, 'a FIFO as --maps (never waits for a writer)');
  // A file over the limit: a sparse 17 MiB C file costs no disk.
  const huge = join(dir, 'huge.c');
  writeFileSync(huge, '');
  spawnSync('truncate', ['-s', '17M', huge]);
  userError(cli(['check', huge]), /input .*huge\.c is 17825792 bytes, more than the limit of 16 MiB/, 'a 17 MiB C file');
  const db = join(dir, 'compile_commands.json');
  symlinkSync('/dev/zero', db);
  const r = cli(['check', PROG, '--compile-commands', db]);
  assert.match(r.stderr, /compile_commands\.json: cannot read the compilation database: .*character device/);
  within(r, QUICK, 'compile_commands.json symlinked to /dev/zero');
});

test('a local include that is a symlink to /dev/zero: the source tier skips it, clang reads it as empty', { skip: noClang }, () => {
  const dir = tmp();
  symlinkSync('/dev/zero', join(dir, 'zero.h'));
  const src = join(dir, 'prog.c');
  writeFileSync(src, readFileSync(PROG, 'utf8').replace('#include <linux/bpf.h>', '#include <linux/bpf.h>\n#include "zero.h"'));
  const source = cli(['check', src, '--source-only']);
  assert.ok(source.status === 0 || source.status === 1, source.stderr);
  within(source, QUICK, 'source tier with a /dev/zero include');
  // clang takes a device's size (0) as the file's length; were it to read on, its limits would end it.
  const full = cli(['check', src], { env: { XDP_LENS_CLANG_MEMORY: '512', XDP_LENS_CLANG_TIMEOUT: '20' } });
  assert.ok(full.status === 0 || full.status === 1, full.stderr);
  assert.doesNotMatch(full.stderr, /internal error/);
  within(full, { ms: 90_000, mib: 1200 }, 'clang with a /dev/zero include');
});

test('check: C not named .c, an object, /dev/null, binary data', { skip: noClang }, () => {
  const dir = tmp();
  const txt = join(dir, 'prog.txt');
  writeFileSync(txt, readFileSync(PROG));
  const r = cli(['check', txt]);
  assert.ok(r.status === 0 || r.status === 1, `C named .txt: ${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /internal error|rename|\n\s+at .*:\d+:\d+/);
  within(r, QUICK, 'check prog.txt');
  const o = compileC(join(REPO, 'test', 'elf', 'fixtures', 'multi.c')).objectPath!;
  assert.ok(o, 'multi.c compiles');
  userError(cli(['check', o]), /\.o is an ELF object, not C source/, 'check on an object');
  userError(cli(['check', '/dev/null']), /input \/dev\/null is a character device/, 'check /dev/null');
  const bin = join(dir, 'blob.c');
  writeFileSync(bin, Buffer.from([0x69, 0x6e, 0x74, 0x00, 0xff]));
  userError(cli(['check', bin]), /blob\.c: byte offset 3: a NUL byte/, 'check on binary data');
});

test('--routes: not a list, fields of the wrong type, prefixes that are not prefixes, negative ifindexes', { skip: noClang }, () => {
  const dir = tmp();
  const routes = (name: string, json: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(json));
    return p;
  };
  const obj = routes('obj.json', { family: 'inet', prefix: '10.0.0.0/8', ifindex: 2 });
  userError(cli(['run', PROG, PCAP, '--routes', obj]), /obj\.json: a routing table is a JSON list of routes.*holds an object/, 'routes object');
  const bad = routes('bad.json', [
    { family: 'inet', prefix: 10, ifindex: '2' },
    { family: 'inet', prefix: '10.0.0.1/8', ifindex: -1 },
    { family: 'inet6', prefix: '2001:db8::/129', ifindex: 1, mtu: 'big', dmac: 5 },
  ]);
  const r = cli(['run', PROG, PCAP, '--routes', bad]);
  userError(r, /bad\.json: route 0: "prefix" must be a string/, 'route fields');
  assert.match(r.stderr, /bad\.json: route 0: "ifindex" must be a whole number from 1 to 2147483647, not "2"/);
  assert.match(r.stderr, /bad\.json: route 1: "prefix" "10\.0\.0\.1\/8" is not a prefix/);
  assert.match(r.stderr, /bad\.json: route 1: "ifindex" must be a whole number from 1 to 2147483647, not -1/);
  assert.match(r.stderr, /bad\.json: route 2: "prefix" "2001:db8::\/129" has a length that is not a whole number from 0 to 128/);
  assert.match(r.stderr, /bad\.json: route 2: "dmac" must be a MAC address/);
  assert.match(r.stderr, /bad\.json: route 2: "mtu" must be a whole number from 68 to 65535/);
  const good = routes('good.json', [{ family: 'inet', prefix: '10.0.0.0/8', ifindex: 2, gateway: '10.0.0.1', dmac: '02:00:00:00:00:03' }]);
  assert.equal(cli(['run', PROG, PCAP, '--routes', good]).status, 0);
});

test('seeds nested a million deep are refused with a message, not a stack overflow', { skip: noClang }, () => {
  const dir = tmp();
  const deep = join(dir, 'deep.json');
  writeFileSync(deep, '['.repeat(1_000_000) + ']'.repeat(1_000_000));
  userError(cli(['run', PROG, PCAP, '--routes', deep]), /deep\.json: route 0: a route is an object .*not a list/, 'deep --routes');
  userError(cli(['run', PROG, PCAP, '--maps', deep]), /deep\.json: /, 'deep --maps');
});

test('a PROG_ARRAY seed naming a program that does not exist', { skip: noClang }, () => {
  const dir = tmp();
  const maps = join(dir, 'maps.json');
  writeFileSync(maps, JSON.stringify({ jump: [{ key: 0, program: 'stage_drop' }, { key: 1, program: 'no_such_stage' }] }));
  const prog = join(REPO, 'test', 'elf', 'fixtures', 'tailcall.c');
  userError(
    cli(['run', prog, PCAP, '--program', 'dispatcher', '--maps', maps]),
    /maps\.json: map 'jump' entry 1: "program" names 'no_such_stage', which is not a program of the object \(programs: .*stage_drop/,
    'PROG_ARRAY seed',
  );
});

test('--out-dir naming a file or /dev/null', { skip: noClang }, () => {
  const dir = tmp();
  const file = join(dir, 'file');
  writeFileSync(file, '');
  userError(cli(['run', PROG, PCAP, '--out-dir', '/dev/null']), /--out-dir \/dev\/null is not a directory/, '--out-dir /dev/null');
  userError(cli(['run', PROG, PCAP, '--out-dir', file]), /--out-dir .*file is not a directory/, '--out-dir file');
  userError(cli(['run', PROG, PCAP, '--out-dir', join(file, 'sub')]), /--out-dir .*file\/sub: cannot create the directory/, '--out-dir under a file');
  // mkdir answers ENOENT under /proc, which exists: Node's recursive mkdirSync loops on that for ever.
  userError(cli(['run', PROG, PCAP, '--out-dir', '/proc/xdp-lens/out']), /--out-dir \/proc\/xdp-lens\/out: cannot create the directory: ENOENT/, '--out-dir under /proc');
  const out = join(dir, 'new', 'out');
  assert.equal(cli(['run', PROG, PCAP, '--out-dir', out]).status, 0);
  assert.ok(existsSync(join(out, 'xdp_pass.pcap')));
});

test('numeric options: decimal, inside their ranges, each error naming the flag and the range', () => {
  const cases: [string, string, RegExp][] = [
    ['--cpus', '4294967296', /--cpus is out of range: 4294967296 \(accepted: 1 to 8192\)/],
    ['--cpus', '0', /--cpus is out of range: 0 \(accepted: 1 to 8192\)/],
    ['--queues', '4294967296', /--queues is out of range: 4294967296 \(accepted: 1 to 4096\)/],
    ['--queues', '0', /--queues is out of range: 0 \(accepted: 1 to 4096\)/],
    ['--budget', '100000000000', /--budget is out of range: 100000000000 \(accepted: 1 to 100000000\)/],
    ['--budget', '0', /--budget is out of range: 0/],
    ['--limit', '0', /--limit is out of range: 0 \(accepted: 1 to 2\^53-1\)/],
    ['--limit', '-5', /--limit takes a decimal whole number from 1 to 2\^53-1, not '-5'/],
    ['--cpus', '0x10', /--cpus takes a decimal whole number from 1 to 8192, not '0x10'/],
    ['--cpus', '1e3', /--cpus takes a decimal whole number/],
    ['--seed', '4294967296', /--seed is out of range: 4294967296 \(accepted: 0 to 4294967295\)/],
    ['--seed', '-1', /--seed takes a decimal whole number from 0 to 4294967295, not '-1'/],
  ];
  for (const [flag, value, message] of cases) userError(cli(['run', PROG, PCAP, flag, value]), message, `${flag} ${value}`);
});

test('--cflag -DX works as written', { skip: noClang }, () => {
  const dir = tmp();
  const src = join(dir, 'needs_x.c');
  writeFileSync(src, `#ifndef X\n#error X is not defined\n#endif\n${readFileSync(PROG, 'utf8')}`);
  const r = cli(['run', src, PCAP, '--cflag', '-DX', '--limit', '1', '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).summary.packets, 1);
  const check = cli(['check', src, '--cflag', '-DX=1']);
  assert.ok(check.status === 0 || check.status === 1, check.stderr);
  assert.doesNotMatch(check.stdout, /X is not defined/);
});

/** C whose macros expand to 2^30 tokens: clang needs far more than any limit. */
function exploding(dir: string): string {
  const lines = ['#define A0 x+'];
  for (let i = 1; i <= 30; i++) lines.push(`#define A${i} A${i - 1} A${i - 1}`);
  lines.push('int f(int x) { return A30 0; }');
  const p = join(dir, 'boom.c');
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

test('clang under limits: an exponential macro expansion is reported as a memory limit hit', { skip: noClang }, () => {
  const dir = tmp();
  const src = exploding(dir);
  const env = { XDP_LENS_CLANG_MEMORY: '512' };
  const run = cli(['run', src, PCAP], { env });
  userError(run, /clang exceeded 512 MiB compiling .*boom\.c \(the memory limit/, 'run on exploding C', { ms: 120_000, mib: 1200 });
  const check = cli(['check', src], { env });
  assert.equal(check.status, 1, check.stderr);
  assert.match(check.stdout, /clang exceeded 512 MiB compiling .*boom\.c/);
  within(check, { ms: 120_000, mib: 1200 }, 'check on exploding C');
});

test('clang under limits: a compile that never ends is cut at the time limit', { skip: noClang }, () => {
  const dir = tmp();
  const fifo = join(dir, 'never.h');
  spawnSync('mkfifo', [fifo]);
  const src = join(dir, 'waits.c');
  writeFileSync(src, '#include "never.h"\nint x;\n');
  const r = cli(['run', src, PCAP], { env: { XDP_LENS_CLANG_TIMEOUT: '3' } });
  userError(r, /clang did not finish within 3 s compiling .*waits\.c \(the time limit/, 'clang reading a FIFO', { ms: 30_000, mib: 600 });
});

test('clang is killed with its children when the process that started it dies', { skip: noClang }, async () => {
  const dir = tmp();
  const fifo = join(dir, 'never.h');
  spawnSync('mkfifo', [fifo]);
  const src = join(dir, 'orphan.c');
  writeFileSync(src, '#include "never.h"\nint x;\n');
  const child = spawn(cliArgv(['check', src])[0]!, cliArgv(['check', src]).slice(1), { stdio: 'ignore' });
  const clangs = () => spawnSync('pgrep', ['-f', `clang.*${src}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  const t0 = Date.now();
  while (clangs().length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(clangs().length > 0, 'clang started');
  child.kill('SIGKILL');
  const t1 = Date.now();
  while (clangs().length > 0 && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(clangs(), [], 'no clang left 10 s after its parent was killed');
});

test('an object of 130,000 instructions loads and runs (no spread or recursion over input-sized data)', (t) => {
  if (spawnSync('llvm-mc', ['--version']).status !== 0) return t.skip('llvm-mc is not installed');
  const dir = tmp();
  const lines = ['\t.section xdp,"ax",@progbits', '\t.globl big', '\t.type big,@function', 'big:'];
  for (let i = 0; i < 130_000; i++) lines.push(`\tr1 = ${i & 0xffff}`);
  lines.push('\tr0 = 2', '\texit', '.Lend:', '\t.size big, .Lend-big', '\t.section license,"aw",@progbits', '\t.asciz "GPL"');
  const s = join(dir, 'big.s');
  const o = join(dir, 'big.o');
  writeFileSync(s, lines.join('\n') + '\n');
  assert.equal(spawnSync('llvm-mc', ['-triple', 'bpf', '-filetype=obj', s, '-o', o]).status, 0);
  const pcap = join(dir, 'one.pcap');
  writeFileSync(pcap, Buffer.concat([pcapHeader(), pcapRecord(0)]));
  const r = cli(['run', o, pcap, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const first = JSON.parse(r.stdout.split('\n')[0]!);
  assert.equal(first.action, 'XDP_PASS');
  assert.equal(first.insn, 130_001);
  within(r, { ms: 60_000, mib: 800 }, '130,000 instructions');
});

test('--debug is accepted anywhere on the command line', { skip: noClang }, () => {
  const r = cli(['--debug', 'run', PROG, PCAP, '--limit', '1', '--debug']);
  assert.equal(r.status, 0, r.stderr);
});

test('user errors never show a stack; exit 70 is not reachable from these inputs', { skip: noClang }, () => {
  const dir = tmp();
  mkdirSync(join(dir, 'd.c'));
  for (const args of [
    ['run', join(dir, 'd.c'), PCAP],
    ['run', PROG, PCAP, '--maps', dir],
    ['check', join(dir, 'd.c')],
    ['run', PROG],
    ['run', PROG, PCAP, '--format', 'xml'],
    ['compare', PROG, PCAP, '--limit', '1000000'],
  ]) {
    const r = cli(args);
    userError(r, /xdp-lens: /, args.join(' '));
  }
});
