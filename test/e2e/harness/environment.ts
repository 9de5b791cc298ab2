// Where the end-to-end tests find their VS Code (code-server, installed by scripts/setup-e2e.sh) and their window
// (Debian's chromium), and whether the tests run, skip or fail when one is missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../repo.ts';

export const CODE_SERVER_VERSION = '4.100.3';
/** VS Code inside that code-server; an extension under test must not ask for a newer `engines.vscode`. */
export const VSCODE_VERSION = '1.100.3';

export interface E2EEnvironment {
  /** code-server's `out/node/entry.js`, run with this Node. */
  codeServerEntry: string;
  chromium: string;
}

const codeServerDir = () =>
  process.env.XDP_LENS_CODE_SERVER_DIR ?? join(REPO, '.cache', 'code-server', CODE_SERVER_VERSION);

/** The environment, or the reason the end-to-end tests cannot run here (with the command that fixes it). */
export function findE2EEnvironment(): E2EEnvironment | { missing: string } {
  const dir = codeServerDir();
  const codeServerEntry = join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const stamp = join(dir, '.installed');
  const chromium = process.env.XDP_LENS_CHROMIUM ?? '/usr/bin/chromium';
  const problems: string[] = [];
  if (!existsSync(codeServerEntry) || !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== CODE_SERVER_VERSION) {
    problems.push(`code-server ${CODE_SERVER_VERSION} is not installed in ${dir}`);
  }
  if (!existsSync(chromium)) problems.push(`chromium is not at ${chromium}`);
  if (problems.length) return { missing: `${problems.join('; ')} (run: bash scripts/setup-e2e.sh)` };
  return { codeServerEntry, chromium };
}

/** XDP_LENS_REQUIRE_E2E=1 (CI): a missing VS Code or browser fails the tests instead of skipping them. */
export const e2eRequired = () => process.env.XDP_LENS_REQUIRE_E2E === '1';

/**
 * The `skip` option for an end-to-end test: a message naming what is missing, or false when the test must run (the
 * environment is there, or it is required, in which case startVSCode fails with the same message).
 */
export function e2eSkip(): string | false {
  const env = findE2EEnvironment();
  if (!('missing' in env) || e2eRequired()) return false;
  return `end-to-end tests skipped: ${env.missing}; set XDP_LENS_REQUIRE_E2E=1 to make this a failure`;
}

export function requireE2EEnvironment(): E2EEnvironment {
  const env = findE2EEnvironment();
  if ('missing' in env) throw new Error(`cannot start VS Code: ${env.missing}`);
  return env;
}

export const ARTIFACTS_DIR = join(REPO, 'test-artifacts', 'e2e');
