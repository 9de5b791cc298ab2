// Include directories and defines for one file from a compile_commands.json (the JSON compilation database that
// CMake, Bear and the kernel's gen_compile_commands.py write). Only the flags that change how the BPF object is built
// are kept: -I/-isystem/-idirafter/-iquote directories, -D/-U and -include; target, optimisation and output flags are
// ours. Relative paths resolve against the entry's "directory".
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { INPUT_LIMITS, readInputJson } from './input.ts';

export interface CompileCommandFlags {
  includeDirs: string[];
  flags: string[];
}

interface Entry {
  directory?: string;
  file?: string;
  command?: string;
  arguments?: string[];
}

/** Shell-like split of a "command" string (quotes and backslash escapes). */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += c;
  }
  if (cur || any) out.push(cur);
  return out;
}

/** The last database read, reused while the file is unchanged (the source tier asks on every edit). */
let lastDb: { path: string; stamp: string; db: unknown } | undefined;

function readDatabase(dbPath: string): unknown {
  const st = statSync(dbPath);
  const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  if (lastDb && lastDb.path === dbPath && lastDb.stamp === stamp) return lastDb.db;
  const db: unknown = readInputJson(dbPath, 'compilation database', INPUT_LIMITS.compileCommands);
  lastDb = { path: dbPath, stamp, db };
  return db;
}

/** Why the database at `dbPath` cannot be used at all (unreadable, not JSON, not an array), or undefined. */
export function compileCommandsProblem(dbPath: string): string | undefined {
  try {
    if (!Array.isArray(readDatabase(dbPath))) return `${dbPath}: a compilation database is a JSON array of entries`;
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    return message.startsWith(`${dbPath}:`) ? message : `${dbPath}: cannot read the compilation database: ${message}`;
  }
}

/**
 * The flags for `file` from the database at `dbPath`, or an error string (unreadable, not JSON, no entry).
 */
export function flagsFromCompileCommands(dbPath: string, file: string): CompileCommandFlags | string {
  let db: unknown;
  try {
    db = readDatabase(dbPath);
  } catch (e) {
    const message = (e as Error).message;
    // A JSON error already names the file, line and column.
    return message.startsWith(`${dbPath}:`) ? message : `${dbPath}: cannot read the compilation database: ${message}`;
  }
  if (!Array.isArray(db)) return `${dbPath}: a compilation database is a JSON array of entries`;
  const target = resolve(file);
  const index = (db as Entry[]).findIndex(
    (e) => e !== null && typeof e === 'object' && typeof e.file === 'string' && resolve(typeof e.directory === 'string' ? e.directory : '.', e.file) === target,
  );
  if (index < 0) return `${dbPath}: no entry for ${file}`;
  const entry = (db as Entry[])[index]!;
  const where = `${dbPath}: entry ${index}`;
  if (entry.directory !== undefined && typeof entry.directory !== 'string') return `${where}: "directory" must be a string`;
  if (entry.arguments !== undefined && (!Array.isArray(entry.arguments) || entry.arguments.some((a) => typeof a !== 'string')))
    return `${where}: "arguments" must be a list of strings`;
  if (entry.arguments === undefined && entry.command !== undefined && typeof entry.command !== 'string') return `${where}: "command" must be a string`;
  const dir = entry.directory ?? '.';
  const args = entry.arguments ?? (entry.command ? splitCommand(entry.command) : []);
  const includeDirs: string[] = [];
  const flags: string[] = [];
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const joined = (prefix: string) => (a === prefix ? args[++i] : a.startsWith(prefix) ? a.slice(prefix.length) : undefined);
    let v: string | undefined;
    if ((v = joined('-I')) !== undefined) includeDirs.push(abs(v));
    else if ((v = joined('-isystem')) !== undefined || (v = joined('-idirafter')) !== undefined || (v = joined('-iquote')) !== undefined)
      includeDirs.push(abs(v));
    else if ((v = joined('-D')) !== undefined) flags.push(`-D${v}`);
    else if ((v = joined('-U')) !== undefined) flags.push(`-U${v}`);
    else if (a === '-include' && i + 1 < args.length) flags.push('-include', abs(args[++i]!));
    else if (/^-std=/.test(a) || /^-W/.test(a)) flags.push(a);
  }
  return { includeDirs, flags };
}
