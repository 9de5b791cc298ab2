// Small pieces of client state with no `vscode` import: which results are stale, and the recent captures list.

/** What a run's results were computed from; results are stale once the document or the settings differ. */
export interface RunStamp {
  uri: string;
  version: number;
  settings: string;
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

export function isStale(stamp: RunStamp | undefined, current: { version: number | undefined; settings: string }): boolean {
  if (!stamp) return false;
  return current.version === undefined || current.version !== stamp.version || current.settings !== stamp.settings;
}

/** Most recently used first, no duplicates, at most `max`. */
export function addRecent(list: readonly string[], item: string, max = 10): string[] {
  return [item, ...list.filter((x) => x !== item)].slice(0, max);
}

/** Capture files the quick pick offers, in order: the workspace default, then recent ones, without repeats. */
export function captureChoices(defaultCapture: string | undefined, recent: readonly string[]): { path: string; isDefault: boolean }[] {
  const out: { path: string; isDefault: boolean }[] = [];
  if (defaultCapture) out.push({ path: defaultCapture, isDefault: true });
  for (const r of recent) if (r !== defaultCapture) out.push({ path: r, isDefault: false });
  return out;
}

/** Settings as sent to the server: in an untrusted workspace nothing may be compiled, so the on-save tier is off. */
export function restrictSettings<T extends { analyzeOnSave?: boolean; kernelVerifier?: boolean }>(settings: T | null | undefined, trusted: boolean): T | null | undefined {
  if (trusted || !settings || typeof settings !== 'object') return settings;
  return { ...settings, analyzeOnSave: false, kernelVerifier: false };
}

/** A run shorter than this is re-run on each save of its program (xdpLens.rerunOnSave), keeping its counts current. */
export const RERUN_ON_SAVE_MS = 1000;

/**
 * Whether saving `saved` re-runs the last run: the setting is on, the workspace is trusted, the saved file is the
 * last run's program, that run took under RERUN_ON_SAVE_MS, and no run is going on.
 */
export function rerunOnSave(o: { enabled: boolean; trusted: boolean; saved: string; last?: { uri: string; ms: number }; running: boolean }): boolean {
  return o.enabled && o.trusted && !o.running && o.last !== undefined && o.last.uri === o.saved && o.last.ms < RERUN_ON_SAVE_MS;
}
