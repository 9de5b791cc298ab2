// The client's wording and source scanning, without VS Code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { cancelledNote, cancelledText, executedPathCopied, captureBrokenNote, captureOrdinal, NO_OUTPUT_PACKETS, PATH_COPIED, codeOfLine, compileErrorOnLine, everyRowHeaderNote, faultEvidence, debugLenses, exitLabel, exitsByLine, faultMessage, findXdpFunctions, formatCounts, formatDuration, isXdpSource, notRerunText, packetLabel, pages, refusalBanner, refusalDetails, refusalLensTitle, runErrorButton, runErrorText, runLensTitle, statusText } from '../../client/format.ts';

test('counts: most common action first, absent actions left out', () => {
  assert.equal(formatCounts({ XDP_PASS: 6, XDP_DROP: 2, XDP_TX: 2, XDP_ABORTED: 0, XDP_REDIRECT: 0 }), '6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX');
  assert.equal(formatCounts({ XDP_TX: 1, XDP_DROP: 5 }), '5 XDP_DROP · 1 XDP_TX');
  assert.equal(formatCounts({}), 'no packets');
});

test('the run CodeLens: counts, total, capture name, partial runs, faults and staleness', () => {
  const s = { byAction: { XDP_PASS: 1, XDP_DROP: 0, XDP_TX: 0, XDP_REDIRECT: 0, XDP_ABORTED: 0 }, packets: 1, capture: '/a/b/demo.pcap', faults: [] };
  assert.equal(runLensTitle(s, false), '1 XDP_PASS (1 packet of demo.pcap)');
  assert.equal(runLensTitle(s, true), '1 XDP_PASS (1 packet of demo.pcap) (stale)');
  // Stale because a save was not re-run (the run took too long for re-run on save): the lens says why.
  assert.equal(runLensTitle(s, true, 1_401), '1 XDP_PASS (1 packet of demo.pcap) (stale: not re-run on save, the run took 1.5 s)');
  assert.equal(runLensTitle(s, false, 1_401), '1 XDP_PASS (1 packet of demo.pcap)', 'not stale (an undo): nothing to explain');
  assert.equal(runLensTitle(s, true, 1_000), '1 XDP_PASS (1 packet of demo.pcap) (stale: not re-run on save, the run took 1.0 s)', 'never reads as under the limit');
  assert.equal(notRerunText(1_380, 1_000), 'Not re-run on save: the last run took 1.4 s, and only runs under 1 s are re-run on save. Run "XDP: Re-run" to refresh.');
  const live = { interface: 'eth0', command: 'tcpdump -i eth0 -U --immediate-mode -w -' };
  assert.equal(runLensTitle({ ...s, capture: '/tmp/live-eth0-1.pcap', live: { ...live, running: true } }, false), '1 XDP_PASS (1 packet of live on eth0, capturing)');
  assert.equal(runLensTitle({ ...s, capture: '/tmp/live-eth0-1.pcap', cancelled: true, live: { ...live, stopped: 'stopped by the user' } }, false), '1 XDP_PASS (1 packet of live-eth0-1.pcap, cancelled)');
  const partial = { ...s, packets: 2, cancelled: true, byAction: { ...s.byAction, XDP_ABORTED: 1 }, faults: [{ file: 'x', line: 1, kind: 'out-of-bounds', message: 'm', count: 1, firstPackets: [1] }] };
  assert.equal(runLensTitle(partial, false), '1 XDP_PASS · 1 XDP_ABORTED (2 packets of demo.pcap, cancelled) · 1 fault');
  // Large counts are grouped as the Run Summary groups them.
  const big = { ...s, packets: 1_000_000, byAction: { ...s.byAction, XDP_PASS: 998_500, XDP_DROP: 1_500 }, byOutcome: { 'dropped: no redirect target': 1_200 } };
  assert.equal(runLensTitle(big, false), '998,500 XDP_PASS · 1,500 XDP_DROP (1,000,000 packets of demo.pcap; 1,200 of them dropped: no redirect target)');
});

