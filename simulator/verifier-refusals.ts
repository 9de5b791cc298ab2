// What is known, before and during a run, about the kernel verifier refusing the program being run. A program the
// kernel would not load still runs in the simulator (it is what the user wants to see), but its results must not look
// like the results of one that loads: `run` and the editor say so before the first packet and in the summary.
//
// Sources, all on the object the run already compiled (no second compile, no kernel needed):
//   - load: what the simulator checks the way the verifier does over the whole program (the combined stack of a call
//     chain, simulator/isa/validate.ts stackLimits; a loop the verifier certainly walks past its 1M-instruction
//     complexity limit, simulator/verifier-limits.ts; a bpf_loop(0, cb) callback the kernel deletes while a call names
//     it, simulator/verifier-dead-callback.ts, the call proved walked by the bounds walk or by a probe run of a few
//     packets on a machine of its own), in the verifier's words;
//   - bytecode: the bytecode tier's findings for the rules it decides as the verifier does, program by program
//     (test/analysis/verifier-agreement.test.ts holds it to the kernel): an unchecked packet access or map value, a
//     write to the context or to read-only memory, a packet pointer used after a helper invalidated it, a helper
//     argument of the wrong type, a load or store through a number, a failed bpf_tail_call's r0 returned;
//   - kernel (optional: `run --kernel`, the editor's kernelVerifier setting): the running kernel's verifier itself,
//     loading the chosen program alone (simulator/analysis/verifier.ts);
//   - run: a fault that proves a refusal when a packet reaches it (a register read before anything wrote it: a check
//     the verifier makes on every path it walks).
import { resolve } from 'node:path';
import type { LoadedObject, LoadedProgram } from './elf/types.ts';
import type { Fault } from './vm/types.ts';
import { loadValidation, stackRefusals, type Machine } from './vm/machine.ts';
import type { ValidationError } from './isa/validate.ts';
import { analyzeObjectReport, inlinedCallsOf } from './analysis/bytecode.ts';
import { verifyWithKernel } from './analysis/verifier.ts';
import { staticArgRefusals } from './vm/helper-impl/static-args.ts';
import { specialAccessRefusals } from './vm/helper-impl/special-access.ts';
import { complexityRefusal, VERIFIER_INSN_LIMIT } from './verifier-limits.ts';
import { boundsRefusal, gplCompatible } from './verifier-bounds.ts';
import { deadCallbackRefusal, loopCallbacks, zeroCountLoopCalls } from './verifier-dead-callback.ts';
import { Session } from './session.ts';
import { progArrayUsers } from './elf/index.ts';
import { helperIdsCalled, xdpForbiddenHelpers } from './vm/helpers.ts';
import { WQ_CALLBACK_REFUSED } from './vm/kfuncs.ts';

/** The rules the bytecode tier decides exactly as the kernel verifier does (see verifier-agreement.test.ts). */
export const VERIFIER_RULES: ReadonlySet<string> = new Set([
  'unchecked-packet-access', 'map-value-null', 'ctx-write', 'readonly-write', 'stale-packet-pointer', 'pointer-misuse',
]);

/**
 * The bytecode tier's walk before a run has a step bound of 200,000 instructions (`check`'s is 400,000) and a time bound, so that a
 * state-heavy program does not hold up the first packet: RUN_WALK_MS of CPU time (XDP_LENS_RUN_WALK_MS overrides it;
 * 0 for none), CPU rather than wall-clock time so that what it finds does not depend on how busy the machine is. It
 * was 20,000 instructions, which cut the walk short before refusals the kernel makes (sfuzz seed 1412070114: found
 * after 36,271 instructions, about 1.2 s; seed 1412070055 after about 50,000). A walk cut short reports only what it
 * found, never a guess.
 */
const RUN_WALK_STEPS = 200_000;
export const RUN_WALK_MS = 3000;
const runWalkMs = (): number | undefined => {
  const env = process.env.XDP_LENS_RUN_WALK_MS;
  const v = env === undefined || env === '' ? RUN_WALK_MS : Number(env);
  return Number.isFinite(v) && v > 0 ? v : undefined;
};

