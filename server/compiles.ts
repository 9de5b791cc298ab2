// One clang run per (file content, options) at a time in the language server. A save asks for the same compiles from
// several places at once: the on-save analysis (server.ts), the run that the save starts (xdpLens.rerunOnSave,
// run.ts prepareRun) and the warm-up of that run's return-line twin; they share one clang process instead of running
// two or three of them side by side on a 2-core machine. Cancelling one caller stops clang only once no other caller
// is still waiting for it; a cancelled caller gets compileCAsync's "cancelled" answer at once.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { compileCAsync, type CompileOptions, type CompileResult } from '../simulator/compile.ts';
import { INPUT_LIMITS, readInputFile } from '../simulator/input.ts';

interface Shared {
  result: Promise<CompileResult>;
  abort: AbortController;
  /** Callers that can still cancel and have not; a caller without a signal never lets it be cancelled. */
  waiting: number;
  pinned: boolean;
}

const inFlight = new Map<string, Shared>();

/** compileCAsync(path, opts, signal), sharing a clang run already going for the same source text and options. */
export function compileShared(path: string, opts: CompileOptions, signal?: AbortSignal): Promise<CompileResult> {
  let text: Buffer;
  try {
    text = readInputFile(path, 'C source', INPUT_LIMITS.source);
  } catch {
    return compileCAsync(path, opts, signal); // which says what is wrong with the file
  }
  const key = `${resolve(path)}\0${JSON.stringify([opts.clang, opts.flags, opts.includeDirs, opts.cacheDir, opts.limits, opts.clangSetting])}\0${createHash('sha1').update(text).digest('hex')}`;
  let s = inFlight.get(key);
  if (!s) {
    const abort = new AbortController();
    const shared: Shared = { result: compileCAsync(path, opts, abort.signal), abort, waiting: 0, pinned: false };
    inFlight.set(key, shared);
    void shared.result.finally(() => {
      if (inFlight.get(key) === shared) inFlight.delete(key);
    });
    s = shared;
  }
  const shared = s;
  if (!signal) {
    shared.pinned = true;
    return shared.result;
  }
  const cancelled = (): CompileResult => {
    const src = resolve(path);
    return { diagnostics: [{ file: src, line: 0, column: 0, severity: 'error', message: `compile of ${src} cancelled` }], command: [], stderr: '' };
  };
  if (signal.aborted) return Promise.resolve(cancelled());
  shared.waiting++;
  return new Promise<CompileResult>((res) => {
    let done = false;
    const onAbort = () => {
      if (done) return;
      done = true;
      if (--shared.waiting === 0 && !shared.pinned) {
        shared.abort.abort();
        if (inFlight.get(key) === shared) inFlight.delete(key);
      }
      res(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void shared.result.then((r) => {
      signal.removeEventListener('abort', onAbort);
      if (done) return;
      done = true;
      shared.waiting--;
      res(r);
    });
  });
}
