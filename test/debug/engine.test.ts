// The stepping engine (simulator/debug/engine.ts) on a program with a bpf-to-bpf call, a loop, a tail call, printk and
// a fault: where steps land (always on the line the BTF line info names for that instruction), breakpoints (line,
// next line with code, function, instruction, condition, hit count), faults, continue across packets with the map
// state `run` carries, and time travel: every position reached backwards holds exactly the state it held forwards.
// What the engine shows is checked against plain runs of the same packets through Session + Driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { DebugEngine, packetBytesOf, readSnapshot, snapshotScope, type Snapshot } from '../../simulator/debug/engine.ts';
import { FIXTURE, PACKETS, engineOptions } from './fixture.ts';
import { evaluate } from '../../simulator/debug/expr.ts';

const opts = engineOptions();
const entry = opts.obj.programs.find((p) => p.name === 'entry')!;
/** The slot and source line of the first slot of `line` in the entry program. */
const lineOf = (s: Snapshot) => s.loc?.line;

/** Plain runs, as `run` does them. */
function plainRuns() {
  const session = new Session(opts.obj, opts.session);
  const driver = new Driver(session, opts.driver);
  return PACKETS.map((p) => driver.receive(p.frame, p.tsNs));
}

function sameState(a: Snapshot, b: Snapshot): void {
  assert.equal(a.packet, b.packet);
  assert.equal(a.step, b.step);
  assert.equal(a.pc, b.pc);
  assert.equal(a.program, b.program);
  assert.deepEqual(a.regs, b.regs);
  assert.deepEqual(a.frames, b.frames);
  assert.deepEqual(a.regions, b.regions);
  assert.deepEqual(a.printk, b.printk);
}

test('entry stops at the first instruction; the end of each packet shows what a plain run computed', () => {
  const runs = plainRuns();
  assert.deepEqual(runs.map((r) => r.action), ['XDP_PASS', 'XDP_DROP', 'XDP_ABORTED', 'XDP_PASS']);
  const e = new DebugEngine(opts);
  const s = e.entry(0);
  assert.equal(s.step, 0);
  assert.equal(s.pc, 0);
  assert.equal(s.reason, 'entry');
  assert.equal(s.frames[0].name, 'entry');
  assert.equal(s.loc, entry.lines[0]);
  for (const [i, r] of runs.entries()) {
    const end = e.goto(i, Number.MAX_SAFE_INTEGER);
    assert.ok(end.ended);
    assert.equal(end.result.action, r.action);
    assert.equal(end.step, r.run.steps);
    if (!r.fault) assert.equal(Number(end.regs[0] & 0xffffffffn), r.retval, `packet ${i} r0`);
    assert.deepEqual(packetBytesOf(end), r.out.subarray(r.metaLen), `packet ${i} bytes`);
    assert.deepEqual(end.printk, r.run.printk);
    // The array map counts[0] holds the number of packets so far, carried across packets as run carries it.
    const counts = end.regions.find((x) => x.name === 'value of map counts');
    assert.ok(counts, `packet ${i}: counts value in the snapshot`);
    assert.equal(new DataView(counts.bytes.buffer).getBigUint64(0, true), BigInt(i + 1));
  }
});

test('instruction steps visit every executed slot in order; line steps land on the line the line info names', () => {
  const e = new DebugEngine(opts);
  let s: Snapshot | undefined = e.entry(0);
  const pcs: number[] = [];
  while (s && !s.ended) {
    pcs.push(s.pc);
    assert.equal(s.loc, opts.obj.programs.find((p) => p.name === s!.program)!.lines[s.pc]);
    s = e.step('instruction');
  }
  assert.equal(pcs.length, plainRuns()[0].run.steps);
  // Step over from the entry: never enters sum_bytes, every stop on a new line.
  s = e.entry(0);
  const lines: number[] = [];
  while (s && !s.ended) {
    assert.equal(s.depth, 1, `over stays in entry (line ${lineOf(s)})`);
    assert.equal(s.loc, entry.lines[s.pc], 'the stop line is the line info of the slot');
    lines.push(lineOf(s)!);
    s = e.step('over');
  }
  assert.ok(lines.includes(65) && lines.includes(66), `lines ${lines}`);
  assert.ok(!lines.some((l) => l >= 30 && l <= 41), 'no line of sum_bytes');
  for (let i = 1; i < lines.length; i++) assert.notEqual(lines[i], lines[i - 1]);
});

