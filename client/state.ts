// Small pieces of client state with no `vscode` import: which results are stale, and the recent captures list.
import { createHash } from 'node:crypto';

/** What a run's results were computed from; results are stale once the document or the settings differ. */
export interface RunStamp {
  uri: string;
  version: number;
  settings: string;
  /** textHash of the program as run: what decides staleness, whatever the document's version (a document closed and opened again starts again at version 1). */
  text?: string;
}

/** A short hash of a program's text, for RunStamp.text. */
export function textHash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** A canonical key for the settings that change what a run computes (key order does not matter). */
export function settingsKey(settings: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(norm(settings ?? {}));
}

/**
 * Whether results are stale: the settings differ, or the program's text does (`current.text`: the open document's, or
 * the file's when it is not open; undefined when it cannot be read), or without texts to compare, its version.
 */
export function isStale(stamp: RunStamp | undefined, current: { version: number | undefined; settings: string; text?: string }): boolean {
  return staleWhat(stamp, current) !== undefined;
}

const baseName = (p: string) => p.split(/[\\/]/).pop() || p;

/**
 * What changed since the run, when its results are stale (see isStale), as a stale notice names it before "changed":
 * the program (`xdp_filter.c`), the map seed file (`the map seed file blocklist.json`, its text on disk: `seed` in the
 * settings key) or settings by name (`the setting xdpLens.driver`), joined by "and". Undefined: not stale.
 */
export function staleWhat(stamp: RunStamp | undefined, current: { version: number | undefined; settings: string; text?: string }): string | undefined {
  if (!stamp) return undefined;
  const what: string[] = [];
  const program = stamp.text !== undefined ? current.text === undefined || textHash(current.text) !== stamp.text : current.version === undefined || current.version !== stamp.version;
  if (program) {
    const name = baseName(stamp.uri);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // not %-encoded after all: as it is
    }
    what.push(decoded);
  }
  if (current.settings !== stamp.settings) {
    const parse = (k: string): Record<string, unknown> => {
      try {
        const v: unknown = JSON.parse(k);
        return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    };
    const was = parse(stamp.settings);
    const now = parse(current.settings);
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
    // Another seed file chosen: the setting says it (its text differs too, as a rule).
    const settings = keys.includes('maps') ? keys.filter((k) => k !== 'seed') : keys;
    const seedOnly = settings.length === 1 && settings[0] === 'seed' && typeof now.maps === 'string' && now.maps.trim();
    if (seedOnly) what.push(`the map seed file ${baseName(now.maps as string)}`);
    else if (settings.length === 1 && settings[0] !== 'seed') what.push(`the setting xdpLens.${settings[0]}`);
    else if (settings.length > 1 && !settings.includes('seed')) what.push(`the settings ${settings.map((k) => `xdpLens.${k}`).join(', ')}`);
    else what.push('the settings');
  }
  return what.length ? what.join(' and ') : undefined;
}

/** Most recently used first, no duplicates, at most `max`. */
export function addRecent(list: readonly string[], item: string, max = 10): string[] {
  return [item, ...list.filter((x) => x !== item)].slice(0, max);
}

/**
 * Capture files the quick pick offers, in order: the workspace default, then recent ones, then the workspace's own
 * (`inWorkspace`, by path), without repeats.
 */
export function captureChoices(defaultCapture: string | undefined, recent: readonly string[], inWorkspace: readonly string[] = []): { path: string; isDefault: boolean; inWorkspace?: true }[] {
  const out: { path: string; isDefault: boolean; inWorkspace?: true }[] = [];
  if (defaultCapture) out.push({ path: defaultCapture, isDefault: true });
  for (const r of recent) if (r !== defaultCapture) out.push({ path: r, isDefault: false });
  const seen = new Set(out.map((c) => c.path));
  for (const w of [...inWorkspace].sort()) if (!seen.has(w)) {
    seen.add(w);
    out.push({ path: w, isDefault: false, inWorkspace: true });
  }
  return out;
}

/** Settings as sent to the server: in an untrusted workspace nothing may be compiled, so the on-save tier is off. */
export function restrictSettings<T extends { analyzeOnSave?: boolean; kernelVerifier?: boolean }>(settings: T | null | undefined, trusted: boolean): T | null | undefined {
  if (trusted || !settings || typeof settings !== 'object') return settings;
  return { ...settings, analyzeOnSave: false, kernelVerifier: false };
}

/**
 * The program a save concerns: the saved file itself, or, when it is the map seed file the last run read
 * (`last.maps`, a path), that run's program (`last.uri`): the run started from the seed as it was, so saving it is an
 * edit of the run's input like an edit of the program.
 */
export function savedProgram(saved: { uri: string; fsPath?: string }, last?: { uri: string; maps?: string }): { uri: string; seed: boolean } {
  if (last?.maps !== undefined && saved.fsPath !== undefined && saved.fsPath === last.maps) return { uri: last.uri, seed: true };
  return { uri: saved.uri, seed: false };
}

/** A run shorter than this is re-run on each save of its program (xdpLens.rerunOnSave), keeping its counts current. */
export const RERUN_ON_SAVE_MS = 1000;

/**
 * What saving `saved` does to the last run: 'now' re-runs it (the setting is on, the workspace is trusted, the saved
 * file is the last run's program and that run took under RERUN_ON_SAVE_MS); 'slow' when all holds but the last run took
 * RERUN_ON_SAVE_MS or more, so it is not repeated and its results, now stale, say why (`notRerunText`); 'after' when a
 * run of the saved file (`running`, its program's uri) is going on: that run may be of the file before this save, and
 * its own time decides once it ends (`rerunAfterRun`), not the time of the run before it; undefined: nothing.
 */
export function rerunOnSave(o: { enabled: boolean; trusted: boolean; saved: string; last?: { uri: string; ms: number }; running?: string }): 'now' | 'after' | 'slow' | undefined {
  if (!(o.enabled && o.trusted)) return undefined;
  if (o.running !== undefined) return o.running === o.saved ? 'after' : undefined;
  if (o.last === undefined || o.last.uri !== o.saved) return undefined;
  return o.last.ms >= RERUN_ON_SAVE_MS ? 'slow' : 'now';
}

/**
 * When a run ends after a save of its program came in during it ('after'): re-run when the run just done was still fast
 * and the program was saved at another version than the one the run compiled (`ranVersion`), so the counts shown are
 * those of the file as saved last.
 */
export function rerunAfterRun(o: { enabled: boolean; trusted: boolean; savedDuringRun?: { uri: string; version: number }; last?: { uri: string; ms: number; version: number } }): boolean {
  const s = o.savedDuringRun;
  if (!s || !o.last || rerunOnSave({ enabled: o.enabled, trusted: o.trusted, saved: s.uri, last: o.last }) !== 'now') return false;
  return s.version !== o.last.version;
}
