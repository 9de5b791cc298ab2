// A new user's first look at programs nobody here wrote, in a real VS Code (code-server + chromium; see README.md in
// this folder): from ../shared/realworld (read in place, never copied), a CO-RE program (vmlinux.h, a ring buffer) and
// a file holding several XDP programs, each opened, hovered on a return code and a helper, run on a shared capture
// (../shared/captures), then its inline verdicts, packets view, a packet's path and its maps. Each step's screenshot
// (test-artifacts/e2e/walk-*.png) is for a person to look at; the checks are on what a new user must see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import {
  clickUntil, e2eRequired, e2eSkip, goToLine, panelView, pickQuickItem, runCommand, showHover, startVSCode, waitForActiveEditor,
  waitForCodeLens, waitForNotificationGone, waitForStatusBarText, waitVisible, type VSCodeSession,
} from './harness/index.ts';

const REALWORLD = join(REPO, '..', 'shared', 'realworld');
const CAPTURE = join(REPO, '..', 'shared', 'captures', 'zeek--get-to-ssh-server.pcap');
const built = ['client.js', 'server.js', 'webview-packet.js'].every((f) => existsSync(join(REPO, 'dist', f)));
const NOT_BUILT = 'dist/client.js, dist/server.js or dist/webview-packet.js is missing: run npm run build (npm test builds first)';
const noShared = !existsSync(join(REALWORLD, 'corpus.tsv')) || !existsSync(CAPTURE) ? `${REALWORLD} or ${CAPTURE} is missing (the shared real-world programs and captures)` : false;
const skip = e2eSkip() || (!built && !e2eRequired() && NOT_BUILT) || noShared;

interface Walk {
  name: string;
  file: string;
  includes: string[];
  /** A return line and the return code's text on it; a helper's line and name. */
  ret: RegExp;
  retCode: string;
  helper: string;
  /** The hover's words for them. */
  retHover: RegExp;
  helperHover: RegExp;
  /** The run's CodeLens and a packet's row. */
  lens: RegExp;
  row: RegExp;
  maps: RegExp;
}

const walks: Walk[] = [
  {
    name: 'core',
    file: 'bpf-developer-tutorial/src/41-xdp-tcpdump/xdp-tcpdump.bpf.c',
    includes: ['include'],
    ret: /return XDP_PASS;\s*\/\/ If reservation fails/,
    retCode: 'XDP_PASS',
    helper: 'bpf_ringbuf_reserve',
    retHover: /XDP_PASS/,
    helperHover: /bpf_ringbuf_reserve/,
    lens: /\d+ XDP_PASS \(\d+ packets of zeek--get-to-ssh-server\.pcap/,
    row: /^#0 XDP_PASS/,
    maps: /^rb\s*RINGBUF · 16 MiB ring · records for user space/,
  },
  {
    name: 'multi',
    file: 'linux/tools/testing/selftests/bpf/progs/xdp_redirect_multi_kern.c',
    includes: ['include', 'linux/tools/testing/selftests/bpf', '/usr/include/x86_64-linux-gnu'],
    ret: /return XDP_DROP;/,
    retCode: 'XDP_DROP',
    helper: 'bpf_redirect_map',
    retHover: /XDP_DROP/,
    helperHover: /bpf_redirect_map/,
    lens: /XDP_REDIRECT \(\d+ packets of zeek--get-to-ssh-server\.pcap/,
    row: /^#0 XDP_REDIRECT/,
    maps: /map_all/,
  },
];

for (const w of walks) {
  test(`a new user's walk through ${w.file}`, { skip, timeout: 300_000 }, async () => {
    assert.ok(built, NOT_BUILT);
    const lines = readFileSync(join(REALWORLD, w.file), 'utf8').split('\n');
    let vs: VSCodeSession | undefined;
    const shot = (step: string) => vs!.screenshot(`walk-${w.name}-${step}`);
    try {
      vs = await startVSCode({
        extensionDevelopmentPath: REPO,
        workspace: REALWORLD,
        openFile: w.file,
        viewport: { width: 1440, height: 900 },
        settings: {
          'xdpLens.defaultCapture': CAPTURE,
          'xdpLens.includePaths': w.includes.map((i) => (i.startsWith('/') ? i : join(REALWORLD, i))),
          'editor.stickyScroll.enabled': false,
        },
      });
      const page = vs.page;
      const base = w.file.split('/').pop()!;
      await waitForActiveEditor(page, base);
      await waitForStatusBarText(page, /XDP native/);
      await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
      await shot('1-open');

      // A return code and a helper, hovered.
      const retLine = lines.findIndex((l) => w.ret.test(l)) + 1;
      assert.ok(retLine > 0, `${w.ret} in ${w.file}`);
      await goToLine(page, retLine, lines[retLine - 1]!.indexOf(w.retCode) + 2);
      await showHover(page, w.retHover);
      await shot('2-hover-return');
      await page.keyboard.press('Escape');
      const helperLine = lines.findIndex((l) => l.includes(`${w.helper}(`)) + 1;
      await goToLine(page, helperLine, lines[helperLine - 1]!.indexOf(w.helper) + 2);
      const hover = await showHover(page, w.helperHover);
      // No sentence ends twice (a code example's `;` then the sentence's `.`).
      assert.doesNotMatch((await hover.innerText()).replace(/\s+/g, ' '), /; ?\./, 'the helper\'s hover');
      await shot('3-hover-helper');
      await page.keyboard.press('Escape');

      // Run on the shared capture: counts over the function, verdicts at the exits.
      await runCommand(page, 'XDP: Run on Capture...');
      await pickQuickItem(page, /zeek--get-to-ssh-server\.pcap.*default/);
      await waitForNotificationGone(page, /XDP: running/, 120_000);
      await goToLine(page, lines.findIndex((l) => /SEC\("xdp"\)/.test(l)) + 2);
      await waitForCodeLens(page, w.lens, 60_000);
      await shot('4-verdicts');

      // The packets view, a packet's path, the maps.
      await runCommand(page, 'XDP: Show Packets View');
      const list = panelView(page, /XDP Packets/i);
      const row = list.locator('.monaco-list-row').filter({ hasText: w.row });
      await waitVisible(row, 'packet #0 in the packets view', 30_000, list);
      await shot('5-packets');
      await clickUntil(row, page.locator('.part.editor .tab').filter({ hasText: 'Packet #0' }), 'the packet view tab', { waitMs: 5_000 });
      const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      await waitVisible(frame.locator('.path li').last().filter({ hasText: '← left here' }), 'the executed path');
      await frame.locator('.path li').last().scrollIntoViewIfNeeded();
      await shot('6-packet-path');
      const maps = panelView(page, /XDP Maps/i);
      await waitVisible(maps.locator('.monaco-list-row').filter({ hasText: w.maps }), 'the program\'s map in the maps view', 30_000, maps);
      await shot('7-maps');
      assert.deepEqual(vs.blockedRequests(), []);
    } catch (e) {
      await vs?.screenshot(`walk-${w.name}-failure`).catch(() => undefined);
      throw new Error(`${(e as Error).message}\n--- code-server output ---\n${vs?.serverLog().slice(-3000)}`, { cause: e });
    } finally {
      await vs?.stop();
    }
  });
}