test('step into a bpf-to-bpf call gives a frame named after the callee; step out returns to the caller', () => {
  const e = new DebugEngine(opts);
  e.setSourceBreakpoints(FIXTURE, [{ line: 65 }]);
  let s = e.continue(0)!;
  assert.equal(lineOf(s), 65);
  assert.equal(s.reason, 'breakpoint');
  s = e.step('into')!;
  assert.equal(s.depth, 2);
  assert.deepEqual(s.frames.map((f) => f.name), ['sum_bytes', 'entry']);
  assert.equal(s.frames[1].loc?.line, 65, 'the caller frame stands on the call');
  assert.ok(lineOf(s)! >= 30 && lineOf(s)! <= 41);
  s = e.step('out')!;
  assert.equal(s.depth, 1);
  assert.equal(s.frames[0].name, 'entry');
  // r0 after the return is what sum_bytes computed: the sum of the first 8 bytes.
  assert.equal(s.regs[0], BigInt(PACKETS[0].frame.subarray(0, 8).reduce((a, b) => a + b, 0)));
});

test('a breakpoint on a line without code binds to the next line; hit counts count loop iterations', () => {
  const e = new DebugEngine(opts);
  const [blank, brk] = e.setSourceBreakpoints(FIXTURE, [{ line: 33 }, { line: 37 }]);
  assert.equal(blank.line, 35);
  assert.equal(brk.line, 38);
  const e2 = new DebugEngine(opts);
  e2.setSourceBreakpoints(FIXTURE, [{ line: 38, hitCondition: '3' }]);
  const s = e2.continue(0)!;
  assert.equal(lineOf(s), 38);
  assert.equal(s.packet, 0);
  // The third time line 38 runs, i == 2: the sum so far holds bytes 0 and 1 (it is in some register).
  const partial = BigInt(PACKETS[0].frame[0] + PACKETS[0].frame[1]);
  assert.ok(s.regs.slice(0, 10).includes(partial), `a register holds ${partial}: ${s.regs}`);
  const again = e2.continue()!;
  assert.notEqual(again.packet, 0, 'no 3rd hit again in packet 0: the next stop is later');
});

test('conditional breakpoints, function and instruction breakpoints, continue across packets into a tail call', () => {
  const e = new DebugEngine(opts);
  e.setSourceBreakpoints(FIXTURE, [{ line: 67, condition: '*(u16 *)(data + 12) == 0xb688' }]);
  let s = e.continue(0)!;
  assert.equal(s.packet, 2);
  assert.equal(lineOf(s), 67);
  const f = new DebugEngine(opts);
  const [bound] = f.setFunctionBreakpoints([{ name: 'tail' }]);
  assert.ok(bound.verified);
  s = f.continue(0)!;
  assert.equal(s.packet, 1);
  assert.equal(s.program, 'tail');
  assert.deepEqual(s.frames.map((x) => x.name), ['tail'], 'a tail call replaces the frame');
  assert.equal(s.reason, 'function breakpoint');
  const g = new DebugEngine(opts);
  g.setInstructionBreakpoints([{ program: 'entry', pc: 24 }]);
  s = g.continue(0)!;
  assert.equal(s.pc, 24);
  s = g.continue()!;
  assert.equal(s.packet, 1, 'the next packet reaching it');
  // Step over the tail call: lands on the first line of the tail-called program.
  const h = new DebugEngine(opts);
  h.setSourceBreakpoints(FIXTURE, [{ line: 68 }]);
  s = h.continue(0)!;
  assert.equal(s.packet, 1);
  s = h.step('over')!;
  assert.equal(s.program, 'tail');
  assert.equal(lineOf(s), 46);
});

test('a fault stops on its instruction with its message; stepping on ends the packet as XDP_ABORTED', () => {
  const runs = plainRuns();
  const e = new DebugEngine(opts);
  const s = e.continue(0)!;
  assert.equal(s.reason, 'exception');
  assert.equal(s.packet, 2);
  assert.equal(s.description, runs[2].fault!.message);
  assert.equal(s.pc, runs[2].fault!.insn);
  assert.equal(lineOf(s), 74);
  const end = e.step('instruction')!;
  assert.ok(end.ended);
  assert.equal(end.result.action, 'XDP_ABORTED');
  const none = new DebugEngine(opts);
  none.breakOnFault = false;
  assert.equal(none.continue(0), undefined, 'no breakpoint, no fault stop: the capture runs to its end');
  assert.equal(none.current?.packet, PACKETS.length - 1);
});

