// `xdp-lens run PROGRAM CAPTURE --save-tests FILE`: today's behaviour frozen as a regression suite, one case per
// distinct exit path (action, exit line, outcome, fault kind), the first packet that took it. Each case starts from the
// initial maps (`fresh: true`); the file is then run once, and a case that does not reproduce alone (its path depended
// on map state left by earlier packets) is left out and counted, so the suite passes as written.
import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { DriverPacket } from '../driver/rx.ts';
import { summarize } from '../net/dissect.ts';
import { XdpLensError } from '../session.ts';
import { runTestFile } from './runner.ts';

export interface SavedCase {
  key: string;
  name: string;
  frame: string;
  action: string;
  outcome: string;
  line?: number;
  fault?: string;
  /** Output bytes when the program changed the packet. */
  out?: string;
}

export interface SaveOptions {
  program: string;
  programName?: string;
  mapsFile?: string;
  driver: string;
  profile: string;
  seed: number;
  cflags?: string[];
  include?: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const q = (s: string) => JSON.stringify(s);

export class TestRecorder {
  readonly cases: SavedCase[] = [];
  private readonly seen = new Set<string>();

  add(index: number, frame: Uint8Array, r: DriverPacket, line: number | undefined): void {
    const key = `${r.action}|${line ?? ''}|${r.outcome}|${r.fault?.kind ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const out = hex(r.out.subarray(r.metaLen));
    const frameHex = hex(frame);
    this.cases.push({
      key,
      name: `${r.action}${line ? ` at line ${line}` : ''}${r.outcome.includes(':') ? ` (${r.outcome})` : ''}${r.fault ? ` fault ${r.fault.kind}` : ''}: packet ${index}, ${summarize(frame)}`,
      frame: frameHex,
      action: r.action,
      outcome: r.outcome,
      ...(line ? { line } : {}),
      ...(r.fault ? { fault: r.fault.kind } : {}),
      ...(out !== frameHex && !r.fault ? { out } : {}),
    });
  }

  private text(path: string, o: SaveOptions, cases: SavedCase[], from: string): string {
    // Relative to the test file when both live under the same top directory (a repository moves as a whole), else absolute.
    const top = (p: string) => resolve(p).split('/')[1];
    const rel = (p: string) => (top(p) === top(path) ? relative(dirname(resolve(path)), resolve(p)) || p : resolve(p));
    const lines = [
      `# Saved by xdp-lens run --save-tests from ${from}: one case per distinct exit path (action, exit line, outcome,`,
      '# fault), each from the initial maps. Run with: xdp-lens test ' + path,
      'program:',
      `  file: ${q(rel(o.program))}`,
      ...(o.programName ? [`  name: ${q(o.programName)}`] : []),
      ...(o.cflags?.length ? [`  cflags: [${o.cflags.map(q).join(', ')}]`] : []),
      ...(o.include?.length ? [`  include: [${o.include.map((i) => q(rel(i))).join(', ')}]`] : []),
      `  driver: ${o.driver}`,
      `  profile: ${o.profile}`,
      `  seed: ${o.seed}`,
      ...(o.mapsFile ? [`maps-file: ${q(rel(o.mapsFile))}`] : []),
      'cases:',
    ];
    for (const c of cases) {
      lines.push(`  - name: ${q(c.name)}`, '    fresh: true', `    hex: ${q(c.frame)}`, '    expect:', `      action: ${c.action}`, `      outcome: ${q(c.outcome)}`);
      if (c.line) lines.push(`      exit: ${c.line}`);
      lines.push(`      fault: ${c.fault ?? 'none'}`);
      if (c.out) lines.push('      packet:', `        hex: ${q(c.out)}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Writes the suite, runs it, and rewrites it without the cases that do not reproduce alone. */
  save(path: string, o: SaveOptions, from: string): { written: number; dropped: string[] } {
    if (!this.cases.length) throw new XdpLensError(`--save-tests ${path}: no packets ran, so there is nothing to save`);
    const write = (cases: SavedCase[]) => {
      try {
        writeFileSync(path, this.text(path, o, cases, from));
      } catch (e) {
        throw new XdpLensError(`--save-tests ${path}: cannot write the file: ${(e as Error).message}`);
      }
    };
    write(this.cases);
    const r = runTestFile(path);
    if (r.error) throw new XdpLensError(`--save-tests ${path}: the saved suite does not run: ${r.error.message}`);
    const failed = new Set(r.cases.filter((c) => c.status === 'fail').map((c) => c.name));
    if (!failed.size) return { written: this.cases.length, dropped: [] };
    const kept = this.cases.filter((c) => !failed.has(c.name));
    write(kept);
    return { written: kept.length, dropped: [...failed] };
  }
}
