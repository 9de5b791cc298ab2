// A Machine is one loaded object ready to run packets: its maps (state kept across runs, like pinned kernel maps),
// its programs validated once, and one address space reused per run.
//
// run() executes an XDP program on an XdpBuff the way bpf_prog_run_xdp does: r1 = ctx, r10 = stack top, helpers
// from helpers.ts, tail calls through PROG_ARRAY maps, the instruction budget per packet, and it mutates `buff` in
// place so the caller (the driver model) sees the packet after the program. retval is r0 truncated to u32, as
// bpf_prog_run_xdp returns it. runRaw() is the conformance mode (a bare program over one memory block).
import type { Insn } from '../isa/insn.ts';
import { validateProgram, type ValidationError } from '../isa/validate.ts';
import { CONFORMANCE_HELPERS, execute, runRaw as runRawProgram, type ProgramImage } from './interpreter.ts';
import { Memory, REGION_CTX, VmFault, addrOf } from './memory.ts';
import { BPF_F_RDONLY_PROG, type LoadedObject, type LoadedProgram } from '../elf/types.ts';
import type { Environment, Fault, RunResult, XdpBuff } from './types.ts';
import { createMap, type BpfMap } from './maps.ts';
import { dispatchHelper, type HelperHost } from './helpers.ts';
import { isKernelHelper } from '../isa/helper-names.ts';

export const DEFAULT_BUDGET = 1_000_000;

export interface MachineOptions {
  /** Instructions per packet, across tail calls (default 1,000,000). */
  budget?: number;
  /** CPUs for per-CPU maps (default 1; a run's Environment.cpu picks the slot). */
  nrCpus?: number;
}

export interface RunHooks {
  onStep?(program: string, pc: number): void;
}

export interface Machine {
  readonly obj: LoadedObject;
  /** Same order as obj.maps. */
  readonly maps: BpfMap[];
  run(program: string, buff: XdpBuff, env: Environment, hooks?: RunHooks): RunResult;
  runRaw(insns: Insn[], mem: Uint8Array): { retval: bigint; fault?: Fault };
  /** Load-time validation errors of a program (empty when it may run). */
  validate(program: string): ValidationError[];
}

export function createMachine(obj: LoadedObject, opts: MachineOptions = {}): Machine {
  return new XdpMachine(obj, opts);
}

const KEY_ZERO = new Uint8Array(4);

class XdpMachine implements Machine {
  readonly maps: BpfMap[];
  private readonly mem = new Memory();
  private readonly budget: number;
  private readonly nrCpus: number;
  private readonly validation = new Map<string, ValidationError[]>();
  private readonly byName = new Map<string, LoadedProgram>();

  constructor(readonly obj: LoadedObject, opts: MachineOptions) {
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.nrCpus = opts.nrCpus ?? 1;
    this.maps = obj.maps.map((def) => createMap(def, this.nrCpus));
    // Global data (.data/.rodata/.bss) starts as the ELF image; libbpf writes it with bpf_map_update_elem before
    // freezing .rodata. Done here in case the map implementation did not take the initial value itself.
    this.maps.forEach((map, i) => {
      const init = obj.maps[i].initialValue;
      if (!init || obj.maps[i].kind !== 'global') return;
      for (let cpu = 0; cpu < this.nrCpus; cpu++) {
        const v = map.lookup(KEY_ZERO, cpu);
        if (v && v.every((b: number) => b === 0)) v.set(init.subarray(0, v.length));
      }
    });
    for (const p of obj.programs) this.byName.set(p.name, p);
  }

  validate(program: string): ValidationError[] {
    let errors = this.validation.get(program);
    if (!errors) {
      const p = this.byName.get(program);
      errors = p
        ? validateProgram(p.insns, { mapCount: this.obj.maps.length, isHelperKnown: isKernelHelper, entryRegs: [1, 10] })
        : [{ insn: 0, message: `no program named ${program} in ${this.obj.path}` }];
      this.validation.set(program, errors);
    }
    return errors;
  }

  run(programName: string, buff: XdpBuff, env: Environment, hooks: RunHooks = {}): RunResult {
    const out: HelperHost['out'] = { printk: [], perf: [] };
    const base: RunResult = { retval: 0, exitInsn: -1, exitProgram: programName, steps: 0, tailCalls: 0, printk: out.printk, perf: out.perf };
    const entry = this.byName.get(programName);
    const errors = this.validate(programName);
    if (!entry || errors.length) {
      const e = errors[0];
      return { ...base, fault: { kind: 'invalid-insn', message: e.message, insn: e.insn, program: programName, loc: entry?.lines[e.insn] } };
    }
    const mem = this.mem;
    mem.reset(buff, /devmap/.test(entry.section));
    const host: HelperHost = {
      mem,
      obj: this.obj,
      maps: this.maps,
      buff,
      env,
      nrCpus: this.nrCpus,
      out,
      reservations: new Map(),
      programByName: (name) => {
        const p = this.byName.get(name);
        // A tail-call target must itself load (validate) before it can run.
        return p && this.validate(name).length === 0 ? p : undefined;
      },
    };
    const res = execute(entry, mem, (r) => (r[1] = addrOf(REGION_CTX, 0)), {
      budget: this.budget,
      callHelper: (call) => dispatchHelper(host, call),
      mapValueAddress: (index, offset, pc) => this.mapValueAddress(index, offset, pc, env.cpu),
      onStep: hooks.onStep,
    });
    const exitProgram = res.exitProgram as LoadedProgram;
    const result: RunResult = {
      ...base,
      retval: Number(res.r0 & 0xffffffffn),
      exitInsn: res.exitInsn,
      exitProgram: exitProgram.name,
      exitLoc: res.exitInsn >= 0 ? exitProgram.lines?.[res.exitInsn] : undefined,
      steps: res.steps,
      tailCalls: res.tailCalls,
      redirect: out.redirect,
    };
    if (res.fault) {
      const p = res.fault.program as ProgramImage;
      result.fault = { kind: res.fault.kind, message: res.fault.message, insn: res.fault.insn, program: p.name, loc: p.lines?.[res.fault.insn] };
      // A fault is what the kernel's verifier (or an exception) would have stopped: report XDP_ABORTED.
      result.retval = 0;
    }
    return result;
  }

  /** lddw src 2: pointer into the single value of a global-data (or any array) map, plus an offset. */
  private mapValueAddress(index: number, offset: number, pc: number, cpu: number): bigint {
    const map = this.maps[index];
    const value = map?.lookup(KEY_ZERO, cpu);
    if (!map || !value) throw new VmFault('helper-misuse', `lddw of map value: map ${index} has no element 0`, pc);
    const readonly = map.readonlyForProgram || (map.def.flags & BPF_F_RDONLY_PROG) !== 0;
    return this.mem.mapValue(value, map.def.name, readonly) + BigInt(offset);
  }

  runRaw(insns: Insn[], memBytes: Uint8Array): { retval: bigint; fault?: Fault } {
    return runRawProgram(insns, memBytes, {
      budget: this.budget,
      validate: (p) => validateProgram(p, { isHelperKnown: (id) => CONFORMANCE_HELPERS.has(id), entryRegs: [1, 2, 10], mapCount: 0 }),
    });
  }
}
