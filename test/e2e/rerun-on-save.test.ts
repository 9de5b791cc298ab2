// Re-run on save (issue 12) in a real VS Code (code-server + chromium; see README.md in this folder), as a person uses
// it: run the demo program on the demo capture, change the UDP return from PASS to DROP and save. With
// xdpLens.rerunOnSave on (the default) the run is repeated and the counts above the function follow the edit
// (6 PASS, 2 DROP -> 5 PASS, 3 DROP: the capture's one UDP packet), the same counts as `xdp-lens run` on the edited
// file. With it off the counts stay those of the run before the edit, marked stale. Screenshots go to
// test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from '../repo.ts';
import { e2eRequired, e2eSkip, goToLine, pickQuickItem, replaceLineEndAndSave, runCommand, startVSCode, waitForActiveEditor, waitForCodeLens, waitForStatusBarText, type VSCodeSession } from './harness/index.ts';

const built = existsSync(join(REPO, 'dist', 'client.js')) && existsSync(join(REPO, 'dist', 'server.js')) && existsSync(join(REPO, 'dist', 'cli.js'));
const NOT_BUILT = 'dist/ is missing: run npm run build (npm test builds first)';
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT);

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'xdp-lens-e2e-rerun-'));
});
after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Run xdp_filter.c on demo.pcap, make the UDP return DROP and save; what the CodeLens then says is up to `check`. */
async function editAndSave(name: string, rerunOnSave: boolean | undefined, check: (vs: VSCodeSession, file: string) => Promise<void>): Promise<void> {
  const workspace = join(root, name);
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  copyFileSync(join(REPO, 'examples', 'demo.pcap'), join(workspace, 'demo.pcap'));
  const file = join(workspace, 'xdp_filter.c');
  const lines = readFileSync(file, 'utf8').split('\n');
  const udpReturn = lines.findIndex((l, i) => l.includes('return XDP_PASS;') && lines[i - 1]!.includes('count(P_UDP)')) + 1;
  assert.ok(udpReturn > 0, 'the UDP return of examples/xdp_filter.c');
  const fn = lines.findIndex((l) => l.includes('int xdp_filter(')) + 1;
  let vs: VSCodeSession | undefined;
  try {
    vs = await startVSCode({
      extensionDevelopmentPath: REPO,
      workspace,
      openFile: 'xdp_filter.c',
      viewport: { width: 1440, height: 900 },
      settings: { 'xdpLens.defaultCapture': 'demo.pcap', 'editor.stickyScroll.enabled': false, ...(rerunOnSave === undefined ? {} : { 'xdpLens.rerunOnSave': rerunOnSave }) },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await goToLine(page, fn);
    await waitForCodeLens(page, 'Run on capture');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, /demo\.pcap.*default/);
    await waitForCodeLens(page, '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap', 90_000);
    await replaceLineEndAndSave(page, file, udpReturn, lines[udpReturn - 1]!.indexOf('PASS') + 1, 'DROP;');
    // Back to the function, whose CodeLens holds the counts.
    await goToLine(page, fn);
    await check(vs, file);
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot(`${name}-failure`).catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
}

test('re-run on save: the counts above the function follow an edit once it is saved, as the CLI counts the edited file', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  await editAndSave('rerun-on-save', undefined, async (vs, file) => {
    const lens = await waitForCodeLens(vs.page, '5 XDP_PASS · 3 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap', 90_000);
    assert.doesNotMatch(await lens.innerText(), /stale/);
    await vs.screenshot('rerun-on-save');
    // The CLI on the file as saved: the same counts.
    const cli = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'run', file, join(REPO, 'examples', 'demo.pcap'), '--format', 'summary'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const actions = (JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as { summary: { actions: Record<string, number> } }).summary.actions;
    assert.deepEqual([actions.XDP_PASS, actions.XDP_DROP, actions.XDP_TX], [5, 3, 2]);
  });
});

test('re-run on save turned off (xdpLens.rerunOnSave false): the counts stay those of the last run, marked stale', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  await editAndSave('rerun-on-save-off', false, async (vs) => {
    await waitForCodeLens(vs.page, /6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX \(10 packets of demo\.pcap.*\(stale\)/, 30_000);
    // Nothing re-ran after the save: a few seconds on (a re-run of the 10 packets takes well under one), still no run
    // with the edited counts (a negative check: there is no state to wait for).
    await vs.page.waitForTimeout(3_000);
    assert.equal(await vs.page.getByText(/5 XDP_PASS · 3 XDP_DROP/).count(), 0, 'no re-run with rerunOnSave off');
    await vs.screenshot('rerun-on-save-off');
  });
});
