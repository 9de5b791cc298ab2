// The display filter and the packet view's layer tree speak the same field names (issue 11): every key the tree
// makes is a field a filter may name, a filter on the tree's names selects the packets tshark's display filter selects
// (Wireshark is the authority for these names), the filter's own names keep working, and an unknown name is answered
// with the close ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { closeNames, compileFilter, fieldNames, fieldType, FIELDS, filterError, TREE_FIELDS, treeFields, type PacketFacts } from '../../simulator/filter.ts';
import { dissectTree, type TreeField } from '../../simulator/net/dissect-tree.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { REPO, sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const noCaptures = !existsSync(CAPTURES) && `${CAPTURES} is absent`;
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const haveMergecap = spawnSync('mergecap', ['--version']).status === 0;
const captures = () => readdirSync(CAPTURES).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort();

function* keys(fields: TreeField[]): Generator<string> {
  for (const f of fields) {
    yield f.key;
    if (f.children) yield* keys(f.children);
  }
}

const facts = (index: number, frame: Uint8Array): PacketFacts => ({ index, frame, wireLen: frame.length, capLen: frame.length, action: 'XDP_PASS', retval: 2 });

test('every field key written in dissect-tree.ts is a filter field', () => {
  const src = readFileSync(join(REPO, 'simulator', 'net', 'dissect-tree.ts'), 'utf8');
  const literal = [...src.matchAll(/'((?:eth|vlan|ieee8021ad|arp|ip|ipv6|ah|tcp|udp|icmp|icmpv6|gre|vxlan|geneve|dns|data)(?:\.[a-z0-9_.]+)?)'/g)].map((m) => m[1]!);
  // Keys made from templates: `${k}.id` for both tag kinds, ICMP and ICMPv6 alike, TCP and DNS flag bits.
  const templated = [
    ...['vlan', 'ieee8021ad'].flatMap((k) => ['priority', 'dei', 'id', 'etype'].map((f) => `${k}.${f}`)),
    ...['icmp', 'icmpv6'].flatMap((k) => ['type', 'code', 'checksum', 'ident', 'seq', 'rest'].map((f) => `${k}.${f}`)),
    'icmpv6.mtu',
    ...[...src.matchAll(/\[0x[0-9a-f]+, '(\w+)', '[^']*'\]/g)].map((m) => `tcp.flags.${m[1]}`),
    ...[...src.matchAll(/bit\('(\w+)'/g)].map((m) => `dns.flags.${m[1]}`),
  ];
  assert.ok(literal.length > 100 && templated.length > 20, `${literal.length} literal keys, ${templated.length} templated`);
  const missing = [...new Set([...literal, ...templated])].filter((k) => !fieldType(k));
  assert.deepEqual(missing, [], 'keys of the tree a filter does not accept');
  for (const k of Object.keys(TREE_FIELDS)) {
    assert.equal(FIELDS[k], undefined, `${k} is in both tables (the fast one wins; remove it from TREE_FIELDS)`);
    assert.equal(filterError(k), undefined, k);
  }
});

test('every key of the tree on the shared captures is a filter field, and its values are read', { skip: noCaptures }, () => {
  const seen = new Set<string>();
  let read = 0;
  for (const name of captures()) {
    const r = openCapture(join(CAPTURES, name));
    try {
      for (let p; (p = r.next()); ) {
        const layers = dissectTree(p.frame);
        for (const l of layers) {
          seen.add(l.key);
          for (const k of keys(l.fields)) seen.add(k);
        }
        for (const [, v] of treeFields(p.frame)) read += v.length;
      }
    } finally {
      r.close();
    }
  }
  assert.deepEqual([...seen].filter((k) => !fieldType(k)), []);
  assert.ok(read > 1000, `only ${read} values read from the trees`);
});

// Filters on the tree's names whose meaning is Wireshark's: each selects the same packets as tshark -Y. Quantities
// whose unit may differ between versions are compared with 0 only.
const EXPRESSIONS = [
  'ieee8021ad', 'ieee8021ad.id == 200', 'ieee8021ad.priority == 0', 'vlan.etype == 0x0800', 'vlan.dei == 0',
  'arp.hw.type == 1', 'arp.proto.size == 4', 'arp.src.hw_mac == 00:00:00:00:00:00',
  'ip.version == 4', 'ip.dsfield.dscp == 0', 'ip.dsfield.ecn > 0', 'ip.flags.rb == 0', 'ip.flags == 0x2', 'ip.checksum > 0x8000',
  'ipv6.tclass == 0', 'ipv6.tclass > 0', 'ipv6.routing.segleft == 0',
  'tcp.options.mss_val >= 1400', 'tcp.options.wscale.shift > 5', 'tcp.options.timestamp.tsval > 0', 'tcp.options.sack_le', 'tcp.urgent_pointer == 0',
  'tcp.flags.urg == 1', 'tcp.flags.cwr == 0', 'tcp.checksum < 0x1000', 'udp.checksum == 0', 'udp.checksum > 0x8000',
  'icmp.ident', 'icmp.seq > 0', 'icmpv6.checksum > 0', 'icmpv6.nd.ns.target_address',
  'gre.flags.key == 1', 'gre.flags.version == 1', 'gre.key.call_id > 0', 'gre.flags.sequence_number == 1', 'gre.sequence_number > 0',
  'vxlan.vni == 123', 'vxlan',
  'dns.flags.response == 1', 'dns.flags.recdesired == 1', 'dns.count.add_rr > 0', 'dns.qry.type == 1', 'dns.qry.class == 1', 'dns.id > 30000',
  'dns.qry.name contains "example"', 'dns.qry.name == "www.google.com"',
  // Combined with the filter's own (fast) names.
  'tcp.dstport == 22 && tcp.options.timestamp.tsecr > 0', 'udp && !dns.flags.response', 'ip.ttl < 64 || ieee8021ad',
];

/**
 * Where the tree and Wireshark dissect a packet differently on purpose or by a known gap: the packet (capture, index
 * in it) and the fields concerned. Any other difference fails.
 */
const KNOWN: { capture: string; packet: number; fields: RegExp; why: string }[] = [
  { capture: 'zeek--linux_dlt_sll2.pcap', packet: 5, fields: /^arp\./, why: 'a RARP frame: Wireshark decodes it with the ARP fields, the tree does not dissect RARP' },
  { capture: 'zeek--truncated-header.pcap', packet: 0, fields: /^tcp\.options\./, why: 'the snap length cuts the TCP options: Wireshark reads the options that were captured, the tree stops at a header cut short' },
];

test('filters on the tree names select the packets tshark -Y selects, on every shared capture', { skip: noCaptures || (!haveTshark && 'tshark is not installed (apt-get install tshark)') || (!haveMergecap && 'mergecap is not installed (apt-get install tshark)') }, () => {
  // All captures in one file (one tshark run per expression); tshark numbers pcapng custom blocks as frames too.
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tree-fields-'));
  try {
    const names = captures();
    const merged = join(dir, 'all.pcapng');
    const m = spawnSync('mergecap', ['-a', '-F', 'pcapng', '-w', merged, ...names.map((n) => join(CAPTURES, n))], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    const origin: { capture: string; packet: number }[] = [];
    for (const name of names) {
      const r = openCapture(join(CAPTURES, name));
      try {
        for (let i = 0; r.next(); i++) origin.push({ capture: name, packet: i });
      } finally {
        r.close();
      }
    }
    const frames: Uint8Array[] = [];
    const r = openCapture(merged);
    try {
      for (let p; (p = r.next()); ) frames.push(p.frame.slice());
    } finally {
      r.close();
    }
    assert.equal(frames.length, origin.length, 'the merged capture has every packet');
    const tshark = (filter: string) => {
      const t = spawnSync('tshark', ['-r', merged, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 16 << 20 });
      assert.equal(t.status, 0, `tshark -Y '${filter}': ${t.stderr}`);
      return t.stdout.split('\n').filter(Boolean).map(Number);
    };
    const packetFrames = tshark('!frame.cb_pen');
    assert.equal(packetFrames.length, frames.length, 'tshark and the reader see the same packets');
    const indexOf = new Map(packetFrames.map((n, i) => [n, i]));
    const wrong: string[] = [];
    let matched = 0;
    for (const expr of EXPRESSIONS) {
      const theirs = new Set(tshark(expr).map((n) => indexOf.get(n)).filter((i): i is number => i !== undefined));
      const f = compileFilter(expr);
      const ours = new Set(frames.flatMap((fr, i) => (f.test(facts(i, fr)) ? [i] : [])));
      matched += ours.size;
      for (const i of new Set([...ours, ...theirs])) {
        if (ours.has(i) === theirs.has(i)) continue;
        const o = origin[i]!;
        if (KNOWN.some((k) => k.capture === o.capture && k.packet === o.packet && f.fields.some((x) => k.fields.test(x)))) continue;
        wrong.push(`${o.capture} packet ${o.packet}: ${expr}: ${ours.has(i) ? 'ours only' : "tshark's only"}`);
      }
    }
    assert.deepEqual(wrong, [], `${wrong.length} differences`);
    assert.ok(matched > 200, `only ${matched} packets matched: the expressions test little`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the filter\'s own names keep their meaning beside the tree\'s', () => {
  // 802.1ad outer tag 200, 802.1Q inner tag 2001, then an IPv4 fragment at byte 8 (of a UDP datagram).
  const frame = Uint8Array.from([
    ...[1, 2, 3, 4, 5, 6], ...[7, 8, 9, 10, 11, 12], 0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x07, 0xd1, 0x08, 0x00,
    0x45, 0, 0, 28, 0, 1, 0x20, 0x01, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0,
  ]);
  const hit = (expr: string) => compileFilter(expr).test(facts(0, frame));
  assert.ok(hit('vlan.id == 200 && vlan.id == 2001'), 'vlan.id: every tag, as before');
  assert.ok(hit('ieee8021ad.id == 200 && !(ieee8021ad.id == 2001)'), 'ieee8021ad.id: the service tag only');
  assert.ok(hit('eth.type == 0x0800'), 'eth.type: after the tags, as before');
  assert.ok(hit('ip.frag_offset == 8'), 'ip.frag_offset: in bytes, as before');
  assert.ok(hit('ip.flags.mf == 1 && ip.flags == 0x1'));
  assert.ok(!hit('udp') && !hit('udp.checksum == 0'), 'a fragment after the first has no UDP header');
});

test('an unknown field is answered with the names close to it', () => {
  const msg = (expr: string) => filterError(expr)?.message ?? '';
  assert.match(msg('ip.sorce == 10.0.0.1'), /unknown field 'ip\.sorce' \(did you mean ip\.src\b/);
  assert.match(msg('tcp.dstprot == 80'), /did you mean tcp\.dstport\b/);
  assert.match(msg('ieee8021ad.idd == 3'), /did you mean ieee8021ad\.id\b/);
  assert.ok(closeNames('svlan.id').includes('ieee8021ad.id'), closeNames('svlan.id').join(', '));
  assert.ok(closeNames('tcp.options.mss').includes('tcp.options.mss_val'));
  assert.deepEqual(closeNames('zzzz.qqqq'), []);
  assert.equal(filterError('xyz')?.position, 0);
  for (const n of fieldNames()) assert.equal(filterError(n), undefined, n);
});
