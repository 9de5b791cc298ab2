// Shared by the ELF tests: compile fixtures once per process, read llvm-objdump's view of an object, find tools.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadObject, type LoadDiagnostic } from '../../simulator/elf/index.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';

/** test/elf/fixtures, found from the working directory upwards (tests run from the repo root or below it). */
function findFixtures(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'elf', 'fixtures');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return join(process.cwd(), 'test', 'elf', 'fixtures');
  }
}
export const FIXTURES = findFixtures();
export const fixture = (name: string) => join(FIXTURES, name);

export const hasTool = (tool: string, arg = '--version') => {
  const r = spawnSync(tool, [arg], { encoding: 'utf8' });
  return !r.error && r.status === 0;
};
export const HAVE_CLANG = hasTool('clang');
export const HAVE_LLVM_MC = hasTool('llvm-mc');
export const HAVE_OBJDUMP = hasTool('llvm-objdump');
export const NO_CLANG = HAVE_CLANG ? false : 'clang not installed (apt-get install clang llvm libbpf-dev)';

let cacheDir: string | undefined;
export function testCacheDir(): string {
  cacheDir ??= mkdtempSync(join(tmpdir(), 'xdp-lens-elf-test-'));
  return cacheDir;
}

const compiled = new Map<string, string>();
/** Compile a fixture (flags optional) and return the object path; throws with clang's output on failure. */
export function compileFixture(name: string, flags: string[] = []): string {
  const key = name + '\0' + flags.join(' ');
  const hit = compiled.get(key);
  if (hit) return hit;
  const r = compileC(fixture(name), { cacheDir: testCacheDir(), flags });
  if (!r.objectPath) throw new Error(`compiling ${name} failed:\n${r.stderr}`);
  compiled.set(key, r.objectPath);
  return r.objectPath;
}

/** Assemble an llvm-mc fixture into the test cache directory. */
export function assembleFixture(name: string): string {
  const out = join(testCacheDir(), name.replace(/\.s$/, '.o'));
  const r = spawnSync('llvm-mc', ['-triple', 'bpf', '-filetype=obj', fixture(name), '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`llvm-mc ${name} failed:\n${r.stderr}`);
  return out;
}

/** Load an object file; `displayPath` is the path the object is named by (libbpf derives global map names from it). */
export function load(objectPath: string, displayPath = objectPath): { object?: LoadedObject; diagnostics: LoadDiagnostic[] } {
  return loadObject(readFileSync(objectPath), displayPath);
}

export function loadOk(objectPath: string, displayPath = objectPath): LoadedObject {
  const { object, diagnostics } = load(objectPath, displayPath);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!object || errors.length > 0) throw new Error(`load failed:\n${diagnostics.map((d) => d.message).join('\n')}`);
  return object;
}

/** llvm-objdump -d: the raw bytes of each function, by symbol name. */
export function objdumpFunctions(objectPath: string): Map<string, Uint8Array> {
  const text = spawnSync('llvm-objdump', ['-d', objectPath], { encoding: 'utf8' }).stdout ?? '';
  const out = new Map<string, number[]>();
  let cur: number[] | undefined;
  for (const line of text.split('\n')) {
    const fn = /^[0-9a-f]{16} <([^>]+)>:$/.exec(line);
    // clang 14 emits LBBn_m labels for branch targets; they are not functions.
    if (fn && !/^LBB\d/.test(fn[1])) {
      cur = [];
      out.set(fn[1], cur);
      continue;
    }
    const insn = /^\s+\d+:\t([0-9a-f]{2}(?: [0-9a-f]{2})*)/.exec(line);
    if (insn && cur) cur.push(...insn[1].trim().split(' ').map((b) => parseInt(b, 16)));
  }
  return new Map([...out].map(([k, v]) => [k, Uint8Array.from(v)]));
}
