// `xdp-lens`: the headless front end. `run` simulates a program on a capture; `check` analyses C sources.
// Output formats named here (`--format jsonl`, `--format json`) are contracts other tools depend on: extend them
// compatibly, never change existing keys.
import { readFileSync, writeSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Session, XdpLensError, loadProgramFile, ACTIONS, type PacketResult } from './session.ts';
import { openCapture, CaptureError, type CapturedPacket } from './net/capture.ts';
import { summarize } from './net/dissect.ts';
import type { FibRoute } from './vm/types.ts';

const USAGE = `Usage:
  xdp-lens run PROGRAM CAPTURE [options]     run an XDP program (.c or .o) on a pcap/pcapng capture
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
  -I DIR                extra include directory for clang (repeatable)
  --cflag FLAG          extra clang flag (repeatable)
`;

/** Writes to stdout synchronously so that piping into `head` or a slow reader never loses or reorders output. */
function out(line: string): void {
  try {
    writeSync(1, line + '\n');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
      out(line);
      return;
    }
    throw e;
  }
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
    },
  });
  if (positionals.length !== 2) throw new XdpLensError(`run takes PROGRAM and CAPTURE\n\n${USAGE}`);
  const [programPath, capturePath] = positionals;
  const format = values.format;
  if (format !== 'table' && format !== 'jsonl') throw new XdpLensError(`--format is table or jsonl, not '${format}'`);

  const obj = loadProgramFile(programPath, { includeDirs: values.I, clangFlags: values.cflag });
  const session = new Session(obj, {
    program: values.program,
    maps: values.maps ? readJson(values.maps, '--maps') : undefined,
    mapsFile: values.maps,
    routes: values.routes ? (readJson(values.routes, '--routes') as FibRoute[]) : undefined,
    budget: values.budget ? intOpt(values.budget, 'budget', 1_000_000) : undefined,
    seed: intOpt(values.seed, 'seed', 1),
    nrCpus: Math.max(1, intOpt(values.cpus, 'cpus', 1)),
  });
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
      firstTs ??= pkt.tsNs;
      const r = session.runPacket(pkt.frame, { tsNs: pkt.tsNs });
      packets++;
      counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
      if (r.fault) faults++;
      if (r.invalidAction) invalid++;
      if (pkt.truncated) truncated++;
      if (format === 'jsonl') out(JSON.stringify(packetRecord(pkt, r, values.data)));
      else out(tableRow(pkt, r, pkt.tsNs - firstTs));
    }
  } finally {
    reader.close();
  }

  const summary = {
    program: session.program.name,
    section: session.program.section,
    packets,
    actions: Object.fromEntries(counts),
    faults,
    invalidActions: invalid,
    truncated,
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
    if (truncated) out(`${truncated} were captured shorter than on the wire (snap length) and ran as captured`);
  }
  if (captureError) {
    process.stderr.write(`xdp-lens: ${captureError.message}\n`);
    return 2;
  }
  return 0;
}

function exitLocation(r: PacketResult): { file?: string; line?: number; column?: number } {
  const loc = r.fault?.loc ?? r.run.exitLoc;
  if (!loc) return {};
  return { file: loc.file, line: loc.line, column: loc.column };
}

function packetRecord(pkt: CapturedPacket, r: PacketResult, withData: boolean | undefined): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    packet: pkt.index,
    ts: formatTs(pkt.tsNs),
    len: pkt.wireLen,
    caplen: pkt.capLen,
    summary: summarize(pkt.frame),
    action: r.action,
    retval: r.retval,
    ...exitLocation(r),
  };
  if (r.run.exitInsn >= 0) rec.insn = r.run.exitInsn;
  if (r.run.exitProgram && r.run.exitProgram !== pkt.index.toString()) rec.exitProgram = r.run.exitProgram;
  if (pkt.truncated) rec.truncated = true;
  if (r.invalidAction) rec.invalidAction = true;
  if (r.fault) {
    const f = r.fault;
    rec.fault = { kind: f.kind, message: f.message, insn: f.insn, file: f.loc?.file, line: f.loc?.line };
  }
  if (r.run.redirect) rec.redirect = r.run.redirect;
  if (r.run.printk.length) rec.printk = r.run.printk;
  if (r.run.perf.length) rec.perf = r.run.perf;
  if (withData) rec.data = hex(r.data);
  return rec;
}

function tableRow(pkt: CapturedPacket, r: PacketResult, relNs: bigint): string {
  const t = (Number(relNs) / 1e9).toFixed(6);
  let summary = summarize(pkt.frame);
  if (summary.length > 58) summary = summary.slice(0, 57) + '…';
  const loc = r.fault?.loc ?? r.run.exitLoc;
  const where = loc ? `${basename(loc.file)}:${loc.line}` : '';
  let action: string = r.action;
  if (r.invalidAction) action = `ret ${r.retval}!`;
  let line = `${String(pkt.index).padStart(6)}  ${t.padEnd(12)} ${String(pkt.wireLen).padStart(5)}  ${summary.padEnd(58)} ${action.padEnd(13)} ${where}`;
  if (r.fault) line += `\n        fault ${r.fault.kind} at insn ${r.fault.insn}: ${r.fault.message}`;
  if (r.invalidAction) line += `\n        returned ${r.retval}, not an XDP action: the driver drops it as XDP_ABORTED`;
  for (const p of r.run.printk) line += `\n        printk: ${p}`;
  return line;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return cmdRun(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        process.stderr.write(`xdp-lens: unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof XdpLensError || e instanceof CaptureError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`xdp-lens: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

void relative;
process.exitCode = main(process.argv.slice(2));
