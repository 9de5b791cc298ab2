// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--engine interp|compiled] [substring filter...]
// --engine sets XDP_LENS_ENGINE for the tests (the simulator's engine where a test does not name one).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const env = { ...process.env };
if (args[0] === '--engine') {
  if (args[1] !== 'interp' && args[1] !== 'compiled') {
    console.error(`--engine is interp or compiled, not '${args[1]}'`);
    process.exit(2);
  }
  env.XDP_LENS_ENGINE = args[1];
  args.splice(0, 2);
}
const filters = args;
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
