// The generators on a kernel build that takes bpf_xdp_adjust_meta from XDP (kernel-build.ts): they call its stand-in
// instead, so the program loads and is compared; on a kernel that gives XDP what 6.18 does, a seed's text is what it
// was before (the hashes below were taken from the generators before kernel-build.ts existed), so old seeds still
// reproduce there. No kernel needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { XDP_FORBIDDEN_HELPERS_618 } from '../../simulator/vm/helpers.ts';
import { generateAProgram } from './agen.ts';
import { generateCProgram } from './cgen.ts';
import { generateFProgram } from './fgen.ts';
import { generateProgram } from './gen.ts';
import { genHelper, genSource, withGenForbidden } from './kernel-build.ts';
import { generatePProgram } from './pgen.ts';
import { generateSProgram } from './sgen.ts';
import { generateVProgram } from './vgen.ts';
import { generateXProgram } from './xgen.ts';

const SEEDS = Array.from({ length: 40 }, (_, i) => 0x5c0001 + i * 7919);
// Per generator: the text of SEEDS, hashed (sha256, first 16 hex digits), and how many of them call adjust_meta.
const GENERATORS: [string, (seed: number) => string, string, number][] = [
  ['gen (helper-arg-uninit)', (s) => generateProgram(s, { defect: 'helper-arg-uninit' }).asm, '34aa10461662cf95', 7],
  ['agen', (s) => generateAProgram(s).source, '95513a3298708cda', 14],
  ['cgen', (s) => generateCProgram(s).source, '7d3bebc17c91ae47', 15],
  ['fgen (plain, wide)', (s) => generateFProgram(s).source + generateFProgram(s, true).source, '07a6763d004154b0', 13],
  ['pgen (plain, wide)', (s) => generatePProgram(s).source + generatePProgram(s, true).source, '1c46304c0743671a', 26],
  ['sgen', (s) => generateSProgram(s).source, '5c413cae909562ec', 30],
  ['vgen', (s) => generateVProgram(s).source, '820407c196c6c983', 25],
  ['xgen', (s) => generateXProgram(s).source, '82877799d8876389', 20],
];
// C calls, gen.ts's `call 54 (...)`, agen.ts's encoded call instruction (imm 0x36) and its comment.
const callsMeta = (text: string): boolean => /adjust_meta|\bcall 54 |0x00000036000000[0-9a-f]5/.test(text);
const WITHOUT_META = new Set([...XDP_FORBIDDEN_HELPERS_618, 54]);

test('fuzz generators: with the 6.18 helpers, every seed\'s text is what it was before', () => {
  withGenForbidden(XDP_FORBIDDEN_HELPERS_618, () => {
    for (const [name, gen, hash, meta] of GENERATORS) {
      const h = createHash('sha256');
      let n = 0;
      for (const s of SEEDS) {
        const text = gen(s);
        if (callsMeta(text)) n++;
        h.update(text);
      }
      assert.equal(h.digest('hex').slice(0, 16), hash, `${name}: text changed`);
      assert.equal(n, meta, `${name}: programs calling adjust_meta`);
    }
  });
});

test('fuzz generators: on a kernel build refusing adjust_meta in XDP, no program calls it (adjust_head stands in)', () => {
  withGenForbidden(WITHOUT_META, () => {
    assert.equal(genHelper(54), 44);
    assert.equal(genHelper(65), 65);
    assert.equal(genSource('x = bpf_xdp_adjust_meta(ctx, -4);'), 'x = bpf_xdp_adjust_head(ctx, -4);');
    for (const [name, gen] of GENERATORS) {
      const calling = SEEDS.filter((s) => callsMeta(gen(s)));
      assert.deepEqual(calling, [], `${name}: seeds calling adjust_meta`);
    }
  });
  withGenForbidden(XDP_FORBIDDEN_HELPERS_618, () => assert.equal(genHelper(54), 54));
});
