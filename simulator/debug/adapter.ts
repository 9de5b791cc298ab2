// The Debug Adapter Protocol front of the stepping engine (engine.ts), on the protocol library of the VS Code
// ecosystem (@vscode/debugadapter). VS Code starts it for the debug type `xdp`; other editors (nvim-dap, dap-mode,
// Helix) run `xdp-lens debug-adapter`, which speaks DAP on stdin/stdout. One thread: the program running on the
// packets of a capture. Scopes: registers (with what the simulator knows of each value), the packet (dissected,
// hex, bytes changed so far marked), the stack frame, the maps, the xdp_md context.
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  Breakpoint, DebugSession, Handles, InitializedEvent, InvalidatedEvent, OutputEvent, Scope, Source, StackFrame, StoppedEvent,
  TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { XdpLensError, loadProgramFileWithObject } from '../session.ts';
import { INPUT_LIMITS, InputFileError, readInputFile } from '../input.ts';
import { DEFAULT_PROFILE, DRIVER_MODES, PROFILES, type DriverMode } from '../driver/profiles.ts';
import { CaptureError } from '../net/capture.ts';
import { summarize } from '../net/dissect.ts';
import { disassembleInsn } from '../isa/disasm.ts';
import { opcodeInfo } from '../isa/opcodes.ts';
import { MAX_FRAMES, REGION_PACKET, REGION_STACK0, STACK_SIZE, offsetOf, regionOf } from '../vm/memory.ts';
import { DebugEngine, DebugError, type DataWatch, describeValue, packetBytesOf, readPackets, readSnapshot, snapshotScope, type Snapshot } from './engine.ts';
import { ExprError, evaluate, formatScalar } from './expr.ts';
import type { MapJsonEntry } from '../vm/map-json.ts';
import type { LoadedObject } from '../elf/types.ts';
import type { SessionOptions } from '../session.ts';
import type { DriverOptions } from '../driver/rx.ts';
import { packetLayers } from './layers.ts';
import { entryText, objectMapFormats, type BtfNode, type MapFormat } from '../btf-format.ts';
import { DebugInfo, assignment, childrenOf, expandable, formatCValue, memberOf, scalarOf, type CValue } from './locals.ts';

export interface XdpLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** C file (compiled with clang -O2 -g) or BPF object. */
  program: string;
  /** Function or section of the XDP program (default: the first XDP program). */
  programName?: string;
  capture: string;
  /** An index, `first XDP_ABORTED` (any action) or `first fault`; default: run from packet 0. */
  packet?: number | string;
  driver?: string;
  profile?: string;
  /** Initial map contents (the --maps JSON). */
  maps?: string;
  stopOnEntry?: boolean;
  /** Include directories for clang. */
  includeDirs?: string[];
  cwd?: string;
}

const THREAD = 1;

/**
 * What a host that already holds the program and the capture (the language server's run, server/debug.ts) hands the
 * adapter instead of compiling and loading them again: the loaded object and the options the run built its session and
 * driver with, so the debugger starts from the run's start-of-run state and replays exactly what the run did.
 */
export interface HeldLaunch {
  object: LoadedObject;
  objectPath: string;
  session: SessionOptions;
  driver: DriverOptions;
  /** Shown in the debug console (which run is reused). */
  note?: string;
}

export interface XdpDebugSessionOptions {
  /** Called at launch with the resolved paths, driver mode and profile; undefined: build everything as standalone. */
  held?(args: XdpLaunchArguments & { driver: DriverMode; profile: string }): Promise<HeldLaunch | undefined> | HeldLaunch | undefined;
}

type VarRef =
  | { kind: 'registers' }
  | { kind: 'packet' }
  | { kind: 'hex' }
  | { kind: 'layers' }
  | { kind: 'stack'; depth: number }
  | { kind: 'maps' }
  | { kind: 'map'; name: string }
  | { kind: 'btf'; nodes: { name: string; node: BtfNode }[] }
  | { kind: 'ctx' }
  | { kind: 'locals'; frame: number }
  | { kind: 'c'; value: CValue };

