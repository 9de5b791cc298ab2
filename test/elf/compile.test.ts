// compileC: include directories, diagnostics, missing clang, the cache and its invalidation by local headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC, defaultIncludeDirs, parseClangDiagnostics, pruneCache } from '../../simulator/compile.ts';
import { fixture, loadOk, NO_CLANG, testCacheDir } from './helpers.ts';

test('defaultIncludeDirs finds the multiarch directory with asm/types.h when there is one', () => {
  const dirs = defaultIncludeDirs();
  if (dirs.length) assert.ok(existsSync(join(dirs[0]!, 'asm', 'types.h')), dirs[0]);
  // A second directory, when present, is the stand-in for glibc's 32-bit stubs list.
  for (const d of dirs.slice(1)) assert.ok(existsSync(join(d, 'gnu', 'stubs-32.h')), d);
  if (existsSync('/usr/include/x86_64-linux-gnu/asm/types.h') && process.arch === 'x64') {
    assert.equal(dirs[0], '/usr/include/x86_64-linux-gnu');
  }
});

test('linux/if.h (which reaches glibc sys/socket.h) compiles without the 32-bit libc headers', { skip: NO_CLANG }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-if-'));
  const src = join(dir, 'uses_if.c');
  writeFileSync(
    src,
    '#include <linux/bpf.h>\n#include <linux/if.h>\n#include <linux/icmp.h>\n#include <bpf/bpf_helpers.h>\n' +
      'SEC("xdp") int prog(struct xdp_md *ctx) { return IFNAMSIZ == 16 ? XDP_PASS : XDP_DROP; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  const r = compileC(src, { cacheDir: testCacheDir() });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.ok(r.objectPath);
});

test('a program including linux/if_ether.h and a local header compiles with no extra flags', { skip: NO_CLANG }, () => {
  const r = compileC(fixture('uses_header.c'), { cacheDir: testCacheDir() });
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.objectPath);
  assert.deepEqual(r.command.slice(1, 5), ['-O2', '-g', '-target', 'bpf']);
  assert.ok(r.command.includes('-c'));
  const o = loadOk(r.objectPath, fixture('uses_header.c'));
  assert.deepEqual(o.programs.map((p) => p.name), ['with_header']);
});

test('compiler errors become diagnostics with file, line and column', { skip: NO_CLANG }, () => {
  const r = compileC(fixture('syntax_error.c'), { cacheDir: testCacheDir() });
  assert.equal(r.objectPath, undefined);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1);
  assert.deepEqual({ ...errors[0] }, { file: fixture('syntax_error.c'), line: 7, column: 17, severity: 'error', message: "expected ';' after return statement" });
  assert.match(r.stderr, /syntax_error\.c:7:17: error/);
});

test('parseClangDiagnostics reads errors, warnings, notes and fatal errors', () => {
  const d = parseClangDiagnostics([
    'In file included from a.c:1:',
    'b.h:3:5: warning: unused variable \'x\' [-Wunused-variable]',
    'a.c:10:2: error: use of undeclared identifier \'y\'',
    'a.c:4:1: note: previous definition is here',
    'a.c:1:10: fatal error: \'nope.h\' file not found',
    '2 errors generated.',
  ].join('\n'));
  assert.deepEqual(d.map((x) => [x.file, x.line, x.column, x.severity]), [
    ['b.h', 3, 5, 'warning'], ['a.c', 10, 2, 'error'], ['a.c', 4, 1, 'note'], ['a.c', 1, 10, 'error'],
  ]);
  assert.deepEqual(parseClangDiagnostics('clang: error: unknown argument: \'-fbogus\''), [
    { file: '', line: 0, column: 0, severity: 'error', message: 'unknown argument: \'-fbogus\'' },
  ]);
});

test('missing clang gives one diagnostic saying what to install', () => {
  const r = compileC(fixture('multi.c'), { clang: '/nonexistent/clang-xyz', cacheDir: testCacheDir() });
  assert.equal(r.objectPath, undefined);
  assert.equal(r.diagnostics.length, 1);
  assert.match(r.diagnostics[0].message, /apt-get install clang llvm libbpf-dev/);
  assert.match(r.diagnostics[0].message, /\/nonexistent\/clang-xyz/);
});

test('a missing source file is a diagnostic, not an exception', () => {
  const r = compileC('/nonexistent/dir/prog.c', { cacheDir: testCacheDir() });
  assert.equal(r.objectPath, undefined);
  assert.match(r.diagnostics[0].message, /cannot read \/nonexistent\/dir\/prog\.c/);
});

