// `xdp-lens`: the headless front end. `run` simulates a program on a capture; `check` analyses C sources.
// Output formats named here (`--format jsonl`, `--format json`) are contracts other tools depend on: extend them
// compatibly, never change existing keys.
import { readFileSync, writeSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { Session, XdpLensError, loadProgramFile, loadProgramFileWithObject, ACTIONS } from './session.ts';
import { compareWithKernel, formatComparison } from './kernel-compare.ts';
import { Driver, type DriverPacket } from './driver/rx.ts';
import { PROFILES, DEFAULT_PROFILE, DRIVER_MODES, MODE_EXPLANATIONS, type DriverMode } from './driver/profiles.ts';
import { OutputCaptures } from './driver/output.ts';
import { rssQueueOf } from './driver/rss.ts';
import { openCapture, CaptureError, type CapturedPacket } from './net/capture.ts';
import { summarize } from './net/dissect.ts';
import { ReturnLines } from './return-lines.ts';
import { analyzeFile } from './analysis/index.ts';
import { formatJson, formatSarif, formatText, REPORT_FORMATS, type ReportFormat } from './analysis/report.ts';
import type { Finding } from './analysis/findings.ts';
import type { FibRoute } from './vm/types.ts';

const USAGE = `Usage:
  xdp-lens run PROGRAM CAPTURE [options]     run an XDP program (.c or .o) on a pcap/pcapng capture
  xdp-lens check FILE... [options]           report return-code misuse and writes to read-only memory
  xdp-lens compare PROGRAM CAPTURE [options] run the first packets through the kernel (BPF_PROG_TEST_RUN, via
                                             bpftool, as root) and the simulator; verdicts and bytes side by side
  xdp-lens help

Options for run:
  --program NAME        program to run (function or section name); default: the first XDP program
  --format table|jsonl  output format (default: table)
  --data                jsonl: add "data", the packet from data to data_end after the program ran (hex)
  --maps FILE.json      initial map contents, in the schema of the jsonl output's "maps"
  --routes FILE.json    routing table for bpf_fib_lookup: [{"family":"inet","prefix":"10.0.0.0/8","ifindex":2,...}]
  --budget N            instructions per packet before the run is stopped (default 1000000)
  --seed N              seed for bpf_get_prandom_u32 (default 1)
  --cpus N              number of simulated CPUs for per-CPU maps (default 1)
  --limit N             stop after N packets
  --driver MODE         native (default) | readonly-page | generic: how the modelled driver treats the page
  --profile NAME        receive-buffer geometry: mlx5 (default: 256 B headroom, 4096 B frames) | i40e (192 B, 2048 B)
  --queues N            RX queues; packets are spread by an RSS (Toeplitz) hash, one simulated CPU per queue
  --exit-lines return|exit
                        return (default for C sources): credit each packet to the return statement it left through
                        (found with a marked twin of the program run in lockstep); exit: the exit instruction's line
  --out-dir DIR         write one pcap per action (xdp_pass.pcap, xdp_drop.pcap, ...) with the packets as they left
                        the program; redirected packets also per target
  -I DIR                extra include directory for clang (repeatable)
  --cflag FLAG          extra clang flag (repeatable)

Options for compare (exit status 1 when a packet or a map differs, 2 when the kernel cannot run the program):
  --limit N             packets to compare (default 200); --program, -I, --cflag as for run
  --format text|json    text (default) or one JSON object with every row

Options for check (exit status 1 when any finding is an error, 2 on bad usage):
  --format text|json|sarif  text (default): file:line:col: severity: message [rule]; json: an array of
                        {file,line,column,endLine,endColumn,severity,rule,message} (1-based); sarif: SARIF 2.1.0
  --driver MODE         native (default) | readonly-page | generic (readonly-page reports packet writes)
  --source-only         skip the bytecode tier (no clang)
  --kernel              also load the object into the running kernel and report what its verifier refuses, on the
                        line its log names (needs root, bpftool and a mounted bpffs; a note says when it cannot run)
  --compile-commands F  take include directories and defines from a compile_commands.json
  -I DIR, --cflag FLAG  as for run
`;

/**
 * stdout, buffered and written synchronously in 64 KiB blocks (a write per packet would cost more than the packet),
 * so that piping into `head` or a slow reader never loses or reorders output. `err` flushes first, so a terminal
 * showing both streams sees them in order.
 */
let pending: string[] = [];
let pendingBytes = 0;
function out(line: string): void {
  pending.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= 1 << 16) flush();
}

function flush(): void {
  if (!pending.length) return;
  const buf = Buffer.from(pending.join('\n') + '\n');
  pending = [];
  pendingBytes = 0;
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') throw e;
    }
  }
}

