// Return lines cost no second stepped run, and change nothing else:
// - both engines report the twin's markers (RunHooks.onMark at `ja +0`) exactly where stepping the interpreter finds
//   them, so the twin may run on the compiled engine;
// - `run X.c --format jsonl` prints what `run X.o` prints for the object compiled from it, apart from where a packet
//   left: the return statement's line and column (and `exitLine`, the exit instruction's line, when it differs)
//   instead of the exit instruction's line and column, and so the summary's counts per exit line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO } from '../repo.ts';
import { compileC } from '../../simulator/compile.ts';
import { Session } from '../../simulator/session.ts';
import { buildTwin } from '../../simulator/return-lines.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { sharedPath } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const PROGRAMS = [
  'examples/xdp_filter.c', 'test/parity/programs/p01_parse_count.c', 'test/parity/programs/p03_icmp_echo.c',
  'test/parity/programs/p07_encap_ipip.c', 'test/driver/programs/verdict.c', 'test/driver/programs/redirect.c',
];

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('both engines report the return markers where the stepped interpreter finds them', { skip }, () => {
  const frames = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
  let marks = 0;
  for (const p of PROGRAMS) {
    const path = join(REPO, p);
    const twin = buildTwin(path, readFileSync(path, 'utf8'), {});
    assert.notEqual(typeof twin, 'string', `${p}: ${twin as string}`);
    if (typeof twin === 'string') continue;
    const sessions = { stepped: new Session(twin.obj, { engine: 'interp' }), interp: new Session(twin.obj, { engine: 'interp' }), compiled: new Session(twin.obj, { engine: 'interp' }) };
    const program = sessions.stepped.program;
    for (const bytes of frames) {
      const seen: Record<string, string[]> = { stepped: [], interp: [], compiled: [] };
      sessions.stepped.hooks = {
        onStep: (prog, pc) => {
          const insn = twin.obj.programs.find((x) => x.name === prog)!.insns[pc];
          if (insn?.opcode === 0x05 && insn.off === 0) seen.stepped!.push(`${prog}:${pc}`);
        },
      };
      sessions.interp.hooks = { engine: 'interp', onMark: (prog, pc) => seen.interp!.push(`${prog}:${pc}`) };
      sessions.compiled.hooks = { engine: 'compiled', onMark: (prog, pc) => seen.compiled!.push(`${prog}:${pc}`) };
      const results = Object.entries(sessions).map(([k, s]) => [k, s.runPacket(bytes)] as const);
      for (const [k, r] of results) assert.equal(r.retval, results[0]![1].retval, `${p} ${program.name} ${k}`);
      assert.deepEqual(seen.interp, seen.stepped, `${p}: interpreter marks`);
      assert.deepEqual(seen.compiled, seen.stepped, `${p}: compiled marks`);
      marks += seen.stepped!.length;
    }
  }
  assert.ok(marks > 0, 'no marker ran');
});

test('run from .c prints the jsonl of the .o apart from the return line', { skip }, () => {
  let moved = 0;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-c-vs-o-'));
  for (const p of PROGRAMS) {
    const c = compileC(join(REPO, p));
    assert.ok(c.objectPath, c.stderr);
    // Named after the source, as `run X.c` names the object (global data maps are named after it).
    const obj = join(dir, basename(p).replace(/\.c$/, '.o'));
    copyFileSync(c.objectPath!, obj);
    const fromC = cli(['run', p, CAPTURE, '--format', 'jsonl', '--data']);
    const fromO = cli(['run', obj, CAPTURE, '--format', 'jsonl', '--data']);
    assert.equal(fromC.status, 0, fromC.stderr);
    assert.equal(fromO.status, 0, fromO.stderr);
    const a = fromC.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const b = fromO.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a.length, b.length, p);
    a.forEach((ra, i) => {
      const rb = b[i]!;
      if (typeof ra.summary === 'object') {
        // The run statistics count packets per exit line: return lines from the .c, exit instructions from the .o.
        const exits = (x: Record<string, unknown>) => {
          const st = x.stats as { exits?: { count: number }[] } | undefined;
          const list = st?.exits ?? [];
          if (st) delete st.exits;
          return list.reduce((n, e) => n + e.count, 0);
        };
        assert.equal(exits(ra), exits(rb), `${p}: packets counted per exit line`);
        return assert.deepEqual(ra, rb, `${p}: summary line`);
      }
      const { line, column, exitLine, ...restA } = ra;
      const { line: lineO, column: _columnO, ...restB } = rb;
      assert.deepEqual(restA, restB, `${p}: packet ${ra.packet}`);
      assert.equal(exitLine ?? line, lineO, `${p}: packet ${ra.packet}: the exit instruction's line`);
      if (line !== lineO) moved++;
      void column;
    });
  }
  rmSync(dir, { recursive: true, force: true });
  assert.ok(moved > 0, 'no packet was attributed to a return line other than the exit line');
});
