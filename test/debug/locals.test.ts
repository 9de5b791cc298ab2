// C locals through DWARF (simulator/elf/dwarf.ts, simulator/debug/locals.ts) on a clang -O2 -g program: at every
// instruction of a packet, each local that DWARF says is available holds what the simulator's registers and memory
// hold for it (the packet pointers `eth` and `ip`, `key` first in a register then in a stack slot, the inlined
// function's `ttl`); the struct on the stack equals the map value the program stored from it; watch expressions
// (`ip->ttl`, `eth->h_proto`) read the packet; a variable outside its location ranges is optimized out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import { DebugEngine, describeValue, snapshotScope, type Snapshot } from '../../simulator/debug/engine.ts';
import { DebugInfo, childrenOf, formatCValue, memberOf, scalarOf } from '../../simulator/debug/locals.ts';
import { evaluate } from '../../simulator/debug/expr.ts';

const FILE = join(REPO, 'test/debug/fixtures/locals.c');

function ipv4(ttl: number, saddr: number[], daddr: number[]): Uint8Array {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set([0x45, 0, 0, 50, 0, 1, 0, 0, ttl, 17, 0, 0, ...saddr, ...daddr], 14);
  return f;
}
const PKTS = [ipv4(20, [10, 1, 2, 3], [192, 168, 0, 9]), ipv4(64, [10, 9, 8, 7], [172, 16, 5, 4])];
const le32 = (b: number[]) => BigInt(((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0));

const { object, objectPath } = loadProgramFileWithObject(FILE);
const program = object.programs.find((p) => p.name === 'locals')!;
const info = DebugInfo.load(objectPath);
const engine = () => new DebugEngine({
  obj: object,
  driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 },
  packets: PKTS.map((frame, index) => ({ index, frame, tsNs: BigInt(index) })),
});

test('the object has DWARF for the function, with its parameters and locals', () => {
  assert.ok(info instanceof DebugInfo, String(info));
  const fn = info.fn('locals')!;
  assert.deepEqual(fn.vars.map((v) => v.name).sort(), ['ctx', 'data', 'data_end', 'eth', 'ip', 'key', 'pr', 'ttl'].sort());
  assert.equal(fn.vars.find((v) => v.name === 'ip')!.type.name, 'struct iphdr *');
  assert.equal(fn.vars.find((v) => v.name === 'ttl')!.inlinedFrom, 'ttl_class');
});

test('at every instruction, each available local holds what the simulator holds for it', () => {
  const di = info as DebugInfo;
  for (const [p, frame] of PKTS.entries()) {
    const e = engine();
    const seen = new Map<string, number>();
    for (let s: Snapshot | undefined = e.goto(p, 0); s && !s.ended; s = e.step('instruction')) {
      for (const c of di.locals(s, 0, program)) {
        if (c.unavailable) continue;
        const v = scalarOf(s, c);
        seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
        switch (c.name) {
          case 'eth': assert.equal(describeValue(s, v!), 'packet pointer: data + 0', `eth at step ${s.step}`); break;
          case 'ip': assert.equal(describeValue(s, v!), 'packet pointer: data + 14', `ip at step ${s.step}`); break;
          case 'key': assert.equal(BigInt.asUintN(32, v!), le32([...frame.subarray(26, 30)]), `key at step ${s.step} (${c.addr !== undefined ? 'stack' : 'register'})`); break;
          case 'ttl': assert.equal(BigInt.asUintN(32, v!), BigInt(frame[22]), `ttl at step ${s.step}`); break;
          case 'ctx': assert.equal(describeValue(s, v!), 'ctx (struct xdp_md *)'); break;
        }
      }
    }
    for (const name of ['eth', 'ip', 'key', 'ctx']) assert.ok((seen.get(name) ?? 0) > 0, `packet ${p}: ${name} was available somewhere`);
  }
});

test('the struct on the stack expands to members equal to the map value stored from it; watch expressions', () => {
  const di = info as DebugInfo;
  const e = engine();
  e.setSourceBreakpoints(FILE, [{ line: 49 }]);
  const s = e.continue(0)!;
  assert.equal(s.loc?.line, 49);
  const locals = di.locals(s, 0, program);
  const pr = locals.find((c) => c.name === 'pr')!;
  assert.ok(pr.addr !== undefined, 'pr lives in memory');
  assert.match(describeValue(s, pr.addr!), /^stack pointer: frame 1 r10-/);
  const members = new Map(childrenOf(s, pr).map((m) => [m.name, scalarOf(s, m)]));
  const daddr = le32([...PKTS[0].subarray(30, 34)]);
  assert.equal(members.get('a'), 0x11223344n ^ daddr);
  assert.equal(members.get('b'), 1n);
  // The map entry the program wrote from &pr (key = saddr), as the simulator holds it.
  const entry = (s.maps.seen as { key: string; value: string }[])[0];
  const bytes = Buffer.from(entry.value, 'hex');
  assert.equal(BigInt(bytes.readUInt32LE(0)), members.get('a'));
  assert.equal(BigInt(bytes.readUInt16LE(4)), members.get('b'));
  // Where ip and eth are still live (line 46), watch expressions read the packet through them.
  const e2 = engine();
  e2.setSourceBreakpoints(FILE, [{ line: 46 }]);
  const at46 = e2.continue(0)!;
  assert.equal(at46.loc?.line, 46);
  const l46 = di.locals(at46, 0, program);
  const scope = snapshotScope(at46, (id) => {
    const c = l46.find((x) => x.name === id);
    return c && !c.unavailable ? scalarOf(at46, c) : undefined;
  });
  scope.member = (base, field) => memberOf(at46, l46, base, field);
  assert.equal(evaluate('ip->ttl', scope), 20n);
  assert.equal(evaluate('eth->h_proto', scope), 0x0008n);
  assert.equal(evaluate('ip->saddr', scope), le32([...PKTS[0].subarray(26, 30)]));
  assert.match(formatCValue(at46, l46.find((c) => c.name === 'ip')!), /^packet pointer: data \+ 14/);
});

test('a local outside its location ranges is optimized out', () => {
  const di = info as DebugInfo;
  const s = engine().goto(0, 0);
  const dataEnd = di.locals(s, 0, program).find((c) => c.name === 'data_end')!;
  assert.equal(dataEnd.unavailable, 'optimized out');
  assert.equal(formatCValue(s, dataEnd), '<optimized out>');
});
