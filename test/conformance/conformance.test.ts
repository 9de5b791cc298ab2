// Runs every eBPF ISA conformance data file in ../shared/conformance through our assembler, validator and
// interpreter: bpf_conformance's tests/ (each must pass), its negative/ (each must be rejected: by the assembler, the
// validator, a fault, or a result that differs), and uBPF's tests/ (result or expected error). Cases we cannot honour
// are listed in EXPECTED_FAILURES with the reason; an expected failure that starts passing fails the suite too, so the
// list stays honest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { assemble } from '../../simulator/isa/asm.ts';
import { validateProgram } from '../../simulator/isa/validate.ts';
import { decodeProgram, encodeProgram } from '../../simulator/isa/decode.ts';
import { disassemble } from '../../simulator/isa/disasm.ts';
import { CONFORMANCE_HELPERS, runRaw } from '../../simulator/vm/interpreter.ts';
import type { Insn } from '../../simulator/isa/insn.ts';
import { executeCompiled } from '../../simulator/vm/compiled/engine.ts';
import { defaultEngine } from '../../simulator/vm/machine.ts';

/** The suite runs on the default engine (compiled); XDP_LENS_ENGINE=interp runs it on the interpreter. */
const ENGINE = defaultEngine() === 'compiled' ? executeCompiled : undefined;

/** The repository root: the nearest directory above the working directory whose package.json is xdp-lens. */
function findRepo(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'xdp-lens') return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
const repo = findRepo();
const shared = resolve(repo, '../shared/conformance');

/** Files (relative to shared/conformance) that are known not to pass, with the reason. Prefix match on `dir/*`. */
const EXPECTED_FAILURES: Record<string, string> = {
  'bpf_conformance-tests/callx.data': 'callx (opcode 0x8d, call through a register) is not in RFC 9669 and Linux rejects it',
  'bpf_conformance-tests/arsh32-imm-high.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/arsh32-imm-neg.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/arsh64-imm-high.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/arsh64-imm-neg.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/lsh32-imm-high.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/lsh32-imm-neg.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/lsh64-imm-high.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/lsh64-imm-neg.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/rsh32-imm-high.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/rsh32-imm-neg.data': 'a shift by a constant outside [0, 32): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/rsh64-imm-high.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'bpf_conformance-tests/rsh64-imm-neg.data': 'a shift by a constant outside [0, 64): the kernel refuses the program (check_alu_op: invalid shift), and so does XDP Lens when the shift is reached',
  'ubpf/tests/div-by-zero-imm.data': 'a division by the constant 0: the kernel refuses the program (check_alu_op: div by zero), and so does XDP Lens when it is reached',
  'ubpf/tests/div64-by-zero-imm.data': 'a division by the constant 0: the kernel refuses the program (check_alu_op: div by zero), and so does XDP Lens when it is reached',
  'ubpf/tests/mod-by-zero-imm.data': 'a division by the constant 0: the kernel refuses the program (check_alu_op: div by zero), and so does XDP Lens when it is reached',
  'ubpf/tests/mod64-by-zero-imm.data': 'a division by the constant 0: the kernel refuses the program (check_alu_op: div by zero), and so does XDP Lens when it is reached',
  'ubpf/tests/early-exit.data': 'instructions after the exit are unreachable: the kernel refuses the program (check_cfg: unreachable insn 2), and so does XDP Lens',
  'ubpf/tests/reload.data': 'tests uBPF VM lifecycle (loading code twice into one VM), not the ISA',
  'ubpf/tests/elf/*': 'ELF files generated by uBPF\'s Python harness (`-- pyelf`); no program bytes in the data file',
  'ubpf/tests/tcp-port-80/*': 'the asm source `tcp-port-80.asm` referenced by `-- asm @` is not shipped in shared/',
  'ubpf/tests/tcp-sack/*': 'the asm source `tcp-sack.asm` referenced by `-- asm @` is not shipped in shared/',
};

interface DataFile {
  sections: Map<string, string[]>;
}

function parseData(text: string): DataFile {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('-- ')) {
      current = [];
      sections.set(raw.slice(3).trim(), current);
      continue;
    }
    current?.push(raw);
  }
  return { sections };
}

