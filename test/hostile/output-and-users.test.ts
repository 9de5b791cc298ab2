// Where the output goes and who runs the command: standard output on a full disk (/dev/full), --out-dir on a file
// system that fills up during the run, a user other than the one who made the compile cache, a --case that names no
// case, a program of more instructions than any kernel loads. Each was a stack trace, exit 70, a silent pass or
// gigabytes of memory; each is now a message naming what failed, exit status 2, and the good output kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { cli, cliArgv, measure, within } from '../hardening/measure.ts';

const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const PCAP = join(REPO, 'examples', 'demo.pcap');
const QUICK = { ms: 60_000, mib: 600 };
const isRoot = process.getuid?.() === 0;

function noStack(r: ReturnType<typeof cli>, what: string): void {
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*:\d+:\d+|node:fs/, `${what}: no internal error or stack`);
}

test('standard output on a full disk (/dev/full): the reason on stderr, exit 2, no stack', { skip: noClang || (!existsSync('/dev/full') && '/dev/full is absent') }, () => {
  for (const args of [['run', PROG, PCAP], ['run', PROG, PCAP, '--format', 'jsonl'], ['test', join(REPO, 'examples')], ['--help']]) {
    const argv = cliArgv(args).map((a) => `'${a}'`).join(' ');
    const r = measure(['sh', '-c', `${argv} > /dev/full`]);
    assert.equal(r.status, 2, `${args.join(' ')}: exit status ${r.status}, stderr: ${r.stderr}`);
    assert.match(r.stderr, /^xdp-lens: cannot write the output to standard output: ENOSPC: no space left on device; the output is incomplete$/m, args.join(' '));
    noStack(r, args.join(' '));
    within(r, QUICK, `${args[0]} > /dev/full`);
  }
});

test('--out-dir on a file system that fills up: every verdict and the summary still written, then the error, exit 2', { skip: noClang || (!isRoot && 'mounting a tmpfs needs root') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-full-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', mnt]).status !== 0) return t.skip('cannot mount a tmpfs here');
  t.after(() => {
    spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  // 2,000 packets of 60 bytes: 150 KB of xdp_pass.pcap, far more than the 8 KiB the file system holds.
  const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
  const records = Buffer.alloc(2000 * 76);
  for (let i = 0; i < 2000; i++) {
    records.writeUInt32LE(i, i * 76);
    records.writeUInt32LE(60, i * 76 + 8);
    records.writeUInt32LE(60, i * 76 + 12);
    records.writeUInt16BE(0x0800, i * 76 + 16 + 12);
  }
  const pcap = join(dir, 'many.pcap');
  writeFileSync(pcap, Buffer.concat([header, records]));
  const r = cli(['run', PROG, pcap, '--out-dir', mnt, '--format', 'jsonl']);
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`--out-dir ${mnt}: cannot write ${mnt}/xdp_pass\\.pcap: ENOSPC: no space left on device; the output captures are incomplete`));
  noStack(r, '--out-dir full');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2001, 'every packet and the summary');
  assert.equal(JSON.parse(lines[2000]!).summary.packets, 2000);
  within(r, QUICK, '--out-dir on a full tmpfs');
});

