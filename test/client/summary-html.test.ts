// The Run Summary page (client/summary-html.ts) without VS Code: its Content-Security-Policy allows nothing but its own
// nonce'd style and script, it loads nothing, and each chart carries the numbers of the aggregate it was drawn from:
// the timeline's columns sum to each bucket's counts, the exit, outcome, queue and fault rows hold theirs, and the
// bar lengths are in proportion. A large run (a million packets, 3,000 exit lines) stays within its bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compact, duration, niceTicks, renderSummaryHtml, share, MAX_EXIT_ROWS, type SummaryPage } from '../../client/summary-html.ts';
import type { RunStats, RunSummary, XdpAction } from '../../server/protocol.ts';

const ACTIONS: XdpAction[] = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];

function page(stats: RunStats, over: Partial<SummaryPage> = {}, summary: Partial<RunSummary> = {}): SummaryPage {
  const byAction = Object.fromEntries(ACTIONS.map((a, k) => [a, stats.timeline.counts.reduce((s, c) => s + c[k]!, 0)])) as Record<XdpAction, number>;
  return {
    summary: {
      runId: 'run-7', uri: 'file:///w/prog.c', file: '/w/prog.c', capture: '/w/demo.pcap', program: 'xdp_prog', section: 'xdp',
      driver: { mode: 'native', profile: 'mlx5', queues: 2 }, packets: stats.packets, byAction, exits: [], faults: [], counters: {}, durationMs: 1, compileMs: 1,
      ...summary,
    },
    stats,
    stale: false,
    nonce: 'bm9uY2Utb2YtdGVzdA==',
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    lineText: (file, line) => (file === '/w/prog.c' ? `\treturn line_${line}; // the exit of line ${line}` : undefined),
    ...over,
  };
}

const STATS: RunStats = {
  packets: 13,
  actions: ACTIONS,
  timeline: {
    bucketNs: 1_000_000,
    spanNs: 2_500_000,
    counts: [
      [0, 2, 3, 0, 0],
      [0, 0, 0, 0, 0],
      [1, 1, 2, 0, 4],
    ],
    faults: [0, 0, 1],
    notCarriedOut: [0, 0, 4],
    earlier: 0,
  },
  queues: [
    { queue: 0, counts: [1, 2, 4, 0, 1] },
    { queue: 1, counts: [0, 1, 1, 0, 3] },
  ],
  exits: [
    { file: '/w/prog.c', line: 40, action: 'XDP_PASS', count: 5, outcomes: { passed: 5 } },
    { file: '/w/prog.c', line: 33, action: 'XDP_REDIRECT', count: 4, outcomes: { 'dropped: no redirect target': 4 } },
    { file: '/w/prog.c', line: 21, action: 'XDP_DROP', count: 3, outcomes: { dropped: 3 } },
    { file: '/w/prog.c', line: 12, action: 'XDP_ABORTED', count: 1, outcomes: { 'aborted: fault': 1 } },
  ],
  outcomes: { passed: 5, 'dropped: no redirect target': 4, dropped: 3, 'aborted: fault': 1 },
  faults: [{ file: '/w/prog.c', line: 12, kind: 'out-of-bounds', message: 'read of 2 bytes past data_end', count: 1 }],
};

/** Attributes of every element of `tag` matching `cls` (a class), in document order. */
function elements(html: string, tag: string, attr: string, value?: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    if (attr in attrs && (value === undefined || attrs[attr] === value)) out.push(attrs);
  }
  return out;
}
const section = (html: string, id: string) => html.slice(html.indexOf(`<section id="${id}"`), html.indexOf('</section>', html.indexOf(`<section id="${id}"`)));

