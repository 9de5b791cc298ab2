// Re-run on save (issue 12) in a real VS Code (code-server + chromium; see README.md in this folder), as a person uses
// it: run the demo program on the demo capture, change the UDP return from PASS to DROP and save. With
// xdpLens.rerunOnSave on (the default) the run is repeated and the counts above the function follow the edit
// (6 PASS, 2 DROP -> 5 PASS, 3 DROP: the capture's one UDP packet), the same counts as `xdp-lens run` on the edited
// file. Only a run under a second is repeated: when the machine made the first run slower (a cold clang, a loaded
// machine), the lens says so and the test re-runs once by hand and edits again, so that what it checks (a save re-runs,
// with the CLI's counts) holds on a slow machine too. A run of a large capture is never repeated, and the lens says
// why. With the setting off the counts stay those of the run before the edit, marked stale. Screenshots go to
// test-artifacts/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from '../repo.ts';
import { e2eRequired, e2eSkip, goToLine, panelView, pickQuickItem, replaceLineEndAndSave, runCommand, startVSCode, waitForActiveEditor, waitForCodeLens, waitForStatusBarText, waitVisible, type VSCodeSession } from './harness/index.ts';

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

/** The CLI's counts of the actions (PASS, DROP, TX) of `file` on `capture`. */
function cliCounts(file: string, capture: string): number[] {
  const cli = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'run', file, capture, '--format', 'summary'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const actions = (JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as { summary: { actions: Record<string, number> } }).summary.actions;
  return [actions.XDP_PASS ?? 0, actions.XDP_DROP ?? 0, actions.XDP_TX ?? 0];
}

/** A lens whose run was not repeated on a save because it took too long: it says so, and how long. */
const NOT_RERUN = /\(stale: not re-run on save, the run took \d+\.\d s\)/;

/** demo.pcap's packets `copies` times over: a capture whose run takes well over a second. */
function repeatedCapture(target: string, copies: number): void {
  const src = readFileSync(join(REPO, 'examples', 'demo.pcap'));
  const records: Buffer[] = [];
  for (let o = 24; o + 16 <= src.length; ) {
    const len = 16 + src.readUInt32LE(o + 8);
    records.push(src.subarray(o, o + len));
    o += len;
  }
  const body = Buffer.concat(records);
  writeFileSync(target, Buffer.concat([src.subarray(0, 24), ...Array.from({ length: copies }, () => body)]));
}

interface EditContext {
  vs: VSCodeSession;
  file: string;
  capture: string;
  /** Sets the UDP return to `action` (PASS or DROP) and saves, as a person would. */
  setUdpReturn(action: 'PASS' | 'DROP'): Promise<void>;
}

/**
 * Run xdp_filter.c on demo.pcap (or `capture`), make the UDP return DROP and save; what the CodeLens then says is up to
 * `check`.
 */
async function editAndSave(name: string, rerunOnSave: boolean | undefined, check: (c: EditContext) => Promise<void>, capture = { name: 'demo.pcap', write: (to: string) => copyFileSync(join(REPO, 'examples', 'demo.pcap'), to), lens: '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX (10 packets of demo.pcap' }): Promise<void> {
  const workspace = join(root, name);
  mkdirSync(workspace, { recursive: true });
  copyFileSync(join(REPO, 'examples', 'xdp_filter.c'), join(workspace, 'xdp_filter.c'));
  capture.write(join(workspace, capture.name));
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
      settings: { 'xdpLens.defaultCapture': capture.name, 'editor.stickyScroll.enabled': false, ...(rerunOnSave === undefined ? {} : { 'xdpLens.rerunOnSave': rerunOnSave }) },
    });
    const page = vs.page;
    await waitForActiveEditor(page, 'xdp_filter.c');
    await waitForStatusBarText(page, /XDP native/);
    await goToLine(page, fn);
    await waitForCodeLens(page, 'Run on capture');
    await runCommand(page, 'XDP: Run on Capture...');
    await pickQuickItem(page, new RegExp(`${capture.name.replace('.', '\\.')}.*default`));
    await waitForCodeLens(page, capture.lens, 90_000);
    const setUdpReturn = async (action: 'PASS' | 'DROP') => {
      await replaceLineEndAndSave(page, file, udpReturn, lines[udpReturn - 1]!.indexOf('PASS') + 1, `${action};`);
      // Back to the function, whose CodeLens holds the counts.
      await goToLine(page, fn);
    };
    await setUdpReturn('DROP');
    await check({ vs, file, capture: join(workspace, capture.name), setUdpReturn });
    assert.deepEqual(vs.blockedRequests(), []);
  } catch (e) {
    await vs?.screenshot(`${name}-failure`).catch(() => undefined);
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
  } finally {
    await vs?.stop();
  }
}