function err(text: string): void {
  flush();
  process.stderr.write(text);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new XdpLensError(`cannot read ${what} file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new XdpLensError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

function formatTs(tsNs: bigint): string {
  const s = tsNs / 1_000_000_000n;
  const ns = tsNs % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

function intOpt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new XdpLensError(`--${name} takes a non-negative whole number, not '${v}'`);
  return n;
}

function cmdRun(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      format: { type: 'string', default: 'table' },
      data: { type: 'boolean', default: false },
      maps: { type: 'string' },
      routes: { type: 'string' },
      budget: { type: 'string' },
      seed: { type: 'string' },
      cpus: { type: 'string' },
      limit: { type: 'string' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
      driver: { type: 'string', default: 'native' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      queues: { type: 'string' },
      'out-dir': { type: 'string' },
      'exit-lines': { type: 'string', default: 'return' },
    },
  });
  if (positionals.length !== 2) throw new XdpLensError(`run takes PROGRAM and CAPTURE\n\n${USAGE}`);
  if (values['exit-lines'] !== 'return' && values['exit-lines'] !== 'exit')
    throw new XdpLensError(`--exit-lines is return or exit, not '${values['exit-lines']}'`);
  const [programPath, capturePath] = positionals;
  const format = values.format;
  if (format !== 'table' && format !== 'jsonl') throw new XdpLensError(`--format is table or jsonl, not '${format}'`);

  const mode = values.driver as DriverMode;
  if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`--driver is one of ${DRIVER_MODES.join(', ')}, not '${values.driver}'`);
  const profile = PROFILES[values.profile ?? DEFAULT_PROFILE];
  if (!profile) throw new XdpLensError(`--profile is one of ${Object.keys(PROFILES).join(', ')}, not '${values.profile}'`);
  const queues = Math.max(1, intOpt(values.queues, 'queues', 1));

  const obj = loadProgramFile(programPath, { includeDirs: values.I, clangFlags: values.cflag });
  const maps = values.maps ? readJson(values.maps, '--maps') : undefined;
  const routes = values.routes ? (readJson(values.routes, '--routes') as FibRoute[]) : undefined;
  const makeSession = (o: typeof obj) =>
    new Session(o, {
      program: values.program,
      maps,
      mapsFile: values.maps,
      routes,
      budget: values.budget ? intOpt(values.budget, 'budget', 1_000_000) : undefined,
      seed: intOpt(values.seed, 'seed', 1),
      nrCpus: Math.max(queues, intOpt(values.cpus, 'cpus', 1)),
    });
  const driverOpts = { mode, profile, queues, queueOf: queues > 1 ? rssQueueOf : undefined };
  const session = makeSession(obj);
  const driver = new Driver(session, driverOpts);
  // The return statement each packet left through (see return-lines.ts); C sources only.
  let returns: { lines: ReturnLines; text: string[] } | undefined;
  if (values['exit-lines'] === 'return' && extname(programPath) === '.c') {
    const source = readFileSync(programPath, 'utf8');
    const t = ReturnLines.create(programPath, source, { includeDirs: values.I, flags: values.cflag }, (o) => {
      const s = makeSession(o);
      return { session: s, driver: new Driver(s, driverOpts) };
    });
    if (typeof t === 'string') err(`xdp-lens: return lines unavailable, exits are shown at the exit instruction: ${t}\n`);
    else returns = { lines: t, text: source.split('\n') };
  }
  const returnLineOf = (pkt: CapturedPacket, r: DriverPacket): ReturnLoc | undefined => {
    const line = returns?.lines.lineFor(pkt.frame, pkt.tsNs, r);
    if (line === undefined) return undefined;
    const text = returns!.text[line - 1] ?? '';
    return { file: r.run.exitLoc?.file ?? programPath, line, column: Math.max(0, text.search(/\breturn\b/)) + 1 };
  };
  const outputs = values['out-dir'] ? new OutputCaptures(values['out-dir']) : undefined;
  const limit = values.limit !== undefined ? intOpt(values.limit, 'limit', 0) : Infinity;

  const counts = new Map<string, number>(ACTIONS.map((a) => [a, 0]));
  let packets = 0;
  let faults = 0;
  let invalid = 0;
  let truncated = 0;
  let firstTs: bigint | undefined;
  let captureError: CaptureError | undefined;

  if (format === 'table') {
    out(`program ${session.program.name} (section ${session.program.section}) from ${programPath}; capture ${capturePath}`);
    out(`driver ${MODE_EXPLANATIONS[mode]}`);
    out(`profile ${profile.name}: ${profile.description}${queues > 1 ? `; ${queues} RX queues spread by RSS` : ''}`);
    out('');
    out(`${'#'.padStart(6)}  ${'time'.padEnd(12)} ${'len'.padStart(5)}  ${'summary'.padEnd(58)} ${'action'.padEnd(13)} exit`);
  }

  const reader = openCapture(capturePath);
  try {
    for (;;) {
      if (packets >= limit) break;
      let pkt: CapturedPacket | undefined;
      try {
        pkt = reader.next();
      } catch (e) {
        if (e instanceof CaptureError) {
          captureError = e;
          break;
        }
        throw e;
      }
      if (!pkt) break;
      const t0 = (firstTs ??= pkt.tsNs);
      const r = driver.receive(pkt.frame, pkt.tsNs);
      const ret = returnLineOf(pkt, r);
      outputs?.write(pkt, r);
      packets++;
      counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
      if (r.fault) faults++;
      if (r.invalidAction) invalid++;
      if (pkt.truncated) truncated++;
      if (format === 'jsonl') out(JSON.stringify(packetRecord(pkt, r, values.data, ret)));
      else out(tableRow(pkt, r, pkt.tsNs - t0, ret));
    }
  } finally {
    reader.close();
    driver.finish();
    returns?.lines.finish();
    outputs?.close();
  }

  const summary = {
    program: session.program.name,
    section: session.program.section,
    packets,
    actions: Object.fromEntries(counts),
    faults,
    invalidActions: invalid,
    truncated,
    driver: { mode, profile: profile.name, queues, counters: driver.stats() },
    ...(outputs ? { outputs: outputs.files() } : {}),
    ...(captureError ? { captureError: captureError.message } : {}),
  };
  if (format === 'jsonl') {
    out(JSON.stringify({ summary, maps: session.mapsJson() }));
  } else {
    const parts = ACTIONS.filter((a) => (counts.get(a) ?? 0) > 0).map((a) => `${a} ${counts.get(a)}`);
    out('');
    out(`${packets} packets: ${parts.join(', ') || 'none'}`);
    if (invalid) out(`${invalid} returned a value that is not an XDP action: the driver warns once and drops them (counted as XDP_ABORTED)`);
    if (faults) out(`${faults} faulted (counted as XDP_ABORTED); the kernel verifier would have rejected the program`);
    const c = driver.stats();
    out(`driver: ${Object.entries(c).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (outputs) out(`output captures: ${outputs.files().join(', ')}`);
    if (truncated) out(`${truncated} were captured shorter than on the wire (snap length) and ran as captured`);
  }
  if (captureError) {
    err(`xdp-lens: ${captureError.message}\n`);
    return 2;
  }
  return 0;
}

interface ReturnLoc {
  file: string;
  line: number;
  column: number;
}

/** Where the packet left: the faulting instruction, else the return statement, else the exit instruction. */
function exitLocation(r: DriverPacket, ret?: ReturnLoc): { file?: string; line?: number; column?: number; exitLine?: number } {
  if (!r.fault && ret) return { ...ret, ...(r.run.exitLoc && r.run.exitLoc.line !== ret.line ? { exitLine: r.run.exitLoc.line } : {}) };
  const loc = r.fault?.loc ?? r.run.exitLoc;
  if (!loc) return {};
  return { file: loc.file, line: loc.line, column: loc.column };
}

function packetRecord(pkt: CapturedPacket, r: DriverPacket, withData: boolean | undefined, ret?: ReturnLoc): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    packet: pkt.index,
    ts: formatTs(pkt.tsNs),
    len: pkt.wireLen,
    caplen: pkt.capLen,
    summary: summarize(pkt.frame),
    action: r.action,
    retval: r.retval,
    ...exitLocation(r, ret),
  };
  if (r.run.exitInsn >= 0) rec.insn = r.run.exitInsn;
  if (r.run.tailCalls > 0) rec.exitProgram = r.run.exitProgram;
  rec.path = r.path;
  if (r.queue) rec.queue = r.queue;
  if (r.copied) rec.copied = r.copied;
  if (r.target) rec.target = r.target;
  if (r.note) rec.note = r.note;
  if (pkt.truncated) rec.truncated = true;
  if (r.invalidAction) rec.invalidAction = true;
  if (r.fault) {
    const f = r.fault;
    rec.fault = { kind: f.kind, message: f.message, insn: f.insn, file: f.loc?.file, line: f.loc?.line };
  }
  if (r.run.redirect) rec.redirect = r.run.redirect;
  if (r.run.printk.length) rec.printk = r.run.printk;
  if (r.run.perf.length) rec.perf = r.run.perf;
  if (withData) rec.data = hex(r.out.subarray(r.metaLen));
  return rec;
}

