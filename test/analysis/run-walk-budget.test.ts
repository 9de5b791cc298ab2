// The bytecode tier's walk before a run (verifier-refusals.ts RUN_WALK_STEPS / RUN_WALK_MS) must go far enough to see
// refusals the kernel makes after a few thousand instructions of its own walk. sfuzz seed 1412070114 (-mcpu=v3 -Oz):
// a packet byte read at i2 + 2 in a loop whose check covers i2 + 1 only; the kernel refuses it ("invalid access to
// packet, off=2 size=1") after 8,655 processed instructions, the walk finds it after about 30,000 of its own, and with
// its former bound of 20,000 `run` reported no refusal. The line is the kernel's (`o[15] += ((__u8 *)data)[i2];`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSProgram } from '../fuzz/sgen.ts';
import { compileTestSource } from '../vm/kernel-agree.ts';
import { kernelOrSkip, kernelRefusal } from '../kernel/runner.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';

test('run\'s walk before the first packet reaches a refusal the kernel finds a few thousand instructions in (sfuzz seed 1412070114)', (t) => {
  const g = generateSProgram(1412070114);
  const flags = [g.mcpu, g.opt];
  const line = g.source.split('\n').findIndex((l) => l.includes('o[15] += ((__u8 *)data)[i2];')) + 1;
  assert.ok(line > 0, 'the generator still writes the refused statement');
  const { path, objectPath } = compileTestSource('run-walk-budget', g.source, flags);
  const obj = loadProgramFile(path, { clangFlags: flags });
  const program = obj.programs.find((p) => p.name === 'fuzz')!;
  const r = refusalsBeforeRun(obj, program, createMachine(obj, {}));
  assert.equal(r.length, 1, JSON.stringify(r));
  assert.equal(r[0]!.rule, 'unchecked-packet-access');
  assert.equal(r[0]!.line, line);
  assert.ok(r[0]!.message.includes('invalid access to packet, off=2 size=1'), r[0]!.message);
  if (kernelOrSkip(t)) return;
  const log = kernelRefusal(objectPath, 'fuzz');
  const at = log.indexOf('invalid access to packet, off=2 size=1');
  assert.ok(at >= 0, `the kernel refuses it: ${log.slice(-400)}`);
  const places = [...log.slice(0, at).matchAll(/ @ \S+:(\d+)$/gm)];
  assert.equal(Number(places.at(-1)?.[1]), line, 'the kernel names the same line');
});
