// The extension manifest agrees with the code: every command the client registers is contributed with its title,
// settings exist, the engine stays installable in code-server 4.100 (VS Code 1.100), Workspace Trust is declared, and
// the layering holds (pure client modules import no `vscode`, the client never imports the simulator).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const clientDir = join(REPO, 'client');
const sources = readdirSync(clientDir).filter((f) => f.endsWith('.ts')).map((f) => ({ f, text: readFileSync(join(clientDir, f), 'utf8') }));

test('the commands a user sees, with their exact titles', () => {
  const titles = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
  for (const [id, title] of Object.entries({
    'xdpLens.runOnCapture': 'XDP: Run on Capture...',
    'xdpLens.rerun': 'XDP: Re-run',
    'xdpLens.chooseDriverMode': 'XDP: Choose Driver Mode',
    'xdpLens.showPacket': 'XDP: Show Packet...',
    'xdpLens.openOutputCaptures': 'XDP: Open Output Captures',
    'xdpLens.showBytecode': 'XDP: Show Bytecode',
    'xdpLens.compareWithKernel': 'XDP: Compare with Kernel',
    'xdpLens.debugPacket': 'XDP: Debug This Packet',
    'xdpLens.runOnLiveTraffic': 'XDP: Run on Live Traffic...',
    'xdpLens.stopLiveRun': 'XDP: Stop Live Run',
  })) assert.equal(titles[id], title, id);
  const registered = new Set<string>();
  for (const { text } of sources) for (const m of text.matchAll(/command\('([\w.]+)'/g)) registered.add(m[1]!);
  assert.deepEqual([...registered].sort(), Object.keys(titles).sort(), 'registered == contributed');
  // Commands that compile or run are disabled in an untrusted workspace.
  for (const c of pkg.contributes.commands) {
    if (['xdpLens.runOnCapture', 'xdpLens.rerun', 'xdpLens.showBytecode', 'xdpLens.compareWithKernel', 'xdpLens.runOnLiveTraffic'].includes(c.command)) assert.equal(c.enablement, 'isWorkspaceTrusted', c.command);
  }
});

test('settings, activation, engine and workspace trust', () => {
  const props = pkg.contributes.configuration.properties;
  for (const key of ['xdpLens.clang.path', 'xdpLens.clang.flags', 'xdpLens.includePaths', 'xdpLens.compileCommands', 'xdpLens.driver.mode',
    'xdpLens.driver.profile', 'xdpLens.driver.queues', 'xdpLens.defaultCapture', 'xdpLens.analyzeOnSave']) assert.ok(props[key], key);
  assert.deepEqual(props['xdpLens.driver.mode'].enum, ['native', 'readonly-page', 'generic']);
  assert.ok(pkg.activationEvents.includes('onLanguage:c'));
  const [major, minor] = pkg.engines.vscode.replace(/^\^/, '').split('.').map(Number);
  assert.ok(major === 1 && minor <= 100, `engines.vscode ${pkg.engines.vscode} must not exceed 1.100`);
  assert.equal(pkg.devDependencies['@types/vscode'].replace(/^\^/, ''), pkg.engines.vscode.replace(/^\^/, ''), '@types/vscode matches the engine');
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  // A workspace may not choose the binary that captures traffic (nor its filter) until it is trusted.
  for (const key of ['xdpLens.clang.path', 'xdpLens.tcpdump.path', 'xdpLens.live.filter']) assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(key), key);
  assert.equal(props['xdpLens.tcpdump.path'].default, 'tcpdump');
  assert.equal(pkg.main, './dist/client.js');
  // The packets view has a panel container of its own (room for whole rows), not a section of the Explorer.
  assert.ok(pkg.contributes.viewsContainers.panel.some((c: { id: string }) => c.id === 'xdpLens'));
  assert.ok(pkg.contributes.views.xdpLens.some((v: { id: string }) => v.id === 'xdpLens.packets'));
});

test('the maps view\'s title offers Re-run while its maps are stale, Refresh Maps otherwise', () => {
  const title = pkg.contributes.menus['view/title'].filter((m: { when: string }) => /view == xdpLens\.maps\b/.test(m.when));
  const when = (id: string) => title.find((m: { command: string }) => m.command === id)?.when ?? '';
  assert.match(when('xdpLens.refreshMaps'), /!xdpLens\.mapsStale/, 'Refresh Maps (the same run read again) hidden while stale');
  assert.match(when('xdpLens.rerun'), /(?<!!)xdpLens\.mapsStale/, 'Re-run offered while stale');
  assert.ok(sources.some(({ text }) => text.includes("'setContext', 'xdpLens.mapsStale'")), 'the client sets xdpLens.mapsStale');
});

test('layering: pure modules have no vscode import; nothing in client/ imports the simulator', () => {
  for (const { f, text } of sources) {
    assert.ok(!/from '\.\.\/simulator\//.test(text), `${f} imports the simulator`);
    if (['format.ts', 'hex.ts', 'state.ts', 'packet-html.ts'].includes(f)) assert.ok(!/from 'vscode'/.test(text), `${f} must stay free of vscode`);
    for (const m of text.matchAll(/from '\.\.\/server\/([\w.-]+)'/g)) assert.equal(m[1], 'protocol.ts', `${f} may import only server/protocol.ts`);
  }
});

test('the .vsix holds only the bundles, grammars, README, LICENSE and package.json', { skip: !existsSync(join(REPO, 'node_modules', '.bin', 'vsce')) && 'vsce is not installed' }, () => {
  const r = spawnSync(join(REPO, 'node_modules', '.bin', 'vsce'), ['ls', '--no-dependencies'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.trim().split('\n').filter(Boolean);
  for (const f of files) assert.match(f, /^(dist\/[\w.-]+\.(js|wasm)|syntaxes\/[\w.-]+\.json|README\.md|LICENSE|package\.json)$/, f);
  assert.ok(files.includes('package.json') && files.includes('README.md') && files.includes('LICENSE'));
  if (existsSync(join(REPO, 'dist', 'client.js'))) assert.ok(files.includes('dist/client.js') && files.includes('dist/server.js'));
});