test('re-run on save: the counts above the function follow an edit once it is saved, as the CLI counts the edited file', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(built, NOT_BUILT);
  await editAndSave('rerun-on-save', undefined, async ({ vs, file, capture, setUdpReturn }) => {
    const counts = { PASS: '6 XDP_PASS · 2 XDP_DROP', DROP: '5 XDP_PASS · 3 XDP_DROP' };
    let udp: 'PASS' | 'DROP' = 'DROP';
    for (let attempt = 1; ; attempt++) {
      const rerun = new RegExp(`${counts[udp]} · 2 XDP_TX \\(10 packets of demo\\.pcap\\)(?! \\(stale)`);
      const lens = await waitForCodeLens(vs.page, new RegExp(`${rerun.source}|${NOT_RERUN.source}`), 90_000);
      const text = await lens.innerText();
      if (rerun.test(text)) {
        assert.doesNotMatch(text, /stale/);
        break;
      }
      // The run before the save took a second or more (a cold start, a loaded machine): not repeated, and the lens
      // says why. Re-run by hand (now warm), then edit and save again: that save must re-run.
      assert.ok(attempt < 3, `${attempt} runs in a row took a second or more: ${text}`);
      t.diagnostic(`attempt ${attempt}: ${text}`);
      await runCommand(vs.page, 'XDP: Re-run');
      await waitForCodeLens(vs.page, new RegExp(`${counts[udp]} · 2 XDP_TX \\(10 packets of demo\\.pcap\\)(?! \\(stale)`), 90_000);
      udp = udp === 'DROP' ? 'PASS' : 'DROP';
      await setUdpReturn(udp);
    }
    await vs.screenshot('rerun-on-save');
    // The CLI on the file as saved: the same counts.
    assert.deepEqual(cliCounts(file, capture), udp === 'DROP' ? [5, 3, 2] : [6, 2, 2]);
  });
});

test('a run too long to repeat on save (a large capture): the stale counts say why, and how to refresh them', { skip, timeout: 300_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  // 2,000,000 packets (162 MB): the editor counts 1,000,000 in about 1.5 s on an idle 2-core machine (bench/editor-run),
  // so a run of these takes well over the second a re-run on save allows however fast the engine gets within reason
  // (300,000 did not: a run of them took under a second in CI once the engine got faster, and the save re-ran it).
  const copies = 200_000;
  await editAndSave('rerun-on-save-slow', undefined, async ({ vs }) => {
    await waitForCodeLens(vs.page, new RegExp(`1,200,000 XDP_PASS · 400,000 XDP_DROP · 400,000 XDP_TX \\(2,000,000 packets of large\\.pcap\\) ${NOT_RERUN.source}`), 60_000);
    // The packets view's message says it in full.
    await runCommand(vs.page, 'XDP: Show Packets View');
    await waitVisible(vs.page.locator('.part.panel').filter({ hasText: /results are stale\. Not re-run on save: the last run took \d+\.\d s, and only runs under 1 s are re-run on save\. Run "XDP: Re-run" to refresh\./ }), 'the packets view saying why the run was not repeated');
    // The stale run's packets are still listed under the message (pages of 500), not an empty view.
    await waitVisible(panelView(vs.page, /XDP Packets/i).getByText(/^packets 0–499$/), 'the first page of the stale run\'s packets', 60_000);
    await vs.screenshot('rerun-on-save-slow');
  }, { name: 'large.pcap', write: (to) => repeatedCapture(to, copies), lens: '1,200,000 XDP_PASS · 400,000 XDP_DROP · 400,000 XDP_TX (2,000,000 packets of large.pcap' });
});

test('re-run on save turned off (xdpLens.rerunOnSave false): the counts stay those of the last run, marked stale', { skip, timeout: 240_000 }, async () => {
  assert.ok(built, NOT_BUILT);
  await editAndSave('rerun-on-save-off', false, async ({ vs }) => {
    await waitForCodeLens(vs.page, /6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX \(10 packets of demo\.pcap.*\(stale\)/, 30_000);
    // Nothing re-ran after the save: a few seconds on (a re-run of the 10 packets takes well under one), still no run
    // with the edited counts (a negative check: there is no state to wait for).
    await vs.page.waitForTimeout(3_000);
    assert.equal(await vs.page.getByText(/5 XDP_PASS · 3 XDP_DROP/).count(), 0, 'no re-run with rerunOnSave off');
    await vs.screenshot('rerun-on-save-off');
  });
});