test('exit labels join the actions that left through one line', () => {
  assert.equal(exitLabel([{ action: 'XDP_DROP', count: 2 }], false), '  ← 2 packets → XDP_DROP');
  assert.equal(exitLabel([{ action: 'XDP_PASS', count: 1 }, { action: 'XDP_DROP', count: 3 }], true), '  ← 3 packets → XDP_DROP, 1 packet → XDP_PASS (stale)');
  const g = exitsByLine([
    { file: 'a.c', line: 3, action: 'XDP_PASS', count: 1 },
    { file: 'a.c', line: 3, action: 'XDP_DROP', count: 1 },
    { file: 'b.c', line: 9, action: 'XDP_TX', count: 4 },
  ]);
  assert.equal(g.get('a.c')!.get(3)!.length, 2);
  assert.equal(g.get('b.c')!.get(9)![0]!.count, 4);
});

test('fault messages name the kind, the count and the first packets', () => {
  assert.equal(faultMessage({ kind: 'readonly-page-write', message: 'store to packet', count: 12, firstPackets: [1, 4] }), 'readonly-page-write: store to packet (12 packets: #1, #4, …)');
  assert.equal(faultMessage({ kind: 'out-of-bounds', message: 'x', count: 1, firstPackets: [7] }), 'out-of-bounds: x (1 packet: #7)');
});

test('XDP functions are found after their SEC annotation, at the line of their name', () => {
  const text = readFileSync(join(REPO, 'examples', 'xdp_filter.c'), 'utf8');
  const fns = findXdpFunctions(text);
  assert.equal(fns.length, 1);
  assert.equal(fns[0]!.name, 'xdp_filter');
  assert.equal(fns[0]!.section, 'xdp');
  assert.match(text.split('\n')[fns[0]!.line]!, /int xdp_filter\(struct xdp_md \*ctx\)/);
  const two = 'SEC("xdp.frags")\nint a(struct xdp_md *c) { return 2; }\nSEC("tc")\nint b(void *c) { return 0; }\nSEC("xdp/devmap") static int\nc(struct xdp_md *x) { return 2; }\n';
  assert.deepEqual(findXdpFunctions(two).map((f) => [f.name, f.line, f.section]), [['a', 1, 'xdp.frags'], ['c', 5, 'xdp/devmap']]);
  assert.ok(isXdpSource(text));
  assert.ok(!isXdpSource('int main(void) { return 0; }'));
});

test('small formatting helpers', () => {
  assert.equal(formatDuration(87.4), '87 ms');
  assert.equal(formatDuration(1234), '1.234 s');
  assert.deepEqual(pages(1001, 500), [[0, 500], [500, 1000], [1000, 1001]]);
  assert.deepEqual(pages(0, 500), []);
  assert.deepEqual(packetLabel({ index: 3, time: '0.750051', action: 'XDP_DROP', line: 127, summary: 'IP a > b' }), { label: '#3 XDP_DROP', description: '0.750051 s  IP a > b  (line 127)' });
  // A packet the capturing host sent: listed, not run (the server sends no action, exit or path for it).
  assert.deepEqual(packetLabel({ index: 4, time: '1.5', summary: 'ARP, Request', notRun: 'outgoing' }), { label: '#4 (outgoing: not run)', description: '1.5 s  ARP, Request' });
  // Cut short by the capture's snap length: the row says how much was captured (and run on).
  assert.equal(packetLabel({ index: 5, time: '0.1', action: 'XDP_PASS', line: 9, summary: 's', len: 60, capLen: 20 }).label, '#5 XDP_PASS [20 of 60 bytes captured]');
  assert.equal(packetLabel({ index: 6, time: '0.1', summary: 's', notRun: 'too short', len: 60, capLen: 10 }).label, '#6 (too short: not run) [10 of 60 bytes captured]');
  assert.equal(packetLabel({ index: 7, time: '0.1', action: 'XDP_DROP', line: 9, summary: 's', ethernetHeader: 'made up' }).label, '#7 XDP_DROP [Ethernet header made up]');
  assert.equal(packetLabel({ index: 8, time: '0.1', summary: 's', notRun: 'outgoing', ethernetHeader: 'from cooked header' }).label, '#8 (outgoing: not run) [Ethernet header from cooked header]');
  // Every row's header said once above the rows: the rows stay short.
  assert.equal(packetLabel({ index: 9, time: '0.1', action: 'XDP_PASS', line: 9, summary: 's', ethernetHeader: 'from cooked header' }, true).label, '#9 XDP_PASS');
  assert.equal(packetLabel({ index: 10, time: '0.1', summary: 's', notRun: 'outgoing', ethernetHeader: 'from cooked header', len: 60, capLen: 20 }, true).label, '#10 (outgoing: not run) [20 of 60 bytes captured]');
  assert.equal(everyRowHeaderNote({ everyRowEthernetHeader: 'captured as Linux cooked capture v1 (SLL, 113): Ethernet header made from the cooked header' }), 'All packets captured as Linux cooked capture v1 (SLL, 113): Ethernet header made from the cooked header (README "Captures").');
  assert.equal(everyRowHeaderNote({}), undefined);
  assert.equal(packetLabel({ index: 7, time: '0.1', action: 'XDP_PASS', line: 9, summary: 's', len: 60 }).label, '#7 XDP_PASS');
  assert.equal(statusText('ready', 'native', true), '$(check) XDP native');
  assert.equal(statusText('ready', 'native', false), '$(check) XDP restricted');
  // clang missing: said in the status item (its tooltip holds the server's note), not in a second pop-up.
  assert.equal(statusText('ready', 'native', true, true), '$(warning) XDP native · no clang');
  assert.equal(statusText('analysing', 'native', true, true), '$(sync~spin) XDP native · no clang');
  assert.equal(statusText('ready', 'native', false, true), '$(check) XDP restricted', 'nothing is compiled in restricted mode');
});

