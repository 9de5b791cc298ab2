// The interface picker of Run on Live Traffic reads sysfs (here a fake /sys/class/net laid out as the kernel lays it
// out, and the machine's own when it has one), and the message at the end of a live run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listInterfaces, liveEndMessage } from '../../client/live.ts';

function fakeSys(ifaces: Record<string, { type: string; operstate: string; address: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'xdp-lens-sysnet-'));
  for (const [name, files] of Object.entries(ifaces)) {
    mkdirSync(join(root, name));
    for (const [f, v] of Object.entries(files)) writeFileSync(join(root, name, f), `${v}\n`);
  }
  return root;
}

test('interfaces: up ones first, then down, loopback last; MACs shown except all zeros', () => {
  const root = fakeSys({
    lo: { type: '772', operstate: 'unknown', address: '00:00:00:00:00:00' },
    veth1: { type: '1', operstate: 'down', address: '02:00:00:00:00:09' },
    eth0: { type: '1', operstate: 'up', address: '52:54:00:12:34:56' },
    wg0: { type: '65534', operstate: 'unknown', address: '' },
  });
  writeFileSync(join(root, 'bonding_masters'), 'bond0\n'); // a file in /sys/class/net that is no interface
  assert.deepEqual(listInterfaces(root), [
    { name: 'eth0', state: 'up', mac: '52:54:00:12:34:56', loopback: false },
    { name: 'veth1', state: 'down', mac: '02:00:00:00:00:09', loopback: false },
    { name: 'wg0', state: 'unknown', loopback: false },
    { name: 'lo', state: 'unknown', loopback: true },
  ]);
  assert.deepEqual(listInterfaces(join(root, 'missing')), []);
});

test('this machine: every interface in /sys/class/net is offered', { skip: !existsSync('/sys/class/net') && 'no /sys/class/net here' }, () => {
  const names = listInterfaces().map((i) => i.name).sort();
  assert.deepEqual(names, readdirSync('/sys/class/net').filter((n) => existsSync(join('/sys/class/net', n, 'type'))).sort());
});

test('the end of a live run says why it stopped, how many packets, and where the traffic is', () => {
  const capture = '/tmp/live-lo.pcap';
  assert.equal(
    liveEndMessage({ packets: 3, capture, live: { interface: 'lo', command: 'tcpdump -i lo -U --immediate-mode -w -', stopped: 'stopped at the limit of 3 packets' } }),
    'XDP: live run on lo: stopped at the limit of 3 packets (3 packets). The traffic is recorded in /tmp/live-lo.pcap.',
  );
  assert.equal(
    liveEndMessage({ packets: 1, capture, captureError: 'tcpdump -i lo: record 1, byte offset 100: truncated packet data (5 of 60 bytes)', live: { interface: 'lo', command: 'x', stopped: 'tcpdump ended' } }),
    'XDP: live run on lo: tcpdump ended (1 packet; the capture from tcpdump was broken: tcpdump -i lo: record 1, byte offset 100: truncated packet data (5 of 60 bytes)). The traffic is recorded in /tmp/live-lo.pcap.',
  );
});
