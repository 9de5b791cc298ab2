// The --conntrack schema: a seed reported back after a run is the same seed (IPv4 and IPv6, NAT reply tuples,
// status as flag names or a number, zones), expiry, and errors that name the file, the entry and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackTable, formatAddr, parseAddr } from '../../simulator/vm/conntrack.ts';

const HZ = 250;

test('a seed comes back unchanged from the report', () => {
  const seed = [
    { proto: 'tcp', src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80, status: 14, statusFlags: ['SEEN_REPLY', 'ASSURED', 'CONFIRMED'], mark: 7, timeout: 60 },
    { proto: 'udp', src: '2001:db8::1', sport: 53, dst: 'fe80::1:2', dport: 5353, status: 8, statusFlags: ['CONFIRMED'], mark: 0, zone: 3, timeout: 1.5,
      reply: { src: 'fe80::1:2', sport: 5353, dst: '2001:db8::99', dport: 4000 } },
  ];
  const t = new ConntrackTable();
  const now = 1000 * HZ;
  assert.deepEqual(t.seed(seed, 'ct.json', now, HZ), []);
  assert.deepEqual(t.toJson(now, HZ), seed);
  // 1.5 s later the second has expired and is gone; the first has 58.5 s left.
  const later = t.toJson(now + 1.5 * HZ, HZ);
  assert.equal(later.length, 1);
  assert.equal(later[0].timeout, 58.5);
});

test('status flag names, and errors naming the entry and the field', () => {
  const t = new ConntrackTable();
  assert.deepEqual(t.seed([{ proto: 'tcp', src: '1.2.3.4', sport: 1, dst: '5.6.7.8', dport: 2, status: ['IPS_ASSURED', 'SEEN_REPLY'] }], 'a.json', 0, HZ), []);
  assert.equal(t.toJson(0, HZ)[0].status, 2 | 4 | 8);
  const errors = new ConntrackTable().seed([
    { proto: 'sctp', src: '1.2.3.4', sport: 1, dst: '5.6.7.8', dport: 2 },
    { proto: 'udp', src: '1.2.3.4', sport: 70000, dst: '5.6.7.8', dport: 2 },
    { proto: 'udp', src: '1.2.3.4', sport: 1, dst: '::1', dport: 2 },
    { proto: 'udp', src: '1.2.3', sport: 1, dst: '5.6.7.8', dport: 2 },
    { proto: 'udp', src: '1.2.3.4', sport: 1, dst: '5.6.7.8', dport: 2, status: ['FAST'] },
    { proto: 'udp', src: '1.2.3.4', sport: 1, dst: '5.6.7.8', dport: 2 },
    { proto: 'udp', src: '1.2.3.4', sport: 1, dst: '5.6.7.8', dport: 2 },
  ], 'b.json', 0, HZ);
  assert.deepEqual(errors.map((e) => e.replace(/:.*?: /, ': ').slice(0, 60)), [
    'b.json: "proto" is "tcp" or "udp" (the protocols the conntra',
    'b.json: "sport" is a whole number 0..65535, not 70000',
    'b.json: "src" and "dst" are not the same address family',
    'b.json: "src": \'1.2.3\' is not an IPv4 or IPv6 address',
    'b.json: "status": unknown flag "FAST" (one of EXPECTED, SEEN',
    'b.json: the same tuple is already in the table',
  ]);
  assert.match(errors[0], /^b\.json: connection 0: /);
  assert.deepEqual(new ConntrackTable().seed({}, 'c.json', 0, HZ), ['c.json: expected an array of connections ([{"proto": "tcp", "src": ..., ...}])']);
});

test('addresses: IPv4, IPv6 with and without ::, round trip', () => {
  for (const a of ['0.0.0.0', '255.1.2.3', '::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '1::8']) {
    assert.equal(formatAddr(parseAddr(a, 'x')), a);
  }
  assert.throws(() => parseAddr('1:2:3:4:5:6:7:8:9', 'x'));
  assert.throws(() => parseAddr('256.1.1.1', 'x'));
  assert.throws(() => parseAddr('1::2::3', 'x'));
});
