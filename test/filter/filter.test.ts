// Display filters (simulator/filter.ts): the grammar, Wireshark's semantics for repeated fields, errors that name the
// column, and the result fields. The dissector's fields are checked against tcpdump in tcpdump.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, filterError, formatFilterError, FIELDS, type PacketFacts } from '../../simulator/filter.ts';

/** Ethernet (optionally 802.1Q) + IPv4 + TCP or UDP. */
function frame(o: { src?: number[]; dst?: number[]; proto?: number; sport?: number; dport?: number; ttl?: number; vlan?: number; flags?: number } = {}): Uint8Array {
  const tag = o.vlan !== undefined ? 4 : 0;
  const f = new Uint8Array(14 + tag + 20 + 20);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  if (tag) f.set([0x81, 0x00, (o.vlan! >> 8) & 0x0f, o.vlan! & 0xff], 12);
  f.set([0x08, 0x00], 12 + tag);
  const ip = 14 + tag;
  f.set([0x45, 0, 0, 40, 0, 1, 0x40, 0, o.ttl ?? 64, o.proto ?? 6], ip);
  f.set(o.src ?? [10, 0, 0, 1], ip + 12);
  f.set(o.dst ?? [10, 0, 0, 2], ip + 16);
  const sport = o.sport ?? 1234;
  const dport = o.dport ?? 80;
  f.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], ip + 20);
  f[ip + 32] = 0x50;
  f[ip + 33] = o.flags ?? 0x02;
  return f;
}

function facts(f: Uint8Array, more: Partial<PacketFacts> = {}): PacketFacts {
  return { index: 0, frame: f, wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2, outcome: 'passed', line: 10, ...more };
}

const t = (expr: string, p: PacketFacts) => compileFilter(expr).test(p);

test('fields of the frame: addresses, ports, networks, sets, comparisons', () => {
  const p = facts(frame());
  assert.equal(t('ip.src == 10.0.0.1 && tcp.dstport == 80', p), true);
  assert.equal(t('ip.src == 10.0.0.2', p), false);
  assert.equal(t('ip.addr == 10.0.0.2', p), true, 'ip.addr is either address');
  assert.equal(t('ip.dst == 10.0.0.0/24', p), true);
  assert.equal(t('ip.dst == 10.0.1.0/24', p), false);
  assert.equal(t('tcp.port in {22 80}', p), true);
  assert.equal(t('tcp.port in {22, 443}', p), false);
  assert.equal(t('ip.ttl < 65 and ip.ttl >= 64', p), true);
  assert.equal(t('ip.ttl gt 64', p), false);
  assert.equal(t('tcp.flags.syn == 1 && tcp.flags.ack == 0', p), true);
  assert.equal(t('tcp.flags == 0x02', p), true);
  assert.equal(t('udp', p), false);
  assert.equal(t('!udp', p), true);
  assert.equal(t('eth.src == 02:00:00:00:00:01', p), true);
  assert.equal(t('eth.type == 0x0800', p), true);
  assert.equal(t('vlan', p), false);
  const v = facts(frame({ vlan: 100, proto: 17, dport: 53 }));
  assert.equal(t('vlan.id == 100 && udp.dstport == 53 && dns', v), true);
});

test('operator precedence: && binds tighter than ||; ! tighter than both; parentheses', () => {
  const p = facts(frame());
  assert.equal(t('udp && tcp || tcp', p), true);
  assert.equal(t('udp && (tcp || tcp)', p), false);
  assert.equal(t('!udp && tcp', p), true);
  assert.equal(t('!(udp || tcp)', p), false);
  assert.equal(t('not udp and not not tcp', p), true);
});

test('a repeated field: == holds when any occurrence equals, != when none does (Wireshark 3.6+)', () => {
  const p = facts(frame()); // ip.addr occurs twice: 10.0.0.1 and 10.0.0.2
  assert.equal(t('ip.addr == 10.0.0.1', p), true);
  assert.equal(t('ip.addr != 10.0.0.1', p), false, 'one occurrence equals, so != is false');
  assert.equal(t('ip.addr != 10.0.0.9', p), true);
  assert.equal(t('tcp.port != 80', p), false);
});

test('result fields: action, outcome, fault, exit line, modified, printk', () => {
  const p = facts(frame(), { action: 'XDP_REDIRECT', retval: 4, outcome: 'dropped: no redirect target', line: 127, printk: ['hello 1'], modified: true });
  assert.equal(t('action == XDP_REDIRECT', p), true);
  assert.equal(t('action == redirect', p), true, 'the action without XDP_, any case');
  assert.equal(t('action == 4', p), true, 'or its number');
  assert.equal(t('action != XDP_DROP', p), true);
  assert.equal(t('outcome.kind == dropped && outcome.reason == "no redirect target"', p), true);
  assert.equal(t('outcome contains "redirect"', p), true);
  assert.equal(t('outcome matches "^dropped: .*target$"', p), true);
  assert.equal(t('exit.line == 127', p), true);
  assert.equal(t('fault', p), false);
  assert.equal(t('fault', facts(frame(), { fault: 'out-of-bounds' })), true);
  assert.equal(t('fault.kind == "out-of-bounds"', facts(frame(), { fault: 'out-of-bounds' })), true);
  assert.equal(t('modified && printk contains "hello"', p), true);
  assert.equal(t('frame.len == 54 && frame.number == 0', p), true);
});

