// Public surface of the VM: create a Machine from a LoadedObject and run XDP programs or bare conformance programs.
// Lower layers (interpreter, memory, helpers) are exported for tools that need them (tracing, tests, a future
// compiled engine that must agree with the interpreter).
export { createMachine, DEFAULT_BUDGET, type Machine, type MachineOptions, type RunHooks } from './machine.ts';
export { execute, runRaw, CONFORMANCE_HELPERS, type ProgramImage, type HelperCall, type HelperOutcome, type ExecOptions, type ExecResult } from './interpreter.ts';
export { Memory, VmFault, addrOf, regionOf, offsetOf, STACK_SIZE, MAX_FRAMES, XDP_MD_SIZE } from './memory.ts';
export { HELPERS, HELPER_NAMES, helperName, isKernelHelper, dispatchHelper, type HelperHost, type HelperImpl } from './helpers.ts';
export type * from './types.ts';