/** Fault kinds whose occurrence proves the verifier refuses the program. */
// helper-misuse: an argument the verifier checks (a map of the wrong type, a size it refuses, memory a helper may not
// touch); ctx-write, bad-ctx-access and readonly-write: accesses it refuses wherever they are. out-of-bounds,
// null-dereference and call-depth too: the verifier proves every access of a program it loads inside its region (stack
// slots at r10-512..r10, map values, NULL checks) and the call chain at most 8 frames deep, so a run that faults so is
// a run of a program it refused (random programs against 6.18: a store at r10-520 or r10+8, a scalar dereferenced).
// invalid-insn at run time: an instruction refused where a path reaches it (a constant divisor 0, a shift by a
// constant out of range: isa/alu.ts refusedWhenReached).
const REFUSING_FAULTS: ReadonlySet<string> = new Set(['uninit-register', 'core-relocation', 'helper-misuse', 'ctx-write', 'bad-ctx-access', 'readonly-write',
  'out-of-bounds', 'null-dereference', 'call-depth', 'invalid-insn']);

const CALL_OPCODE = 0x85;
const BPF_FUNC_TAIL_CALL = 12;
const PSEUDO_KFUNC_CALL = 2;

/**
 * kfuncs the running 6.18 kernel refuses in every program type although mainline 6.18 allows them. Measured:
 * bpf_dynptr_slice_rdwr is refused with "bpf_dynptr_slice_rdwr() is not allowed" (EPERM) for XDP programs. Also
 * kfuncs every kernel refuses in XDP: bpf_wq_set_callback_impl ("sleepable callback in a program that is not sleepable").
 */
const REFUSED_KFUNCS: ReadonlyMap<string, string> = new Map([
  ['bpf_dynptr_slice_rdwr', 'bpf_dynptr_slice_rdwr() is not allowed: the 6.18 kernel refuses every program that calls it. Read with bpf_dynptr_slice and write back with bpf_dynptr_write instead.'],
  // Refused in every XDP program (mainline too): the callback is verified as sleepable and XDP programs are not.
  ['bpf_wq_set_callback_impl', `${WQ_CALLBACK_REFUSED}.`],
]);

export interface VerifierRefusal {
  file?: string;
  line?: number;
  message: string;
  /** The rule (bytecode tier), or `stack` / `invalid-insn` / `helper-arg` / a refusing fault kind. */
  rule: string;
  source: 'load' | 'bytecode' | 'kernel' | 'run';
}

/** The verifier's own words in a refusal's message: after our lead-in ("The verifier refuses this ...: "), before the advice. */
function kernelWords(message: string): string {
  return message.split(' (')[0]!.replace(/^The verifier refuses [^:]*: /, '');
}

/**
 * What is known before the first packet: the load-time checks and the bytecode tier, for `program` only. `objectPath`
 * is the object's file (for a C source, the compiled object): its DWARF places a refusal inside a helper of a header
 * inlined into the program on the line of the call, as check does.
 */
