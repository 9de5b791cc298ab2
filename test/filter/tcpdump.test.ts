// The display filter's frame fields against tcpdump's (libpcap's) filters on every shared capture: the packets each
// selects, identified by their nanosecond timestamps. Frames with VLAN tags or tunnels are left out on both sides,
// since there the two differ by design (a display filter sees every layer, as Wireshark's does; a capture filter
// reads fixed offsets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../simulator/net/capture.ts';
import { compileFilter } from '../../simulator/filter.ts';

const CAPTURES = '/work/shared/captures';
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const skip = !existsSync(CAPTURES) ? `${CAPTURES} is absent` : !haveTcpdump ? 'tcpdump is not installed' : false;

// display filter <-> tcpdump expression
const PAIRS: [string, string][] = [
  ['tcp', 'tcp'],
  ['udp', 'udp'],
  ['icmp', 'icmp'],
  ['arp', 'arp'],
  ['ipv6', 'ip6'],
  ['ip', 'ip'],
  ['tcp.dstport == 80 || tcp.srcport == 80', 'tcp port 80'],
  ['udp.port == 53', 'udp port 53'],
  ['ip && tcp.flags.syn == 1', 'tcp[tcpflags] & tcp-syn != 0'], // libpcap's tcp[] reads IPv4 only
  ['ipv6 && tcp.flags.syn == 1', 'ip6 and ip6[6] == 6 and ip6[40 + 13] & 2 != 0'],
  ['ip.ttl < 64', 'ip[8] < 64'],
  ['ip.flags.mf == 1 || ip.frag_offset > 0', 'ip[6:2] & 0x3fff != 0'],
  ['frame.len > 100', 'greater 101'],
];
// Also left out: later IP fragments (a display filter, like Wireshark's without reassembly, sees no transport header
// there; libpcap matches them by protocol number) and IPv6 extension headers (libpcap reads only the fixed header's
// next-header field).
const EXCLUDE_OURS = ' && !vlan && !vxlan && !gre && eth.type != 0x8864 && !(ip.frag_offset > 0) && !(ipv6.nxt in {0 43 44 60})';
const EXCLUDE_TCPDUMP = ' and not (udp dst port 4789) and not (ip proto 47) and not (ip6 proto 47) and not (ether proto 0x8864)' +
  ' and not (ip and ip[6:2] & 0x1fff != 0) and not (ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60)) and not vlan';

function ours(file: string, expr: string): string[] {
  const f = compileFilter(`(${expr})${EXCLUDE_OURS}`);
  const r = openCapture(file);
  const out: string[] = [];
  try {
    for (let p = r.next(); p; p = r.next()) {
      if (f.test({ index: p.index, frame: p.frame, wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 })) out.push(p.tsNs.toString());
    }
  } finally {
    r.close();
  }
  return out;
}

function theirs(file: string, expr: string): string[] | string {
  const r = spawnSync('tcpdump', ['-r', file, '-n', '-tt', '--time-stamp-precision=nano', `(${expr})${EXCLUDE_TCPDUMP}`], { encoding: 'utf8' });
  if (r.status !== 0) return r.stderr;
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [s, ns] = l.split(' ')[0]!.split('.');
    return (BigInt(s!) * 1_000_000_000n + BigInt(ns!)).toString();
  });
}

test('display filters select the packets tcpdump selects on every shared capture', { skip }, (t) => {
  const files = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(CAPTURES, f));
  let compared = 0;
  for (const file of files) {
    for (const [display, capture] of PAIRS) {
      const want = theirs(file, capture);
      if (typeof want === 'string') {
        t.diagnostic(`${file}: tcpdump cannot filter this capture with '${capture}': ${want.trim().split('\n').pop()}`);
        continue;
      }
      assert.deepEqual(ours(file, display), want, `${file}: '${display}' vs tcpdump '${capture}'`);
      compared++;
    }
  }
  assert.ok(compared > 100, `only ${compared} comparisons ran`);
});