test('a run of a program the kernel would refuse: said first on the CodeLens, and above the packets', () => {
  const s = { byAction: { XDP_PASS: 3, XDP_DROP: 0, XDP_TX: 0, XDP_REDIRECT: 0, XDP_ABORTED: 0 }, packets: 3, capture: '/a/demo.pcap', faults: [] };
  const refused = { ...s, verifierRefuses: [{ file: '/a/p.c', line: 12, message: 'combined stack size of 3 calls is 768. Too large', rule: 'stack' }] };
  assert.equal(runLensTitle(refused, false), '$(error) Kernel would refuse this program · simulated only: 3 XDP_PASS (3 packets of demo.pcap)');
  // Short, to read at a glance: that the kernel would refuse it, where; the whole refusal is a hover or a click away.
  assert.equal(refusalBanner(refused), 'The kernel would refuse this program at p.c:12. These results are simulated only.');
  assert.equal(refusalDetails(refused), 'p.c:12: combined stack size of 3 calls is 768. Too large');
  const two = { verifierRefuses: [...refused.verifierRefuses, { message: 'm', rule: 'map-value-null' }] };
  assert.equal(refusalBanner(two), 'The kernel would refuse this program at p.c:12 (and 1 more refusal). These results are simulated only.');
  assert.equal(refusalDetails(two), 'p.c:12: combined stack size of 3 calls is 768. Too large\n\nm');
  assert.equal(refusalBanner({}), undefined);
  assert.equal(refusalDetails({}), undefined);
  assert.equal(refusalBanner({ verifierRefuses: [{ message: 'Check it first.', rule: 'map-value-null' }] }), 'The kernel would refuse this program. These results are simulated only.');
  const load = { verifierRefuses: [{ line: 11, message: 'This 1-byte load at offset 12 of the packet is not proven inside the packet (on this path no check against data_end covers it), so the verifier rejects the program ("invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)") and says "R1 offset is outside of the packet". Check the bounds first.', rule: 'packet-bounds' }] };
  assert.equal(refusalBanner(load), 'The kernel would refuse this program at line 11. These results are simulated only.');
  assert.ok(refusalDetails(load)!.startsWith('line 11: This 1-byte load') && refusalDetails(load)!.endsWith('Check the bounds first.'), 'the whole message behind the banner');
  assert.equal(refusalLensTitle(load), 'Refused at line 11: invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)');
  assert.equal(runLensTitle(s, false), '3 XDP_PASS (3 packets of demo.pcap)');
});