export function refusalsBeforeRun(obj: LoadedObject, program: LoadedProgram, machine: Machine, objectPath = obj.path): VerifierRefusal[] {
  const tooMany = tooManyInsns(program);
  if (tooMany) return [tooMany];
  const reached = new Set<number>();
  const out = loadTimeRefusals(obj, program, machine, reached);
  try {
    // A refusal inside a header's helper inlined into the program is placed on the call's line (DWARF), as check does.
    const report = analyzeObjectReport({ ...obj, programs: [{ ...program, isXdp: true }] },
      { limits: { maxSteps: RUN_WALK_STEPS, maxMs: runWalkMs() }, keepUnlocated: true, inlinedCalls: inlinedCallsOf(objectPath) });
    for (const f of report.findings) {
      if (!VERIFIER_RULES.has(String(f.rule))) continue;
      // The bounds walk's refusal of the same instruction (a pointer op: its words name the register) said it already.
      // So did the load-time checks' refusal of the same instruction in the same kernel words (static-args.ts's
      // unbounded pointer difference).
      if (f.line && out.some((o) => o.source === 'load' && o.line === f.line && o.file === (f.file || undefined) &&
        (o.rule === f.rule || f.message.includes(kernelWords(o.message))))) continue;
      // A helper the kernel refuses for XDP, called in several places: the verifier stops at the first it meets, so
      // run names one (check reports every call, each a line to change).
      const helper = /cannot use helper (\w+#\d+)/.exec(f.message)?.[1];
      if (helper && out.some((o) => o.message.includes(`cannot use helper ${helper}`))) continue;
      // Without line info (an object assembled or compiled without -g) a finding has no place, but it is the same refusal.
      out.push({ file: f.file || undefined, line: f.line || undefined, message: f.message, rule: String(f.rule), source: 'bytecode' });
    }
  } catch {
    // The bytecode tier is total by design; a bug in it must not stop a run.
  }
  out.push(...tailTargetHelperRefusals(obj, program, objectPath));
  // Only without another refusal, which the kernel would meet first.
  if (!out.length) {
    const d = deadCallback(obj, program, reached);
    if (d) out.push(d);
  }
  return out;
}

/**
 * The programs `program` can tail-call that the loader loads with it: those named in the `.values` of a PROG_ARRAY
 * it or one of them uses (libbpf loads them with the object and fills the slots), transitively.
 */
function tailCallTargets(obj: LoadedObject, program: LoadedProgram): LoadedProgram[] {
  const byName = new Map(obj.programs.map((p) => [p.name, p]));
  const seen = new Set<string>([program.name]);
  const out: LoadedProgram[] = [];
  const todo = [program];
  while (todo.length) {
    const p = todo.pop()!;
    for (const [index, m] of obj.maps.entries()) {
      if (!m.initialProgs?.length || !progArrayUsers([p], index).length) continue;
      for (const slot of m.initialProgs) {
        const target = byName.get(slot.program);
        if (!target || seen.has(target.name)) continue;
        seen.add(target.name);
        out.push(target);
        todo.push(target);
      }
    }
  }
  return out;
}

/**
 * A call of a helper XDP may not have (vm/helpers.ts xdpForbiddenHelpers: this kernel build's answer) in a program
 * `program` tail-calls: the loader loads that program with the object, the verifier refuses it wherever its walk
 * reaches the call (a callback, a subprogram, a branch no packet takes), and the object fails to load, so `program`
 * never runs. Measured on 6.18.44-fc-v1300 (refuses bpf_xdp_adjust_meta): the harness's libbpf load of an object
 * whose tail-called program calls it fails. The bytecode tier's walk of that program decides what it reaches.
 */
function tailTargetHelperRefusals(obj: LoadedObject, program: LoadedProgram, objectPath: string): VerifierRefusal[] {
  const out: VerifierRefusal[] = [];
  const forbidden = xdpForbiddenHelpers();
  for (const target of tailCallTargets(obj, program)) {
    if (!helperIdsCalled(target).some((id) => forbidden.has(id))) continue;
    try {
      const report = analyzeObjectReport({ ...obj, programs: [{ ...target, isXdp: true }] },
        { limits: { maxSteps: RUN_WALK_STEPS, maxMs: runWalkMs() }, keepUnlocated: true, inlinedCalls: inlinedCallsOf(objectPath) });
      for (const f of report.findings) {
        if (f.rule !== 'pointer-misuse' || !/cannot use helper/.test(f.message)) continue;
        out.push({ file: f.file || undefined, line: f.line || undefined, rule: String(f.rule), source: 'bytecode',
          message: `${f.message} It is in ${target.name}(), which ${program.name}() tail-calls: the loader loads it with the object, so the object does not load.` });
        break;
      }
    } catch {
      // As above: a bug in the bytecode tier must not stop a run.
    }
  }
  return out;
}

/**
 * The load-time refusals of refusalsBeforeRun (source `load`) without a machine, for `check`, whose bytecode tier has
 * walked the program already: `bytecodeRefused` says whether that walk found a refusal (then the dead-callback check,
 * which the kernel makes after a walk it completes, is not made).
 */
export function loadRefusals(obj: LoadedObject, program: LoadedProgram, bytecodeRefused: boolean): VerifierRefusal[] {
  let validation: ValidationError[] | undefined;
  const validate = () => (validation ??= loadValidation(obj, program));
  const reached = new Set<number>();
  const out = loadTimeRefusals(obj, program, { validate, kernelRefusals: () => stackRefusals(program, validate()) }, reached);
  if (!out.length && !bytecodeRefused) {
    const d = deadCallback(obj, program, reached);
    if (d) out.push(d);
  }
  return out;
}

/**
 * bpf_prog_load refuses a program of more than BPF_COMPLEXITY_LIMIT_INSNS instructions (E2BIG) before the verifier
 * sees it (measured: 1,000,000 load, 1,000,002 do not). Nothing else is checked then: the walks cost memory in
 * proportion to the program (1,000,000 instructions took 1.3 GB, 3,000,000 took 2.6 GB) and the kernel would say
 * nothing more.
 */
function tooManyInsns(program: LoadedProgram): VerifierRefusal | undefined {
  const n = program.insns.length;
  if (n <= VERIFIER_INSN_LIMIT) return undefined;
  return { rule: 'too-large', source: 'load', file: program.lines[0]?.file, line: program.lines[0]?.line,
    message: `${program.name} has ${n.toLocaleString('en-US')} instructions, more than the ${VERIFIER_INSN_LIMIT.toLocaleString('en-US')} the ` +
      'kernel loads: BPF_PROG_LOAD fails with E2BIG before the verifier runs' };
}

/** What refusalsBeforeRun checks before the bytecode tier (source `load`); `reached` gets the slots the bounds walk reached. */
function loadTimeRefusals(obj: LoadedObject, program: LoadedProgram, machine: Pick<Machine, 'validate' | 'kernelRefusals'>, reached: Set<number>): VerifierRefusal[] {
  const out: VerifierRefusal[] = [];
  // check_btf_func, before the walk: a subprogram that tail-calls must return a scalar (int, long, an enum), since the
  // tail-called program's return value comes back through it.
  for (const [i, f] of program.funcs.entries()) {
    if (f.insn === 0 || f.returnsScalar !== false) continue;
    const end = program.funcs[i + 1]?.insn ?? program.insns.length;
    for (let pc = f.insn; pc < end; pc++) {
      const insn = program.insns[pc]!;
      if (insn.opcode !== CALL_OPCODE || insn.src !== 0 || insn.imm !== BPF_FUNC_TAIL_CALL) continue;
      const loc = program.lines[pc];
      out.push({ file: loc?.file, line: loc?.line, rule: 'tail-call-return', source: 'load',
        message: `tail_call is only allowed in functions that return 'int'. ${f.name}() calls bpf_tail_call but does not return an ` +
          `integer: declare it to return int.` });
      break;
    }
  }
  for (const r of machine.kernelRefusals(program.name)) {
    out.push({ file: r.loc?.file, line: r.loc?.line, message: r.message, rule: 'stack', source: 'load' });
  }
  // The verifier's complexity limit, where its first path alone certainly passes it (verifier-limits.ts).
  const big = complexityRefusal(program);
  if (big) {
    const loc = program.lines[big.loopPc];
    out.push({ file: loc?.file, line: loc?.line, message: big.message, rule: 'too-large', source: 'load' });
  }
  // Pointer arithmetic and map value indexes with a number the verifier cannot bound, 8193 branches pending on its
  // first path (verifier-bounds.ts).
  try {
    const b = boundsRefusal(obj, program, reached);
    // The 1M-instruction limit once, when verifier-limits.ts proved it already.
    if (b && !(big && b.kernel.startsWith('BPF program is too large'))) {
      // The verifier's walk refused the deep call before check_max_stack_depth ran: its words, not the static ones.
      if (b.rule === 'call-depth') {
        for (let i = out.length - 1; i >= 0; i--) if (out[i]!.rule === 'stack' && / frames is too deep !$/.test(out[i]!.message)) out.splice(i, 1);
      }
      const loc = program.lines[b.pc];
      out.push({ file: loc?.file, line: loc?.line, message: b.message, rule: b.rule, source: 'load' });
    }
  } catch {
    // Like the bytecode tier: a bug in the walk must not stop a run.
  }
  // Helper arguments the verifier refuses wherever the call is (vm/helper-impl/static-args.ts).
  for (const r of staticArgRefusals(obj, program).slice(0, 3)) {
    const loc = program.lines[r.insn];
    // The walk found the same one (a size it follows through branches too): these words once.
    const same = out.findIndex((o) => o.source === 'load' && o.rule === 'pointer-misuse' && o.line === loc?.line && o.file === loc?.file &&
      o.message.includes(r.message.slice(0, r.message.indexOf(' ('))));
    if (same >= 0) out.splice(same, 1);
    out.push({ file: loc?.file, line: loc?.line, message: r.message, rule: r.rule, source: 'load' });
  }
  // A load or store into a map value's bpf_spin_lock, bpf_timer, kptr, ... (vm/helper-impl/special-access.ts).
  for (const r of specialAccessRefusals(obj, program).slice(0, 3)) {
    const loc = program.lines[r.insn];
    // The bounds walk may have found the same access (it follows pointers through stack slots too): this one's words.
    const same = out.findIndex((o) => o.rule === 'special-field' && o.source === 'load' && o.line === loc?.line && o.file === loc?.file);
    if (same >= 0) out.splice(same, 1);
    out.push({ file: loc?.file, line: loc?.line, message: r.message, rule: 'special-field', source: 'load' });
  }
  // kfuncs the kernel these results are checked against (6.18, as built on our machines) refuses in every program,
  // wherever the call is; the simulator still runs them with mainline's semantics.
  // A kfunc call anywhere in a program whose licence is not GPL-compatible (add_kfunc_call, before the walk).
  if (!gplCompatible(obj.license)) {
    const pc = program.insns.findIndex((insn) => insn.opcode === CALL_OPCODE && insn.src === PSEUDO_KFUNC_CALL);
    if (pc >= 0) {
      const loc = program.lines[pc];
      const name = program.kfuncs?.[program.insns[pc]!.imm]?.name ?? 'a kfunc';
      out.push({ file: loc?.file, line: loc?.line, rule: 'gpl-only', source: 'load',
        message: `cannot call kernel function from non-GPL compatible program: ${name} is a kernel function, and the object's licence is ` +
          `${obj.license ? `"${obj.license}"` : 'missing'} (declare \`char LICENSE[] SEC("license") = "GPL";\` or "Dual BSD/GPL").` });
    }
  }
  for (const [pc, insn] of program.insns.entries()) {
    if (insn.opcode !== CALL_OPCODE || insn.src !== PSEUDO_KFUNC_CALL) continue;
    const name = program.kfuncs?.[insn.imm]?.name;
    const why = name === undefined ? undefined : REFUSED_KFUNCS.get(name);
    if (!why) continue;
    const loc = program.lines[pc];
    out.push({ file: loc?.file, line: loc?.line, message: why, rule: 'kfunc', source: 'load' });
    break;
  }
  // Load-time validation errors (a call to a helper id this kernel does not have, a reserved field set, ...): the
  // kernel refuses the load; the simulator stops every packet at the first of them (fault kind invalid-insn).
  // A kfunc the simulator does not model is its own limit (the session refuses to run the program and says so), not
  // the kernel's: the kernel may well load it (bpf_task_from_pid, measured on 6.18).
  for (const e of machine.validate(program.name).filter((x) => !/ is not modelled by XDP Lens/.test(x.message)).slice(0, 3)) {
    const loc = program.lines[e.insn];
    out.push({ file: loc?.file, line: loc?.line, message: e.message, rule: 'invalid-insn', source: 'load' });
  }
  return out;
}

/**
 * After a walk the verifier completes: a bpf_loop callback deleted as dead code while a call still names it
 * (verifier-dead-callback.ts).
 */
function deadCallback(obj: LoadedObject, program: LoadedProgram, reached: Set<number>): VerifierRefusal | undefined {
  let d = deadCallbackRefusal(program, reached);
  // The bounds walk ends a path at a branch on a number it does not know exactly, so it may not reach the call, nor
  // what proves another function stays (a bpf_for_each_map_elem call: efuzz seed 2700900008, its zero-count call
  // reached, its for_each call not); any slot a real run executes the verifier walked too (what it walks covers every
  // run), so a few probe packets through the interpreter may prove them reached (only for a program with such a call).
  const calls = d ? [] : zeroCountLoopCalls(program);
  if (calls.length) {
    const ran = executedSlots(obj, program);
    if (ran) {
      for (const pc of ran) reached.add(pc);
      d = deadCallbackRefusal(program, reached);
    }
  }
  if (!d) return undefined;
  const loc = program.lines[d.pc];
  return { file: loc?.file, line: loc?.line, message: d.message, rule: 'dead-callback', source: 'load' };
}

/** Packets of a probe run (executedSlots): lengths, and the PRNG seed of their bytes. */
const PROBE_LENGTHS = [64, 128, 1514, 256, 96, 512, 60, 200];
const PROBE_PACKETS = 32;
const PROBE_BUDGET = 100_000;

/**
 * The slots of `program` executed by a probe run on a machine of its own (the object's initial maps): PROBE_PACKETS
 * packets of seeded random bytes (every 4th with an Ethernet + IPv4 / IPv6 header start), each cut at PROBE_BUDGET
 * instructions (bpf_loop's callbacks run without the step hook: a call with a count above 0 counts its callback's
 * first slot as run). Undefined when a packet faults so that the verifier would refuse the program anyway (then the
 * kernel's words are that refusal's), or the probe cannot be set up.
 */
function executedSlots(obj: LoadedObject, program: LoadedProgram): Set<number> | undefined {
  const ran = new Set<number>();
  let session: Session;
  try {
    session = new Session(obj, { program: program.name, nrCpus: 1, cpu: 0, engine: 'interp', budget: PROBE_BUDGET });
  } catch {
    return undefined;
  }
  const callbacks = loopCallbacks(program);
  session.hooks = {
    onStep: (name, pc, regs) => {
      if (name !== program.name) return;
      ran.add(pc);
      const cb = callbacks.get(pc);
      if (cb !== undefined && BigInt.asUintN(32, regs[1]!) !== 0n) ran.add(cb);
    },
  };
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 0xff;
  };
  for (let i = 0; i < PROBE_PACKETS; i++) {
    const bytes = new Uint8Array(PROBE_LENGTHS[i % PROBE_LENGTHS.length]!);
    for (let j = 0; j < bytes.length; j++) bytes[j] = next();
    if (i % 4 === 3) {
      const v6 = (i >> 2) % 2 === 1;
      bytes.set(v6 ? [0x86, 0xdd, 0x60] : [0x08, 0x00, 0x45], 12);
    }
    let fault: Fault | undefined;
    try {
      fault = session.runPacket(bytes).fault;
    } catch {
      return undefined;
    }
    if (fault && REFUSING_FAULTS.has(fault.kind)) return undefined;
  }
  return ran;
}