test('the page allows only its own nonce: no inline handlers, no external resources, no unsafe-inline', () => {
  const p = page(STATS);
  const html = renderSummaryHtml(p);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(csp, 'a CSP meta element');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${p.nonce}'`));
  assert.match(csp, new RegExp(`style-src 'nonce-${p.nonce}'`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!file\+)/);
  // Every script and style element carries the nonce; nothing else runs or styles.
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)];
  const styles = [...html.matchAll(/<style\b([^>]*)>/g)];
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  for (const m of [...scripts, ...styles]) assert.match(m[1]!, new RegExp(`nonce="${p.nonce}"`));
  assert.doesNotMatch(html, /\sstyle="/, 'no style attributes (the CSP would block them)');
  assert.doesNotMatch(html, /\son[a-z]+="/, 'no inline event handlers');
  assert.doesNotMatch(html, /\b(?:src|href)="/, 'nothing loaded or linked');
  // Theme colours, no fixed palette in front of them.
  assert.match(html, /\.a-XDP_DROP \{ fill: var\(--vscode-charts-red/);
  assert.match(html, /background: var\(--vscode-editor-background\)/);
});

test('the timeline: one column per bucket whose segments are the bucket counts, faults and not-carried-out strips', () => {
  const html = renderSummaryHtml(page(STATS));
  const tl = section(html, 'timeline');
  const buckets = [...tl.matchAll(/<g class="bucket" data-bucket="(\d+)"><title>([^<]*)<\/title>(.*?)<\/g>/g)];
  assert.equal(buckets.length, 3);
  for (const [, i, , body] of buckets) {
    const segs = elements(body!, 'rect', 'data-action');
    const got = ACTIONS.map((a) => segs.filter((s) => s['data-action'] === a).reduce((n, s) => n + Number(s['data-n']), 0));
    assert.deepEqual(got, STATS.timeline.counts[Number(i)], `bucket ${i}`);
  }
  assert.equal(buckets[0]![2], '0 to 1 ms: 5 packets (2 XDP_DROP, 3 XDP_PASS)');
  assert.equal(buckets[1]![2], '1 ms to 2 ms: no packets');
  assert.equal(buckets[2]![2], '2 ms to 2.5 ms (the last packet; this column covers less time): 8 packets (1 XDP_ABORTED, 1 XDP_DROP, 2 XDP_PASS, 4 XDP_REDIRECT); 1 fault, 4 not carried out as returned');
  // Stacked heights are in proportion.
  const seg = (i: number, a: XdpAction) => elements(buckets[i]![3]!, 'rect', 'data-action', a)[0]!;
  const h = (i: number, a: XdpAction) => Number(seg(i, a).height);
  assert.ok(Math.abs(h(2, 'XDP_REDIRECT') / h(0, 'XDP_PASS') - 4 / 3) < 0.01);
  const strip = (cls: string) => elements(tl, 'rect', 'class', cls).filter((r) => 'data-n' in r).map((r) => r['data-n']);
  assert.deepEqual(strip('fault'), ['1']);
  assert.deepEqual(strip('notcarried'), ['4']);
  assert.deepEqual([...tl.matchAll(/text-anchor="end">(\d+)<\/text>/g)].map((m) => m[1]), ['0', '2', '4', '6', '8'], 'the y axis in round steps up to the tallest column');
  assert.match(tl, /Packets per 1 ms, over the 2\.5 ms from the first packet to the last/);
});

test('exit lines, outcomes, queues and faults: each row holds its count, share and the source line', () => {
  const html = renderSummaryHtml(page(STATS));
  const exits = elements(section(html, 'exits'), 'tr', 'data-line');
  assert.deepEqual(exits.map((r) => [r['data-line'], r['data-action'], r['data-n']]), [['40', 'XDP_PASS', '5'], ['33', 'XDP_REDIRECT', '4'], ['21', 'XDP_DROP', '3'], ['12', 'XDP_ABORTED', '1']]);
  assert.match(section(html, 'exits'), /prog\.c:33<\/span> <code>return line_33;<\/code>.*all dropped: no redirect target/);
  assert.match(section(html, 'exits'), /<td class="num">4<\/td><td class="num pct">30.8%<\/td>/);
  // A click filters the packets view to the row's packets.
  const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
  assert.deepEqual(JSON.parse(unescape(exits[1]!['data-msg']!)), { type: 'exit', file: '/w/prog.c', line: 33, filter: 'exit.line == 33 && action == XDP_REDIRECT' });
  // Bars in proportion to the largest row.
  const bars = [...section(html, 'exits').matchAll(/<svg class="bar"[^>]*><rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(bars, [100, 80, 60, 20]);

  const outcomes = elements(section(html, 'outcomes'), 'tr', 'data-outcome');
  assert.deepEqual(outcomes.map((r) => [r['data-outcome'], r['data-n']]), Object.entries(STATS.outcomes).map(([o, n]) => [o, String(n)]));
  assert.match(outcomes[1]!['data-msg']!, /outcome == \\&#34;dropped: no redirect target\\&#34;/);

  const queues = elements(section(html, 'queues'), 'tr', 'data-queue');
  assert.deepEqual(queues.map((r) => [r['data-queue'], r['data-n']]), [['0', '8'], ['1', '5']]);
  assert.match(section(html, 'queues'), /2 RX queues, flows spread by RSS/);

  const faults = elements(section(html, 'faults'), 'tr', 'data-kind');
  assert.deepEqual(faults.map((r) => [r['data-kind'], r['data-n']]), [['out-of-bounds', '1']]);
  assert.match(section(html, 'faults'), /read of 2 bytes past data_end/);

  // The tiles: most common action first, then faults and the verdicts not carried out.
  const tiles = [...html.matchAll(/<div class="tile[^"]*"[^>]*data-n="(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(tiles, [5, 4, 3, 1, 1, 4]);
  assert.match(html, /<h1[^>]*>xdp_prog on demo\.pcap<\/h1>/);
  assert.match(html.replace(/<[^>]+>/g, ''), /prog\.c · 13 packets over 2\.5 ms · native driver, mlx5, 2 RX queues · run-7/);
});

test('banners: stale results, a refused program, a cancelled run; no faults reads as such; text is escaped', () => {
  const quiet: RunStats = { ...STATS, faults: [], timeline: { ...STATS.timeline, faults: [0, 0, 0] } };
  const html = renderSummaryHtml(page(quiet, { stale: true }, {
    cancelled: true,
    program: '<b>x</b>',
    verifierRefuses: [{ line: 9, message: 'R1 invalid mem access', rule: 'kernel-verifier' }],
  }));
  assert.match(html, /id="stale">Stale: the file or the settings changed since this run/);
  assert.match(renderSummaryHtml(page(quiet, { stale: 'the map seed file blocklist.json' })), /id="stale">Stale: the map seed file blocklist\.json changed since this run, so these results may no longer hold\./);
  assert.match(html, /data-msg="\{&#34;type&#34;:&#34;command&#34;,&#34;command&#34;:&#34;xdpLens\.rerun&#34;\}">Re-run/);
  // The refusal at a glance; the check's whole words one click away (Why).
  assert.match(html, /class="banner error" id="refused">The kernel would refuse this program at line 9\. These results are simulated only\.<details><summary>Why<\/summary><p class="why">line 9: R1 invalid mem access<\/p><\/details><\/div>/);
  assert.match(html, /The run was cancelled after 13 packets/);
  assert.match(html, /No packet faulted\./);
  assert.doesNotMatch(html, /<b>x<\/b>/);
  assert.match(html, /&#60;b&#62;x&#60;\/b&#62; on demo\.pcap/);
  assert.doesNotMatch(html, /id="outgoing"/);
});

test("banner: the packets the capturing host sent, in the server's (the CLI's) words", () => {
  const note = '2 packets were sent by the capturing host (outgoing: Linux cooked packet type 4, as `tcpdump -i any` records, or pcapng outbound) and not run, not counted: XDP runs only on received frames';
  const html = renderSummaryHtml(page(STATS, {}, { outgoingNotRun: 2, outgoingNote: note }));
  assert.ok(html.includes(`<div class="banner" id="outgoing">${note}.</div>`), 'the note as a banner');
});

test("banner: the packets the snap length cut short, in the server's words", () => {
  const note = '2 packets were captured shorter than on the wire (snap length; marked in the packets view) and ran on the captured bytes only';
  const html = renderSummaryHtml(page(STATS, {}, { truncated: 2, truncatedNote: note }));
  assert.ok(html.includes(`<div class="banner" id="truncated">${note}.</div>`), 'the note as a banner');
  assert.doesNotMatch(renderSummaryHtml(page(STATS)), /id="truncated"/);
});

test("banner: the packets that ran with an Ethernet header the capture did not hold, in the server's (the CLI's) words", () => {
  const note = 'packets captured as raw IP (101) ran as Ethernet frames, with a 14-byte Ethernet header made up in front (addresses as README "Captures" says; marked in the packets view), as an Ethernet NIC hands them to XDP';
  const html = renderSummaryHtml(page(STATS, {}, { ethernetHeaderMadeUp: 3, linkNote: note }));
  assert.ok(html.includes(`<div class="banner" id="link-header">${note.replace(/"/g, "&#34;")}.</div>`), 'the note as a banner');
  assert.doesNotMatch(renderSummaryHtml(page(STATS)), /id="link-header"/);
});

test('a million packets over an hour and 3,000 exit lines: bounded rows, compact axis labels', () => {
  const counts = Array.from({ length: 120 }, (_, i) => [0, 9000 + i, 3000, 0, 0]);
  const packets = counts.reduce((s, c) => s + c[1]! + c[2]!, 0);
  const exits = Array.from({ length: 3000 }, (_, i) => ({ file: '/w/prog.c', line: i + 1, action: 'XDP_DROP' as XdpAction, count: 3000 - i, outcomes: { dropped: 3000 - i } }));
  const big: RunStats = {
    packets,
    actions: ACTIONS,
    timeline: { bucketNs: 2 ** 25 * 1000, spanNs: 120 * 2 ** 25 * 1000 - 1, counts, faults: counts.map(() => 0), notCarriedOut: counts.map(() => 0), earlier: 0 },
    queues: [{ queue: 0, counts: [0, packets - 360000, 360000, 0, 0] }],
    exits,
    outcomes: { dropped: packets - 360000, passed: 360000 },
    faults: [],
  };
  const html = renderSummaryHtml(page(big, {}, { driver: { mode: 'native', profile: 'mlx5', queues: 1 } }));
  assert.ok(packets > 1_000_000);
  assert.ok(html.length < 400_000, `${html.length} characters`);
  assert.equal(elements(section(html, 'exits'), 'tr', 'data-line').length, MAX_EXIT_ROWS);
  assert.match(section(html, 'exits'), new RegExp(`${(3000 - MAX_EXIT_ROWS).toLocaleString('en-US')} more exit lines with [\\d,]+ packets`));
  assert.match(section(html, 'timeline'), />15k<\/text>/);
  assert.match(section(html, 'timeline'), /Packets per 33\.6 s, over the 67\.1 min/);
  assert.match(html, /1,447,140 packets over 67\.1 min/);
  assert.match(section(html, 'queues'), /One RX queue: set <code>xdpLens\.driver\.queues<\/code>/);
});

test('number and time wording', () => {
  assert.deepEqual([compact(950), compact(1200), compact(12_000), compact(3_400_000), compact(0.5)], ['950', '1.2k', '12k', '3.4M', '0.5']);
  assert.deepEqual([share(1, 3), share(1, 2000), share(0, 5), share(1999, 2000), share(5, 5)], ['33.3%', '<0.1%', '0%', '>99.9%', '100%']);
  // Shares that add up to 100 read so: 2,400 / 1,800 / 600 of 4,800 (whole numbers gave 50% + 38% + 13%).
  assert.deepEqual([share(2400, 4800), share(1800, 4800), share(600, 4800)], ['50%', '37.5%', '12.5%']);
  assert.deepEqual([duration(750), duration(12_000), duration(1_500_000), duration(2.25e9), duration(200e9), duration(3 * 3600e9)], ['750 ns', '12 µs', '1.5 ms', '2.25 s', '3.33 min', '3 h']);
  assert.deepEqual(niceTicks(8), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(8123), [0, 5000, 10000]);
  assert.deepEqual(niceTicks(12_119), [0, 5000, 10000, 15000]);
});
