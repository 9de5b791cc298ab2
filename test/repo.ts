// Where tests find the repository and the shared data beside it (../shared), wherever the runner was started from.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function findRepo(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"xdp-lens"/.test(readFileSync(pkg, 'utf8'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

export const REPO = findRepo();
/** ../shared next to the repository (captures, conformance suite, reference), or an override for other layouts. */
export const SHARED = process.env.XDP_LENS_SHARED ?? resolve(REPO, '..', 'shared');
export const sharedPath = (...parts: string[]): string => join(SHARED, ...parts);
