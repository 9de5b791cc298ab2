// CO-RE relocations and per-program loading, against libbpf and the kernel.
//
// libbpf is the oracle for what each relocation resolves to: core-tool.c (built here, like the kernel harness) loads
// one program with libbpf, optionally against a custom target BTF (btf_custom_path, what --btf gives the simulator),
// prints the instructions libbpf handed to the kernel and runs packets through BPF_PROG_TEST_RUN. The simulator must
// produce the same instructions and the same output bytes. Against the running kernel's own BTF, the kernel harness
// (test/kernel/runner.ts) runs the same packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadObject, objectErrors, pickProgram, type LoadObjectOptions } from '../../simulator/elf/index.ts';
import type { LoadedObject, LoadedProgram } from '../../simulator/elf/types.ts';
import { Session } from '../../simulator/session.ts';
import { parseBtf } from '../../simulator/elf/btf.ts';
import { parseElf } from '../../simulator/elf/elf64.ts';
import { CORE_KIND, resolveRelocation } from '../../simulator/elf/core.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { kernelAvailable, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';
import { compileRow, readCorpus, REALWORLD } from '../realworld/corpus.ts';

const FIX = join(REPO, 'test', 'core', 'fixtures');
const HAVE_CLANG = spawnSync('clang', ['--version']).status === 0;
const NO_CLANG = HAVE_CLANG ? false : 'clang is not installed';
const CACHE = mkdtempSync(join(tmpdir(), 'xdp-lens-core-test-'));

function compile(name: string): string {
  const r = compileC(join(FIX, name), { cacheDir: CACHE });
  if (!r.objectPath) throw new Error(`compiling ${name} failed:\n${r.stderr}`);
  return r.objectPath;
}

function load(objectPath: string, display: string, opts: LoadObjectOptions = {}): { object: LoadedObject; warnings: string[] } {
  const { object, diagnostics } = loadObject(readFileSync(objectPath), display, opts);
  assert.deepEqual(objectErrors(diagnostics).map((d) => d.message), []);
  assert.ok(object);
  return { object, warnings: diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message) };
}