/**
 * The kernel tier: the running kernel's verifier on the compiled object, the chosen program only. Returns its refusals
 * (each on the line its log names), or why it could not ask (not root, no bpftool, ...).
 */
export function kernelRefusals(objectPath: string, sourceFile: string, program: string): { refusals: VerifierRefusal[]; skipped?: string } {
  const v = verifyWithKernel(objectPath, sourceFile, 20000, [program]);
  if (v.skipped) return { refusals: [], skipped: v.skipped };
  return {
    refusals: v.findings
      .filter((f) => f.severity === 'error')
      .map((f) => ({ file: f.file, line: f.line, message: f.message, rule: String(f.rule), source: 'kernel' as const })),
  };
}

/** The refusals of a run: those known before it, plus the ones its packets proved; one per rule and line. */
export class RefusalLog {
  readonly list: VerifierRefusal[];
  private readonly seen = new Set<string>();

  constructor(before: VerifierRefusal[]) {
    this.list = [];
    for (const r of before) this.add(r);
  }

  private add(r: VerifierRefusal): boolean {
    const key = `${r.rule}\0${r.file ?? ''}\0${r.line ?? 0}`;
    if (this.seen.has(key)) return false;
    // The kernel tier quotes the verifier; our load-time check uses the verifier's words: the same refusal once.
    if (this.list.some((o) => o.source !== r.source && sameRefusal(o, r))) return false;
    this.seen.add(key);
    this.list.push(r);
    return true;
  }