function tableRow(pkt: CapturedPacket, r: DriverPacket, relNs: bigint, ret?: ReturnLoc): string {
  const t = (Number(relNs) / 1e9).toFixed(6);
  let summary = summarize(pkt.frame);
  if (summary.length > 58) summary = summary.slice(0, 57) + '…';
  const loc = r.fault?.loc ?? ret ?? r.run.exitLoc;
  const where = loc ? `${basename(loc.file)}:${loc.line}` : '';
  let action: string = r.action;
  if (r.invalidAction) action = `ret ${r.retval}!`;
  let line = `${String(pkt.index).padStart(6)}  ${t.padEnd(12)} ${String(pkt.wireLen).padStart(5)}  ${summary.padEnd(58)} ${action.padEnd(13)} ${where}`;
  if (r.fault) line += `\n        fault ${r.fault.kind} at insn ${r.fault.insn}: ${r.fault.message}`;
  if (r.invalidAction) line += `\n        returned ${r.retval}, not an XDP action: the driver drops it as XDP_ABORTED`;
  if (r.path !== 'build_skb' && r.path !== 'page_pool_recycle' && r.path !== 'xdp_tx') line += `\n        driver: ${r.path}${r.target ? ` -> ${r.target}` : ''}${r.note ? ` (${r.note})` : ''}`;
  else if (r.note) line += `\n        driver: ${r.note}`;
  for (const p of r.run.printk) line += `\n        printk: ${p}`;
  return line;
}