export class XdpDebugSession extends DebugSession {
  private engine: DebugEngine | undefined;
  private startPacket = 0;
  private stopOnEntry = false;
  private configured: () => void = () => {};
  private readonly configuredP = new Promise<void>((r) => (this.configured = r));
  private refs = new Handles<VarRef>();
  private programPath = '';
  private debugInfo: DebugInfo | undefined;
  /** Map keys and values through the object's BTF (simulator/btf-format.ts), hex without it. */
  private mapFormats: ((map: string) => MapFormat) | undefined;
  /** The printk lines already shown: packet and count. */
  private shown = { packet: -1, count: 0 };

  constructor(private readonly options: XdpDebugSessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsFunctionBreakpoints: true,
      supportsInstructionBreakpoints: true,
      supportsDisassembleRequest: true,
      supportsSteppingGranularity: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsDataBreakpoints: true,
      exceptionBreakpointFilters: [{ filter: 'fault', label: 'Faults', description: 'Stop where the program faults (the kernel verifier would refuse it)', default: true }],
    };
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, launchArgs: XdpLaunchArguments): Promise<void> {
    try {
      // A client may send "arguments": null; that is a launch without any attribute.
      const args: XdpLaunchArguments = (launchArgs as XdpLaunchArguments | null) !== null && typeof launchArgs === 'object' ? launchArgs : ({} as XdpLaunchArguments);
      const cwd = args.cwd ?? process.cwd();
      if (!args.program) throw new XdpLensError('launch: "program" (a C file or BPF object) is required');
      if (!args.capture) throw new XdpLensError('launch: "capture" (a pcap or pcapng file) is required');
      // The capture is read whole before the first packet, in this one thread: a FIFO nobody writes to blocked the
      // adapter for good (disconnect included).
      const captureKind = fileKind(resolve(cwd, args.capture));
      if (captureKind) throw new XdpLensError(`launch: "capture" ${args.capture} is ${captureKind}; the debugger reads a capture file (save the traffic to one first)`);
      this.programPath = resolve(cwd, args.program);
      const mode = (args.driver ?? 'native') as DriverMode;
      if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`launch: "driver" is one of ${DRIVER_MODES.join(', ')}, not '${args.driver}'`);
      const profile = PROFILES[args.profile ?? DEFAULT_PROFILE];
      if (!profile) throw new XdpLensError(`launch: "profile" is one of ${Object.keys(PROFILES).join(', ')}, not '${args.profile}'`);
      const held = await this.options.held?.({
        ...args, program: this.programPath, capture: resolve(cwd, args.capture), ...(args.maps ? { maps: resolve(cwd, args.maps) } : {}),
        driver: mode, profile: args.profile ?? DEFAULT_PROFILE,
      });
      if (held?.note) this.output(`${held.note}\n`, 'console');
      let maps: unknown;
      if (args.maps && !held) {
        const path = resolve(cwd, args.maps);
        const text = Buffer.from(readInputFile(path, 'maps', INPUT_LIMITS.maps)).toString('utf8');
        try {
          maps = JSON.parse(text);
        } catch (e) {
          throw new XdpLensError(`${path}: not JSON: ${(e as Error).message}`);
        }
      }
      const { object, objectPath } = held ? { object: held.object, objectPath: held.objectPath } : loadProgramFileWithObject(this.programPath, { includeDirs: args.includeDirs });
      const di = DebugInfo.load(objectPath);
      if (typeof di === 'string') this.output(`xdp-lens: no C variables (${di}); registers and memory only\n`, 'console');
      else this.debugInfo = di;
      this.mapFormats = objectMapFormats(object, { maxElems: 64 });
      const packets = await readPackets(resolve(cwd, args.capture));
      this.engine = new DebugEngine({
        obj: object,
        session: held ? held.session : { program: args.programName, maps, mapsFile: args.maps },
        driver: held ? held.driver : { mode, profile, queues: 1 },
        packets,
      });
      this.startPacket = this.engine.selectPacket(args.packet);
      this.stopOnEntry = !!args.stopOnEntry;
      const p = this.engine.packet(this.startPacket);
      this.output(`xdp-lens: debugging ${this.engine.program.name} on ${basename(args.capture)}: ${packets.length} packets${packets.outgoing ? ` (and ${packets.outgoing} sent by the capturing host: outgoing, not run)` : ''}, starting at packet ${p.index} (${summarize(p.frame)})\n`, 'console');
    } catch (e) {
      const known = e instanceof XdpLensError || e instanceof DebugError || e instanceof CaptureError || e instanceof InputFileError;
      const message = known ? (e as Error).message : `internal error in xdp-lens: ${e instanceof Error ? e.message : String(e)}`;
      this.sendErrorResponse(response, { id: 1, format: message.replace(/[{}]/g, ''), showUser: true });
      return;
    }
    this.sendEvent(new InitializedEvent());
    await this.configuredP;
    this.sendResponse(response);
    if (this.stopOnEntry) this.stopped(this.engine.entry(this.startPacket));
    else this.stoppedOrEnd(this.engine.continue(this.startPacket));
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configured();
  }

  private output(text: string, category = 'stdout'): void {
    this.sendEvent(new OutputEvent(text, category));
  }

  /** Show the printk lines written between what was shown and this position (forward only). */
  private printk(s: Snapshot): void {
    const e = this.engine!;
    const emit = (packet: number, lines: string[]) => lines.forEach((l) => this.output(`[packet ${e.packet(packet).index}] ${l}\n`));
    if (s.packet < this.shown.packet || (s.packet === this.shown.packet && s.printk.length <= this.shown.count)) {
      this.shown = { packet: s.packet, count: s.printk.length };
      return;
    }
    for (let q = Math.max(this.shown.packet, 0); q < s.packet; q++) {
      const r = e.results.get(q);
      if (r) emit(q, r.run.printk.slice(q === this.shown.packet ? this.shown.count : 0));
    }
    emit(s.packet, s.printk.slice(s.packet === this.shown.packet ? this.shown.count : 0));
    this.shown = { packet: s.packet, count: s.printk.length };
  }

  private stopped(s: Snapshot): void {
    this.refs.reset();
    this.printk(s);
    const reason = s.reason === 'goto' ? 'step' : s.reason === 'end' ? 'step' : s.reason;
    const text = s.ended ? `packet ${this.engine!.packet(s.packet).index} returned ${s.result.action}` : s.description;
    const ev = new StoppedEvent(reason, THREAD, text) as DebugProtocol.StoppedEvent;
    ev.body.description = s.reason === 'exception' ? `Fault: ${s.description}` : text;
    if (s.hitBreakpoints.length) ev.body.hitBreakpointIds = s.hitBreakpoints;
    this.sendEvent(ev);
  }

  private stoppedOrEnd(s: Snapshot | undefined): void {
    if (s) return this.stopped(s);
    const cur = this.engine!.current;
    if (cur) this.printk(cur);
    const counts = new Map<string, number>();
    for (const r of this.engine!.results.values()) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
    this.output(`xdp-lens: end of the capture: ${[...counts].map(([a, n]) => `${a} ${n}`).join(', ')}\n`, 'console');
    this.sendEvent(new TerminatedEvent());
  }

  private run(response: DebugProtocol.Response, f: () => Snapshot | undefined): void {
    if (!this.engine?.current) {
      this.sendErrorResponse(response, { id: 5, format: 'the program is not stopped anywhere yet (launch first)', showUser: false });
      return;
    }
    this.sendResponse(response);
    try {
      this.stoppedOrEnd(f());
    } catch (e) {
      if (!(e instanceof DebugError)) throw e;
      this.output(`xdp-lens: ${e.message}\n`, 'stderr');
    }
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const s = this.engine?.current;
    response.body = { threads: [new Thread(THREAD, s ? `packet ${this.engine!.packet(s.packet).index}` : 'packets')] };
    this.sendResponse(response);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const file = args.source.path ?? args.source.name ?? '';
    const bound = this.engine ? this.engine.setSourceBreakpoints(file, (args.breakpoints ?? []).map((b) => ({ line: b.line, condition: b.condition, hitCondition: b.hitCondition }))) : [];
    response.body = { breakpoints: bound.map((b) => this.bp(b, file)) };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const bound = this.engine ? this.engine.setFunctionBreakpoints(args.breakpoints.map((b) => ({ name: b.name, condition: b.condition, hitCondition: b.hitCondition }))) : [];
    response.body = { breakpoints: bound.map((b) => this.bp(b, this.programPath)) };
    this.sendResponse(response);
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    const bound = this.engine
      ? this.engine.setInstructionBreakpoints(args.breakpoints.map((b) => {
          const { program, pc } = parseRef(b.instructionReference, this.engine!.program.name);
          return { program, pc: pc + (b.offset ?? 0), condition: b.condition, hitCondition: b.hitCondition };
        }))
      : [];
    response.body = { breakpoints: bound.map((b) => this.bp(b, this.programPath)) };
    this.sendResponse(response);
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    if (this.engine) this.engine.breakOnFault = args.filters.includes('fault');
    this.sendResponse(response);
  }

  /**
   * What a variable's data breakpoint would watch: a register (r0-r10, or a C local DWARF places in one of the
   * innermost frame), or the bytes of a C value in a stack frame or the packet, or a row of the packet's hex.
   */
  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    const s = this.engine?.current;
    const ref = args.variablesReference !== undefined ? this.refs.get(args.variablesReference) : undefined;
    let dataId: string | null = null;
    let description = `${args.name} cannot be watched: registers, C variables in a register of the innermost frame or in a stack frame or the packet, and packet bytes can`;
    if (s && ref?.kind === 'registers' && /^r(\d|10)$/.test(args.name)) {
      [dataId, description] = [`reg:${args.name.slice(1)}`, `${args.name} written`];
    } else if (s && ref?.kind === 'hex' && /^[0-9a-f]+$/.test(args.name)) {
      const off = parseInt(args.name, 16);
      const len = Math.min(16, s.buff.dataEnd - s.buff.data - off);
      [dataId, description] = [`mem:${REGION_PACKET}:${s.buff.data + off}:${len}`, `packet bytes ${off}-${off + len - 1} written`];
    } else if (s && ref?.kind === 'map') {
      const e = (s.maps[ref.name] ?? []).find((x) => this.mapEntryName(ref.name, x) === args.name);
      if (e) [dataId, description] = [`map:${e.key}:${ref.name}`, `${ref.name}${args.name} written`];
    } else if (s && (ref?.kind === 'locals' || ref?.kind === 'c')) {
      const c = (ref.kind === 'locals' ? this.locals(s, ref.frame) : childrenOf(s, ref.value)).find((x) => x.name === args.name);
      const size = c && (c.type.kind === 'pointer' ? 8 : c.type.size);
      if (c && !c.unavailable && c.reg !== undefined && (c.frame ?? 0) === 0) [dataId, description] = [`reg:${c.reg}`, `${c.name} (in r${c.reg} here) written`];
      else if (c && !c.unavailable && c.addr !== undefined && size && size <= 64) {
        const region = regionOf(c.addr);
        if (region === REGION_PACKET || (region >= REGION_STACK0 && region < REGION_STACK0 + MAX_FRAMES)) [dataId, description] = [`mem:${region}:${offsetOf(c.addr)}:${size}`, `${c.name} (${describeValue(s, c.addr)}, ${size} bytes) written`];
      } else if (c?.unavailable) description = `${c.name} cannot be watched here: ${c.unavailable}`;
    }
    response.body = { dataId, description, accessTypes: ['write'], canPersist: false };
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    const list = args.breakpoints.map((b) => ({ b, watch: parseDataId(b.dataId) }));
    const bound = this.engine ? this.engine.setDataBreakpoints(list.filter((x) => x.watch).map(({ b, watch }) => ({ watch: watch!, condition: b.condition, hitCondition: b.hitCondition }))) : [];
    let i = 0;
    response.body = {
      breakpoints: list.map(({ watch }) => {
        if (!watch) return { verified: false, message: 'not a data breakpoint of this debugger' } as DebugProtocol.Breakpoint;
        const b = bound[i++];
        return { id: b?.id, verified: !!b?.verified, ...(b?.message ? { message: b.message } : {}) } as DebugProtocol.Breakpoint;
      }),
    };
    this.sendResponse(response);
  }

  private bp(b: { id: number; verified: boolean; line?: number; message?: string }, file: string): DebugProtocol.Breakpoint {
    const bp = new Breakpoint(b.verified, b.line, undefined, new Source(basename(file), file)) as DebugProtocol.Breakpoint;
    bp.id = b.id;
    if (b.message) bp.message = b.message;
    return bp;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Execution control

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.run(response, () => this.engine!.continue());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.run(response, () => this.engine!.step(args.granularity === 'instruction' ? 'instruction' : 'over'));
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.run(response, () => this.engine!.step(args.granularity === 'instruction' ? 'instruction' : 'into'));
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.run(response, () => this.engine!.step('out'));
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.run(response, () => this.engine!.stepBack(args.granularity === 'instruction' ? 'instruction' : 'over'));
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.run(response, () => this.engine!.reverseContinue());
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response); // runs are synchronous: the program is always stopped between requests
  }

  // ---------------------------------------------------------------------------------------------------------------
  // State

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse): void {
    const s = this.engine?.current;
    const frames = (s?.frames ?? []).map((f, i) => {
      const sf = new StackFrame(i + 1, f.name, f.loc ? new Source(basename(f.loc.file), this.sourcePath(f.loc.file)) : undefined, f.loc?.line ?? 0, f.loc?.column || 1) as DebugProtocol.StackFrame;
      sf.instructionPointerReference = `${f.program}:${f.pc}`;
      return sf;
    });
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  /** Line info names files as clang saw them (relative to where it ran): resolve against the program's directory. */
  private sourcePath(file: string): string {
    if (file.startsWith('/')) return file;
    if (basename(file) === basename(this.programPath)) return this.programPath;
    return resolve(this.programPath, '..', file);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const s = this.engine?.current;
    const frame = s?.frames[args.frameId - 1];
    const scopes: Scope[] = [];
    if (s && frame) {
      if (this.debugInfo?.fn(frame.name)) scopes.push(new Scope('Locals', this.refs.create({ kind: 'locals', frame: args.frameId - 1 }), false));
      scopes.push(new Scope(args.frameId === 1 ? 'Registers' : 'Registers (of the innermost frame)', this.refs.create({ kind: 'registers' }), false));
      scopes.push(new Scope(`Stack (frame ${frame.depth}: ${frame.name})`, this.refs.create({ kind: 'stack', depth: frame.depth }), false));
      scopes.push(new Scope('Packet', this.refs.create({ kind: 'packet' }), false));
      scopes.push(new Scope('Context (struct xdp_md)', this.refs.create({ kind: 'ctx' }), false));
      scopes.push(new Scope('Maps', this.refs.create({ kind: 'maps' }), true));
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const s = this.engine?.current;
    const ref = this.refs.get(args.variablesReference);
    response.body = { variables: s && ref ? this.variables(s, ref) : [] };
    this.sendResponse(response);
  }

  private variables(s: Snapshot, ref: VarRef): DebugProtocol.Variable[] {
    const v = (name: string, value: string, type?: string, variablesReference = 0): DebugProtocol.Variable => ({ name, value, variablesReference, ...(type ? { type } : {}) });
    switch (ref.kind) {
      case 'locals':
        return this.locals(s, ref.frame).map((c) => this.cvar(s, c));
      case 'c':
        return childrenOf(s, ref.value).map((c) => this.cvar(s, c));
      case 'registers':
        return s.regs.map((r, i) => {
          const what = describeValue(s, r);
          return v(`r${i}`, what === 'scalar' ? formatScalar(r) : `${what} (0x${r.toString(16)})`, what === 'scalar' ? 'scalar' : what.split(':')[0]);
        });
      case 'ctx': {
        const b = s.buff;
        return [
          v('data', 'packet pointer: data + 0', '__u32'),
          v('data_end', `packet pointer: data + ${b.dataEnd - b.data}`, '__u32'),
          v('data_meta', `packet pointer: data ${b.dataMeta - b.data >= 0 ? '+' : '-'} ${Math.abs(b.dataMeta - b.data)}`, '__u32'),
          v('ingress_ifindex', String(b.ingressIfindex), '__u32'),
          v('rx_queue_index', String(b.rxQueueIndex), '__u32'),
          v('egress_ifindex', String(b.egressIfindex), '__u32'),
        ];
      }
      case 'packet': {
        const bytes = packetBytesOf(s);
        const changed = changedCount(s.original, bytes);
        return [
          v('summary', summarize(bytes)),
          v('length', String(bytes.length), 'bytes'),
          v('changed', changed === 0 ? 'no byte changed so far' : `${changed} byte(s) changed so far (marked * in hex)`),
          v('layers', `${packetLayers(bytes).length} layer(s)`, undefined, this.refs.create({ kind: 'layers' })),
          v('hex', `${bytes.length} bytes`, undefined, this.refs.create({ kind: 'hex' })),
          v('verdict of this packet', `${s.result.action} (${s.result.outcome})`),
        ];
      }
      case 'layers':
        return packetLayers(packetBytesOf(s)).map((l) => v(l.name, l.fields.map(([k, x]) => `${k} ${x}`).join(', ')));
      case 'hex':
        return hexLines(s.original, packetBytesOf(s)).map(([off, text]) => v(off, text));
      case 'stack': {
        const region = s.regions.find((r) => r.id === REGION_STACK0 + ref.depth - 1);
        if (!region) return [];
        const out: DebugProtocol.Variable[] = [];
        for (let off = STACK_SIZE - 8; off >= 0; off -= 8) {
          const slot = region.bytes.subarray(off, off + 8);
          if (slot.every((b) => b === 0)) continue;
          const value = new DataView(slot.buffer, slot.byteOffset, 8).getBigUint64(0, true);
          const what = describeValue(s, value);
          out.push(v(`r10-${STACK_SIZE - off}`, what === 'scalar' ? `${formatScalar(value)}  [${[...slot].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]` : what, 'u64'));
        }
        return out.length ? out : [v('(empty)', 'nothing written in this frame')];
      }
      case 'maps':
        return Object.entries(s.maps).map(([name, entries]) => v(name, `${(entries as unknown[]).length} entr${(entries as unknown[]).length === 1 ? 'y' : 'ies'}`, 'map', this.refs.create({ kind: 'map', name })));
      case 'map': {
        // Keys and values decoded through the map's BTF types; a struct value (or a per-CPU value) expands.
        const f = this.mapFormats?.(ref.name);
        const unhex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
        return (s.maps[ref.name] ?? []).map((e) => {
          if (!f) return v(`[${e.key}]`, e.value ?? e.values?.join(' ') ?? e.program ?? e.map ?? '');
          const t = entryText(f, e);
          const trees = e.program !== undefined || e.map !== undefined ? [] : (e.values ?? [e.value ?? '']).map((h, i) => ({ name: e.values ? `cpu${i}` : 'value', node: f.valueTree(unhex(h)) }));
          const expand = e.values ? trees : trees[0]?.node.children?.length ? trees[0].node.children.map((c) => ({ name: c.name ?? '', node: c })) : [];
          return v(`[${t.key}]`, t.value, trees[0]?.node.type || undefined, expand.length ? this.refs.create({ kind: 'btf', nodes: expand }) : undefined);
        });
      }
      case 'btf':
        return ref.nodes.map(({ name, node }) => {
          const kids = node.children?.map((c) => ({ name: c.name ?? '', node: c })) ?? [];
          return v(name, node.text, node.type || undefined, kids.length ? this.refs.create({ kind: 'btf', nodes: kids }) : undefined);
        });
    }
  }

  /** The name a map entry has in the Maps scope (`[key]`, the key decoded through BTF when the map has a format). */
  private mapEntryName(map: string, e: MapJsonEntry): string {
    const f = this.mapFormats?.(map);
    return `[${f ? entryText(f, e).key : e.key}]`;
  }

  private locals(s: Snapshot, frame: number): CValue[] {
    const f = s.frames[frame];
    const program = f && this.engine?.programNamed(f.program);
    return f && program && this.debugInfo ? this.debugInfo.locals(s, frame, program) : [];
  }

  private cvar(s: Snapshot, c: CValue): DebugProtocol.Variable {
    return {
      name: c.name,
      value: formatCValue(s, c),
      type: c.type.name,
      variablesReference: expandable(s, c) ? this.refs.create({ kind: 'c', value: c }) : 0,
    };
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const e = this.engine;
    const ref = this.refs.get(args.variablesReference);
    try {
      if (!e?.current || !ref) throw new DebugError('not stopped');
      let s: Snapshot;
      if (ref.kind === 'registers' && /^r\d$/.test(args.name)) {
        s = e.setRegister(Number(args.name.slice(1)), evaluate(args.value, snapshotScope(e.current)));
        response.body = { value: this.variables(s, ref).find((v) => v.name === args.name)!.value };
      } else if (ref.kind === 'hex' && /^[0-9a-f]+$/.test(args.name)) {
        const bytes = args.value.replace(/\*/g, ' ').trim().split(/\s+/).map((b) => (/^[0-9a-fA-F]{1,2}$/.test(b) ? parseInt(b, 16) : NaN));
        if (bytes.some(Number.isNaN)) throw new DebugError(`'${args.value}' is not hex bytes (e.g. 0a ff 00)`);
        s = e.setPacketBytes(parseInt(args.name, 16), Uint8Array.from(bytes));
        response.body = { value: this.variables(s, ref).find((v) => v.name === args.name)?.value ?? args.value };
      } else if (ref.kind === 'locals' || ref.kind === 'c') {
        // A C variable, a member or an element: through its DWARF location (a register of its frame, or memory).
        const cur = e.current;
        const list = ref.kind === 'locals' ? this.locals(cur, ref.frame) : childrenOf(cur, ref.value);
        const c = list.find((x) => x.name === args.name);
        if (!c) throw new DebugError(`no variable ${args.name} here`);
        const plan = assignment(c, this.evaluateIn(cur, ref.kind === 'locals' ? ref.frame : 0, args.value));
        if (typeof plan === 'string') throw new DebugError(plan);
        s = plan.kind === 'register' ? e.setFrameRegister(plan.frame, plan.reg, plan.value) : e.setMemory(plan.addr, plan.bytes);
        const again = (ref.kind === 'locals' ? this.locals(s, ref.frame) : childrenOf(s, ref.value)).find((x) => x.name === args.name);
        response.body = { value: again ? formatCValue(s, again) : args.value };
      } else throw new DebugError(`${args.name} cannot be changed here: C variables (Locals), registers r0-r9 and packet bytes (Packet > hex) can`);
      this.refs.reset();
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    } catch (err) {
      if (!(err instanceof DebugError) && !(err instanceof ExprError)) throw err;
      this.sendErrorResponse(response, { id: 4, format: err.message.replace(/[{}]/g, ''), showUser: true });
    }
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const s = this.engine?.current;
    if (!s) {
      this.sendErrorResponse(response, { id: 2, format: 'not stopped', showUser: false });
      return;
    }
    try {
      const value = this.evaluateIn(s, (args.frameId ?? 1) - 1, args.expression);
      const what = describeValue(s, value);
      response.body = { result: what === 'scalar' ? formatScalar(value) : `${what} (0x${value.toString(16)})`, variablesReference: 0 };
      this.sendResponse(response);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      this.sendErrorResponse(response, { id: 3, format: e.message, showUser: args.context === 'repl' });
    }
  }

  /** A C-like expression over a snapshot: registers, packet, ctx, and the C variables of a frame (0: innermost). */
  private evaluateIn(s: Snapshot, frame: number, expression: string): bigint {
    const locals = this.locals(s, frame);
    const scope = snapshotScope(s, (id) => {
      const c = locals.find((x) => x.name === id);
      return c ? scalarOf(s, c) ?? c.addr : undefined;
    });
    const member = scope.member!;
    scope.member = (base, field) => member(base, field) ?? memberOf(s, locals, base, field);
    return evaluate(expression, scope);
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    const e = this.engine;
    if (!e) {
      this.sendErrorResponse(response, { id: 5, format: 'nothing is loaded yet (launch first)', showUser: false });
      return;
    }
    const { program, pc } = parseRef(args.memoryReference, e.program.name);
    const p = e.programNamed(program) ?? e.program;
    const first = pc + (args.instructionOffset ?? 0);
    const out: DebugProtocol.DisassembledInstruction[] = [];
    let lastLine: number | undefined;
    for (let i = 0; i < args.instructionCount; i++) {
      const at = first + i;
      if (at < 0 || at >= p.insns.length) {
        out.push({ address: `${p.name}:${at}`, instruction: '', presentationHint: 'invalid' } as DebugProtocol.DisassembledInstruction);
        continue;
      }
      const info = opcodeInfo(p.insns[at].opcode);
      const loc = p.lines[at];
      const ins: DebugProtocol.DisassembledInstruction = {
        address: `${p.name}:${at}`,
        instruction: info ? disassembleInsn(p.insns[at], at, { kfuncNames: p.kfuncs?.map((k) => k.name) }) : '(second half of lddw)',
        instructionBytes: p.insns[at].opcode.toString(16).padStart(2, '0'),
      };
      if (loc && loc.line !== lastLine) {
        ins.location = new Source(basename(loc.file), this.sourcePath(loc.file));
        ins.line = loc.line;
        ins.symbol = loc.text?.trim();
      }
      lastLine = loc?.line;
      out.push(ins);
    }
    response.body = { instructions: out };
    this.sendResponse(response);
  }
}

/** A data breakpoint id from dataBreakpointInfoRequest: `reg:N` or `mem:REGION:OFFSET:SIZE`. */
function parseDataId(id: string): DataWatch | undefined {
  const map = /^map:([0-9a-f]*):(.+)$/.exec(id);
  if (map) return { kind: 'map', map: map[2], key: map[1] };
  let m = /^reg:(\d+)$/.exec(id);
  if (m) return { kind: 'register', reg: Number(m[1]) };
  m = /^mem:(\d+):(\d+):(\d+)$/.exec(id);
  return m ? { kind: 'memory', region: Number(m[1]), off: Number(m[2]), size: Number(m[3]) } : undefined;
}

/** `program:pc` (an instruction pointer reference); a bare number is a slot of the entry program. */
function parseRef(ref: string, entry: string): { program: string; pc: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(ref);
  return m ? { program: m[1] || entry, pc: Number(m[2]) } : { program: entry, pc: 0 };
}

function changedCount(before: Uint8Array, after: Uint8Array): number {
  let n = Math.abs(before.length - after.length);
  for (let i = 0; i < Math.min(before.length, after.length); i++) if (before[i] !== after[i]) n++;
  return n;
}

/** 16 bytes a line; a byte that differs from the packet as it arrived is followed by `*`. */
function hexLines(before: Uint8Array, after: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  for (let o = 0; o < after.length; o += 16) {
    const parts: string[] = [];
    for (let i = o; i < Math.min(o + 16, after.length); i++) parts.push(after[i].toString(16).padStart(2, '0') + (before[i] !== after[i] ? '*' : ''));
    out.push([o.toString(16).padStart(4, '0'), parts.join(' ')]);
  }
  return out;
}

export { readSnapshot };

/** What a path is when it exists and is not a regular file or a directory (those are reported where they are read). */
function fileKind(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return undefined;
}

/** `xdp-lens debug-adapter`: DAP on stdin/stdout until the client disconnects. */
export function runDebugAdapter(): void {
  const session = new XdpDebugSession();
  process.on('SIGTERM', () => session.shutdown());
  session.start(process.stdin, process.stdout);
}
