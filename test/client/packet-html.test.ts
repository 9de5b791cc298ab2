// The packet view's HTML: a strict Content-Security-Policy with one nonce and nothing from elsewhere, the layer trees
// with their fields and byte ranges, changed fields marked on both sides, the hex pane, the verdict, clickable source
// lines, map updates (decoded text when the server sends it, else hex), the stale mark, and no markup from the packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPacketHtml, changedFields, executedPathText, fieldIds } from '../../client/packet-html.ts';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import type { PacketDetail } from '../../server/protocol.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
// An ICMP echo request and the reply the program made of it (addresses swapped, type 8 -> 0).
const REQ = Uint8Array.from(Buffer.from('0200000000020200000000010800450000240001000040016cd40a0000010a000002080045d20007000161626364656667680000', 'hex'));
function reply(): Uint8Array {
  const r = Uint8Array.from(REQ);
  r.set(REQ.subarray(6, 12), 0);
  r.set(REQ.subarray(0, 6), 6);
  r.set(REQ.subarray(30, 34), 26);
  r.set(REQ.subarray(26, 30), 30);
  r[34] = 0;
  return r;
}
function changed(a: Uint8Array, b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) out.length && out[out.length - 1]![1] === i ? (out[out.length - 1]![1] = i + 1) : out.push([i, i + 1]);
  return out;
}
function detail(over: Partial<PacketDetail> = {}): PacketDetail {
  const after = reply();
  return {
    index: 1, time: '0.000100', summary: 'IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 16', action: 'XDP_TX', retval: 3, file: '/w/xdp_filter.c', line: 42,
    path: 'xdp_tx', outcome: 'transmitted', lines: [{ file: '/w/xdp_filter.c', line: 30 }, { file: '/w/xdp_filter.c', line: 42 }],
    before: hex(REQ), after: hex(after), changed: changed(REQ, after), printk: ['echo from 10.0.0.1'],
    maps: [{ map: 'proto_count', key: '06000000', before: '0000000000000000', after: '0100000000000000' }],
    layers: { before: dissectTree(REQ), after: dissectTree(after) },
    ...over,
  };
}
const render = (d: PacketDetail, stale: boolean | string = false) =>
  renderPacketHtml({ detail: d, runId: 'run-1', stale, nonce: 'N0nce', cspSource: 'vscode-webview://x', scriptUri: 'vscode-webview://x/dist/webview-packet.js', lineText: (_f, l) => (l === 42 ? '  return icmp_echo_reply(eth, ip, icmp); // xdp-test: echo-reply' : undefined) });

