// Staleness, recent captures and the settings sent in an untrusted workspace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRecent, captureChoices, isStale, staleWhat, rerunAfterRun, rerunOnSave, restrictSettings, savedProgram, settingsKey, textHash } from '../../client/state.ts';

test('settings keys ignore key order but not values', () => {
  assert.equal(settingsKey({ a: 1, b: { c: [1, 2], d: 'x' } }), settingsKey({ b: { d: 'x', c: [1, 2] }, a: 1 }));
  assert.notEqual(settingsKey({ driver: { mode: 'native' } }), settingsKey({ driver: { mode: 'generic' } }));
  assert.notEqual(settingsKey({ f: [1, 2] }), settingsKey({ f: [2, 1] }));
});

test('results are stale after an edit, a settings change, or when the document is gone', () => {
  const stamp = { uri: 'file:///a.c', version: 4, settings: 's1' };
  assert.equal(isStale(stamp, { version: 4, settings: 's1' }), false);
  assert.equal(isStale(stamp, { version: 5, settings: 's1' }), true);
  assert.equal(isStale(stamp, { version: 4, settings: 's2' }), true);
  assert.equal(isStale(stamp, { version: undefined, settings: 's1' }), true);
  assert.equal(isStale(undefined, { version: 1, settings: 's1' }), false);
  // With the program's text in the stamp the text decides, not the version: a document closed and opened again (version
  // 1 again) or an edit undone is not stale; another text, or none readable, is.
  const text = 'int x;\n';
  const hashed = { ...stamp, text: textHash(text) };
  assert.equal(isStale(hashed, { version: 1, settings: 's1', text }), false);
  assert.equal(isStale(hashed, { version: undefined, settings: 's1', text }), false);
  assert.equal(isStale(hashed, { version: 4, settings: 's1', text: 'int y;\n' }), true);
  assert.equal(isStale(hashed, { version: 4, settings: 's1', text: undefined }), true);
  assert.equal(isStale(hashed, { version: 4, settings: 's2', text }), true);
});

test('stale notices name what changed: the program, the map seed file, or the settings by name', () => {
  // As client/context.ts runSettings keys them: the settings, and `seed`, the hash of the seed file's text on disk.
  const key = (o: Record<string, unknown> = {}) => settingsKey({ clang: 'clang', driver: { mode: 'native' }, maps: 'seeds/blocklist.json', seed: 'h1', ...o });
  const text = 'int x;\n';
  const stamp = { uri: 'file:///w/my%20prog.c', version: 4, settings: key(), text: textHash(text) };
  const now = (o: Record<string, unknown> = {}, t = text) => ({ version: 9, settings: key(o), text: t });
  assert.equal(staleWhat(stamp, now()), undefined);
  assert.equal(staleWhat(stamp, now({ seed: 'h2' })), 'the map seed file blocklist.json');
  assert.equal(staleWhat(stamp, now({}, 'int y;\n')), 'my prog.c');
  assert.equal(staleWhat(stamp, now({ seed: 'h2' }, 'int y;\n')), 'my prog.c and the map seed file blocklist.json');
  assert.equal(staleWhat(stamp, now({ driver: { mode: 'generic' } })), 'the setting xdpLens.driver');
  // Another seed file chosen: the setting, not the file's text.
  assert.equal(staleWhat(stamp, now({ maps: 'other.json', seed: 'h3' })), 'the setting xdpLens.maps');
  assert.equal(staleWhat(stamp, now({ clang: 'clang-18', driver: {} })), 'the settings xdpLens.clang, xdpLens.driver');
  assert.equal(staleWhat(stamp, now({ clang: 'clang-18', seed: 'h2' })), 'the settings');
  // No text in the stamp: the version decides; a key that is not JSON still reads as the settings.
  assert.equal(staleWhat({ uri: 'file:///w/a.c', version: 4, settings: 's1' }, { version: 5, settings: 's1' }), 'a.c');
  assert.equal(staleWhat({ uri: 'file:///w/a.c', version: 4, settings: 's1' }, { version: 4, settings: 's2' }), 'the settings');
});

test('recent captures: newest first, no repeats, bounded', () => {
  let list: string[] = [];
  for (const p of ['a', 'b', 'c', 'a']) list = addRecent(list, p, 3);
  assert.deepEqual(list, ['a', 'c', 'b']);
  list = addRecent(list, 'd', 3);
  assert.deepEqual(list, ['d', 'a', 'c']);
  assert.deepEqual(captureChoices('c', list), [{ path: 'c', isDefault: true }, { path: 'd', isDefault: false }, { path: 'a', isDefault: false }]);
  assert.deepEqual(captureChoices(undefined, ['x']), [{ path: 'x', isDefault: false }]);
  assert.deepEqual(captureChoices('c', ['x'], ['/w/z.pcap', 'x', 'c', '/w/b.pcapng']), [
    { path: 'c', isDefault: true },
    { path: 'x', isDefault: false },
    { path: '/w/b.pcapng', isDefault: false, inWorkspace: true },
    { path: '/w/z.pcap', isDefault: false, inWorkspace: true },
  ]);
});

