// README's kfuncs section names every kfunc the simulator models (simulator/isa/kfunc-names.ts), in full or as a
// `_suffix` after a name sharing its prefix (`bpf_iter_num_new`, `_next`). Four groups of modelled kfuncs (objects,
// the kernel context casts, strings, IPsec states) were missing from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { KFUNCS } from '../../simulator/isa/kfunc-names.ts';

test('README kfuncs section names every modelled kfunc', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### kfuncs\n');
  assert.ok(start >= 0, 'README has a kfuncs section');
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const named = (name: string): boolean => {
    if (section.includes('`' + name + '`')) return true;
    for (let i = name.indexOf('_'); i > 0; i = name.indexOf('_', i + 1)) {
      if (section.includes('`' + name.slice(i) + '`') && section.includes('`' + name.slice(0, i))) return true;
    }
    return false;
  };
  const missing = KFUNCS.map((k) => k.name).filter((n) => !named(n));
  assert.deepEqual(missing, []);
});
