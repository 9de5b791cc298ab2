// C locals across DWARF versions and call frames. Each fixture is compiled twice, with clang's default DWARF 5
// (.debug_loclists) and with -gdwarf-4 (.debug_loc): the code is the same, and at every instruction of every packet the
// locals of every frame (callers included) read the same through either. Caller frames (fixtures/callers.c): a value
// the caller keeps in r6-r9 or in its stack slot reads, from inside the callee, exactly as it read in the caller at the
// call instruction; a value DWARF places in r0-r5 at the call is shown as not available (the call overwrote it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { parseElf } from '../../simulator/elf/elf64.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { DebugEngine, describeValue, type Snapshot } from '../../simulator/debug/engine.ts';
import { DebugInfo, formatCValue, scalarOf, type CValue } from '../../simulator/debug/locals.ts';
import type { SessionOptions } from '../../simulator/session.ts';
import { PACKETS } from './fixture.ts';

function ipv4(ttl: number, saddr: number[], daddr: number[]): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 50, 0, 1, 0, 0, ttl, 17, 0, 0, ...saddr, ...daddr], 14);
  return f;
}
const IPV4 = [ipv4(20, [10, 1, 2, 3], [192, 168, 0, 9]), ipv4(64, [10, 9, 8, 7], [172, 16, 5, 4])].map((frame, index) => ({ index, frame, tsNs: BigInt(index) }));
const le32 = (b: Uint8Array) => BigInt(b[0] | (b[1] << 8) | (b[2] << 16)) + (BigInt(b[3]) << 24n);

const FIXTURES: { file: string; program: string; packets: typeof IPV4; session?: SessionOptions }[] = [
  { file: 'locals.c', program: 'locals', packets: IPV4 },
  { file: 'callers.c', program: 'callers', packets: IPV4 },
  { file: 'dbg.c', program: 'entry', packets: PACKETS, session: { program: 'entry', maps: { jmp: [{ key: '00000000', program: 'tail' }] } } },
  { file: 'two.c', program: 'second', packets: IPV4, session: { program: 'second' } },
];

function compiled(file: string, flags: string[]) {
  const { object, objectPath } = loadProgramFileWithObject(join(REPO, 'test/debug/fixtures', file), { clangFlags: flags });
  const info = DebugInfo.load(objectPath);
  assert.ok(info instanceof DebugInfo, String(info));
  const { elf } = parseElf(new Uint8Array(readFileSync(objectPath)));
  return { object, info, sections: new Set(elf!.sections.map((s) => s.name)) };
}

const shown = (s: Snapshot, list: CValue[]) => Object.fromEntries(list.map((c) => [c.name, formatCValue(s, c)]));

for (const fx of FIXTURES) {
  test(`${fx.file}: DWARF 4 (.debug_loc) and DWARF 5 (.debug_loclists) give the same locals in every frame at every instruction`, () => {
    const v5 = compiled(fx.file, []);
    const v4 = compiled(fx.file, ['-gdwarf-4']);
    assert.ok(v5.sections.has('.debug_loclists') && !v5.sections.has('.debug_loc'), 'clang -g: DWARF 5 location lists');
    assert.ok(v4.sections.has('.debug_loc') && !v4.sections.has('.debug_loclists'), 'clang -gdwarf-4: DWARF 4 location lists');
    const code = (o: typeof v5.object) => JSON.stringify(o.programs.map((p) => p.insns.map((i) => [i.opcode, i.dst, i.src, i.off, String(i.imm)])));
    assert.equal(code(v4.object), code(v5.object), 'the same code either way');
    const e = new DebugEngine({ obj: v5.object, session: fx.session, driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 }, packets: fx.packets });
    let compared = 0;
    let available = 0;
    for (let p = 0; p < fx.packets.length; p++) {
      for (let s: Snapshot | undefined = e.goto(p, 0); s && !s.ended; s = e.step('instruction')) {
        for (let f = 0; f < s.frames.length; f++) {
          const program = e.programNamed(s.frames[f].program)!;
          const a = v5.info.locals(s, f, program);
          const b = v4.info.locals(s, f, program);
          assert.deepEqual(shown(s, b), shown(s, a), `packet ${p} step ${s.step} frame ${f} (${s.frames[f].name})`);
          compared += a.length;
          available += a.filter((c) => !c.unavailable).length;
        }
      }
    }
    assert.ok(compared > 20 && available > 10, `${compared} locals compared, ${available} available`);
  });
}