test('an untrusted workspace never asks the server to compile on save', () => {
  assert.deepEqual(restrictSettings({ analyzeOnSave: true, kernelVerifier: true, clang: { path: 'clang' } }, false), { analyzeOnSave: false, kernelVerifier: false, clang: { path: 'clang' } });
  assert.deepEqual(restrictSettings({ analyzeOnSave: true }, true), { analyzeOnSave: true });
  assert.equal(restrictSettings(null, false), null);
});

test('a save re-runs the last run only when it was fast, of this file, allowed; during a run, after it', () => {
  const base = { enabled: true, trusted: true, saved: 'file:///a.c', last: { uri: 'file:///a.c', ms: 400 } };
  assert.equal(rerunOnSave(base), 'now');
  assert.equal(rerunOnSave({ ...base, last: { uri: 'file:///a.c', ms: 1000 } }), 'slow', 'a run of a second or more is not repeated, and says why');
  assert.equal(rerunOnSave({ ...base, enabled: false, last: { uri: 'file:///a.c', ms: 1400 } }), undefined, 'with the setting off nothing is said');
  assert.equal(rerunOnSave({ ...base, saved: 'file:///b.c', last: { uri: 'file:///a.c', ms: 1400 } }), undefined, 'another file: nothing');
  assert.equal(rerunOnSave({ ...base, enabled: false }), undefined, 'xdpLens.rerunOnSave off');
  assert.equal(rerunOnSave({ ...base, trusted: false }), undefined);
  assert.equal(rerunOnSave({ ...base, saved: 'file:///b.c' }), undefined, 'another file');
  assert.equal(rerunOnSave({ ...base, last: undefined }), undefined, 'no run yet');
  assert.equal(rerunOnSave({ ...base, running: 'file:///a.c' }), 'after', 'saved during a run: considered when it ends');
  assert.equal(rerunOnSave({ ...base, running: 'file:///a.c', last: { uri: 'file:///a.c', ms: 2400 } }), 'after', 'the run before was slow: the one going on decides when it ends (its time, its file)');
  assert.equal(rerunOnSave({ ...base, running: 'file:///a.c', last: undefined }), 'after', 'the first run of the file is going on');
  assert.equal(rerunOnSave({ ...base, running: 'file:///b.c' }), undefined, 'a run of another file is going on');
  assert.equal(rerunOnSave({ ...base, running: 'file:///a.c', enabled: false }), undefined);
});

test('saving the last run\'s map seed file is a save of its program (re-run on save), another file is itself', () => {
  const last = { uri: 'file:///w/a.c', maps: '/w/seed.json' };
  assert.deepEqual(savedProgram({ uri: 'file:///w/seed.json', fsPath: '/w/seed.json' }, last), { uri: 'file:///w/a.c', seed: true });
  assert.deepEqual(savedProgram({ uri: 'file:///w/a.c', fsPath: '/w/a.c' }, last), { uri: 'file:///w/a.c', seed: false });
  assert.deepEqual(savedProgram({ uri: 'file:///w/other.json', fsPath: '/w/other.json' }, last), { uri: 'file:///w/other.json', seed: false });
  assert.deepEqual(savedProgram({ uri: 'file:///w/seed.json', fsPath: '/w/seed.json' }, { uri: 'file:///w/a.c' }), { uri: 'file:///w/seed.json', seed: false }, 'the last run read no seed');
  assert.deepEqual(savedProgram({ uri: 'untitled:seed.json' }, last), { uri: 'untitled:seed.json', seed: false }, 'not a file on disk');
  assert.deepEqual(savedProgram({ uri: 'file:///w/seed.json', fsPath: '/w/seed.json' }, undefined), { uri: 'file:///w/seed.json', seed: false }, 'no run yet');
  // With the program's uri the seed's save re-runs a fast run like the program's own save.
  assert.equal(rerunOnSave({ enabled: true, trusted: true, saved: savedProgram({ uri: 'file:///w/seed.json', fsPath: '/w/seed.json' }, last).uri, last: { uri: last.uri, ms: 200 } }), 'now');
});

test('a save during a run re-runs once that run ends, when the file it compiled is not the one saved last', () => {
  const base = { enabled: true, trusted: true, savedDuringRun: { uri: 'file:///a.c', version: 7 }, last: { uri: 'file:///a.c', ms: 300, version: 5 } };
  assert.equal(rerunAfterRun(base), true, 'the run compiled version 5, version 7 was saved during it');
  assert.equal(rerunAfterRun({ ...base, last: { ...base.last, version: 7 } }), false, 'the run already compiled what was saved (its own save)');
  assert.equal(rerunAfterRun({ ...base, savedDuringRun: undefined }), false, 'no save during the run');
  assert.equal(rerunAfterRun({ ...base, last: { ...base.last, ms: 1500 } }), false, 'the run just done took a second or more');
  assert.equal(rerunAfterRun({ ...base, enabled: false }), false, 'xdpLens.rerunOnSave off');
  assert.equal(rerunAfterRun({ ...base, trusted: false }), false);
  assert.equal(rerunAfterRun({ ...base, last: { ...base.last, uri: 'file:///b.c' } }), false, 'the last run is of another file');
  assert.equal(rerunAfterRun({ ...base, last: undefined }), false, 'the run failed: no last run');
});
