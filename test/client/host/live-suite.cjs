// Runs inside the extension host of a real VS Code (see ../host-live.test.ts): XDP: Run on Live Traffic with a fake
// tcpdump (xdpLens.tcpdump.path) that writes the demo capture and then waits, as a real one waits for traffic: the
// counts CodeLens grows while the run goes on, the stop command ends it, and the recorded capture is the run's.
const vscode = require('vscode');
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const { until } = require('./until.cjs');

exports.run = async function () {
  const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
  const results = [];
  const step = (name) => results.push(name);
  const ext = vscode.extensions.getExtension('xdp-lens.xdp-lens');
  const doc = await vscode.workspace.openTextDocument(path.join(folder, 'xdp_filter.c'));
  await vscode.window.showTextDocument(doc);
  await until('activation', () => ext.isActive);
  await vscode.workspace.getConfiguration('xdpLens').update('tcpdump.path', path.join(folder, 'fake-tcpdump'), vscode.ConfigurationTarget.Workspace);
  const lensTitles = async () => ((await vscode.commands.executeCommand('vscode.executeCodeLensProvider', doc.uri)) || []).map((l) => l.command && l.command.title);

  // Interface and filter given, as the picker and the input box would give them.
  let settled = false;
  const running = Promise.resolve(vscode.commands.executeCommand('xdpLens.runOnLiveTraffic', doc.uri.toString(), 'lo', 'udp or icmp')).finally(() => (settled = true));
  const partial = await until('a counts lens while the live run goes on', async () => (await lensTitles()).find((t) => /packets? of live on lo, capturing\)/.test(t || '')));
  assert.strictEqual(settled, false, `the lens showed counts before the run ended: ${partial}`);
  step('counts lens during the live run');
  const full = await until('all ten packets in the lens', async () => (await lensTitles()).find((t) => /\(10 packets of live on lo, capturing\)/.test(t || '')));
  assert.match(full, /6 XDP_PASS/);
  assert.strictEqual(settled, false, 'still running: the fake tcpdump waits for more');
  step('lens reaches 10 packets');

  await vscode.commands.executeCommand('xdpLens.stopLiveRun');
  const summary = await running;
  assert.ok(summary, 'the live run returned a summary (see the XDP Lens output channel)');
  assert.strictEqual(summary.packets, 10);
  assert.strictEqual(summary.live.stopped, 'stopped by the user');
  assert.deepStrictEqual([summary.byAction.XDP_PASS, summary.byAction.XDP_DROP, summary.byAction.XDP_TX], [6, 2, 2]);
  assert.ok(fs.readFileSync(summary.capture).equals(fs.readFileSync(path.join(folder, 'demo.pcap'))), 'the recorded capture is the stream');
  const log = fs.readFileSync(path.join(folder, 'fake-tcpdump.log'), 'utf8');
  assert.match(log, /"signal":"SIGTERM"/, 'tcpdump was stopped with SIGTERM');
  await until('the lens naming the recorded capture', async () => (await lensTitles()).find((t) => /\(10 packets of live-lo-.*\.pcap, cancelled\)/.test(t || '')));
  step('stopped');

  // The maps view shows the maps after the whole run, not as they were at its first update (a live run keeps its id
  // while it grows): the two echo requests counted in proto_count[6], as after a run on the same capture.
  await vscode.commands.executeCommand('xdpLens.maps.focus');
  const maps = await until('the maps view after the live run', () => {
    const pc = ext.exports.mapsView.snapshot().find((m) => m.name === 'proto_count');
    return pc && pc.entries.some((e) => e.label === '[6]' && e.description === '2  (was 0)') && pc;
  });
  assert.match(maps.description, /^ARRAY · __u32 → __u64 · 7 entries, 6 changed$/, maps.description);
  step('maps view after the live run');

  // The recorded capture is the run's: a packet's detail re-runs from it.
  const detail = await vscode.commands.executeCommand('xdpLens.showPacket', 1);
  assert.ok(detail && !detail.error, `packet detail: ${detail && detail.error}`);
  assert.strictEqual(detail.action, 'XDP_TX');
  step('packet detail from the recorded capture');

  fs.writeFileSync(path.join(folder, 'host-live-suite-ran.txt'), results.join('\n') + '\n');
};