function cmdCompare(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string', default: 'text' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
    },
  });
  if (positionals.length !== 2) throw new XdpLensError(`compare takes PROGRAM and CAPTURE\n\n${USAGE}`);
  if (values.format !== 'text' && values.format !== 'json') throw new XdpLensError(`--format takes text or json, not '${values.format}'`);
  const [programPath, capturePath] = positionals as [string, string];
  const limit = intOpt(values.limit, 'limit', 200);
  const { object, objectPath } = loadProgramFileWithObject(programPath, { includeDirs: values.I, clangFlags: values.cflag });
  const frames: { frame: Uint8Array; tsNs: bigint }[] = [];
  const reader = openCapture(capturePath);
  let captureError: CaptureError | undefined;
  try {
    while (frames.length < limit) {
      const p = reader.next();
      if (!p) break;
      frames.push({ frame: p.frame, tsNs: p.tsNs });
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    captureError = e;
  } finally {
    reader.close();
  }
  const r = compareWithKernel(objectPath, object, frames, { program: values.program });
  if (values.format === 'json') out(JSON.stringify(r));
  else out(formatComparison(r, `${programPath} on ${capturePath}: simulator vs kernel`).trimEnd());
  if (captureError) err(`xdp-lens: ${captureError.message}\n`);
  if (!r.available) {
    err(`xdp-lens: ${r.reason}\n`);
    return 2;
  }
  return r.differing > 0 || r.mapsDiffering > 0 ? 1 : captureError ? 2 : 0;
}

async function cmdCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' },
      driver: { type: 'string', default: 'native' },
      'source-only': { type: 'boolean', default: false },
      kernel: { type: 'boolean', default: false },
      'compile-commands': { type: 'string' },
      I: { type: 'string', short: 'I', multiple: true },
      cflag: { type: 'string', multiple: true },
    },
  });
  if (positionals.length === 0) throw new XdpLensError(`check takes one or more C files\n\n${USAGE}`);
  const format = values.format as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new XdpLensError(`--format takes ${REPORT_FORMATS.join(', ')}, not '${values.format}'`);
  const mode = values.driver as DriverMode;
  if (!DRIVER_MODES.includes(mode)) throw new XdpLensError(`--driver takes ${DRIVER_MODES.join(', ')}, not '${values.driver}'`);
  const findings: Finding[] = [];
  const notes = new Set<string>();
  for (const file of positionals) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new XdpLensError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const r = await analyzeFile(file, text, {
      driverMode: mode,
      bytecode: !values['source-only'],
      includeDirs: values.I,
      flags: values.cflag,
      compileCommands: values['compile-commands'],
      kernel: values.kernel,
    });
    findings.push(...r.findings);
    for (const n of r.notes) notes.add(n);
  }
  for (const n of notes) err(`xdp-lens: ${n}\n`);
  if (format === 'json') out(formatJson(findings));
  else if (format === 'sarif') out(formatSarif(findings, { version: VERSION, baseDir: process.cwd() }));
  else if (findings.length) out(formatText(findings));
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/** Replaced at bundle time with package.json's version; the fallback serves runs from source. */
declare const __XDP_LENS_VERSION__: string | undefined;
const VERSION = typeof __XDP_LENS_VERSION__ === 'string' ? __XDP_LENS_VERSION__ : '0.0.0-dev';

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return cmdRun(rest);
      case 'check':
        return await cmdCheck(rest);
      case 'compare':
        return cmdCompare(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        err(`xdp-lens: unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof XdpLensError || e instanceof CaptureError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`xdp-lens: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    flush();
    process.exitCode = code;
  },
  (e) => {
    err(`xdp-lens: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 70;
  },
);
