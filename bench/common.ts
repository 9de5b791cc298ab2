// What the TypeScript benchmarks share: the repository root, `--name value` options, and the machine description
// recorded with every result.
import { cpus, loadavg, totalmem } from 'node:os';
export { REPO } from '../test/repo.ts';

const args = process.argv.slice(2);

/** The value after `--name`, or the default. */
export function option(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model?.split(' ').slice(0, 2).join(' '),
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavg1: Math.round(loadavg()[0]! * 100) / 100,
  };
}
