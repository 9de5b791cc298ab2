// Bad input is answered with a message that says what happened, where, exit status 2 and nothing on stdout: a
// `matches` pattern that backtracking would never finish, a --cflag that makes clang write something other than an
// object, a section whose size is near 2^64, `diff` on a capture that is not one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { compileC } from '../../simulator/compile.ts';
import { cli, within } from '../hardening/measure.ts';

const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const PCAP = join(REPO, 'examples', 'demo.pcap');
const QUICK = { ms: 60_000, mib: 600 };

/** Exit status 2, the message, no stack trace, nothing on stdout. */
function inputError(r: ReturnType<typeof cli>, message: RegExp, what: string): void {
  assert.equal(r.status, 2, `${what}: exit status ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /internal error|Infinity|\n\s+at .*:\d+:\d+/, `${what}: no internal error, stack or Infinity`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  within(r, QUICK, what);
}

test('a matches pattern that a backtracking engine would not finish is answered', { skip: noClang }, () => {
  // (.*.*)*# over a 60-character summary is 2^60 paths for a backtracking matcher; here one pass per summary.
  const r = cli(['run', PROG, PCAP, '--format', 'jsonl', '--filter', 'summary matches "(.*.*)*#" || summary matches "(?-i)^(a|aa)+$"']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).summary.packets, 10);
  within(r, QUICK, 'pathological matches');
  const bad = cli(['run', PROG, PCAP, '--filter', 'summary matches "(a)\\\\1"']);
  inputError(bad, /column 21: not a valid regular expression: backreferences need backtracking/, 'a backreference');
});

test('--cflag -E, -S, -emit-llvm: clang wrote text or bitcode, not an object, and that is what the message says', { skip: noClang }, () => {
  for (const [flag, what] of [['-E', /clang wrote preprocessed C text \(-E\)/], ['-S', /clang wrote assembly text \(-S\)/], ['-emit-llvm', /clang wrote LLVM bitcode/]] as const) {
    const r = cli(['run', PROG, PCAP, `--cflag=${flag}`]);
    inputError(r, what, `--cflag ${flag}`);
    assert.match(r.stderr, /xdp_filter\.c/, `--cflag ${flag}: names the file`);
    assert.doesNotMatch(r.stderr, /not an ELF file/);
  }
});

test('a section size near 2^64 is reported as the file says it, with the section and the file size', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-hostile-'));
  try {
    writeFileSync(join(dir, 'p.c'), '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int p(struct xdp_md *c) { return XDP_PASS; }\nchar _license[] SEC("license") = "GPL";\n');
    const c = compileC(join(dir, 'p.c'), { cacheDir: join(dir, 'cache') });
    assert.ok(c.objectPath, JSON.stringify(c.diagnostics));
    const b = Buffer.from(readFileSync(c.objectPath));
    const shoff = Number(b.readBigUInt64LE(0x28));
    const shnum = b.readUInt16LE(0x3c);
    const names = b.readUInt16LE(0x3e);
    const nameTable = Number(b.readBigUInt64LE(shoff + names * 64 + 24));
    let xdp = -1;
    for (let i = 0; i < shnum; i++) {
      const at = nameTable + b.readUInt32LE(shoff + i * 64);
      if (b.toString('latin1', at, b.indexOf(0, at)) === 'xdp') xdp = i;
    }
    assert.ok(xdp > 0);
    b.writeBigUInt64LE(0xffffffffffffffffn, shoff + xdp * 64 + 32);
    writeFileSync(join(dir, 'huge.o'), b);
    const r = cli(['run', join(dir, 'huge.o'), PCAP]);
    inputError(r, new RegExp(`huge\\.o: section ${xdp} 'xdp': its bytes \\(sh_offset \\d+, sh_size 18446744073709551615 = 0xffffffffffffffff\\) reach past the end of the ${b.length}-byte file`), 'sh_size 2^64-1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('diff on a capture that is not one: the error alone, nothing on stdout', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-hostile-'));
  try {
    writeFileSync(join(dir, 'bad.pcap'), 'garbage\n');
    inputError(cli(['diff', PROG, PROG, join(dir, 'bad.pcap')]), /bad\.pcap: byte offset 0: not a pcap or pcapng capture/, 'diff, bad capture');
    // A capture that cannot be opened: no byte offset (there is no position in it) and no Node error code.
    inputError(cli(['diff', PROG, PROG, join(dir, 'none.pcap')]), /none\.pcap: cannot open: no such file or directory\n$/, 'diff, no capture');
    inputError(cli(['run', PROG, join(dir, 'none.pcap')]), /^xdp-lens: \S+none\.pcap: cannot open: no such file or directory\n$/, 'run, no capture');
    inputError(cli(['run', PROG, dir]), /xdp-lens-hostile-\w+: is a directory, not a capture file\n$/, 'run, a directory');
    inputError(cli(['diff', PROG, join(dir, 'none.c'), PCAP]), /none\.c/, 'diff, no program');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an object with a broken BTF header, a relocation or a function symbol near 2^64: each says so, without Infinity', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-hostile-'));
  try {
    const c = compileC(PROG, { cacheDir: join(dir, 'cache') });
    assert.ok(c.objectPath, JSON.stringify(c.diagnostics));
    const orig = readFileSync(c.objectPath);
    const shoff = Number(orig.readBigUInt64LE(0x28));
    const shnum = orig.readUInt16LE(0x3c);
    const nameTable = Number(orig.readBigUInt64LE(shoff + orig.readUInt16LE(0x3e) * 64 + 24));
    const sections = new Map<string, { hdr: number; offset: number; size: number }>();
    for (let i = 0; i < shnum; i++) {
      const hdr = shoff + i * 64;
      const at = nameTable + orig.readUInt32LE(hdr);
      sections.set(orig.toString('latin1', at, orig.indexOf(0, at)), { hdr, offset: Number(orig.readBigUInt64LE(hdr + 24)), size: Number(orig.readBigUInt64LE(hdr + 32)) });
    }
    const patched = (name: string, edit: (b: Buffer) => void) => {
      const b = Buffer.from(orig);
      edit(b);
      const file = join(dir, `${name}.o`);
      writeFileSync(file, b);
      return file;
    };
    const btf = sections.get('.BTF')!;
    inputError(cli(['run', patched('btf', (b) => b.writeUInt32LE(0xffffffff, btf.offset + 12)), PCAP]), /btf\.o: section '\.maps' needs BTF to describe its maps, and the object's \.BTF section cannot be read: \.BTF header \(hdr_len 24, types 0\+4294967295/, 'BTF type_len 2^32-1');
    const rel = sections.get('.relxdp')!;
    inputError(cli(['run', patched('rel', (b) => b.writeBigUInt64LE(0xfffffffffffffff0n, rel.offset)), PCAP]), /rel\.o: section '\.relxdp': relocation at byte past 2\^53 is not on an instruction of 'xdp'/, 'r_offset near 2^64');
    // The program's symbol: the global function in section xdp.
    const symtab = sections.get('.symtab')!;
    const xdpIndex = [...sections.keys()].indexOf('xdp');
    let sym = -1;
    for (let at = symtab.offset + 24; at < symtab.offset + symtab.size; at += 24) if (orig.readUInt16LE(at + 6) === xdpIndex && (orig[at + 4]! & 0xf) === 2) sym = at;
    assert.ok(sym > 0, 'the function symbol');
    inputError(cli(['run', patched('value', (b) => b.writeBigUInt64LE(0xfffffffffffffff8n, sym + 8)), PCAP]), /value\.o: section 'xdp': function 'xdp_filter' at byte past 2\^53 \(a size past 2\^53\) is not whole instructions/, 'st_value near 2^64');
    inputError(cli(['run', patched('size', (b) => b.writeBigUInt64LE(0xfffffffffffffff8n, sym + 16)), PCAP]), /size\.o: section 'xdp': function 'xdp_filter' at byte 0 \(a size past 2\^53\) is not whole instructions/, 'st_size near 2^64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
