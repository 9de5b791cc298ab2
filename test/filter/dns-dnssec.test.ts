// DNSSEC's records and a few others with tshark 4.0's field names: DS and CDS (dns.ds.*), RRSIG (dns.rrsig.*), DNSKEY
// and CDNSKEY (dns.dnskey.*, key_id the computed key tag, the flag bits), NSEC (next name), NSEC3 (dns.nsec3.*, the
// hash in base32hex) and NSEC3PARAM (no opt-out bit), TLSA, SSHFP; each was an unknown field. The values are written
// out (the test fails without tshark too) and checked against tshark -T fields and -Y when it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { classicPcap } from '../net/pcap-file.ts';
import { haveTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const eth = (body: number[]) => [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, ...body];
const ip4 = (body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const udp = (body: number[]) => [0, 53, 0x9c, 0x40, ...be16(8 + body.length), 0, 0, ...body];
const name = (s: string) => [...s.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const rr = (type: number, rdata: number[]) => [0xc0, 12, ...be16(type), 0, 1, ...be32(3600), ...be16(rdata.length), ...rdata];
const answer = (...records: number[][]) => eth(ip4(udp([0xab, 0xcd, 0x81, 0x80, 0, 1, ...be16(records.length), 0, 0, 0, 0, ...name('example.com'), 0, 1, 0, 1, ...records.flat()])));
const seq = (n: number, from: number) => Array.from({ length: n }, (_, i) => (from + i * 37) & 0xff);

const FRAMES = [
  /* 1 */ answer(rr(43, [0x30, 0x39, 13, 2, ...seq(32, 1)]), rr(59, [0x01, 0x02, 8, 1, ...seq(20, 5)])),
  /* 2 */ answer(rr(46, [0, 1, 13, 2, ...be32(3600), ...be32(1700000000), ...be32(1690000000), 0x2c, 0x2d, ...name('example.com'), ...seq(64, 9)])),
  /* 3 */ answer(rr(48, [1, 1, 3, 13, ...seq(64, 3)]), rr(48, [1, 0, 3, 8, ...seq(32, 7)]), rr(60, [0x01, 0x81, 3, 13, ...seq(32, 11)])),
  /* 4 */ answer(rr(47, [...name('next.example.com'), 0, 6, 0x40, 0x01, 0, 0, 0, 0x03])),
  /* 5 */ answer(rr(50, [1, 1, 0, 10, 4, 0xaa, 0xbb, 0xcc, 0xdd, 20, ...seq(20, 2), 0, 2, 0x62, 0x01]), rr(51, [1, 1, 0, 5, 0])),
  /* 6 */ answer(rr(52, [3, 1, 1, ...seq(32, 4)]), rr(44, [4, 2, ...seq(32, 8)])),
];

const hexOf = (b: number[]) => Buffer.from(b).toString('hex');
/** Field -> its values in each frame (occurrences joined by ','), as tshark 4.0 -T fields gives them. */
const VALUES: Record<string, string[]> = {
  'dns.ds.key_id': ['12345,258', '', '', '', '', ''],
  'dns.ds.digest_type': ['2,1', '', '', '', '', ''],
  'dns.ds.digest': [`${hexOf(seq(32, 1))},${hexOf(seq(20, 5))}`, '', '', '', '', ''],
  'dns.rrsig.type_covered': ['', '1', '', '', '', ''],
  'dns.rrsig.original_ttl': ['', '3600', '', '', '', ''],
  'dns.rrsig.key_tag': ['', '11309', '', '', '', ''],
  'dns.rrsig.signers_name': ['', 'example.com', '', '', '', ''],
  'dns.rrsig.signature': ['', hexOf(seq(64, 9)), '', '', '', ''],
  'dns.dnskey.flags.zone_key': ['', '', '1,1,1', '', '', ''],
  'dns.dnskey.flags.secure_entry_point': ['', '', '1,0,1', '', '', ''],
  'dns.dnskey.flags.key_revoked': ['', '', '0,0,1', '', '', ''],
  'dns.dnskey.algorithm': ['', '', '13,8,13', '', '', ''],
  'dns.dnskey.key_id': ['', '', '54141,11135,27717', '', '', ''],
  'dns.nsec.next_domain_name': ['', '', '', 'next.example.com', '', ''],
  'dns.nsec3.flags.opt_out': ['', '', '', '', '1', ''],
  'dns.nsec3.iterations': ['', '', '', '', '10,5', ''],
  'dns.nsec3.salt_value': ['', '', '', '', 'aabbccdd,', ''], // NSEC3PARAM's empty salt: a field of no bytes
  'dns.nsec3.hash_value': ['', '', '', '', '08jkoscmnfg0aaifeicrtoo85l97f761', ''],
  'dns.tlsa.certificate_usage': ['', '', '', '', '', '3'],
  'dns.sshfp.fingerprint.type': ['', '', '', '', '', '2'],
};
const SELECT: [string, number[]][] = [
  ['dns.ds.key_id == 12345', [1]],
  ['dns.rrsig.signers_name == "example.com"', [2]],
  ['dns.dnskey.flags.secure_entry_point == 1', [3]],
  ['dns.nsec3.flags.opt_out == 1', [5]],
  ['dns.nsec3.salt_length == 0', [5]],
  ['dns.tlsa.matching_type == 1 && dns.sshfp.algorithm == 4', [6]],
];

test('DNSSEC records (DS, RRSIG, DNSKEY, NSEC, NSEC3, NSEC3PARAM, CDS, CDNSKEY) and TLSA, SSHFP as tshark', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dnssec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'frames.pcap');
  writeFileSync(path, classicPcap(FRAMES.map((f, i) => ({ data: Uint8Array.from(f), sec: i }))));
  const facts: PacketFacts[] = FRAMES.map((f, index) => ({ index, frame: Uint8Array.from(f), wireLen: f.length, capLen: f.length, action: 'XDP_PASS', retval: 2 }));
  const fields = Object.keys(VALUES);
  const ours = (field: string) => {
    const f = compileFilter(field);
    return facts.map((p) => f.values(p, field).map((v) => (typeof v === 'string' && /data|digest|signature|salt|key$|fingerprint$/.test(field) && !field.endsWith('name') ? Buffer.from(v, 'latin1').toString('hex') : String(v))).join(','));
  };
  if (haveTshark) {
    const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    assert.equal(ts.status, 0, ts.stderr);
    // (tshark writes some numbers in hex, 0x3039, and an empty byte field as <MISSING>.)
    const dec = (v: string) => v.split(',').map((x) => (/^0x[0-9a-f]+$/i.test(x) ? String(Number(x)) : x === '<MISSING>' ? '' : x)).join(',');
    const rows = ts.stdout.split('\n').slice(0, FRAMES.length).map((r) => r.split('\t').map(dec));
    if (process.env.SHOW) console.log(JSON.stringify(fields.map((f, j) => [f, rows.map((r) => r[j])])));
    fields.forEach((field, j) => assert.deepEqual(rows.map((r) => r[j]), VALUES[field], `tshark -e ${field}`));
  } else t.diagnostic('tshark is not installed: checked against the values tshark 4.0 gave, not against tshark itself');
  for (const field of fields) assert.deepEqual(ours(field), VALUES[field], field);
  for (const [expr, want] of SELECT) {
    const f = compileFilter(expr);
    assert.deepEqual(facts.filter((p) => f.test(p)).map((p) => p.index + 1), want, expr);
    if (!haveTshark) continue;
    const y = spawnSync('tshark', ['-r', path, '-Y', expr, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(y.status, 0, y.stderr);
    assert.deepEqual(y.stdout.split('\n').filter(Boolean).map(Number), want, `tshark -Y '${expr}'`);
  }
});