let toolBin: string | undefined;
/** core-tool.c built once into .cache/core-tool, keyed by its source. */
function tool(): string {
  if (toolBin) return toolBin;
  const src = join(REPO, 'test', 'core', 'core-tool.c');
  const bin = join(REPO, '.cache', 'core-tool', `core-tool-${createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16)}`);
  if (!existsSync(bin)) {
    mkdirSync(join(REPO, '.cache', 'core-tool'), { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    const r = spawnSync('gcc', ['-O1', '-Wall', '-o', tmp, src, '-lbpf', '-lelf', '-lz'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot build ${src}: ${r.error?.message ?? r.stderr}`);
    renameSync(tmp, bin);
  }
  return (toolBin = bin);
}

interface Libbpf {
  loaded: boolean;
  /** [code, dst, src, off, imm] per slot, as libbpf handed them to the kernel. */
  insns: number[][];
  results: { retval: number; out: string }[];
  stderr: string;
}

function libbpf(objectPath: string, program: string, btf: string | undefined, packets: Uint8Array[] = []): Libbpf {
  const r = spawnSync(tool(), [objectPath, program, btf ?? '-', ...packets.map((p) => Buffer.from(p).toString('hex'))], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`core-tool failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.split('\n');
  return {
    loaded: lines[0] === 'load ok',
    insns: lines.filter((l) => l.startsWith('insn ')).map((l) => l.split(' ').slice(2).map(Number)),
    results: lines.filter((l) => l.startsWith('result ')).map((l) => {
      const f = l.split(' ');
      return { retval: Number(f[2]), out: f[3] ?? '' };
    }),
    stderr: r.stderr,
  };
}

/**
 * Slot-by-slot differences between the simulator's linked program and libbpf's. Immediates that name kernel objects
 * (map fds and map values in lddw, kfunc BTF ids) are not comparable and skipped; everything else must be equal.
 */
function differences(sim: LoadedProgram, k: number[][]): { compared: number; diffs: string[] } {
  const diffs: string[] = [];
  let compared = 0;
  if (sim.insns.length !== k.length) diffs.push(`${sim.insns.length} slots in the simulator, ${k.length} from libbpf`);
  for (let i = 0; i < Math.min(sim.insns.length, k.length); i++) {
    const [code, dst, src, off, imm] = k[i]!;
    const prev = k[i - 1];
    if ((code === 0x18 && src !== 0) || (prev && prev[0] === 0x18 && prev[2] !== 0) || (code === 0x85 && src === 2)) continue;
    compared++;
    const a = sim.insns[i]!;
    if (a.opcode !== code || a.dst !== dst || a.src !== src || a.off !== off || a.imm !== imm) {
      diffs.push(`slot ${i}: simulator ${JSON.stringify([a.opcode, a.dst, a.src, a.off, a.imm])}, libbpf ${JSON.stringify(k[i])}`);
    }
  }
  return { compared, diffs };
}

/** IPv4 frames with varied header fields (and one too short for the program's checks). */
function packets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < 6; n++) {
    const b = new Uint8Array(14 + 20 + 48);
    b.set([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, n, 0x02, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, n & 1 ? 0x00 : 0x06]);
    b.set([0x45 + (n % 3), 0x10 * n, 0, 20 + 48, 0x12, n, 0x40, 0, 64 - n, [6, 17, 1][n % 3]!, 0xbe, 0xef, 10, 0, n, 1, 192, 168, n, 2], 14);
    for (let i = 34; i < b.length; i++) b[i] = (i * 7 + n) & 0xff;
    out.push(b);
  }
  out.push(new Uint8Array(60).fill(0x45));
  return out;
}

function simRun(object: LoadedObject, pkts: Uint8Array[]): { retval: number; out: string }[] {
  const s = new Session(object);
  return pkts.map((p) => {
    const r = s.runPacket(p);
    assert.equal(r.fault, undefined, `simulator fault: ${r.fault?.message}`);
    return { retval: r.retval, out: Buffer.from(r.out).toString('hex') };
  });
}

test('without kernel BTF the program\'s own BTF is the target, with a note saying so', { skip: NO_CLANG }, () => {
  const obj = compile('core_layout.c');
  const { object } = load(obj, join(FIX, 'core_layout.c'), { vmlinux: '/nonexistent/vmlinux' });
  assert.equal(object.notes?.length, 1);
  assert.match(object.notes![0]!, /core_layout\.c: no kernel BTF at \/nonexistent\/vmlinux: CO-RE relocations were resolved against the program's own BTF/);
  assert.match(object.notes![0]!, /--btf FILE \(editor: xdpLens\.btf\)/);
  // With a vmlinux present there is no note.
  if (existsSync('/sys/kernel/btf/vmlinux')) assert.equal(load(obj, 'x.c').object.notes, undefined);
  // The CLI says so on stderr, and runs.
  const r = cli(['run', join(FIX, 'core_layout.c'), join(REPO, 'examples', 'demo.pcap'), '--limit', '2'], { XDP_LENS_VMLINUX: '/nonexistent/vmlinux' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /xdp-lens: note: .*core_layout\.c: no kernel BTF at \/nonexistent\/vmlinux: CO-RE relocations were resolved against the program's own BTF/);
  assert.match(r.stdout, /2 packets/);
});

test('own BTF as target: the same instructions and bytes as libbpf given the object itself as its BTF', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_layout.c');
  const { object } = load(obj, join(FIX, 'core_layout.c'), { vmlinux: '/nonexistent/vmlinux' });
  const k = libbpf(obj, 'core_layout', obj, packets());
  assert.ok(k.loaded, k.stderr);
  const d = differences(object.programs[0]!, k.insns);
  assert.deepEqual(d.diffs, []);
  assert.ok(d.compared > 90);
  assert.deepEqual(simRun(object, packets()), k.results);
});

test('kernel BTF: ___mine/___local flavours of struct iphdr and ethhdr resolve as libbpf does and run as the kernel runs them', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_layout.c');
  const { object, warnings } = load(obj, join(FIX, 'core_layout.c'));
  const prog = object.programs[0]!;
  assert.equal(prog.loadErrors, undefined);
  // The field the kernel's iphdr lacks: its load is poisoned, on the branch bpf_core_field_exists() rules out.
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /CO-RE relocation #\d+ <byte_off> \[\d+\] struct iphdr___mine\.not_in_kernel \(0:7 @ offset 14\) has no match in \/sys\/kernel\/btf\/vmlinux: the instruction is poisoned/);
  assert.match(warnings[0]!, /core_layout\.c:\d+:\d+: out\[29\] = ip->not_in_kernel/);
  const k = libbpf(obj, 'core_layout', undefined);
  assert.ok(k.loaded, k.stderr);
  // Raw BTF given with --btf is read like the default one.
  assert.deepEqual(load(obj, 'core_layout.c', { btf: '/sys/kernel/btf/vmlinux' }).object.programs[0]!.insns, prog.insns);
  const d = differences(prog, k.insns);
  assert.deepEqual(d.diffs, []);
  assert.ok(d.compared > 90);
  // Byte for byte against BPF_PROG_TEST_RUN through the kernel harness.
  const run = runKernel(obj, 'core_layout', packets());
  assert.deepEqual(simRun(object, packets()), run.results.map((r) => ({ retval: r.retval, out: Buffer.from(r.out).toString('hex') })));
});

test('struct xdp_md___local (vmlinux.h style): every ctx access is a relocation, run as the kernel runs it', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_ctx.c');
  const { object } = load(obj, join(FIX, 'core_ctx.c'));
  const k = libbpf(obj, 'core_ctx', undefined);
  assert.ok(k.loaded, k.stderr);
  assert.deepEqual(differences(object.programs[0]!, k.insns).diffs, []);
  const run = runKernel(obj, 'core_ctx', packets());
  assert.deepEqual(simRun(object, packets()), run.results.map((r) => ({ retval: r.retval, out: Buffer.from(r.out).toString('hex') })));
});

test('enumerator relocations against a 64-bit kernel enum (ENUM64) from a 32-bit local flavour', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_enum64.c');
  const { object, warnings } = load(obj, join(FIX, 'core_enum64.c'));
  assert.deepEqual(warnings, []);
  const k = libbpf(obj, 'core_enum64', undefined);
  assert.ok(k.loaded, k.stderr);
  assert.deepEqual(differences(object.programs[0]!, k.insns).diffs, []);
  const run = runKernel(obj, 'core_enum64', packets());
  assert.deepEqual(simRun(object, packets()), run.results.map((r) => ({ retval: r.retval, out: Buffer.from(r.out).toString('hex') })));
});

test('--btf FILE: a target BTF with other layouts (an ELF with .BTF) gives what libbpf gives with btf_custom_path', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_layout.c');
  const btf = compile('other_layout.c');
  const { object, warnings } = load(obj, join(FIX, 'core_layout.c'), { btf });
  assert.deepEqual(warnings, []); // this target has not_in_kernel
  const k = libbpf(obj, 'core_layout', btf, packets());
  assert.ok(k.loaded, k.stderr);
  assert.deepEqual(differences(object.programs[0]!, k.insns).diffs, []);
  const sim = simRun(object, packets());
  assert.deepEqual(sim, k.results);
  // The layouts really differ: the kernel's own BTF gives other bytes for the same packets.
  assert.notDeepEqual(simRun(load(obj, 'core_layout.c').object, packets()), sim);

  // The CLI flag gives the same bytes (jsonl "data" is the packet from data to data_end; no metadata here).
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-core-cli-'));
  try {
    const cap = join(dir, 'in.pcap');
    const w = new PcapWriter(cap);
    packets().forEach((p, i) => w.write(BigInt(i) * 1000n, p));
    w.close();
    const r = cli(['run', join(FIX, 'core_layout.c'), cap, '--btf', btf, '--format', 'jsonl', '--data']);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.packet !== undefined);
    assert.deepEqual(rows.map((x) => x.data), k.results.map((x) => x.out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function cli(args: string[], env: Record<string, string> = {}) {
  const bundle = join(REPO, 'dist', 'cli.js');
  const cmd = existsSync(bundle) ? [bundle] : ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts')];
  return spawnSync(process.execPath, [...cmd, ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
}

test('stores into relocated fields and loads narrowed to the target field\'s size, as libbpf patches them', { skip: NO_CLANG }, (t) => {
  if (kernelOrSkip(t)) return;
  const obj = compile('core_store.c');
  for (const btf of [undefined, compile('other_layout.c')]) {
    const { object } = load(obj, join(FIX, 'core_store.c'), { btf });
    const k = libbpf(obj, 'core_store', btf, packets());
    assert.ok(k.loaded, k.stderr);
    assert.deepEqual(differences(object.programs[0]!, k.insns).diffs, [], `target ${btf ?? 'kernel'}`);
    // Both targets declare the fields narrower than the program does: the loads were resized.
    assert.ok(object.programs[0]!.insns.some((i) => i.opcode === 0x69 || i.opcode === 0x71), 'a narrowed load');
    assert.deepEqual(simRun(object, packets()), k.results, `target ${btf ?? 'kernel'}`);
  }
});

test('a poisoned relocation on a reachable path: the kernel refuses the program, the simulator faults only where it is reached', { skip: NO_CLANG || (!existsSync('/sys/kernel/btf/vmlinux') && 'no /sys/kernel/btf/vmlinux') }, () => {
  const obj = compile('core_poison.c');
  const { object, warnings } = load(obj, join(FIX, 'core_poison.c'));
  assert.match(warnings.join('\n'), /struct iphdr___poison\.not_in_kernel .* has no match in .*: the instruction is poisoned/);
  const s = new Session(object);
  const pkts = packets();
  const ttl1 = pkts[0]!.slice();
  ttl1[14 + 8] = 1; // iphdr___poison.ttl is at byte 8 of the kernel's iphdr
  const results = [...pkts.slice(0, 3), ttl1].map((p) => s.runPacket(p));
  assert.deepEqual(results.slice(0, 3).map((r) => [r.action, r.fault]), [['XDP_PASS', undefined], ['XDP_PASS', undefined], ['XDP_PASS', undefined]]);
  const f = results[3]!.fault;
  assert.ok(f);
  assert.equal(f.kind, 'core-relocation');
  assert.match(f.message, /invalid func unknown#195896080: CO-RE relocation <byte_off> \[\d+\] struct iphdr___poison\.not_in_kernel \(0:1 @ offset 2\) has no match in \/sys\/kernel\/btf\/vmlinux, so libbpf poisoned the instruction/);
  assert.equal(f.loc?.line, 23);
  if (kernelAvailable() === undefined) {
    const k = libbpf(obj, 'core_poison', undefined);
    assert.equal(k.loaded, false);
    assert.match(k.stderr, /failed to resolve CO-RE relocation <byte_off> \[\d+\] struct iphdr___poison\.not_in_kernel/);
    assert.deepEqual(differences(object.programs[0]!, k.insns).diffs, []);
  }
});

test('--btf with a file that is not BTF: exit status 2 and a message naming the file', { skip: NO_CLANG }, () => {
  const r = cli(['run', join(FIX, 'core_layout.c'), join(REPO, 'examples', 'demo.pcap'), '--btf', join(FIX, 'other_layout.c')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /xdp-lens: .*other_layout\.c: neither raw BTF \(magic 0xeb9f\) nor an ELF object with a \.BTF section/);
  // Also for a program without CO-RE relocations, and for check.
  const plain = cli(['run', join(REPO, 'examples', 'xdp_filter.c'), join(REPO, 'examples', 'demo.pcap'), '--btf', join(FIX, 'other_layout.c')]);
  assert.equal(plain.status, 2);
  assert.match(plain.stderr, /other_layout\.c: neither raw BTF/);
  const check = cli(['check', join(REPO, 'examples', 'xdp_filter.c'), '--btf', '/nonexistent/btf']);
  assert.equal(check.status, 2);
  assert.match(check.stderr, /cannot read BTF file \/nonexistent\/btf: no such file/);
  const missing = cli(['run', join(FIX, 'core_layout.c'), join(REPO, 'examples', 'demo.pcap'), '--btf', '/nonexistent/btf']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read BTF file \/nonexistent\/btf: no such file/);
});

test('a relocation libbpf refuses (ambiguous candidates) refuses that program, naming type, field, instruction and line', { skip: NO_CLANG }, (t) => {
  const obj = compile('core_layout.c');
  const btf = compile('ambiguous_layout.c');
  const { object } = load(obj, join(FIX, 'core_layout.c'), { btf });
  const errs = object.programs[0]!.loadErrors ?? [];
  assert.ok(errs.length > 0);
  assert.match(errs[0]!, /core_layout\.c: program 'core_layout' insn \d+ \(section 'xdp' byte \d+\) \(.*core_layout\.c:\d+:\d+: .*ip->daddr;\): CO-RE relocation #0 failed to relocate against .*: <byte_off> \[\d+\] struct iphdr___mine\.daddr \(0:0 @ offset 0\): field offset ambiguity: <byte_off> \[\d+\] struct iphdr___v2\.daddr/);
  const picked = pickProgram(object);
  assert.equal(typeof picked, 'string');
  assert.match(picked as string, /program 'core_layout' \(section xdp\) cannot be loaded:\n.*insn \d+/);
  assert.throws(() => new Session(object), /program 'core_layout' \(section xdp\) cannot be loaded/);
  if (kernelAvailable() === undefined) {
    const k = libbpf(obj, 'core_layout', btf);
    assert.equal(k.loaded, false);
    assert.match(k.stderr, /field offset ambiguity/);
  }
});

test('an XDP program beside tp_btf and tc programs: only what the chosen program uses decides', { skip: NO_CLANG }, () => {
  const obj = compile('beside_others.c');
  const { object } = load(obj, join(FIX, 'beside_others.c'));
  const by = (n: string) => object.programs.find((p) => p.name === n)!;
  // The tp_btf program's CO-RE relocation resolves against the kernel's task_struct (or the own BTF without one).
  assert.equal(by('on_switch').loadErrors, undefined);
  assert.equal(by('xdp_main').loadErrors, undefined);
  assert.match(by('tc_arena').loadErrors?.[0] ?? '', /beside_others\.c: program 'tc_arena' insn \d+ \(section 'tc' byte \d+\) \(.*beside_others\.c:\d+:\d+: return bpf_map_lookup_elem\(&arena.*\): uses map 'arena', which cannot be created: map 'arena': arena maps \(type 33\) are not supported/);
  const s = new Session(object);
  assert.equal(s.program.name, 'xdp_main');
  const frame = new Uint8Array(60);
  frame[12] = 0x08;
  assert.equal(s.runPacket(frame).action, 'XDP_PASS');
  assert.throws(() => new Session(object, { program: 'tc_arena' }), /program 'tc_arena' \(section tc\) cannot be loaded:\n.*uses map 'arena'/);
  // The CLI runs the XDP program of the file.
  const r = cli(['run', join(FIX, 'beside_others.c'), join(REPO, 'examples', 'demo.pcap'), '--format', 'jsonl', '--limit', '3']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"program":"xdp_main"/);
  // check analyses the XDP program and says nothing about the tc program's map.
  const c = cli(['check', join(FIX, 'beside_others.c')]);
  assert.equal(c.status, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /arena/);
});

test('type_matches (clang 14 cannot emit it): resolved by libbpf\'s matching rules', { skip: NO_CLANG || (!existsSync('/sys/kernel/btf/vmlinux') && 'no /sys/kernel/btf/vmlinux') }, () => {
  // A record as clang >= 15 writes for bpf_core_type_matches(T): access '0', kind 12, against the kernel's BTF.
  const local = parseBtf(elfSection(compile('core_layout.c'), '.BTF')).btf!;
  const kernel = parseBtf(readFileSync('/sys/kernel/btf/vmlinux')).btf!;
  const id = (name: string) => local.types.findIndex((x) => x?.name === name);
  const matches = (name: string, target = kernel) => {
    const r = resolveRelocation(local, { insnOff: 0, typeId: id(name), access: '0', kind: CORE_KIND.TYPE_MATCHES }, target, new Map());
    assert.ok(typeof r !== 'string', String(r));
    return r.newVal;
  };
  // Every local member has a same-named member of a matching type, in any order: a match (other_layout.c's ethhdr).
  const other = parseBtf(elfSection(compile('other_layout.c'), '.BTF')).btf!;
  assert.equal(matches('ethhdr___local', other), 1n);
  // Against 6.18 (built by gcc) no match: matching compares integer names, and gcc's "short unsigned int" is not clang's
  // "unsigned short" (libbpf's bpf_core_names_match behaves the same).
  assert.equal(matches('ethhdr___local'), 0n);
  // not_in_kernel has no counterpart (and daddr/saddr sit in an anonymous member of the kernel's iphdr): no match.
  assert.equal(matches('iphdr___mine'), 0n);
  // Against its own BTF every type matches itself.
  assert.equal(matches('iphdr___mine', local), 1n);
});

function elfSection(path: string, name: string): Uint8Array {
  const sec = parseElf(readFileSync(path)).elf!.sections.find((s) => s.name === name);
  assert.ok(sec, `${path}: no ${name}`);
  return sec.data;
}

/**
 * Standalone BTF turned into split BTF over a base of `baseCount` types (void included) and `baseStrLen` string bytes,
 * as a module's /sys/kernel/btf/<module> is over vmlinux: type ids and string offsets shifted past the base's.
 */
function toSplitBtf(standalone: Uint8Array, baseCount: number, baseStrLen: number): Uint8Array {
  const out = Uint8Array.from(standalone);
  const v = new DataView(out.buffer);
  const hdr = v.getUint32(4, true);
  let at = hdr + v.getUint32(8, true);
  const end = at + v.getUint32(12, true);
  const str = (o: number) => { const x = v.getUint32(o, true); if (x) v.setUint32(o, x + baseStrLen, true); };
  const type = (o: number) => { const x = v.getUint32(o, true); if (x) v.setUint32(o, x + baseCount - 1, true); };
  while (at < end) {
    const info = v.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    str(at);
    if ([2, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18].includes(kind) && kind !== 7) type(at + 8);
    let p = at + 12;
    switch (kind) {
      case 1: case 14: case 17: p += 4; break; // INT, VAR, DECL_TAG
      case 3: type(p); type(p + 4); p += 12; break; // ARRAY
      case 4: case 5: for (let i = 0; i < vlen; i++, p += 12) { str(p); type(p + 4); } break; // STRUCT, UNION
      case 6: for (let i = 0; i < vlen; i++, p += 8) str(p); break; // ENUM
      case 19: for (let i = 0; i < vlen; i++, p += 12) str(p); break; // ENUM64
      case 13: for (let i = 0; i < vlen; i++, p += 8) { str(p); type(p + 4); } break; // FUNC_PROTO
      case 15: for (let i = 0; i < vlen; i++, p += 12) type(p); break; // DATASEC
      default: break;
    }
    at = p;
  }
  return out;
}

test('a type only a kernel module defines: found in the module\'s split BTF when vmlinux has no candidate', { skip: NO_CLANG }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-modbtf-'));
  try {
    // A small "vmlinux" (other_layout.c's BTF) and a module whose BTF is split over it.
    const base = elfSection(compile('other_layout.c'), '.BTF');
    writeFileSync(join(dir, 'vmlinux'), base);
    const baseBtf = parseBtf(base).btf!;
    const modObj = compile('module_types.c');
    writeFileSync(join(dir, 'xdplens_mod'), toSplitBtf(elfSection(modObj, '.BTF'), baseBtf.types.length, baseBtf.strings.length));
    const obj = compile('core_module.c');
    const viaModule = load(obj, join(FIX, 'core_module.c'), { vmlinux: join(dir, 'vmlinux') });
    assert.deepEqual(viaModule.warnings, []);
    // The same layout as with the module's own types as the whole target.
    const direct = load(obj, join(FIX, 'core_module.c'), { btf: modObj });
    assert.deepEqual(viaModule.object.programs[0]!.insns, direct.object.programs[0]!.insns);
    // And not the program's own layout: without the module the relocations find nothing and are poisoned.
    rmSync(join(dir, 'xdplens_mod'));
    const without = load(obj, join(FIX, 'core_module.c'), { vmlinux: join(dir, 'vmlinux') });
    assert.ok(without.warnings.length >= 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real-world CO-RE programs (vmlinux.h, ___local flavours): every relocation resolved as libbpf resolves it', { skip: NO_CLANG }, (t) => {
  if (!existsSync(join(REALWORLD, 'corpus.tsv'))) {
    t.skip(`no real-world corpus at ${REALWORLD}`);
    return;
  }
  if (kernelOrSkip(t)) return;
  const rows = readCorpus().filter((r) => /co-re|vmlinux\.h/.test(r.features));
  assert.ok(rows.length >= 7);
  const report: string[] = [];
  for (const row of rows) {
    const c = compileRow(row);
    if (!c.objectPath) {
      report.push(`${row.path}: ${c.error}`);
      continue;
    }
    const { object, diagnostics } = loadObject(readFileSync(c.objectPath), join(REALWORLD, row.path));
    assert.ok(object, `${row.path}: ${diagnostics.map((d) => d.message).join('\n')}`);
    for (const name of row.programs) {
      const p = object.programs.find((x) => x.name === name);
      assert.ok(p, `${row.path}: no program ${name}`);
      for (const e of p.loadErrors ?? []) assert.doesNotMatch(e, /CO-RE/, `${row.path} ${name}`);
      const k = libbpf(c.objectPath, name, undefined);
      if (k.insns.length === 0) {
        report.push(`${row.path} ${name}: libbpf stopped before relocating (${k.stderr.trim().split('\n').pop()})`);
        continue;
      }
      const d = differences(p, k.insns);
      assert.deepEqual(d.diffs, [], `${row.path} ${name}`);
      report.push(`${row.path} ${name}: ${d.compared} slots equal`);
    }
  }
  t.diagnostic(report.join('; '));
});