test('the cache reuses an object until the source, a flag or a local header changes', { skip: NO_CLANG }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cache-src-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-cache-'));
  copyFileSync(fixture('uses_header.c'), join(dir, 'uses_header.c'));
  copyFileSync(fixture('local_header.h'), join(dir, 'local_header.h'));
  const src = join(dir, 'uses_header.c');

  const first = compileC(src, { cacheDir });
  assert.ok(first.objectPath && !first.cached);
  const again = compileC(src, { cacheDir });
  assert.equal(again.cached, true);
  assert.equal(again.objectPath, first.objectPath);

  const flagged = compileC(src, { cacheDir, flags: ['-DEXTRA=1'] });
  assert.ok(!flagged.cached);
  assert.notEqual(flagged.objectPath, first.objectPath);

  const before = readFileSync(first.objectPath);
  writeFileSync(join(dir, 'local_header.h'), '#define LOCAL_VERDICT XDP_TX\n');
  const edited = compileC(src, { cacheDir });
  assert.ok(!edited.cached, 'a changed local header invalidates the cached object');
  assert.notDeepEqual(readFileSync(edited.objectPath!), before);

  writeFileSync(src, readFileSync(src, 'utf8') + '\n// touched\n');
  const touched = compileC(src, { cacheDir });
  assert.ok(!touched.cached);
  assert.notEqual(touched.objectPath, first.objectPath);
});

test('extra include directories are searched first', { skip: NO_CLANG }, () => {
  const inc = mkdtempSync(join(tmpdir(), 'xdp-lens-inc-'));
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-src-'));
  writeFileSync(join(inc, 'verdict.h'), '#define V XDP_DROP\n');
  writeFileSync(join(dir, 'p.c'), '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include <verdict.h>\nSEC("xdp") int p(struct xdp_md *c) { return V; }\n');
  const r = compileC(join(dir, 'p.c'), { cacheDir: testCacheDir(), includeDirs: [inc] });
  assert.deepEqual(r.diagnostics, []);
  const o = loadOk(r.objectPath!, join(dir, 'p.c'));
  assert.deepEqual(o.programs[0].insns.map((i) => [i.opcode, i.imm]), [[0xb7, 1], [0x95, 0]]);
});

test('pruneCache keeps the most recently used objects within the bounds and drops stale temporaries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-prune-'));
  const now = Date.now();
  const at = (name: string, ageMs: number, bytes = 10) => {
    writeFileSync(join(dir, name), Buffer.alloc(bytes));
    const t = new Date(now - ageMs);
    utimesSync(join(dir, name), t, t);
  };
  for (let i = 0; i < 6; i++) {
    at(`k${i}.o`, (6 - i) * 60_000); // k0 oldest, k5 newest
    at(`k${i}.json`, 0);
  }
  at('k9.1.o.tmp', 2 * 3600_000);
  at('k8.1.o.tmp', 60_000); // a compile in flight
  at('k7.1.d', 2 * 3600_000);
  // k0 is the oldest but was just stored by this compile: it stays.
  assert.equal(await pruneCache(dir, { maxObjects: 3, keep: join(dir, 'k0.o'), now }), 3);
  assert.deepEqual(readdirSync(dir).sort(), ['k0.json', 'k0.o', 'k4.json', 'k4.o', 'k5.json', 'k5.o', 'k8.1.o.tmp']);
  // The byte bound: 3 objects of 10 B, at most 15 B, so the oldest two go.
  assert.equal(await pruneCache(dir, { maxBytes: 15, now }), 2);
  assert.deepEqual(readdirSync(dir).sort(), ['k5.json', 'k5.o', 'k8.1.o.tmp']);
  assert.equal(await pruneCache(join(dir, 'absent'), { maxObjects: 0 }), 0);
});

test('a cache hit refreshes the object, so pruning keeps what is in use', { skip: NO_CLANG }, () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-prune-hit-'));
  const first = compileC(fixture('uses_header.c'), { cacheDir });
  assert.ok(first.objectPath);
  const old = new Date(Date.now() - 86_400_000);
  utimesSync(first.objectPath, old, old);
  const again = compileC(fixture('uses_header.c'), { cacheDir });
  assert.equal(again.cached, true);
  assert.ok(statSync(first.objectPath).mtimeMs > Date.now() - 60_000, 'the hit made the object recent');
});