test('outcomes: the return line, the CodeLens, the packet row and the diagnostic say what the driver did', async () => {
  const { exitOutcomes, outcomeMessage, outcomeNote } = await import('../../client/format.ts');
  assert.equal(
    exitLabel([{ action: 'XDP_REDIRECT', count: 240, outcomes: { 'dropped: no redirect target': 240 } }], false),
    '  ← 240 packets → XDP_REDIRECT, all dropped: no redirect target',
  );
  assert.equal(exitLabel([{ action: 'XDP_PASS', count: 5, outcomes: { passed: 5 } }], false), '  ← 5 packets → XDP_PASS', 'a plain outcome adds nothing');
  assert.equal(
    exitLabel([{ action: 'XDP_REDIRECT', count: 3, outcomes: { redirected: 2, 'dropped: target device down': 1 } }, { action: 'XDP_DROP', count: 1, outcomes: { dropped: 1 } }], false),
    '  ← 3 packets → XDP_REDIRECT, 2 redirected, 1 dropped: target device down; 1 packet → XDP_DROP',
  );
  assert.equal(exitOutcomes({ count: 1, outcomes: { 'dropped: TX ring full': 1 } }), ', dropped: TX ring full');
  assert.equal(outcomeNote({ passed: 3, 'dropped: no redirect target': 240 }, 243), '; 240 of them dropped: no redirect target');
  assert.equal(outcomeNote({ 'dropped: no redirect target': 3, 'passed: bpf_redirect_map fallback, key absent': 1 }, 10), '; 3 of them dropped: no redirect target, 1 passed: bpf_redirect_map fallback, key absent');
  assert.equal(outcomeNote({ 'dropped: TX ring full': 5 }, 5), '; all dropped: TX ring full');
  assert.equal(outcomeNote({ passed: 5 }, 5), '', 'plain outcomes add nothing');
  assert.equal(
    runLensTitle({ byAction: { XDP_ABORTED: 0, XDP_DROP: 0, XDP_PASS: 0, XDP_TX: 0, XDP_REDIRECT: 1 }, byOutcome: { 'dropped: no redirect target': 1 }, packets: 1, capture: '/x/a.pcap', faults: [] }, false),
    '1 XDP_REDIRECT (1 packet of a.pcap; it was dropped: no redirect target)',
  );
  assert.equal(
    outcomeMessage({ action: 'XDP_PASS', outcome: 'passed: bpf_redirect_map fallback, map empty', count: 1, firstPackets: [4] }),
    '1 packet returned XDP_PASS here and was passed (bpf_redirect_map fallback, map empty): #4.',
  );
  const issue = { action: 'XDP_REDIRECT', outcome: 'dropped: no redirect target', note: 'XDP_REDIRECT without a target (the last bpf_redirect_map on tx_port found no entry for key 0: map empty): the frame is dropped', count: 12, firstPackets: [2, 3, 8] };
  assert.equal(
    outcomeMessage(issue),
    '12 packets returned XDP_REDIRECT here and were dropped (no redirect target): #2, #3, #8 and 9 more. XDP_REDIRECT without a target (the last bpf_redirect_map on tx_port found no entry for key 0: map empty): the frame is dropped.',
  );
  // Said in the finding the run proved right: the run's count and packets, not the driver's note again.
  const { runEvidence, RUN_CONFIRMS } = await import('../../client/format.ts');
  assert.equal(runEvidence({ ...issue, count: 3 }), 'The last run confirms it: 3 packets returned XDP_REDIRECT here and were dropped (no redirect target): #2, #3, #8.');
  assert.equal(RUN_CONFIRMS['dropped: no redirect target'], 'redirect-without-target');
  assert.equal(RUN_CONFIRMS['aborted: not an XDP action'], 'invalid-action');
  assert.equal(RUN_CONFIRMS['dropped: TX ring full'], undefined, 'a full ring is no mistake in the source');
  assert.equal(packetLabel({ index: 3, time: '0.1', action: 'XDP_REDIRECT', line: 9, summary: 's', outcome: 'dropped: no redirect target' }).label, '#3 XDP_REDIRECT → dropped: no redirect target');
  assert.equal(packetLabel({ index: 3, time: '0.1', action: 'XDP_PASS', line: 9, summary: 's', outcome: 'passed' }).label, '#3 XDP_PASS');
});

