// The answer, authority and additional records of a DNS message are dissected with Wireshark's field names
// (dns.resp.name/type/class/ttl/len, dns.a, dns.aaaa, dns.cname, dns.ns, dns.ptr.domain_name, dns.mx.*, dns.txt, and
// an OPT record's dns.rr.udp_payload_size, dns.resp.ext_rcode/edns0_version/z, which has no class or TTL); they were
// left as `data` bytes, so `dns.a == ...` was an unknown field and `data` selected every DNS response. A record cut
// short ends the message (the records before it keep their fields). Expected selections written out; checked against
// tshark -Y when installed.
import { test } from 'node:test';
import { agreeWithTshark } from './tshark-agree.ts';

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const eth = (type: number, body: number[]) => Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...be16(type), ...body]);
const ip4 = (proto: number, body: number[]) => [0x45, 0, ...be16(20 + body.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...body];
const udp = (sport: number, dport: number, body: number[]) => [...be16(sport), ...be16(dport), ...be16(8 + body.length), 0, 0, ...body];
const name = (s: string) => [...s.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const PTR = [0xc0, 12]; // a pointer to the question's name
/** A record: owner name bytes, type, class, TTL, rdata. */
const rr = (owner: number[], type: number, cls: number, ttl: number, rdata: number[]) => [...owner, ...be16(type), ...be16(cls), ...be32(ttl), ...be16(rdata.length), ...rdata];
const msg = (flags: number, counts: [number, number, number], records: number[]) => [0xab, 0xcd, ...be16(flags), ...be16(1), ...counts.flatMap(be16), ...name('example.com'), 0, 1, 0, 1, ...records];
const dnsFrame = (body: number[]) => eth(0x0800, ip4(17, udp(53, 40000, body)));
const txt = (...ss: string[]) => ss.flatMap((s) => [s.length, ...Buffer.from(s)]);

const FRAMES = [
  /* 0 */ dnsFrame(msg(0x8180, [2, 0, 0], [...rr(PTR, 1, 1, 300, [93, 184, 216, 34]), ...rr(PTR, 1, 1, 60, [10, 9, 8, 7])])),
  /* 1 */ dnsFrame(msg(0x8180, [2, 1, 1], [
    ...rr(name('www.example.com'), 5, 1, 3600, name('example.com')),
    ...rr(PTR, 28, 1, 86400, [0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 0x42]),
    ...rr(PTR, 2, 1, 172800, name('ns1.example.net')),
    ...rr([0], 41, 1232, 0x00008000, []), // OPT: UDP payload size 1232, DO bit
  ])),
  /* 2 */ dnsFrame(msg(0x8180, [3, 0, 0], [
    ...rr(PTR, 15, 1, 10, [0, 10, ...name('mail.example.com')]),
    ...rr(PTR, 16, 1, 20, txt('v=spf1 -all', 'hello')),
    ...rr(name('4.3.2.1.in-addr.arpa'), 12, 1, 30, name('host.example.com')),
  ])),
  /* 3 */ dnsFrame(msg(0x8180, [2, 0, 0], [...rr(PTR, 1, 1, 7, [1, 2, 3, 4]), ...rr(PTR, 1, 1, 8, [5, 6, 7, 8]).slice(0, 14)])), // second answer cut
  /* 4 */ dnsFrame(msg(0x0100, [0, 0, 0], [])), // a query
];
const CASES: [string, number[]][] = [
  ['dns.a', [0, 3]],
  ['dns.a == 93.184.216.34', [0]],
  ['dns.a == 10.0.0.0/8', [0]],
  ['dns.a == 5.6.7.8', []],
  ['dns.aaaa == 2001:db8::42', [1]],
  ['dns.aaaa', [1]],
  ['dns.cname == "example.com"', [1]],
  ['dns.ns contains "ns1"', [1]],
  ['dns.ptr.domain_name == "host.example.com"', [2]],
  ['dns.mx.preference == 10', [2]],
  ['dns.mx.mail_exchange == "mail.example.com"', [2]],
  ['dns.txt contains "spf1"', [2]],
  ['dns.txt == "hello"', [2]],
  ['dns.txt.length == 11', [2]],
  ['dns.resp.ttl == 300', [0]],
  ['dns.resp.ttl > 3600', [1]],
  ['dns.resp.ttl < 10', [3]],
  ['dns.resp.ttl == 8', []],
  ['dns.resp.type == 28', [1]],
  ['dns.resp.type == 41', [1]],
  ['dns.resp.class == 1', [0, 1, 2, 3]],
  ['dns.resp.class == 1232', []],
  ['dns.resp.name == "www.example.com"', [1]],
  ['dns.resp.name == "4.3.2.1.in-addr.arpa"', [2]],
  ['dns.resp.len == 16', [1]],
  ['dns.rr.udp_payload_size == 1232', [1]],
  ['dns.resp.edns0_version == 0', [1]],
  ['dns.resp.z == 0x8000', [1]],
  ['count(dns.resp.ttl) == 3', [1, 2]],
  ['count(dns.resp.name) == 4', [1]],
  ['dns && !data', [0, 1, 2, 3, 4]],
  ['data', []],
];

test('DNS resource records: dns.a, dns.aaaa, dns.resp.ttl, ... as tshark -Y selects', () => {
  agreeWithTshark(FRAMES, CASES);
});