test('a user other than the one who made the compile cache compiles and runs (a cache of their own)', { skip: noClang || (!isRoot && 'switching users needs root') }, (t) => {
  if (spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status !== 0) return t.skip('runuser -u nobody does not work here');
  // A TMPDIR holding a compile cache root made, as a run as root leaves it (0755, owned by root).
  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-users-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  chmodSync(tmp, 0o1777);
  mkdirSync(join(tmp, 'xdp-lens-cache'), { mode: 0o755 });
  // The program and capture where nobody can read them.
  const src = join(tmp, 'prog.c');
  writeFileSync(src, readFileSync(PROG));
  const pcap = join(tmp, 'demo.pcap');
  writeFileSync(pcap, readFileSync(PCAP));
  for (const f of [src, pcap]) chmodSync(f, 0o644);
  if (spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', cliArgv([])[1]!]).status !== 0) return t.skip('the CLI bundle is not readable by nobody');
  const r = measure(['runuser', '-u', 'nobody', '--', ...cliArgv(['run', src, pcap, '--format', 'summary'])], { env: { TMPDIR: tmp } });
  assert.equal(r.status, 0, `exit status ${r.status}, stderr: ${r.stderr}`);
  assert.equal(JSON.parse(r.stdout).summary.packets, 10);
  within(r, QUICK, 'run as nobody beside root\'s cache');
  // Nobody's objects went to a directory of nobody's own, not into root's.
  const own = spawnSync('stat', ['-c', '%U %a', join(tmp, 'xdp-lens-cache-65534')], { encoding: 'utf8' }).stdout.trim();
  assert.equal(own, 'nobody 700');
});

test('--case naming no case is bad usage (exit 2), not a run of nothing that passes', { skip: noClang }, () => {
  const r = cli(['test', join(REPO, 'examples'), '--case', 'telnet is dropped', '--case', 'no such case']);
  assert.equal(r.status, 2, `exit status ${r.status}, stdout: ${r.stdout}, stderr: ${r.stderr}`);
  assert.match(r.stderr, /--case 'no such case': no case of that name in .*xdp_filter\.xdptest\.yaml/);
  noStack(r, '--case typo');
  const ok = cli(['test', join(REPO, 'examples'), '--case', 'telnet is dropped']);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /1 case: 1 passed|1 passed/);
});

test('a program of more than 1,000,000 instructions: the kernel\'s E2BIG before the first packet, in bounded memory', (t) => {
  if (spawnSync('llvm-mc', ['--version']).status !== 0) return t.skip('llvm-mc is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-huge-prog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = ['\t.section xdp,"ax",@progbits', '\t.globl big', '\t.type big,@function', 'big:'];
  for (let i = 0; i < 1_000_000; i++) lines.push('\tr1 = 5');
  lines.push('\tr0 = 2', '\texit', '.Lend:', '\t.size big, .Lend-big', '\t.section license,"aw",@progbits', '\t.asciz "GPL"');
  writeFileSync(join(dir, 'big.s'), lines.join('\n') + '\n');
  assert.equal(spawnSync('llvm-mc', ['-triple', 'bpf', '-filetype=obj', join(dir, 'big.s'), '-o', join(dir, 'big.o')]).status, 0);
  const r = cli(['run', join(dir, 'big.o'), PCAP, '--format', 'summary'], { timeoutMs: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /the kernel would refuse this program: big has 1,000,002 instructions, more than the 1,000,000 the kernel loads: BPF_PROG_LOAD fails with E2BIG/);
  assert.match(JSON.stringify(JSON.parse(r.stdout).summary.verifierRefuses), /E2BIG/);
  // Before: 909 MiB and 15 s (every walk of the verifier checks over the million instructions); now ~300 MiB, 3 s.
  within(r, { ms: 120_000, mib: 600 }, '1,000,002 instructions');
});

test('check of a good file and unreadable ones: the good file\'s findings, then each unreadable file, exit 2', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-check-some-'));
  try {
    const good = join(dir, 'returns7.c');
    writeFileSync(good, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int p(struct xdp_md *c) { return 7; }\nchar _l[] SEC("license") = "GPL";\n');
    const r = cli(['check', good, join(dir, 'missing.c'), '/dev/zero']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /returns7\.c:3:\d+: error: 7 is not an XDP action/, 'the good file\'s finding is kept');
    assert.match(r.stderr, /cannot read .*missing\.c \(input\): ENOENT/);
    assert.match(r.stderr, /input \/dev\/zero is a character device/);
    noStack(r, 'check with unreadable files');
    within(r, QUICK, 'check good + unreadable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check --compile-commands naming something that is no database is exit 2; a database without the file is a note', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-ccdb-'));
  try {
    const obj = join(dir, 'object.json');
    writeFileSync(obj, '{}');
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '[]');
    for (const [db, message] of [[dir, /cannot read the compilation database: compilation database .* is a directory/], [obj, /object\.json: a compilation database is a JSON array of entries/], [join(dir, 'none.json'), /none\.json: cannot read the compilation database: ENOENT/]] as const) {
      const r = cli(['check', PROG, '--compile-commands', db]);
      assert.equal(r.status, 2, `${db}: exit status ${r.status}, stderr: ${r.stderr}`);
      assert.match(r.stderr, message);
      noStack(r, db);
    }
    const r = cli(['check', PROG, '--compile-commands', empty]);
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    assert.match(r.stderr, /empty\.json: no entry for .*xdp_filter\.c/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