test('the second program of a section: its parameter is where DWARF 5 says from its first instruction', () => {
  const { object, info } = compiled('two.c', []);
  const e = new DebugEngine({ obj: object, session: { program: 'second' }, driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 }, packets: IPV4 });
  const s = e.goto(0, 0);
  assert.ok(e.programNamed('second')!.funcs.length > 0);
  const ctx = info.locals(s, 0, e.programNamed('second')!).find((c) => c.name === 'ctx')!;
  assert.equal(formatCValue(s, ctx), 'ctx (struct xdp_md *) (0x' + s.regs[1].toString(16) + ')');
});

test('caller frames: r6-r9 and stack slots read as at the call; what DWARF puts in r0-r5 there is not available', () => {
  const { object, info } = compiled('callers.c', []);
  for (const [p, pkt] of IPV4.entries()) {
    const e = new DebugEngine({ obj: object, driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 }, packets: IPV4 });
    let atCall: CValue[] | undefined;
    let atCallSnap: Snapshot | undefined;
    const checked = new Set<string>();
    const clobbered = new Set<string>();
    for (let s: Snapshot | undefined = e.goto(p, 0); s && !s.ended; s = e.step('instruction')) {
      const program = e.programNamed(s.frames[0].program)!;
      if (s.depth === 1) {
        const insn = program.insns[s.pc];
        const isCall = insn.opcode === 0x85 && insn.src === 1;
        atCall = isCall ? info.locals(s, 0, program) : undefined;
        atCallSnap = isCall ? s : undefined;
        continue;
      }
      assert.ok(atCall && atCallSnap, `step ${s.step}: inside the callee, entered through a call`);
      assert.deepEqual(s.frames.map((f) => f.name), ['mix', 'callers']);
      const caller = info.locals(s, 1, e.programNamed(s.frames[1].program)!);
      for (const c of caller) {
        const before: CValue = atCall.find((x) => x.name === c.name)!;
        if (before.unavailable) {
          assert.ok(c.unavailable, `${c.name} was not available at the call either`);
          continue;
        }
        if (before.reg !== undefined && before.reg <= 5) {
          assert.match(c.unavailable ?? '', /^not available: in r[0-5], which the call to mix overwrote \(r0-r5 are caller-saved\)$/, c.name);
          clobbered.add(c.name);
          continue;
        }
        assert.equal(c.unavailable, undefined, `${c.name} at step ${s.step}`);
        assert.equal(formatCValue(s, c), formatCValue(atCallSnap, before), `${c.name} at step ${s.step} reads as at the call`);
        checked.add(c.name);
      }
      // What the values are: the packet's fields.
      const get = (n: string) => caller.find((c) => c.name === n)!;
      assert.equal(BigInt.asUintN(32, scalarOf(s, get('saddr'))!), le32(pkt.frame.subarray(26, 30)), 'saddr, kept in r6 across the call');
      assert.equal(scalarOf(s, get('slot')), le32(pkt.frame.subarray(30, 34)), 'slot, in the caller\'s stack frame');
      assert.match(describeValue(s, get('slot').addr!), /^stack pointer: frame 1 r10-/, 'the caller\'s own r10');
      assert.match(formatCValue(s, get('ip')), /^packet pointer: data \+ 14/, 'ip, computed from r7');
    }
    assert.deepEqual([...checked].sort(), ['ip', 'saddr', 'slot'], 'kept in r6-r9 or on the stack');
    assert.deepEqual([...clobbered], ['h'], 'h is in r0 at the second call, which the call overwrote');
  }
});
