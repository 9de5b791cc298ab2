// The real-world harness (corpus.ts runProgram) on keys drawn from bpf_get_prandom_u32 and on an inner map of the
// seed's own whose keys and values depend on the random stream and the clock: such entries cannot match the kernel's,
// and must be counted as depending on those sources, as `xdp-lens compare` counts them, not as a disagreement. Before,
// a key on one side only was explained only when that very key came and went between the variant runs (a random key
// never recurs: cilium's SNAT tables differed), and an inner map was compared as one text value (an entry more on one
// side changed its length: xvs's flow tables differed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { runProgram, type CorpusRow } from './corpus.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'random_keys.c');

test('random map keys and clock values in inner maps are counted as depending on those sources', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const seeds = mkdtempSync(join(tmpdir(), 'random-keys-'));
  try {
    const row: CorpusRow = { path: basename(compiled.objectPath), programs: ['random_keys'], flags: [], kernelLoads: 'yes', features: '', notes: '' };
    mkdirSync(seeds, { recursive: true });
    writeFileSync(join(seeds, `${basename(compiled.objectPath).split('.')[0]}.json`), JSON.stringify({ flows: [{ key: '00000000', map: 'flow0', inner: [{ key: '63000000', value: '0100000000000000' }] }] }));
    const frames = syntheticCorpus().map((p) => ({ name: p.name, bytes: p.bytes }));
    const r = runProgram(row, 'random_keys', frames, dirname(compiled.objectPath), seeds);
    assert.ok(r.kernelRuns && r.simLoads, `both sides ran: ${r.kernelError ?? r.simError ?? ''}`);
    assert.equal(r.packetsAgreeing, r.packets, 'every packet agrees');
    assert.deepEqual(r.differences, [], 'no difference');
    // ports (random keys) and flows[00000000] (random keys, clock values) depend on the sources; packets agrees.
    assert.equal(r.mapsClockRandom, 2, `maps depending on the clock/random source: ${r.mapsClockRandom} of ${r.maps}`);
    assert.ok(r.agrees);
  } finally {
    rmSync(seeds, { recursive: true, force: true });
  }
});
