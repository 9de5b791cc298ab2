// Runs inside the extension host of a real VS Code (see ../maps-host.test.ts): the XDP Maps view and the seed
// commands as a user drives them. Choose Map Seed File stores xdpLens.maps in the workspace settings, a run starts
// from the seed, the maps view lists every map with its entries decoded through BTF and the changed ones marked, and
// Save Current Maps as Seed writes a --maps file. Plain CommonJS: the host loads it as is.
const vscode = require('vscode');
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const { until } = require('./until.cjs');

exports.run = async function () {
  const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const steps = [];
  const step = (name) => steps.push(name);
  const ext = vscode.extensions.getExtension('xdp-lens.xdp-lens');
  const doc = await vscode.workspace.openTextDocument(path.join(folder, 'xdp_filter.c'));
  await vscode.window.showTextDocument(doc);
  await until('activation', () => ext.isActive);

  await vscode.commands.executeCommand('xdpLens.pickMapsSeed', path.join(folder, 'blocklist.json'));
  const stored = vscode.workspace.getConfiguration('xdpLens', doc.uri).inspect('maps');
  assert.strictEqual(stored.workspaceValue, 'blocklist.json', JSON.stringify(stored));
  step('Choose Map Seed File stores a workspace-relative xdpLens.maps in the workspace settings');

  const summary = await vscode.commands.executeCommand('xdpLens.runOnCapture', doc.uri.toString(), path.join(folder, 'demo.pcap'));
  assert.ok(summary, 'the run returned a summary');
  await vscode.commands.executeCommand('xdpLens.maps.focus');
  const view = ext.exports.mapsView;
  const maps = await until('the maps view', () => {
    const s = view.snapshot();
    return s.some((m) => m.name === 'blocklist') && s;
  });
  const pc = maps.find((m) => m.name === 'proto_count');
  assert.match(pc.description, /^ARRAY · __u32 → __u64 · \d+ entries, \d+ changed$/, pc.description);
  const bl = maps.find((m) => m.name === 'blocklist');
  // The seeded element (192.0.2.66, 0 dropped) was counted by the run: decoded key, value and what it was.
  assert.deepStrictEqual(bl.entries, [{ label: `[${Buffer.from('c0000242', 'hex').readUInt32LE(0)}]`, description: '1  (was 0)' }]);
  assert.ok(maps.some((m) => m.name.endsWith('.rodata')), 'global data is listed');
  step('the maps view lists every map decoded through BTF, with changes since the seed');

  const out = path.join(folder, 'after.json');
  await vscode.commands.executeCommand('xdpLens.saveMapsAsSeed', out);
  const saved = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepStrictEqual(saved.blocklist, [{ key: 'c0000242', value: '0100000000000000' }]);
  step('Save Current Maps as Seed writes a --maps file');

  // An edit of the program marks the view stale, as the packet view and the run summary are; a re-run reloads it.
  assert.strictEqual(view.stale, false, 'not stale right after the run');
  const edit = new vscode.WorkspaceEdit();
  edit.insert(doc.uri, new vscode.Position(0, 0), '// edited\n');
  await vscode.workspace.applyEdit(edit);
  await until('the maps view marked stale', () => view.stale);
  assert.match(view.message, /^Stale: xdp_filter\.c changed since this run\. Run "XDP: Re-run"\. \d+ maps after the run of xdp_filter\.c on demo\.pcap;/, view.message);
  const again = await vscode.commands.executeCommand('xdpLens.rerun');
  assert.ok(again && again.runId !== summary.runId, 'a new run');
  await until('the maps of the re-run, no longer stale', () => !view.stale && view.loadedRun === again.runId && view.message.includes('maps after the run of xdp_filter.c on demo.pcap;'));
  assert.ok(view.snapshot().some((m) => m.name === 'blocklist'), 'the maps are listed again');
  step('an edit marks the maps view stale; a re-run reloads it');

  fs.writeFileSync(path.join(folder, 'host-maps-suite-ran.txt'), steps.join('\n') + '\n');
};