test('stepping back restores exactly the state each position held forwards', () => {
  const e = new DebugEngine(opts);
  const forward: Snapshot[] = [e.entry(0)];
  for (let i = 0; i < 40; i++) forward.push(e.step('instruction')!);
  for (let i = forward.length - 2; i >= 0; i--) sameState(e.stepBack('instruction'), forward[i]);
  // By lines: back over the line stops of a forward step-over walk.
  const lines: Snapshot[] = [e.entry(0)];
  for (let s = e.step('over'); s && !s.ended; s = e.step('over')) lines.push(s);
  // From the end of the packet, back to the last line, then each line before it.
  for (let i = lines.length - 1; i >= 0; i--) sameState(e.stepBack('over'), lines[i]);
  // Back from the first instruction of a packet: the end of the previous one.
  e.goto(1, 0);
  const end0 = e.stepBack('instruction');
  assert.ok(end0.ended);
  assert.equal(end0.packet, 0);
});

test('reverse continue returns to the previous breakpoint hit, in this packet or an earlier one', () => {
  const e = new DebugEngine(opts);
  e.setSourceBreakpoints(FIXTURE, [{ line: 38 }]);
  const hits: Snapshot[] = [];
  for (let i = 0; i < 10; i++) hits.push(e.continue(i === 0 ? 0 : undefined)!);
  assert.equal(hits[0].packet, 0);
  assert.equal(hits[9].packet, 1, '8 iterations in packet 0, then packet 1');
  for (let i = 8; i >= 0; i--) {
    const back = e.reverseContinue();
    sameState(back, hits[i]);
    assert.equal(back.reason, 'breakpoint');
  }
});

test('packet selection: an index, the first packet with an action, the first fault', () => {
  const e = new DebugEngine(opts);
  assert.equal(e.selectPacket(3), 3);
  assert.equal(e.selectPacket('first XDP_DROP'), 1);
  assert.equal(e.selectPacket('first XDP_ABORTED'), 2);
  assert.equal(e.selectPacket('first fault'), 2);
  assert.throws(() => e.selectPacket('first XDP_TX'), /no packet of the 4/);
  assert.throws(() => e.selectPacket(9), /packets 0 to 3/);
});

test('expressions over a snapshot: registers, packet bytes, ctx fields, casts', () => {
  const e = new DebugEngine(opts);
  const s = e.goto(0, 3);
  const scope = snapshotScope(s);
  assert.equal(evaluate('pkt[12]', scope), 0x08n);
  assert.equal(evaluate('*(__be16 *)(data + 12)', scope), 0x0008n);
  assert.equal(evaluate('data_end - data', scope), 64n);
  assert.equal(evaluate('ctx->data_end - ctx->data', scope), 64n);
  assert.equal(evaluate('ctx->ingress_ifindex', scope), 1n);
  assert.equal(evaluate('(u8)0x1234 == 0x34 && 2 + 3 * 4 == 14', scope), 1n);
  assert.equal(evaluate('r1', scope), s.regs[1]);
  assert.equal(readSnapshot(s, s.regs[10] - 4n, 4) === undefined, false, 'the stack is readable');
  assert.throws(() => evaluate('nosuch + 1', scope), /unknown name 'nosuch'/);
});

test('what-if: a changed packet byte or register changes the rest of the run, and replays keep the change', () => {
  const e = new DebugEngine(opts);
  e.entry(2);
  // EtherType 0x88b6 (the faulting branch) becomes 0x8800: no fault, XDP_PASS.
  const s = e.setPacketBytes(13, Uint8Array.of(0x00));
  assert.equal(packetBytesOf(s)[13], 0x00);
  assert.equal(s.result.action, 'XDP_PASS');
  const end = e.goto(2, Number.MAX_SAFE_INTEGER);
  assert.equal(end.result.action, 'XDP_PASS');
  assert.equal(end.result.fault, undefined);
  // Back to the entry and forwards again: the change holds.
  e.goto(2, 0);
  assert.equal(e.step('instruction')!.result.action, 'XDP_PASS');
  // r0 changed on the exit instruction of packet 0: the verdict follows.
  const f = new DebugEngine(opts);
  const last = f.goto(0, plainRuns()[0].run.steps - 1);
  assert.equal(entry.insns[last.pc].opcode, 0x95, 'the exit instruction');
  f.setRegister(0, 1n);
  const after = f.step('instruction')!;
  assert.ok(after.ended);
  assert.equal(after.result.action, 'XDP_DROP');
  assert.throws(() => f.setRegister(10, 0n), /r10 is the frame pointer/);
});