test('errors name the column and what is wrong', () => {
  const cases: [string, number, RegExp][] = [
    ['', 0, /empty/],
    ['ip.src = 10.0.0.1', 7, /'=' is not an operator/],
    ['ip.src == 10.0.0.300', 10, /ip.src is an IPv4 address/],
    ['tcp.dstport == http', 15, /is a number/],
    ['ip.sorce == 1.2.3.4', 0, /unknown field 'ip.sorce'.*ip.src/],
    ['(tcp && udp', 11, /expected '\)' to close the '\(' at column 1/],
    ['tcp &&', 6, /expected a field after '&&'/],
    ['tcp udp', 4, /unexpected 'udp': join conditions with && or \|\|/],
    ['action == XDP_SEND', 10, /XDP action/],
    ['tcp.port contains 80', 18, /'contains' works on text fields/],
    ['outcome == "dropped', 11, /closing "/],
    ['tcp & udp', 4, /'&' alone/],
    ['ip.src > 10.0.0.0/8', 9, /one address, not a network/],
    ['fault == 1', 9, /no value to compare/],
    ['tcp.port in {}', 12, /set is empty/],
  ];
  for (const [expr, col, msg] of cases) {
    const e = filterError(expr);
    assert.ok(e, `${expr}: should be refused`);
    assert.match(e.message, msg, expr);
    assert.equal(e.position, col, `${expr}: position of ${e.message}`);
  }
  assert.equal(filterError('ip.src == 10.0.0.1 && tcp.dstport == 80'), undefined);
  const e = filterError('ip.src = 1.2.3.4')!;
  assert.equal(formatFilterError('ip.src = 1.2.3.4', e), "column 8: '=' is not an operator: use '==' to compare\n  ip.src = 1.2.3.4\n         ^");
});

test('IPv6 addresses and networks, MAC forms', () => {
  const f = new Uint8Array(14 + 40 + 8);
  f.set([0x86, 0xdd], 12);
  f[14] = 0x60;
  f[14 + 5] = 8; // payload length 8 (with 0 there is no payload: no udp, as in tshark -Y)
  f[14 + 6] = 17;
  f.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 14 + 8);
  f.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2], 14 + 24);
  const p = facts(f);
  assert.equal(t('ipv6.src == 2001:db8::1', p), true);
  assert.equal(t('ipv6.src == 2001:DB8:0:0:0:0:0:1', p), true);
  assert.equal(t('ipv6.addr == 2001:db8::/32', p), true);
  assert.equal(t('ipv6.dst == ::ffff:10.0.0.2', p), true);
  assert.equal(t('ipv6.dst == ::ffff:10.0.0.3', p), false);
  assert.equal(t('udp && !ip', p), true);
  assert.ok(filterError('ipv6.src == 2001:db8:::1'));
  assert.equal(t('eth.dst == 00-00-00-00-00-00', p), true);
});

test('every field documented in FIELDS parses alone', () => {
  for (const f of Object.keys(FIELDS)) assert.equal(filterError(f), undefined, f);
});

test('hostile filters: chains of 20,000 terms and runs of negations are evaluated, deep parentheses refused, long names clipped', () => {
  const tcp = facts(frame({ proto: 6 }));
  const udp = facts(frame({ proto: 17 }));
  // A chain of || or && and a run of ! never recurse per term (were a stack overflow, an internal error).
  const ors = [...Array<string>(19_999).fill('udp'), 'tcp'].join(' || ');
  assert.equal(t(ors, tcp), true);
  assert.equal(t(ors, udp), true);
  assert.equal(t(Array<string>(20_000).fill('udp').join(' || '), tcp), false);
  const ands = Array<string>(20_000).fill('ip').join(' && ') + ' && tcp';
  assert.equal(t(ands, tcp), true);
  assert.equal(t(ands, udp), false);
  assert.equal(t(`${'!'.repeat(20_001)}tcp`, tcp), false);
  assert.equal(t(`${'!'.repeat(20_000)}tcp`, tcp), true);
  assert.equal(t(`${'not '.repeat(3)}udp`, tcp), true);
  assert.equal(t('udp || tcp && ip || udp', tcp), true, 'precedence kept');
  assert.equal(t('udp || tcp && !ip || udp', tcp), false, 'precedence kept');
  assert.equal(t(`${'('.repeat(256)}tcp${')'.repeat(256)}`, tcp), true);
  const deep = `${'('.repeat(5000)}tcp${')'.repeat(5000)}`;
  const e = filterError(deep)!;
  assert.match(e.message, /parentheses nested more than 256 deep/);
  assert.equal(e.position, 256);
  // A 100,000-character name: answered at once, the message and the caret line clipped.
  const long = 'a'.repeat(100_000);
  const t0 = process.hrtime.bigint();
  const le = filterError(long)!;
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 5000, 'no edit-distance table of a 100,000-character name');
  assert.match(le.message, /^unknown field 'a{60}\.\.\. \(100000 characters\)'$/);
  const shown = formatFilterError(long, le);
  assert.ok(shown.length < 400, `clipped: ${shown.length} characters`);
  // The caret still points at what is wrong in a long filter.
  const text = `${'tcp && '.repeat(300)}ip.src == 1.2.3.`;
  const lines = formatFilterError(text, filterError(text)!).split('\n');
  assert.match(lines[0]!, /^column 2111: ip.src is an IPv4 address/);
  const caret = lines[2]!.indexOf('^');
  assert.equal(lines[1]!.slice(caret, caret + 6), '1.2.3.');
  assert.ok(lines[1]!.startsWith('  ...'));
});