function hexBytes(lines: string[]): Uint8Array {
  const toks = lines.map((l) => l.replace(/#.*$/, '')).join(' ').split(/\s+/).filter(Boolean);
  return Uint8Array.from(toks.map((t) => parseInt(t, 16)));
}

/** `-- raw`: either 0x-prefixed 64-bit slot values, or a byte stream of two-digit hex bytes. */
function rawInsns(lines: string[]): Insn[] {
  const toks = lines.map((l) => l.replace(/#.*$/, '')).join(' ').split(/\s+/).filter(Boolean);
  let bytes: Uint8Array;
  if (toks.every((t) => /^0x[0-9a-f]+$/i.test(t))) {
    bytes = new Uint8Array(toks.length * 8);
    const v = new DataView(bytes.buffer);
    toks.forEach((t, i) => v.setBigUint64(i * 8, BigInt(t), true));
  } else {
    bytes = Uint8Array.from(toks.map((t) => parseInt(t, 16)));
  }
  return decodeProgram(bytes).insns;
}

function firstValue(lines: string[] | undefined): string | undefined {
  return lines?.map((l) => l.replace(/#.*$/, '').trim()).find(Boolean);
}

type Outcome = { kind: 'no-program' } | { kind: 'encoded' } | { kind: 'rejected'; why: string } | { kind: 'result'; value: bigint } | { kind: 'fault'; why: string };

function runFile(file: string, suite: 'bpf_conformance' | 'ubpf'): { outcome: Outcome; data: DataFile } {
  const data = parseData(readFileSync(file, 'utf8'));
  const asmLines = data.sections.get('asm');
  const raw = data.sections.get('raw');
  if (asmLines && raw && !data.sections.has('result') && !data.sections.has('error')) {
    // An assembler case (uBPF alu.data, ldx.data, ...): the asm must encode to exactly the raw slots.
    const a = assemble(asmLines.join('\n'));
    if (a.errors.length) return { outcome: { kind: 'rejected', why: a.errors.map((e) => e.message).join('; ') }, data };
    const want = encodeProgram(rawInsns(raw));
    const got = encodeProgram(a.insns);
    const same = want.length === got.length && want.every((b, i) => b === got[i]);
    return { outcome: same ? { kind: 'encoded' } : { kind: 'rejected', why: `assembled bytes differ from -- raw: ${disassemble(a.insns)}` }, data };
  }
  let insns: Insn[];
  if (raw) insns = rawInsns(raw);
  else if (asmLines) {
    const a = assemble(asmLines.join('\n'));
    if (a.errors.length) return { outcome: { kind: 'rejected', why: a.errors.map((e) => e.message).join('; ') }, data };
    insns = a.insns;
  } else return { outcome: { kind: 'no-program' }, data };
  if (insns.length === 0) return { outcome: { kind: 'rejected', why: 'no instructions' }, data };
  const errors = validateProgram(insns, {
    isHelperKnown: (id) => CONFORMANCE_HELPERS.has(id),
    entryRegs: [1, 2, 10],
    mapCount: 0,
    // uBPF's own program limit, which its err-too-many-instructions case checks.
    maxInsns: suite === 'ubpf' ? 65536 : undefined,
  });
  if (errors.length) return { outcome: { kind: 'rejected', why: errors.map((e) => e.message).join('; ') }, data };
  const memLines = data.sections.get('mem');
  const res = runRaw(insns, memLines ? hexBytes(memLines) : new Uint8Array(0), { budget: 10_000_000, engine: ENGINE });
  if (res.fault) return { outcome: { kind: 'fault', why: `${res.fault.kind} at insn ${res.fault.insn}: ${res.fault.message}` }, data };
  return { outcome: { kind: 'result', value: res.retval }, data };
}

function expectedFailure(rel: string): string | undefined {
  if (EXPECTED_FAILURES[rel]) return EXPECTED_FAILURES[rel];
  for (const [k, why] of Object.entries(EXPECTED_FAILURES)) if (k.endsWith('/*') && rel.startsWith(k.slice(0, -1))) return why;
  return undefined;
}

function listData(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listData(p));
    else if (name.endsWith('.data')) out.push(p);
  }
  return out;
}

/** Does the positive case pass? Returns undefined on success, else why not. */
function checkPositive(file: string, suite: 'bpf_conformance' | 'ubpf'): string | undefined {
  const { outcome, data } = runFile(file, suite);
  if (outcome.kind === 'no-program') return 'the file holds no program (no -- asm or -- raw section)';
  if (outcome.kind === 'encoded') return undefined;
  const wantsError = [...data.sections.keys()].some((k) => k.startsWith('error'));
  if (wantsError) {
    return outcome.kind === 'result' ? `expected an error (${firstValue(data.sections.get('error')) ?? data.sections.get('error pattern')?.[0]}), got result 0x${outcome.value.toString(16)}` : undefined;
  }
  const expected = firstValue(data.sections.get('result'));
  if (expected === undefined) return 'no -- result in file';
  if (outcome.kind !== 'result') return `expected 0x${BigInt(expected).toString(16)}, got ${outcome.kind}: ${'why' in outcome ? outcome.why : ''}`;
  const want = BigInt.asUintN(64, BigInt(expected));
  return outcome.value === want ? undefined : `expected 0x${want.toString(16)}, got 0x${outcome.value.toString(16)}`;
}

const suites: [string, 'bpf_conformance' | 'ubpf'][] = [
  ['bpf_conformance-tests', 'bpf_conformance'],
  ['ubpf/tests', 'ubpf'],
];

for (const [dir, suite] of suites) {
  const root = join(shared, dir);
  test(`conformance: ${dir}`, { skip: existsSync(root) ? false : `${root} is absent (shared data not available)` }, async (t) => {
    const files = listData(root);
    assert.ok(files.length > 0, `no .data files under ${root}`);
    let passed = 0;
    let xfail = 0;
    for (const file of files) {
      const rel = relative(shared, file);
      const why = expectedFailure(rel);
      await t.test(rel, () => {
        const problem = checkPositive(file, suite);
        if (why) {
          assert.ok(problem !== undefined, `${rel} is listed as an expected failure (${why}) but now passes: remove it from the list`);
          xfail++;
        } else {
          assert.equal(problem, undefined, `${rel}: ${problem}`);
          passed++;
        }
      });
    }
    t.diagnostic(`${dir}: ${passed} passed, ${xfail} expected failures, ${files.length} files`);
  });
}

const negativeRoot = join(shared, 'bpf_conformance-negative');
test('conformance: bpf_conformance-negative cases are all rejected', { skip: existsSync(negativeRoot) ? false : `${negativeRoot} is absent` }, async (t) => {
  const files = listData(negativeRoot);
  assert.ok(files.length > 0);
  for (const file of files) {
    await t.test(relative(shared, file), () => {
      const { outcome, data } = runFile(file, 'bpf_conformance');
      if (outcome.kind !== 'result') return; // no program, rejected by assembler or validator, or faulted
      const expected = firstValue(data.sections.get('result'));
      assert.ok(expected !== undefined && BigInt.asUintN(64, BigInt(expected)) !== outcome.value, `negative case accepted with result 0x${outcome.value.toString(16)}`);
    });
  }
});