test('output captures: only those with packets, sizes a person reads; plurals', async () => {
  const { outputCaptureItems, humanSize, plural } = await import('../../client/format.ts');
  assert.deepEqual(
    outputCaptureItems([
      { path: '/o/xdp_pass.pcap', size: 24 + 16 + 60 },
      { path: '/o/xdp_drop.pcap', size: 24 },
      { path: '/o/xdp_tx.pcap', size: undefined },
      { path: '/o/xdp_redirect.pcap', size: 3 * 1024 * 1024 + 200 * 1024 },
    ]),
    [
      { label: 'xdp_pass.pcap', description: '100 bytes', path: '/o/xdp_pass.pcap' },
      { label: 'xdp_redirect.pcap', description: '3.2 MiB', path: '/o/xdp_redirect.pcap' },
    ],
  );
  assert.equal(humanSize(1), '1 byte');
  assert.equal(humanSize(1536), '1.5 KiB');
  assert.equal(plural(1, 'packet'), '1 packet');
  assert.equal(plural(0, 'packet'), '0 packets');
});

test('debug lenses: one per exit line of the file, on the first packet that left there, none when stale or untrusted', () => {
  const exits = [
    { file: 'a.c', line: 9, firstPacket: 4 },
    { file: 'a.c', line: 3, firstPacket: 7 },
    { file: 'a.c', line: 3, firstPacket: 2 },
    { file: 'b.c', line: 5, firstPacket: 0 },
    { file: 'a.c', line: 12 },
  ];
  assert.deepEqual(debugLenses(exits, 'a.c', false, true), [
    { line: 3, packet: 2, title: '$(debug) Debug first packet (#2)' },
    { line: 9, packet: 4, title: '$(debug) Debug first packet (#4)' },
  ]);
  assert.deepEqual(debugLenses(exits, 'b.c', false, true).map((l) => [l.line, l.packet]), [[5, 0]]);
  assert.deepEqual(debugLenses(exits, 'a.c', true, true), [], 'stale');
  assert.deepEqual(debugLenses(exits, 'a.c', false, false), [], 'untrusted');
  assert.deepEqual(debugLenses(exits, 'c.c', false, true), []);
});

test('a source line shown as code loses the comment at its end, not what is in a literal', () => {
  assert.equal(codeOfLine('\t\treturn XDP_DROP; // xdp-test: blocked-port'), 'return XDP_DROP;');
  assert.equal(codeOfLine('  return icmp_echo_reply(eth, ip, icmp); /* answer it */'), 'return icmp_echo_reply(eth, ip, icmp);');
  assert.equal(codeOfLine('bpf_printk("a // b", x); // note'), 'bpf_printk("a // b", x);');
  assert.equal(codeOfLine("if (c == '/') // slash"), "if (c == '/')");
  assert.equal(codeOfLine('x = 1; /* a */ y = 2;'), 'x = 1; /* a */ y = 2;');
  assert.equal(codeOfLine('  // only a comment'), '// only a comment');
  assert.equal(codeOfLine('  return XDP_PASS;  '), 'return XDP_PASS;');
});

test('every driver path the simulator takes is explained in words (packet view, packet tooltip)', async () => {
  const { DRIVER_PATHS, driverPathText } = await import('../../client/format.ts');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { REPO } = await import('../repo.ts');
  const rx = readFileSync(join(REPO, 'simulator', 'driver', 'rx.ts'), 'utf8');
  const union = /export type DriverPath =([\s\S]*?);/.exec(rx)![1]!;
  const paths = [...union.matchAll(/\|\s*'([^']+)'/g)].map((m) => m[1]!);
  assert.ok(paths.length >= 10, `${paths.length} paths read from rx.ts`);
  assert.deepEqual(paths.filter((p) => !DRIVER_PATHS[p]), []);
  assert.equal(driverPathText('xdp_tx'), 'xdp_tx (queued on the XDP TX ring of the interface it came in on)');
  assert.equal(driverPathText('something_new'), 'something_new');
});