test('a strict CSP: nothing but this nonce\'s style and script, and no resource from elsewhere', () => {
  const html = render(detail());
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(csp, 'a CSP meta element');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-N0nce'(;|$)/);
  assert.match(csp, /style-src 'nonce-N0nce'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.deepEqual(scripts, ['<script nonce="N0nce" src="vscode-webview://x/dist/webview-packet.js">']);
  assert.equal([...html.matchAll(/<style\b[^>]*>/g)].map((m) => m[0]).join(), '<style nonce="N0nce">');
  assert.doesNotMatch(html, /https?:\/\//, 'no external URL');
  assert.doesNotMatch(html, / on[a-z]+="/, 'no inline event handlers');
});

test('both layer trees are drawn with their fields and byte ranges; changed fields are marked on both sides', () => {
  const html = render(detail());
  const sides = html.split('<section class="side"').slice(1);
  assert.equal(sides.length, 2);
  assert.match(sides[0]!, /data-side="before"/);
  for (const s of sides) {
    assert.match(s, /Internet Protocol Version 4/);
    assert.match(s, /<span class="fname">Time to Live<\/span>: <span class="fval">64<\/span>/);
    assert.match(s, /data-id="ip#0\/ip\.ttl#0" data-off="22" data-len="1"/);
  }
  assert.match(sides[0]!, /<span class="fname">Type<\/span>: <span class="fval">Echo \(ping\) request \(8\)<\/span>/);
  assert.match(sides[1]!, /<span class="fname">Type<\/span>: <span class="fval">Echo \(ping\) reply \(0\)<\/span>/);
  // The ICMP type and the addresses changed, the TTL did not.
  for (const s of sides) {
    assert.match(s, /class="node chg" data-id="icmp#0\/icmp\.type#0"/);
    assert.match(s, /class="node chg" data-id="ip#0\/ip\.src#0"/);
    assert.match(s, /class="node" data-id="ip#0\/ip\.ttl#0"/);
  }
  // The hex pane: one span per byte, changed ones marked (after: byte 34 is the ICMP type).
  assert.match(sides[1]!, /<span class="b chg" data-i="34">00<\/span>/);
  assert.match(sides[1]!, /<span class="b" data-i="22">40<\/span>/);
  assert.match(html, /The program changed \d+ bytes: changed fields and bytes are marked\./);
});

test('the verdict, the executed path as source links, printk and map updates', () => {
  const html = render(detail());
  assert.match(html, /<span class="badge act-XDP_TX">XDP_TX<\/span> <span class="outcome">→ transmitted<\/span>/);
  // The driver path says what it means when pointed at.
  assert.match(html, /<span title="xdp_tx \(queued on the XDP TX ring of the interface it came in on\)">driver path xdp_tx<\/span>/);
  assert.match(html, /<a href="#" class="src" data-file="\/w\/xdp_filter\.c" data-line="42"[^>]*>xdp_filter\.c:42<\/a> <code>return icmp_echo_reply\(eth, ip, icmp\);<\/code> <span class="muted">← left here<\/span>/);
  assert.match(html, /<code>echo from 10\.0\.0\.1<\/code>/);
  assert.match(html, /<code [^>]*>proto_count\[06000000\]: 0000000000000000 -&gt; 0100000000000000<\/code>/);
  // Decoded through BTF when the server says so.
  const decoded = render(detail({ maps: [{ map: 'proto_count', key: '06000000', before: '0000000000000000', after: '0100000000000000', text: 'proto_count[IPPROTO_ICMP] 0 -> 1' }] }));
  assert.match(decoded, />proto_count\[IPPROTO_ICMP\] 0 -&gt; 1<\/code>/);
});

test('records sent to a ring buffer or perf event array are listed with the map updates, not "None"', () => {
  const section = (html: string) => /<h2>Map updates <span class="muted">(\d+)<\/span><\/h2><\/summary>(.*?)<\/details>/.exec(html)!.slice(1);
  assert.deepEqual(section(render(detail({ maps: [] }))), ['0', '<p class="muted">None.</p>']);
  const ring = { kind: 'ringbuf' as const, map: 'events', bytes: 64, head: '40000000' };
  const [n, list] = section(render(detail({ maps: [], records: [ring] })));
  assert.equal(n, '1');
  assert.match(list!, /<code title="first 4 bytes: 40000000">1 ring buffer record \(events, 64 bytes\)<\/code>/);
  // Per map, in order: several records of one size, of different sizes, and a perf event record with no reader.
  const [n2, list2] = section(render(detail({ records: [ring, ring, { ...ring, map: 'small', bytes: 4 }, { ...ring, map: 'small', bytes: 8 }, { kind: 'perf', map: 'perf', bytes: 24, head: '' }] })));
  assert.equal(n2, '4');
  assert.deepEqual([...list2!.matchAll(/<code[^>]*>([^<]*)<\/code>/g)].map((m) => m[1]), [
    'proto_count[06000000]: 0000000000000000 -&gt; 0100000000000000',
    '2 ring buffer records (events, 64 bytes each)',
    '2 ring buffer records (small, 12 bytes in all)',
    '1 perf event record (perf, 24 bytes): no reader in this run, the helper returned -ENOENT',
  ]);
});

test('stale results, errors and an older server without layers are said so', () => {
  assert.doesNotMatch(render(detail()), /Stale:/);
  const stale = render(detail(), true);
  assert.match(stale, /Stale: the file or the settings changed since this run.*<button id="rerun">Re-run<\/button>/);
  // What changed, when the client knows it (client/state.ts staleWhat).
  assert.match(render(detail(), 'the map seed file blocklist.json'), /Stale: the map seed file blocklist\.json changed since this run, so this packet may no longer do what is shown\. <button id="rerun">/);
  assert.match(render(detail({ error: 're-running gave XDP_PASS where the run gave XDP_TX' })), /class="banner stale"[^>]*>re-running gave XDP_PASS/);
  const old = render(detail({ layers: undefined }));
  assert.match(old, /sends no decoded layers/);
  assert.match(old, /data-i="34"/);
});

test('nothing in the packet becomes markup', () => {
  const d = detail({ summary: '<img src=x onerror=alert(1)>', printk: ['</code><script>alert(1)</script>'] });
  d.layers!.before[0]!.summary = '"><script>x</script>';
  const html = render(d);
  assert.equal([...html.matchAll(/<script\b/g)].length, 1);
  assert.doesNotMatch(html, /<img/);
});

test('field ids pair the same header on both sides, occurrence by occurrence', () => {
  const ids = fieldIds(dissectTree(REQ));
  assert.ok(ids.has('eth#0/eth.src#0'));
  assert.ok(ids.has('ip#0/ip.flags#0/ip.flags.df#0'));
  const c = changedFields(dissectTree(REQ), dissectTree(reply()), changed(REQ, reply()));
  assert.ok(c.has('icmp#0/icmp.type#0') && c.has('eth#0/eth.dst#0') && c.has('ip#0/ip.dst#0'));
  assert.ok(!c.has('ip#0/ip.ttl#0') && !c.has('icmp#0/icmp.seq#0'));
});

test('a frame the program encapsulated pairs its inner headers with the received ones', () => {
  // IP-in-IP: a new Ethernet + outer IPv4 header in front of the received IPv4/ICMP packet.
  const outer = Uint8Array.from(Buffer.from('02000000000902000000000808004500003800000000400400000a0000fe0a0000ff', 'hex'));
  const encap = new Uint8Array(outer.length + REQ.length - 14);
  encap.set(outer, 0);
  encap.set(REQ.subarray(14), outer.length);
  const b = dissectTree(REQ);
  const a = dissectTree(encap);
  assert.deepEqual(a.map((l) => l.key), ['eth', 'ip', 'ip', 'icmp', 'data', 'eth.trailer']);
  const bytes: [number, number][] = [[0, encap.length]];
  const html = render(detail({ after: hex(encap), changed: bytes, layers: { before: b, after: a } }));
  const sides = html.split('<section class="side"').slice(1);
  // The received IPv4 header is the innermost on both sides: unchanged; the outer one is new.
  for (const s of sides) assert.match(s, /class="node" data-id="ip#-1\/ip\.src#0"/);
  assert.match(sides[1]!, /class="node chg" data-id="ip#-2\/ip\.src#0"/);
  assert.match(sides[1]!, /class="node" data-id="icmp#-1\/icmp\.type#0"/);
  // Counted from the outermost header the received one would read as rewritten.
  assert.ok(changedFields(b, a, bytes).has('ip#0/ip.src#0'));
});

test('a made Ethernet header is said in the header and tagged on the received side only', () => {
  const html = render(detail({ ethernetHeader: 'made up', ethernetHeaderNote: 'captured as raw IP (101): Ethernet header made up' }));
  assert.match(html, /<div class="note" id="made-header">Captured as raw IP \(101\): Ethernet header made up in front \(bytes 0-13\)/);
  assert.equal(html.match(/\[Ethernet header made up\]/g)?.length, 1, 'one tag: the Ethernet layer as received');
  const before = html.slice(html.indexOf('<section class="side" data-side="before"'), html.indexOf('<section class="side" data-side="after"'));
  assert.match(before, /\[Ethernet header made up\]/);
  assert.doesNotMatch(render(detail()), /made-header|Ethernet header made/);
});

test('a statement spanning lines is listed whole in the path (parentheses closed), or ended with … when it runs on', () => {
  const src = ['  return bpf_redirect_map(&map_all, 0,', '                          BPF_F_BROADCAST); // all', '  f(a, (b,', '  c,', '  d,', '  e,', '  g,', '  h));', '  x = ")(";'];
  const lineText = (_f: string, l: number) => src[l - 1];
  const d = { lines: [{ file: '/w/m.c', line: 1 }, { file: '/w/m.c', line: 3 }, { file: '/w/m.c', line: 9 }] };
  assert.equal(executedPathText(d, lineText), [
    'm.c:1  return bpf_redirect_map(&map_all, 0, BPF_F_BROADCAST);',
    'm.c:3  f(a, (b, c, d, e, g, …',
    'm.c:9  x = ")(";  ← left here',
  ].join('\n'));
  const html = renderPacketHtml({ detail: detail({ lines: d.lines }), runId: 'r', stale: false, nonce: 'n', cspSource: 'c', scriptUri: 's', lineText });
  assert.match(html, /<code>return bpf_redirect_map\(&amp;map_all, 0, BPF_F_BROADCAST\);<\/code>/);
});

test('the header says where the packet stands in its capture counted from 1, as Wireshark numbers frames', () => {
  // Packet #1 (numbered from 0, as the table, jsonl and frame.number) is Wireshark's frame 2.
  assert.match(render(detail()), /<h1>Packet #1 <span class="muted">0\.000100 s · the capture's 2nd packet<\/span><\/h1>/);
});

test('a frame cut by the snap length, and a program the kernel would refuse, are said above the bytes', () => {
  const plain = render(detail());
  assert.doesNotMatch(plain, /id="snap-cut"|id="refused"/);
  const cut = render(detail({ len: 60, capLen: 58 }));
  assert.match(cut, /id="snap-cut">The capture holds 58 of this frame's 60 bytes \(snap length\): the program ran on those\.</);
  const base = { runId: 'run-1', stale: false, nonce: 'N0nce', cspSource: 'vscode-webview://x', scriptUri: 'vscode-webview://x/dist/webview-packet.js' };
  assert.match(renderPacketHtml({ ...base, detail: detail(), refused: { line: 8 } }), /id="refused">Simulated only: the kernel would refuse this program at line 8\.</);
  // With its file: the place as the packets view says it, a link to the line; the whole refusal on hover.
  assert.match(renderPacketHtml({ ...base, detail: detail(), refused: { file: '/w/p.c', line: 8, message: 'line 8: R1 "invalid" <mem>' } }),
    /id="refused" title="line 8: R1 &quot;invalid&quot; &lt;mem&gt;">Simulated only: the kernel would refuse this program at <a href="#" class="src" data-file="\/w\/p\.c" data-line="8" title="Open p\.c at line 8">p\.c:8<\/a>\.<\/div>/);
  assert.match(renderPacketHtml({ ...base, detail: detail(), refused: {} }), /id="refused">Simulated only: the kernel would refuse this program\.</);
});

test('executedPathText: the executed lines as the packet view lists them, the last marked where the packet left', () => {
  const lines = [{ file: '/w/f.c', line: 3 }, { file: '/w/f.c', line: 4 }, { file: '/w/g.h', line: 9 }];
  const text = (file: string, line: number) => (file === '/w/f.c' ? ['', '', '  int x = 1; // one', '  return XDP_DROP;'][line - 1] : undefined);
  assert.equal(executedPathText({ lines }, text), 'f.c:3  int x = 1;\nf.c:4  return XDP_DROP;\ng.h:9  ← left here');
  assert.equal(executedPathText({ lines: [] }), '');
});
