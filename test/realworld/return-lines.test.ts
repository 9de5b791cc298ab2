// Return lines found the fast way (return-lines.ts: only the twin's program runs, on the compiled engine, its markers
// reported by the engines' onMark hook) are the lines the previous method found (the twin stepped one instruction at
// a time by the interpreter through a second full driver receive), packet by packet, for every XDP program of the
// real-world corpus (../shared/realworld) over the packet set of the real-world test, seeded as that test seeds it.
// Skipped with a reason when the corpus or clang is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Session, XdpLensError, loadProgramFile } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { MarkerTrail, ReturnLines, buildTwin, hookMachine } from '../../simulator/return-lines.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';
import type { DriverPacket } from '../../simulator/driver/rx.ts';
import { REALWORLD, corpusPrograms, linkPartners, packetSet, readCorpus, seedFor } from './corpus.ts';

const present = existsSync(join(REALWORLD, 'corpus.tsv'));
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !present ? `the real-world corpus is absent (${REALWORLD})` : !haveClang ? 'clang is not installed' : false;

/** corpus.tsv's flags are relative to the corpus directory (README.md: clang runs from there). */
function absoluteFlags(flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (f.startsWith('-I') && f.length > 2 && !isAbsolute(f.slice(2))) out.push(`-I${join(REALWORLD, f.slice(2))}`);
    else if (f === '-isystem' && i + 1 < flags.length && !isAbsolute(flags[i + 1]!)) out.push(f, join(REALWORLD, flags[++i]!));
    else out.push(f);
  }
  return out;
}

/** The previous method, kept here as the reference: a full driver receive of the twin, stepped by the interpreter. */
function previousMethod(path: string, source: string, compile: { flags: string[] }, make: (o: LoadedObject) => { session: Session; driver: Driver }) {
  const twin = buildTwin(path, source, compile);
  if (typeof twin === 'string') return twin;
  const { session, driver } = make(twin.obj);
  const trail = new MarkerTrail(twin);
  hookMachine(session.machine, () => ({ onStep: (program, pc) => trail.hooks.onMark!(program, pc) }));
  return (frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined => {
    trail.begin();
    const shadow = driver.receive(frame, tsNs);
    if (shadow.action !== real.action || real.fault) return undefined;
    return trail.exitLine(shadow.run.exitProgram);
  };
}

test('return lines equal those of the previous twin method on the real-world corpus', { skip, timeout: 1_800_000 }, (t) => {
  const { frames } = packetSet();
  let programs = 0;
  let lines = 0;
  for (const { row, program } of corpusPrograms(readCorpus())) {
    if (linkPartners(row).length) continue; // built from several sources: no single source to mark
    const path = join(REALWORLD, row.path);
    const source = readFileSync(path, 'utf8');
    const compile = { flags: absoluteFlags(row.flags) };
    const seed = seedFor(row, program);
    const make = (o: LoadedObject) => {
      const innerMaps = Object.fromEntries(o.maps.filter((m) => (m.type === 12 || m.type === 13) && !m.inner).map((m) => [m.name, { type: 2, keySize: 4, valueSize: 4, maxEntries: 1 }]));
      const session = new Session(o, { program, maps: seed?.maps, mapsFile: seed?.path, innerMaps, engine: 'interp' });
      return { session, driver: new Driver(session, { mode: 'native', profile: PROFILES.mlx5, queues: 1 }) };
    };
    let real: ReturnType<typeof make>;
    try {
      real = make(loadProgramFile(path, compile));
    } catch (e) {
      if (!(e instanceof XdpLensError)) throw e;
      t.diagnostic(`${row.path} ${program}: not loaded (${e.message.split('\n')[0]})`);
      continue;
    }
    const fast = ReturnLines.create(path, source, compile, make);
    const previous = previousMethod(path, source, compile, make);
    assert.equal(typeof fast === 'string', typeof previous === 'string', `${row.path} ${program}: the twin is available to both methods or to neither`);
    if (typeof fast === 'string' || typeof previous === 'string') {
      t.diagnostic(`${row.path} ${program}: no twin (${String(fast).split('\n')[0]})`);
      continue;
    }
    programs++;
    frames.forEach((f, i) => {
      const tsNs = f.tsNs ?? BigInt(i) * 1000n;
      const r = real.driver.receive(f.bytes, tsNs);
      const a = fast.lineFor(f.bytes, tsNs, r);
      const b = previous(f.bytes, tsNs, r);
      assert.equal(a, b, `${row.path} ${program}, packet ${i} (${f.name})`);
      if (a !== undefined) lines++;
    });
  }
  t.diagnostic(`${programs} programs, ${frames.length} packets each, ${lines} return lines compared`);
  assert.ok(programs >= 10 && lines > 0, `too little of the corpus ran (${programs} programs, ${lines} lines)`);
});
