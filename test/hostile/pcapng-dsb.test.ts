// A pcapng decryption secrets block (type 10) whose secrets length runs past its block: tshark calls the file damaged,
// and so does `xdp-lens run` now (exit 2, the file, the record and byte offset, the packets before it reported, no
// stack trace); it skipped the block and read on. A well-formed one is still skipped (tshark reads the file too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const haveClang = spawnSync('clang', ['--version']).status === 0;

function epb(i: number): Buffer {
  const f = Buffer.alloc(60, 0x61);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0], 0);
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(1000 + i, 8);
  fixed.writeUInt32LE(60, 12);
  fixed.writeUInt32LE(60, 16);
  return pcapngBlock(6, Buffer.concat([fixed, f]));
}

function dsb(secretsLength: number, data: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x544c534b, 0); // TLS key log
  h.writeUInt32LE(secretsLength >>> 0, 4);
  return pcapngBlock(10, Buffer.concat([h, Buffer.alloc(data, 0x41)]));
}

test('a decryption secrets block whose secrets run past it is an error at its offset, after the packets before it', (t) => {
  if (!haveClang) return t.skip('clang is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dsb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'pass.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n');
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  const head = [pcapngSectionHeader(), pcapngBlock(1, idb), epb(0), epb(1), epb(2)];
  const cases = [
    { name: 'huge.pcapng', block: dsb(0xfffffff0, 0), ok: false },
    { name: 'one-past.pcapng', block: dsb(9, 8), ok: false },
    { name: 'good.pcapng', block: dsb(8, 8), ok: true },
    { name: 'padded.pcapng', block: dsb(5, 8), ok: true },
  ];
  for (const c of cases) {
    const path = join(dir, c.name);
    const bytes = Buffer.concat([...head, c.block, epb(3)]);
    writeFileSync(path, bytes);
    const r = spawnSync('node', [CLI, 'run', src, path, '--format', 'jsonl'], { encoding: 'utf8' });
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('{"packet"'));
    assert.doesNotMatch(r.stderr, /^\s+at |TypeError|RangeError/m, c.name);
    if (c.ok) {
      assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
      assert.equal(rows.length, 4, c.name);
    } else {
      assert.equal(r.status, 2, `${c.name}: ${r.stderr}`);
      assert.equal(rows.length, 3, `${c.name}: the packets before the block`);
      const at = head.reduce((n, b) => n + b.length, 0) + 12;
      assert.match(r.stderr, new RegExp(`${path.replace(/[.]/g, '\\.')}: record 3, byte offset ${at}: decryption secrets block: secrets length \\d+ runs past the end of its \\d+-byte block`), c.name);
    }
    if (haveTshark) {
      const ts = spawnSync('tshark', ['-r', path], { encoding: 'utf8' });
      assert.equal(/damaged or corrupt|cut short/.test(ts.stderr), !c.ok, `tshark on ${c.name}: ${ts.stderr}`);
    }
  }
});
