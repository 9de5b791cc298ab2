// eth_get_headlen as the read-only-page path uses it: how many bytes of a frame are headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerLength } from '../../simulator/driver/headers.ts';

const eth = (type: number, ...tags: number[]): number[] => {
  const h = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  for (const t of tags) h.push(t >> 8, t & 0xff, 0, 5);
  h.push(type >> 8, type & 0xff);
  return h;
};
const ipv4 = (proto: number, opts = 0, frag = 0): number[] => {
  const ihl = 5 + opts / 4;
  return [0x40 | ihl, 0, 0, 0, 0, 0, frag >> 8, frag & 0xff, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...new Array(opts).fill(1)];
};
const ipv6 = (next: number): number[] => [0x60, 0, 0, 0, 0, 0, next, 64, ...new Array(32).fill(0)];
const frame = (parts: number[], len = 300): Uint8Array => {
  const f = new Uint8Array(Math.max(len, parts.length));
  f.set(parts);
  return f;
};
const tcp = (doff: number): number[] => { const t = new Array(20).fill(0); t[12] = doff << 4; return t; };

test('eth_get_headlen: Ethernet, VLAN tags, IPv4 options, TCP data offset, UDP', () => {
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(17)])), 14 + 20 + 8);
  assert.equal(headerLength(frame([...eth(0x0800, 0x88a8, 0x8100), ...ipv4(6, 8), ...tcp(10)])), 22 + 28 + 40);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(6), ...tcp(2)])), 14 + 20 + 20, 'a bogus data offset counts as 20');
  assert.equal(headerLength(frame([...eth(0x0806)])), 14, 'ARP: only the Ethernet header');
  assert.equal(headerLength(frame([...eth(0x88b5, 0x8100)])), 18, 'an unknown EtherType after a tag');
});

test('eth_get_headlen: ICMP, ICMPv6, IGMP, SCTP, DCCP and unknown transports', () => {
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(1)])), 14 + 20 + 8);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(2)])), 14 + 20 + 8);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(132)])), 14 + 20 + 12);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(33)])), 14 + 20 + 16);
  assert.equal(headerLength(frame([...eth(0x86dd), ...ipv6(58)])), 14 + 40 + 8);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(89)])), 14 + 20, 'OSPF: no transport header counted');
});

test('eth_get_headlen: fragments, IPv6 extension headers, tunnels', () => {
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(17, 0, 0x2000)])), 42, 'first fragment: UDP header counted');
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(17, 0, 0x00b9)])), 34, 'later fragment: stops after IPv4');
  const hbh = [60, 0, 0, 0, 0, 0, 0, 0]; // hop-by-hop, next: destination options
  const dst = [44, 1, ...new Array(14).fill(0)]; // destination options (16 bytes), next: fragment
  const fragFirst = [6, 0, 0, 1, 0, 0, 0, 7];
  assert.equal(headerLength(frame([...eth(0x86dd), ...ipv6(0), ...hbh, ...dst, ...fragFirst, ...tcp(5)])), 14 + 40 + 8 + 16 + 8 + 20);
  const fragLater = [6, 0, 0x05, 0x01, 0, 0, 0, 7];
  assert.equal(headerLength(frame([...eth(0x86dd), ...ipv6(44), ...fragLater])), 14 + 40 + 8);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(4), ...ipv4(17)])), 14 + 20 + 20 + 8, 'IP-in-IP');
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(41), ...ipv6(6), ...tcp(5)])), 14 + 20 + 40 + 20, 'IPv6-in-IPv4');
  const greKey = [0x20, 0x00, 0x08, 0x00, 0, 0, 0, 1];
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(47), ...greKey, ...ipv4(17)])), 14 + 20 + 8 + 20 + 8, 'GRE with a key, IPv4 inside');
  const greTeb = [0x00, 0x00, 0x65, 0x58];
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(47), ...greTeb, ...eth(0x0800), ...ipv4(6), ...tcp(5)])), 14 + 20 + 4 + 14 + 20 + 20, 'GRE bridging an Ethernet frame');
  const pptp = [0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0];
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(47), ...pptp])), 14 + 20, 'GRE version 1 is not followed');
});

test('eth_get_headlen: short and malformed frames never count past the end', () => {
  assert.equal(headerLength(new Uint8Array(10)), 10);
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(6)], 34 + 13)), 34 + 13, 'TCP cut after its data-offset byte: the whole frame');
  assert.equal(headerLength(frame([...eth(0x0800), ...ipv4(6)], 34 + 12)), 34, 'TCP cut before it: the network headers');
  assert.equal(headerLength(frame([...eth(0x0800), 0x44, ...new Array(19).fill(0)])), 14, 'IHL below 5');
  assert.equal(headerLength(frame([...eth(0x86dd), ...ipv6(0), 0, 255], 14 + 40 + 2)), 14 + 40 + 2, 'an extension header claiming 2 KiB');
  assert.equal(headerLength(frame([...eth(0x8100)], 16)), 14, 'a tag cut short');
});