test('a failed run says what failed by file name, a compile error by its first line', () => {
  const err = "cannot compile /tmp/ws/broken.c:\n/tmp/ws/broken.c:7:10: error: use of undeclared identifier 'undefined_thing'\n/tmp/ws/broken.c:8:17: error: expected ';' after return statement";
  assert.equal(runErrorText(err, ['/tmp/ws/broken.c', '/tmp/ws/demo.pcap']), "cannot compile broken.c, line 7: use of undeclared identifier 'undefined_thing' (and 1 more error: see Problems)");
  assert.equal(runErrorText('cannot compile /w/p.c:\n/w/hdr.h:3:1: fatal error: x.h file not found', ['/w/p.c']), 'cannot compile p.c, hdr.h:3: x.h file not found');
  assert.equal(runErrorText('cannot compile /w/p.c:\nclang failed', ['/w/p.c']), 'cannot compile p.c:\nclang failed');
  // clang could not run: no line 0, and nothing in Problems to show.
  const noClang = "cannot compile /w/p.c:\n/w/p.c:0:0: error: cannot run '/x/clang': clang is needed to compile BPF C. Install it with 'apt-get install clang llvm libbpf-dev' (Debian/Ubuntu) or set xdpLens.clang.path to its path";
  assert.equal(runErrorText(noClang, ['/w/p.c']), "cannot compile p.c: cannot run '/x/clang': clang is needed to compile BPF C. Install it with 'apt-get install clang llvm libbpf-dev' (Debian/Ubuntu) or set xdpLens.clang.path to its path");
  assert.equal(compileErrorOnLine(noClang), false);
  assert.equal(compileErrorOnLine(err), true);
  assert.equal(compileErrorOnLine('cannot compile /w/p.c:\n/w/hdr.h:3:1: fatal error: x.h file not found'), true);
  assert.equal(compileErrorOnLine('cannot compile /w/p.c:\nclang failed'), false);
  const capture = '/tmp/ws/garbage.pcap: byte offset 0: not a pcap or pcapng capture (magic 0x6c6c6568)';
  assert.equal(runErrorText(capture, ['/tmp/ws/prog.c', '/tmp/ws/garbage.pcap']), 'garbage.pcap: byte offset 0: not a pcap or pcapng capture (magic 0x6c6c6568)');
});

test('the refusal lens: the line and the kernel\'s words, short', () => {
  const message = 'This 1-byte load at offset 12 of the packet is not proven inside the packet (on this path no check against data_end covers it), so the verifier rejects the program ("invalid access to packet"). Check the bounds first.';
  assert.equal(refusalLensTitle({ verifierRefuses: [{ message, line: 11, rule: 'r' }] }), 'Refused at line 11: invalid access to packet');
  assert.equal(refusalLensTitle({ verifierRefuses: [{ message: 'BPF program is too large.', rule: 'r' }, { message: 'x', line: 3, rule: 'r' }] }), 'Refused: BPF program is too large (+1 more)');
  assert.equal(refusalLensTitle({}), undefined);
});

test('the packets view says where a broken capture broke off', () => {
  const s = { capture: '/tmp/ws/trunc.pcap', packets: 1, captureError: '/tmp/ws/trunc.pcap: record 1, byte offset 100: truncated packet data (14 of 74 bytes)' };
  assert.equal(captureBrokenNote(s), 'Only the first packet ran: trunc.pcap: record 1, byte offset 100: truncated packet data (14 of 74 bytes).');
  assert.equal(captureBrokenNote({ ...s, packets: 3 }), 'Only the first 3 packets ran: trunc.pcap: record 1, byte offset 100: truncated packet data (14 of 74 bytes).');
  assert.equal(captureBrokenNote({ capture: 'a.pcap', packets: 10 }), undefined);
});

test('a finding the run\'s fault confirms says which packets faulted there', () => {
  assert.equal(faultEvidence({ count: 2, firstPackets: [1, 9] }), 'The last run confirms it: 2 packets faulted here and were aborted: #1, #9.');
  assert.equal(faultEvidence({ count: 1, firstPackets: [4] }), 'The last run confirms it: 1 packet faulted here and was aborted: #4.');
  assert.equal(faultEvidence({ count: 12, firstPackets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }), 'The last run confirms it: 12 packets faulted here and were aborted: #0, #1, #2, #3, #4, #5, #6, #7, #8, #9 and 2 more.');
});

