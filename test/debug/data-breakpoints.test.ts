// Data breakpoints in the engine (simulator/debug/engine.ts): a map entry written by a helper (bpf_map_update_elem)
// and by a store through a looked-up value pointer; each stop is right after the writing instruction, forwards
// (continue, across packets) and backwards (reverse continue). Stack slots and registers: test/debug/adapter.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { DebugEngine } from '../../simulator/debug/engine.ts';
import { engineOptions } from './fixture.ts';

const driver = { mode: 'native' as const, profile: PROFILES[DEFAULT_PROFILE], queues: 1 };
function ipv4(saddr: number[], ttl = 64): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 50, 0, 1, 0, 0, ttl, 17, 0, 0, ...saddr, 172, 16, 5, 4]);
  return f;
}

test('a map entry written by bpf_map_update_elem: the stop is after the call, in packets that change that entry', () => {
  const callers = join(REPO, 'test/debug/fixtures/callers.c');
  const packets = [ipv4([10, 0, 0, 1]), ipv4([10, 9, 8, 7]), ipv4([10, 0, 0, 2]), ipv4([10, 9, 8, 7], 65), ipv4([10, 9, 8, 7], 65)].map((frame, index) => ({ index, frame, tsNs: BigInt(index) }));
  const e = new DebugEngine({ obj: loadProgramFile(callers), driver, packets });
  const [bound] = e.setDataBreakpoints([{ watch: { kind: 'map', map: 'hashes', key: '0a090807' } }]);
  assert.equal(bound.verified, true);
  const first = e.continue(0)!;
  assert.equal(first.reason, 'data breakpoint');
  assert.equal(first.packet, 1);
  const prev = e.programNamed(first.program)!.insns[first.pc - 1];
  assert.equal(prev.opcode, 0x85, 'right after the call');
  assert.ok((first.maps.hashes as { key: string }[]).some((x) => x.key === '0a090807'));
  const second = e.continue()!;
  assert.equal(second.packet, 3, 'packet 2 writes another key');
  assert.equal(second.pc, first.pc);
  // Packet 4 writes the value packet 3 wrote: a map entry stops where its value changes (a helper's write of the same
  // value is not seen), so the capture ends.
  assert.equal(e.continue(), undefined);
  assert.equal(e.reverseContinue().packet, 3);
  const back = e.reverseContinue();
  assert.equal(back.packet, 1);
  assert.equal(back.pc, first.pc);
  assert.equal(e.setDataBreakpoints([{ watch: { kind: 'map', map: 'nope', key: '00' } }])[0].verified, false);
});

test('a map value written by a store through a looked-up pointer (*c += 1), in each packet', () => {
  const e = new DebugEngine(engineOptions());
  e.setDataBreakpoints([{ watch: { kind: 'map', map: 'counts', key: '00000000' } }]);
  const s = e.continue(0)!;
  assert.equal(s.reason, 'data breakpoint');
  assert.equal(s.loc?.line, 65, 'after *c += 1 (line 64)');
  const counts = s.maps.counts as { key: string; value: string }[];
  assert.equal(counts.find((x) => x.key === '00000000')!.value, '0100000000000000');
  assert.equal(e.continue()!.packet, 1);
});
