// The packet builder of test files, checked against tcpdump's decoding of what it builds (written to a pcap, read with
// `tcpdump -r -nn -vv -e`, which verifies IPv4, TCP, UDP, ICMP and ICMPv6 checksums): every layer, the computed
// lengths and checksums, and fields given explicitly (a wrong checksum stays wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml, Reader, TestFileError } from '../../simulator/testing/yaml.ts';
import { buildPacket, inetChecksum } from '../../simulator/testing/packet.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';

const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

const build = (yaml: string) => buildPacket(new Reader('t.yaml'), parseYaml('t.yaml', yaml));

/** tcpdump's decoding of each frame: one string per packet (its continuation lines joined). */
function tcpdump(frames: Uint8Array[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-pkt-'));
  try {
    const path = join(dir, 'p.pcap');
    const w = new PcapWriter(path);
    frames.forEach((f, i) => w.write(BigInt(i + 1) * 1_000_000_000n, f));
    w.close();
    const r = spawnSync('tcpdump', ['-r', path, '-nn', '-vv', '-e', '-tt'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out: string[] = [];
    for (const line of r.stdout.split('\n')) {
      if (/^\d+\.\d+ /.test(line)) out.push(line);
      else if (line.trim() && out.length) out[out.length - 1] += ' ' + line.trim();
    }
    assert.equal(out.length, frames.length, r.stdout);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES: { yaml: string; expect: (string | RegExp)[] }[] = [
  {
    yaml: '[eth, ipv4: {src: 10.1.2.3, dst: 10.4.5.6, ttl: 17, id: 4660, df: true}, tcp: {sport: 1234, dport: 80, flags: [syn, ack], seq: 1000, ack: 2000, window: 512}, payload: {text: hello}]',
    expect: ['02:00:00:00:00:02 > 02:00:00:00:00:01', 'ethertype IPv4 (0x0800), length 59', 'ttl 17, id 4660', 'flags [DF]', 'proto TCP (6), length 45', '10.1.2.3.1234 > 10.4.5.6.80: Flags [S.]', /cksum 0x[0-9a-f]{4} \(correct\)/, 'seq 1000:1005, ack 2000, win 512, length 5'],
  },
  {
    yaml: '[eth: {src: "aa:bb:cc:dd:ee:ff", dst: "11:22:33:44:55:66"}, vlan: {id: 100, pcp: 3}, ipv4, udp: {sport: 5000, dport: 5001}, payload: {hex: "de ad be ef"}]',
    expect: ['aa:bb:cc:dd:ee:ff > 11:22:33:44:55:66', 'ethertype 802.1Q (0x8100)', 'vlan 100, p 3, ethertype IPv4', 'proto UDP (17), length 32', '10.0.0.2.5000 > 10.0.0.1.5001: [udp sum ok] UDP, length 4'],
  },
  {
    yaml: '[eth, ipv6: {src: "2001:db8::1", dst: "2001:db8::2", hlim: 9}, tcp: {dport: 443, options: "020405b4"}]',
    expect: ['ethertype IPv6 (0x86dd), length 78', 'hlim 9, next-header TCP (6) payload length: 24', '2001:db8::1.40000 > 2001:db8::2.443: Flags [S]', /cksum 0x[0-9a-f]{4} \(correct\)/, 'options [mss 1460]'],
  },
  { yaml: '[eth, ipv6, icmpv6: {type: 128, id: 5, seq: 6}, payload: {len: 3}]', expect: ['next-header ICMPv6 (58) payload length: 11', 'fd00::2 > fd00::1: [icmp6 sum ok] ICMP6, echo request, id 5, seq 6'] },
  { yaml: '[eth, ipv4, icmp: {type: 8, id: 7, seq: 9}, payload: {text: abc}]', expect: ['proto ICMP (1), length 31', '10.0.0.2 > 10.0.0.1: ICMP echo request, id 7, seq 9, length 11'] },
  { yaml: '[eth, arp: {op: 2, sha: "02:00:00:00:00:09", spa: 10.0.0.9, tpa: 10.0.0.1}]', expect: ['ethertype ARP (0x0806), length 42', 'Reply 10.0.0.9 is-at 02:00:00:00:00:09'] },
  {
    yaml: '[eth, ipv4, udp, vxlan: {vni: 42}, eth: {src: "02:aa:00:00:00:01"}, ipv4: {src: 192.168.1.1, dst: 192.168.1.2}, udp: {sport: 1, dport: 2}]',
    expect: ['proto UDP (17), length 78', '10.0.0.2.40000 > 10.0.0.1.4789: [udp sum ok] VXLAN, flags [I] (0x08), vni 42', '02:aa:00:00:00:01 > 02:00:00:00:00:01', '192.168.1.1.1 > 192.168.1.2.2: [udp sum ok] UDP, length 0'],
  },
  { yaml: '[eth, ipv4, gre: {key: 5}, ipv4: {src: 172.16.0.1, dst: 172.16.0.2}, icmp]', expect: ['proto GRE (47), length 56', 'GREv0, Flags [key present], key=0x5, proto IPv4 (0x0800), length 36', '172.16.0.1 > 172.16.0.2: ICMP echo request, id 1, seq 1, length 8'] },
  { yaml: '[eth, ipv4, gre: {checksum: true}, eth, arp]', expect: ['GREv0, Flags [checksum present], sum 0x', 'proto TEB (0x6558)', 'Request who-has 10.0.0.1 tell 10.0.0.2'] },
  { yaml: '[eth, vlan: {id: 5, tpid: 0x88a8}, vlan: {id: 6}, ipv6, udp]', expect: ['ethertype 802.1Q-QinQ (0x88a8)', 'vlan 5, p 0, ethertype 802.1Q (0x8100), vlan 6, p 0, ethertype IPv6', '[udp sum ok]'] },
  // Given values are kept as given, even when wrong.
  { yaml: '[eth, ipv4: {ttl: 1, len: 40, checksum: 0x1234}, tcp: {checksum: 0x1234, flags: [rst]}]', expect: ['bad cksum 1234', 'cksum 0x1234 (incorrect', 'Flags [R]'] },
  { yaml: '[eth, ipv4, udp: {checksum: 0}]', expect: ['10.0.0.2.40000 > 10.0.0.1.53: [no cksum]'] },
];

test('built packets decode in tcpdump as written, with correct lengths and checksums', { skip: !haveTcpdump && 'tcpdump is not installed' }, () => {
  const lines = tcpdump(CASES.map((c) => build(c.yaml)));
  CASES.forEach((c, i) => {
    const line = lines[i]!;
    for (const e of c.expect) {
      if (typeof e === 'string') assert.ok(line.includes(e), `packet ${i} (${c.yaml}): '${e}' not in tcpdump's\n${line}`);
      else assert.match(line, e, `packet ${i} (${c.yaml})`);
    }
    if (!c.yaml.includes('checksum: 0x1234')) {
      assert.doesNotMatch(line, /bad cksum|incorrect|wrong|bad udp|bad icmp/i, `packet ${i}: ${line}`);
    }
  });
});

test('the Internet checksum of RFC 1071 example bytes', () => {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2 (folded), so the checksum is its complement.
  assert.equal(inetChecksum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7)), ~0xddf2 & 0xffff);
  // Split at an odd boundary, the same.
  assert.equal(inetChecksum(Uint8Array.of(0x00, 0x01, 0xf2), Uint8Array.of(0x03, 0xf4, 0xf5, 0xf6, 0xf7)), ~0xddf2 & 0xffff);
});

test('layer errors name the line and column of the bad field', () => {
  const cases: [string, RegExp][] = [
    ['[eth, ipv4: {src: 10.0.0.300}]', /^t\.yaml:1:19: ipv4\.src must be an IPv4 address/],
    ['- eth\n- tcp: {dport: 70000}\n', /^t\.yaml:2:16: tcp\.dport is out of range: 70000 \(accepted: 0 to 65535\)/],
    ['- eth\n- ipv5: {}\n', /^t\.yaml:2:3: unknown layer 'ipv5'/],
    ['[eth, tcp: {flags: [syn, foo]}]', /^t\.yaml:1:20: unknown TCP flag 'foo'/],
    ['[eth: {srcmac: 1}]', /^t\.yaml:1:8: unknown key 'srcmac' in the eth layer/],
    ['[payload: {hex: "abc"}]', /^t\.yaml:1:17: payload\.hex must be hex bytes/],
  ];
  for (const [yaml, re] of cases) {
    assert.throws(() => build(yaml), (e: unknown) => e instanceof TestFileError && re.test(e.message), yaml);
  }
});