test('faulted packets are said once: in the lens after the counts, at the exit before the action', () => {
  const s = { byAction: { XDP_PASS: 6, XDP_DROP: 2, XDP_TX: 0, XDP_REDIRECT: 0, XDP_ABORTED: 2 }, packets: 10, capture: '/w/demo.pcap', byOutcome: { passed: 6, dropped: 2, 'aborted: fault': 2 },
    faults: [{ file: '/w/x.c', line: 61, kind: 'readonly-page-write', message: 'm', count: 2, firstPackets: [1, 9] }] };
  assert.equal(runLensTitle(s, false), '6 XDP_PASS · 2 XDP_DROP · 2 XDP_ABORTED (10 packets of demo.pcap) · 2 faults');
  assert.equal(exitLabel([{ action: 'XDP_ABORTED', count: 2, outcomes: { 'aborted: fault': 2 } }], false), '  ← 2 packets faulted → XDP_ABORTED');
  // A program's own XDP_ABORTED return keeps its plain label.
  assert.equal(exitLabel([{ action: 'XDP_ABORTED', count: 1, outcomes: { aborted: 1 } }], false), '  ← 1 packet → XDP_ABORTED');
});

test('a packet numbered from 0 is placed in its capture counted from 1, as Wireshark numbers frames', () => {
  assert.equal(captureOrdinal(0), "the capture's 1st packet");
  assert.equal(captureOrdinal(1), "the capture's 2nd packet");
  assert.equal(captureOrdinal(2), "the capture's 3rd packet");
  assert.equal(captureOrdinal(3), "the capture's 4th packet");
  assert.equal(captureOrdinal(10), "the capture's 11th packet");
  assert.equal(captureOrdinal(11), "the capture's 12th packet");
  assert.equal(captureOrdinal(12), "the capture's 13th packet");
  assert.equal(captureOrdinal(20), "the capture's 21st packet");
  assert.equal(captureOrdinal(110), "the capture's 111th packet");
  assert.equal(captureOrdinal(1000), "the capture's 1,001st packet");
});

test('a failed run\'s notification offers one button, the next step for its error', () => {
  assert.equal(runErrorButton("cannot compile /w/x.c:\n/w/x.c:7:3: error: use of undeclared identifier 'y'\n", '/w/demo.pcap'), 'Show Problems');
  assert.equal(runErrorButton('/w/garbage.pcap: byte offset 0: not a pcap or pcapng capture (magic 0x6c6c6568; ...)', '/w/garbage.pcap'), 'Run on Another Capture...');
  // clang could not run: no line for Problems; the output holds the whole text.
  assert.equal(runErrorButton("cannot compile /w/x.c:\n/w/x.c:0:0: error: cannot run 'clang-99': clang is needed\n", '/w/demo.pcap'), 'Show Output');
  assert.equal(runErrorButton('/w/x.c: no function in an XDP section', '/w/demo.pcap'), 'Show Output');
  // A capture path that only starts like another file's name is not that file.
  assert.equal(runErrorButton('/w/demo.pcap.gz: not gzip', '/w/demo.pcap'), 'Show Output');
});

test('notifications without a button fit the one line VS Code draws them on (about 55 characters)', () => {
  assert.equal(cancelledText(300000), 'XDP: run cancelled after 300,000 packets: the counts are of those only.');
  assert.equal(cancelledText(1), 'XDP: run cancelled after 1 packet: the counts are of it only.');
  assert.equal(cancelledNote({ cancelled: true, packets: 2199, capture: '/w/big.pcap' }), 'Cancelled after 2,199 packets: the rest of big.pcap did not run.');
  assert.equal(cancelledNote({ packets: 10, capture: '/w/demo.pcap' }), undefined);
  assert.equal(cancelledText(0), 'XDP: run cancelled before its first packet.');
  for (const text of [cancelledText(0), NO_OUTPUT_PACKETS, PATH_COPIED, executedPathCopied(123_456)]) assert.ok(text.length <= 55, `${text} (${text.length} characters)`);
});

