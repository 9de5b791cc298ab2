// Runs inside the extension host of a real VS Code (see ../host.test.ts): drives the XDP Lens extension through its
// commands and the VS Code API and checks what a user would see. Plain CommonJS: the host loads it as is.
const vscode = require('vscode');
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const { sleep, until } = require('./until.cjs');

exports.run = async function () {
  const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const results = [];
  const step = (name) => results.push(name);
  const ext = vscode.extensions.getExtension('xdp-lens.xdp-lens');
  assert.ok(ext, 'XDP Lens is loaded');
  const doc = await vscode.workspace.openTextDocument(path.join(folder, 'xdp_filter.c'));
  await vscode.window.showTextDocument(doc);
  await until('activation', () => ext.isActive);
  step('activated on a C file');

  const lensTitles = async () => ((await vscode.commands.executeCommand('vscode.executeCodeLensProvider', doc.uri)) || []).map((l) => l.command && l.command.title);
  const before = await until('the Run lens', async () => (await lensTitles()).includes('$(play) Run on capture') && lensTitles());
  assert.strictEqual(before.length, 1, JSON.stringify(before));
  step('Run on capture lens');

  const summary = await vscode.commands.executeCommand('xdpLens.runOnCapture', doc.uri.toString(), path.join(folder, 'demo.pcap'));
  assert.ok(summary, 'the run returned a summary (see the XDP Lens output channel)');
  assert.strictEqual(summary.packets, 10);
  assert.deepStrictEqual([summary.byAction.XDP_PASS, summary.byAction.XDP_DROP, summary.byAction.XDP_TX], [6, 2, 2]);
  const lines = doc.getText().split('\n');
  for (const e of summary.exits) assert.match(lines[e.line - 1], /return/, `exit line ${e.line}`);
  step('run on demo.pcap');

  const after = await until('the counts lens', async () => (await lensTitles()).find((t) => /XDP_PASS/.test(t)));
  assert.strictEqual(after, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap)');
  // Beside each return's counts, in a trusted workspace: a lens debugging the first packet that left there.
  const debugLensAt = async () => ((await vscode.commands.executeCommand('vscode.executeCodeLensProvider', doc.uri)) || [])
    .filter((l) => l.command && l.command.command === 'xdpLens.debugPacket')
    .map((l) => [l.range.start.line + 1, l.command.arguments[0]]);
  const tx = summary.exits.find((e) => e.action === 'XDP_TX');
  if (vscode.workspace.isTrusted) {
    const lenses = await until('the Debug lenses', async () => { const l = await debugLensAt(); return l.length ? l : undefined; });
    assert.strictEqual(lenses.length, new Set(summary.exits.map((e) => e.line)).size, JSON.stringify(lenses));
    assert.deepStrictEqual(lenses.find(([line]) => line === tx.line), [tx.line, tx.firstPacket]);
  } else assert.deepStrictEqual(await debugLensAt(), []);
  step('counts lens');

  const detail = await vscode.commands.executeCommand('xdpLens.showPacket', 1);
  assert.ok(detail, 'packet detail');
  assert.strictEqual(detail.action, 'XDP_TX');
  // The packet view is a webview tab beside the source, titled by the packet; the detail carries both layer trees.
  const packetTab = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && /^Packet #1\b/.test(t.label));
  await until('the packet view', () => packetTab());
  assert.deepStrictEqual(detail.layers.before.map((l) => l.key), ['eth', 'ip', 'icmp', 'data']);
  assert.ok(detail.changed.length > 0, 'changed bytes');
  assert.ok(detail.maps.some((m) => m.map === 'proto_count'), 'map updates');
  const source = vscode.window.visibleTextEditors.find((e) => e.document.uri.fsPath === doc.uri.fsPath);
  assert.ok(source, 'the source stays visible beside the detail');
  step('packet detail');

  // An edit makes the results stale, visibly.
  const edit = new vscode.WorkspaceEdit();
  edit.insert(doc.uri, new vscode.Position(0, 0), '// edited\n');
  await vscode.workspace.applyEdit(edit);
  await until('the stale lens', async () => (await lensTitles()).find((t) => /\(stale\)$/.test(t)));
  await until('the packet view marked stale', () => /\(stale\)$/.test(packetTab()?.label ?? ''));
  assert.deepStrictEqual(await debugLensAt(), [], 'no Debug lens on stale results');
  step('stale after edit');

  await vscode.commands.executeCommand('xdpLens.showBytecode', doc.uri);
  const bytecode = await until('the bytecode document', () => vscode.window.visibleTextEditors.find((e) => e.document.languageId === 'xdp-bytecode'));
  assert.match(bytecode.document.getText(), /xdp_filter/);
  step('bytecode');

  // Read-only pages: the echo reply's writes fault; the faults become diagnostics on their lines.
  await vscode.workspace.getConfiguration('xdpLens').update('driver.mode', 'readonly-page', vscode.ConfigurationTarget.Workspace);
  const ro = await vscode.commands.executeCommand('xdpLens.rerun');
  assert.ok(ro, 're-run in readonly-page mode');
  assert.strictEqual(ro.driver.mode, 'readonly-page');
  assert.ok(ro.faults.length > 0, 'faults in readonly-page mode');
  // The packet view was redrawn from the new run: no longer stale.
  await until('the packet view refreshed by the re-run', () => packetTab()?.label === 'Packet #1');
  // The analysis (now in readonly-page mode too) reports the write on that line: one entry for the mistake, its
  // finding with the run's evidence, not a second entry of the run's own.
  const faultLine = ro.faults[0].line - 1;
  const onLine = () => vscode.languages.getDiagnostics(doc.uri).filter((d) => d.range.start.line === faultLine);
  const diags = await until('one diagnostic on the fault\'s line, with the packets it stopped', () => {
    const l = onLine();
    return l.length === 1 && l[0].source === 'xdp-lens' && /faulted here/.test(l[0].message) ? l : undefined;
  });
  assert.match(diags[0].message, /The last run confirms it: 2 packets faulted here and were aborted: #1, #9\./);
  assert.strictEqual(diags[0].code, 'readonly-page-write');
  step('fault diagnostics');

  // Re-run on save (xdpLens.rerunOnSave, on by default): a run that took under a second is repeated when its program is
  // saved, so the counts follow the edit without a command. Back to native mode first, through the Re-run command.
  await vscode.workspace.getConfiguration('xdpLens').update('driver.mode', undefined, vscode.ConfigurationTarget.Workspace);
  // Only a run that took under a second is repeated: the command's time bounds the run's own (a busy machine may need
  // a few tries).
  let native;
  let fast = false;
  for (let i = 0; i < 5 && !fast; i++) {
    const t0 = Date.now();
    native = await vscode.commands.executeCommand('xdpLens.rerun');
    fast = Date.now() - t0 < 900;
  }
  assert.ok(native, 're-run in native mode');
  const countsOf = (t) => Object.fromEntries([...t.matchAll(/(\d+) (XDP_\w+)/g)].map((m) => [m[2], Number(m[1])]));
  const udpPass = doc.getText().indexOf('count(P_UDP);\n\t\treturn XDP_PASS;');
  assert.ok(udpPass > 0, 'the UDP return');
  const passAt = doc.positionAt(udpPass + 'count(P_UDP);\n\t\treturn '.length);
  const toDrop = new vscode.WorkspaceEdit();
  toDrop.replace(doc.uri, new vscode.Range(passAt, passAt.translate(0, 'XDP_PASS'.length)), 'XDP_DROP');
  await vscode.workspace.applyEdit(toDrop);
  await doc.save();
  if (!fast) {
    step('re-run on save: not checked, every run took a second or more on this machine');
    return finish();
  }
  // The whole run's counts, not stale, without running a command: the UDP packets now drop.
  const rerunLens = await until('the counts after the save', async () => (await lensTitles()).find((t) => /XDP_DROP/.test(t) && !/\(stale\)$/.test(t) && countsOf(t).XDP_DROP > native.byAction.XDP_DROP), 60000);
  const moved = countsOf(rerunLens).XDP_DROP - native.byAction.XDP_DROP;
  assert.deepStrictEqual(countsOf(rerunLens), { ...countsOf(after), XDP_DROP: native.byAction.XDP_DROP + moved, XDP_PASS: native.byAction.XDP_PASS - moved }, rerunLens);
  step('re-run on save');

  // Turned off: a save leaves the counts stale.
  await vscode.workspace.getConfiguration('xdpLens').update('rerunOnSave', false, vscode.ConfigurationTarget.Workspace);
  const note = new vscode.WorkspaceEdit();
  note.insert(doc.uri, new vscode.Position(0, 0), '// saved with rerunOnSave off\n');
  await vscode.workspace.applyEdit(note);
  await doc.save();
  await sleep(3000);
  assert.match((await lensTitles()).find((t) => /XDP_DROP/.test(t)) || '', /\(stale\)$/, 'no re-run with xdpLens.rerunOnSave off');
  step('no re-run on save when turned off');
  finish();

  function finish() {
    fs.writeFileSync(path.join(folder, 'host-suite-ran.txt'), results.join('\n') + '\n');
  }
};
