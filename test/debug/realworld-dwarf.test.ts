// The real-world corpus (../shared/realworld) compiled twice, with clang's default DWARF 5 and with -gdwarf-4: where
// the code is the same, the C locals of every frame read the same through either at sampled positions of the first
// packets (up to 40 positions a packet, the packet's first and last among them). DWARF 4 and 5 encode location and
// range lists differently (.debug_loc/.debug_ranges against .debug_loclists/.debug_rnglists, base address entries,
// DW_OP_convert), so an error in either reader shows as a difference (one did: DWARF 5 offset pairs read against a
// function's start instead of the unit's base).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { DebugEngine, type Snapshot } from '../../simulator/debug/engine.ts';
import { DebugInfo, formatCValue } from '../../simulator/debug/locals.ts';
import { REALWORLD, compileRow, corpusPrograms, packetSet, readCorpus } from '../realworld/corpus.ts';

const present = existsSync(join(REALWORLD, 'corpus.tsv'));
const rows = present ? readCorpus() : [];
const PACKETS = 3;
const POSITIONS = 40;

test('real-world corpus present', (t) => {
  if (!present) t.skip(`no real-world corpus at ${REALWORLD} (set XDP_LENS_SHARED to the directory holding realworld/)`);
});

let frames: ReturnType<typeof packetSet>['frames'] | undefined;
type Loaded = ReturnType<typeof loadProgramFileWithObject>;

for (const { row, program } of corpusPrograms(rows)) {
  test(`DWARF 4 = DWARF 5 locals: ${row.path}#${program}`, (t) => {
    const v5 = compileRow(row);
    const v4 = compileRow({ ...row, flags: [...row.flags, '-gdwarf-4'] });
    if (!v5.objectPath || !v4.objectPath) {
      t.skip(`does not compile here: ${(v5.error ?? v4.error ?? '').split('\n')[0]}`);
      return;
    }
    let o5: Loaded, o4: Loaded;
    try {
      o5 = loadProgramFileWithObject(v5.objectPath);
      o4 = loadProgramFileWithObject(v4.objectPath);
    } catch (e) {
      t.skip(`the simulator does not load it: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    const code = (o: Loaded) => JSON.stringify(o.object.programs.map((p) => p.insns.map((i) => [i.opcode, i.dst, i.src, i.off, String(i.imm)])));
    if (code(o4) !== code(o5)) {
      t.skip('clang emits different code with -gdwarf-4 for it');
      return;
    }
    const d5 = DebugInfo.load(o5.objectPath);
    const d4 = DebugInfo.load(o4.objectPath);
    if (typeof d5 === 'string' && /no DWARF/.test(d5) && /bpftool gen object/.test(row.notes)) {
      t.skip('linked with bpftool gen object, which keeps no DWARF');
      return;
    }
    assert.ok(d5 instanceof DebugInfo, String(d5));
    assert.ok(d4 instanceof DebugInfo, String(d4));
    frames ??= packetSet().frames;
    let engine: DebugEngine;
    try {
      engine = new DebugEngine({
        obj: o5.object,
        session: { program },
        driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 },
        packets: frames.slice(0, PACKETS).map((f, index) => ({ index, frame: f.bytes, tsNs: f.tsNs ?? BigInt(index) })),
      });
    } catch (e) {
      t.skip(`no session: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    let compared = 0;
    for (let p = 0; p < PACKETS; p++) {
      const total = engine.goto(p, Number.MAX_SAFE_INTEGER).step;
      const steps = new Set(Array.from({ length: POSITIONS }, (_, i) => Math.floor((i * Math.max(0, total - 1)) / (POSITIONS - 1))));
      for (const step of steps) {
        const s: Snapshot = engine.goto(p, step);
        if (s.ended) continue;
        for (let f = 0; f < s.frames.length; f++) {
          const prog = engine.programNamed(s.frames[f].program)!;
          const show = (d: DebugInfo) => Object.fromEntries(d.locals(s, f, prog).map((c) => [c.name, formatCValue(s, c)]));
          const a = show(d5);
          assert.deepEqual(show(d4), a, `packet ${p} step ${step} frame ${f} (${s.frames[f].name})`);
          compared += Object.keys(a).length;
        }
      }
    }
    t.diagnostic(`${compared} locals compared`);
  });
}