  /** Record a packet's fault when it proves a refusal; returns the new entry the first time. */
  fault(f: Fault | undefined): VerifierRefusal | undefined {
    if (!f || !REFUSING_FAULTS.has(f.kind)) return undefined;
    // A refusal already known on that line (the bytecode tier's unchecked map value, this packet's NULL load) is the
    // same refusal.
    if (f.loc?.line !== undefined && this.list.some((o) => o.line === f.loc!.line && o.file === f.loc!.file)) return undefined;
    const r: VerifierRefusal = { file: f.loc?.file, line: f.loc?.line, message: f.message, rule: f.kind, source: 'run' };
    return this.add(r) ? r : undefined;
  }

  /** The jsonl/summary form: `[{file, line, message, rule}]`. */
  json(): { file?: string; line?: number; message: string; rule: string }[] {
    return this.list.map((r) => ({ file: r.file, line: r.line, message: r.message, rule: r.rule }));
  }
}

/**
 * Two tiers' words for one refusal: one message contains the other, or on the same line the kernel tier's quoted
 * verifier message ("R0 !read_ok") is what our load-time check says too.
 */
function sameRefusal(a: VerifierRefusal, b: VerifierRefusal): boolean {
  if (a.message.includes(b.message) || b.message.includes(a.message)) return true;
  // One file however it is spelled: DWARF names it as clang was given it, the kernel tier as the user did.
  if (a.line === undefined || a.line !== b.line || !a.file || !b.file || resolve(a.file) !== resolve(b.file)) return false;
  const quoted = (r: VerifierRefusal) => (r.source === 'kernel'
    ? (/\(kernel verifier, program [^:]*: "(.+)"\)$/.exec(r.message) ?? /^The kernel verifier refuses program [^:]*: "(.+)"$/.exec(r.message))?.[1]
    : undefined);
  const k = quoted(a) ?? quoted(b);
  const other = quoted(a) !== undefined ? b : a;
  return k !== undefined && k.length > 0 && other.message.includes(k);
}

/**
 * "file.c:12: message" (or just the message when no line is known), to follow "the kernel would refuse this program: ":
 * the message's first word lower-cased when it is a plain capitalised word ("This load" -> "this load"), so the line
 * reads as one sentence. (`--format json` keeps the message as it is.)
 */
export function refusalText(r: VerifierRefusal, base = (f: string) => f): string {
  const message = /^[A-Z][a-z]+\b/.test(r.message) ? r.message[0]!.toLowerCase() + r.message.slice(1) : r.message;
  return r.file && r.line ? `${base(r.file)}:${r.line}: ${message}` : message;
}
