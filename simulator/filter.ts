// Display filters in the manner of Wireshark's: `ip.src == 10.0.0.1 && tcp.dstport == 80`, `action == XDP_DROP`,
// `fault`, `exit.line == 127`, `!udp || (ip.ttl < 5)`, `outcome contains "redirect"`, `tcp.port in {80, 443}`,
// `ip.addr == 10.0.0.0/8`. A filter only chooses which results are reported; the program always sees every packet.
//
// Fields are the packet's as received (dissected here: Ethernet, VLAN, ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6,
// GRE, VXLAN and GENEVE and their inner frames, DNS by port, the packet an ICMP error quotes) and the run's results
// (action, outcome, exit line, fault, driver path);
// every other field of the packet view's layer tree (Wireshark's names: `ieee8021ad.id`, `tcp.options.mss_val`,
// `dns.qry.name`, ...) is read from that tree (TREE_FIELDS).
// A field can occur more than once (a VLAN stack, the inner headers of a VXLAN frame): as in Wireshark, `a == v` holds
// when any occurrence equals v, and `a != v` when none does. A field alone tests that it is present.
import { ACTIONS } from './session.ts';
import { bpduShown, dissectTree, dnsHeuristic, udpService, type TreeField, type TreeLayer } from './net/dissect-tree.ts';
import { tsharkClaimsPort, tsharkPortProtocol } from './net/tshark-ports.ts';
import { compileRegex, RegexError, type CompiledRegex } from './filter-regex.ts';

export type FieldType = 'uint' | 'ipv4' | 'ipv6' | 'mac' | 'string' | 'bytes' | 'action' | 'none' | 'time' | 'abstime';

/** Every field a filter may name, with its type and what it is. */
export const FIELDS: Record<string, { type: FieldType; doc: string }> = {
  'frame': { type: 'none', doc: 'every packet' },
  'frame.number': { type: 'uint', doc: 'packet index in the capture (from 0, as in the table)' },
  'frame.len': { type: 'uint', doc: 'length on the wire' },
  'frame.cap_len': { type: 'uint', doc: 'length as captured' },
  'frame.interface_id': { type: 'uint', doc: 'pcapng interface the packet was captured on (absent in a classic pcap, as in Wireshark)' },
  'frame.time': { type: 'abstime', doc: 'arrival time, compared with a date: "Nov 12, 1999 08:55:44.123" or "2011-07-04 12:34:56" (local time; Z or UTC after it for UTC)' },
  'frame.time_epoch': { type: 'time', doc: 'arrival time in seconds since 1970 (up to 9 decimals)' },
  'frame.time_relative': { type: 'time', doc: 'seconds since the first packet of the capture' },
  'frame.time_delta': { type: 'time', doc: 'seconds since the packet before it in the capture' },
  'action': { type: 'action', doc: 'the action the program returned (XDP_DROP, ...; XDP_ABORTED for faults and invalid values)' },
  'retval': { type: 'uint', doc: 'the raw return value' },
  'outcome': { type: 'string', doc: "what the driver carried out: 'dropped: no redirect target', 'passed', ..." },
  'outcome.kind': { type: 'string', doc: 'the word before the colon: passed, dropped, transmitted, redirected, aborted' },
  'outcome.reason': { type: 'string', doc: 'the reason after the colon, when there is one' },
  'fault': { type: 'none', doc: 'the program faulted' },
  'fault.kind': { type: 'string', doc: 'the kind of fault' },
  'exit.line': { type: 'uint', doc: 'the source line the packet left through (or faulted on)' },
  'exit.file': { type: 'string', doc: 'the source file of exit.line' },
  'driver.path': { type: 'string', doc: 'the driver path (build_skb, xdp_tx, redirect_error, ...)' },
  'redirect.target': { type: 'string', doc: 'where a redirected packet went' },
  'queue': { type: 'uint', doc: 'RX queue' },
  'modified': { type: 'none', doc: 'the program changed the packet bytes (or its length)' },
  'printk': { type: 'string', doc: 'a bpf_printk line the packet produced' },
  'summary': { type: 'string', doc: 'the one-line summary shown in the table' },
  'eth': { type: 'none', doc: 'Ethernet header' },
  'eth.src': { type: 'mac', doc: '' },
  'eth.dst': { type: 'mac', doc: '' },
  'eth.addr': { type: 'mac', doc: 'source or destination' },
  'eth.type': { type: 'uint', doc: 'EtherType after any VLAN tags' },
  'vlan': { type: 'none', doc: '802.1Q / 802.1ad tag' },
  'vlan.id': { type: 'uint', doc: '' },
  'vlan.priority': { type: 'uint', doc: '' },
  'arp': { type: 'none', doc: '' },
  'arp.opcode': { type: 'uint', doc: '' },
  'arp.src.proto_ipv4': { type: 'ipv4', doc: '' },
  'arp.dst.proto_ipv4': { type: 'ipv4', doc: '' },
  'ip': { type: 'none', doc: 'IPv4' },
  'ip.src': { type: 'ipv4', doc: '' },
  'ip.dst': { type: 'ipv4', doc: '' },
  'ip.addr': { type: 'ipv4', doc: 'source or destination' },
  'ip.proto': { type: 'uint', doc: '' },
  'ip.ttl': { type: 'uint', doc: '' },
  'ip.len': { type: 'uint', doc: 'total length' },
  'ip.id': { type: 'uint', doc: '' },
  'ip.hdr_len': { type: 'uint', doc: 'header length in bytes' },
  'ip.dsfield': { type: 'uint', doc: '' },
  'ip.flags.df': { type: 'uint', doc: '' },
  'ip.flags.mf': { type: 'uint', doc: '' },
  'ip.frag_offset': { type: 'uint', doc: 'in bytes' },
  'ipv6': { type: 'none', doc: '' },
  'ipv6.src': { type: 'ipv6', doc: '' },
  'ipv6.dst': { type: 'ipv6', doc: '' },
  'ipv6.addr': { type: 'ipv6', doc: 'source or destination' },
  'ipv6.nxt': { type: 'uint', doc: 'next header of the fixed header' },
  'ipv6.hlim': { type: 'uint', doc: '' },
  'ipv6.plen': { type: 'uint', doc: '' },
  'ipv6.flow': { type: 'uint', doc: '' },
  'ipv6.fragment': { type: 'none', doc: 'a fragment header is present (Wireshark: a reassembled fragment; see ipv6.fraghdr)' },
  'ipv6.fraghdr': { type: 'none', doc: 'a fragment header is present (Wireshark\'s name)' },
  'tcp': { type: 'none', doc: '' },
  'tcp.srcport': { type: 'uint', doc: '' },
  'tcp.dstport': { type: 'uint', doc: '' },
  'tcp.port': { type: 'uint', doc: 'source or destination' },
  'tcp.seq': { type: 'uint', doc: 'relative to the stream, as tshark (tcp.seq_raw: as sent)' },
  'tcp.ack': { type: 'uint', doc: 'relative to the stream, as tshark (tcp.ack_raw: as sent)' },
  'tcp.seq_raw': { type: 'uint', doc: 'the sequence number as sent (tshark: tcp.seq is relative to the stream)' },
  'tcp.ack_raw': { type: 'uint', doc: 'the acknowledgment number as sent' },
  'tcp.flags': { type: 'uint', doc: '' },
  'tcp.flags.syn': { type: 'uint', doc: '0 or 1' },
  'tcp.flags.ack': { type: 'uint', doc: '0 or 1' },
  'tcp.flags.fin': { type: 'uint', doc: '0 or 1' },
  'tcp.flags.reset': { type: 'uint', doc: '0 or 1' },
  'tcp.flags.push': { type: 'uint', doc: '0 or 1' },
  'tcp.window_size_value': { type: 'uint', doc: '' },
  'tcp.hdr_len': { type: 'uint', doc: '' },
  'udp': { type: 'none', doc: '' },
  'udp.srcport': { type: 'uint', doc: '' },
  'udp.dstport': { type: 'uint', doc: '' },
  'udp.port': { type: 'uint', doc: 'source or destination' },
  'udp.length': { type: 'uint', doc: '' },
  'icmp': { type: 'none', doc: '' },
  'icmp.type': { type: 'uint', doc: '' },
  'icmp.code': { type: 'uint', doc: '' },
  'icmpv6': { type: 'none', doc: '' },
  'icmpv6.type': { type: 'uint', doc: '' },
  'icmpv6.code': { type: 'uint', doc: '' },
  'gre': { type: 'none', doc: '' },
  'gre.proto': { type: 'uint', doc: '' },
  'vxlan': { type: 'none', doc: '' },
  'vxlan.vni': { type: 'uint', doc: '' },
  'dns': { type: 'none', doc: 'a message on UDP or TCP port 53, or one tshark finds by its header on a UDP port with no dissector' },
  'mpls': { type: 'none', doc: 'an MPLS label stack (its IPv4/IPv6 payload is dissected too)' },
  'mpls.label': { type: 'uint', doc: 'every label of the stack' },
  'mpls.exp': { type: 'uint', doc: 'traffic class bits' },
  'mpls.bottom': { type: 'uint', doc: 'bottom-of-stack bit' },
  'mpls.ttl': { type: 'uint', doc: '' },
  'pppoes': { type: 'none', doc: 'PPPoE session (its IPv4/IPv6 payload is dissected too)' },
  'pppoed': { type: 'none', doc: 'PPPoE discovery' },
  'pppoe.code': { type: 'uint', doc: '' },
  'pppoe.session_id': { type: 'uint', doc: '' },
  'ppp.protocol': { type: 'uint', doc: 'the PPP protocol of a PPPoE session' },
  'llc': { type: 'none', doc: '802.2 LLC after an 802.3 length field (a SNAP payload is dissected too)' },
  'llc.dsap': { type: 'uint', doc: '' },
  'llc.ssap': { type: 'uint', doc: '' },
  'llc.control': { type: 'uint', doc: '' },
  'llc.oui': { type: 'uint', doc: 'SNAP organisation code' },
  'llc.type': { type: 'uint', doc: 'SNAP EtherType (organisation code 0)' },
  'llc.pid': { type: 'uint', doc: 'SNAP protocol id (organisation codes other than 0, Cisco, IEEE 802.1, Extreme)' },
  'stp': { type: 'none', doc: 'spanning tree BPDU (LLC SAP 0x42)' },
  'lldp': { type: 'none', doc: '' },
  'igmp': { type: 'none', doc: '' },
  'igmp.type': { type: 'uint', doc: '' },
  'sctp': { type: 'none', doc: '' },
  'sctp.srcport': { type: 'uint', doc: '' },
  'sctp.dstport': { type: 'uint', doc: '' },
  'sctp.port': { type: 'uint', doc: 'source or destination' },
  'esp': { type: 'none', doc: '' },
  'esp.spi': { type: 'uint', doc: '' },
  'sll': { type: 'none', doc: 'Linux cooked capture header (v1 or v2) the packet was captured with' },
  'sll.pkttype': { type: 'uint', doc: 'packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host' },
  'sll.hatype': { type: 'uint', doc: 'link-layer address type (ARPHRD_*)' },
  'sll.halen': { type: 'uint', doc: 'link-layer address length' },
  'sll.src.eth': { type: 'mac', doc: 'source link-layer address of 6 bytes' },
  'sll.src.ipv4': { type: 'ipv4', doc: 'source link-layer address of 4 bytes' },
  'sll.src.other': { type: 'bytes', doc: 'source link-layer address of another length' },
  'sll.unused': { type: 'bytes', doc: 'the address field\'s bytes past its length' },
  'sll.etype': { type: 'uint', doc: 'protocol (an EtherType)' },
  'sll.ltype': { type: 'uint', doc: 'protocol, a Linux protocol number (1536 or below)' },
  'sll.gretype': { type: 'uint', doc: 'protocol of a GRE device (address type 778)' },
  'sll.ifindex': { type: 'uint', doc: 'interface index (cooked v2)' },
};

/**
 * The fields of the packet view's layer tree (simulator/net/dissect-tree.ts, Wireshark's names) that the fast
 * dissector at the end of this file does not produce. A filter naming one reads it from the tree, built only for such
 * a filter (a filter of FIELDS alone stays on the fast path, which runs on every reported packet of a large capture).
 * Values are the tree's as the packet view shows them: numbers as the leading number, or the one in parentheses of a
 * named value (`ICMP (1)` is 1, `0x0800 (IPv4)` is 2048, `20 bytes (5)` is 20). test/filter/tree-fields.test.ts
 * checks that every key the tree makes is here or in FIELDS, and the matches against tshark's display filters.
 */
export const TREE_FIELDS: Record<string, FieldType> = {
  'ieee8021ad': 'none', 'ieee8021ad.priority': 'uint', 'ieee8021ad.dei': 'uint', 'ieee8021ad.id': 'uint', 'ieee8021ad.svid': 'uint', 'ieee8021ad.cvid': 'uint', 'ieee8021ah.etype': 'uint', 'ieee8021ad.etype': 'uint',
  'vlan.dei': 'uint', 'vlan.etype': 'uint', 'vlan.len': 'uint', 'eth.len': 'uint', 'eth.trailer': 'bytes', 'eth.padding': 'bytes', 'eth.fcs': 'uint', 'vlan.trailer': 'bytes', 'ieee8021ah.trailer': 'bytes',
  'arp.hw.type': 'uint', 'arp.proto.type': 'uint', 'arp.hw.size': 'uint', 'arp.proto.size': 'uint', 'arp.src.hw_mac': 'mac', 'arp.dst.hw_mac': 'mac',
  'arp.src.hw': 'string', 'arp.dst.hw': 'string', 'arp.src.proto': 'string', 'arp.dst.proto': 'string',
  'ip.version': 'uint', 'ip.dsfield.dscp': 'uint', 'ip.dsfield.ecn': 'uint', 'ip.flags': 'uint', 'ip.flags.rb': 'uint', 'ip.checksum': 'uint',
  'ip.options': 'uint', 'ip.opt.type': 'uint', 'ip.opt.len': 'uint', 'ip.opt.ptr': 'uint', 'ip.rec_rt': 'ipv4', 'ip.empty_rt': 'ipv4', 'ip.opt.ra': 'uint', 'ip.opt.data': 'string',
  'ipv6.version': 'uint', 'ipv6.tclass': 'uint', 'ipv6.ext.nxt': 'uint', 'ipv6.ext.len': 'uint', 'ipv6.fragment.offset': 'uint', 'ipv6.fragment.more': 'uint',
  'ipv6.fragment.id': 'uint', 'ipv6.fraghdr.offset': 'uint', 'ipv6.fraghdr.more': 'uint', 'ipv6.fraghdr.ident': 'uint', 'ipv6.fraghdr.nxt': 'uint', 'ipv6.routing.type': 'uint', 'ipv6.routing.segleft': 'uint', 'ipv6.hopopts': 'uint', 'ipv6.routing': 'uint', 'ipv6.dstopts': 'uint',
  'ipv6.opt': 'string', 'ah': 'uint', 'ah.spi': 'uint', 'ah.sequence': 'uint',
  'tcp.checksum': 'uint', 'tcp.urgent_pointer': 'uint', 'tcp.flags.ae': 'uint', 'tcp.flags.ns': 'uint', 'tcp.flags.cwr': 'uint', 'tcp.flags.ece': 'uint', 'tcp.flags.urg': 'uint',
  'tcp.options': 'uint', 'tcp.option': 'none', 'tcp.option_kind': 'uint', 'tcp.option_len': 'uint', 'tcp.options.mss_val': 'uint', 'tcp.options.wscale.shift': 'uint',
  'tcp.options.sack_le': 'uint', 'tcp.options.sack_re': 'uint', 'tcp.options.timestamp.tsval': 'uint', 'tcp.options.timestamp.tsecr': 'uint', 'tcp.option_data': 'bytes', 'tcp.len': 'uint', 'tcp.payload': 'bytes',
  'udp.checksum': 'uint', 'udp.payload': 'bytes',
  'icmp.checksum': 'uint', 'icmp.ident': 'uint', 'icmp.seq': 'uint', 'icmp.rest': 'uint',
  'icmpv6.checksum': 'uint', 'icmpv6.ident': 'uint', 'icmpv6.seq': 'uint', 'icmpv6.mtu': 'uint', 'icmpv6.rest': 'uint', 'icmpv6.reserved': 'uint', 'icmpv6.nd.na.flag': 'uint',
  'icmpv6.nd.ns.target_address': 'ipv6', 'icmpv6.nd.na.target_address': 'ipv6', 'icmpv6.opt': 'string',
  'gre.flags_and_version': 'uint', 'gre.flags.checksum': 'uint', 'gre.flags.key': 'uint', 'gre.flags.sequence_number': 'uint', 'gre.flags.ack': 'uint',
  'gre.flags.version': 'uint', 'gre.checksum': 'uint', 'gre.offset': 'uint', 'gre.key': 'uint', 'gre.key.payload_length': 'uint', 'gre.key.call_id': 'uint',
  'gre.sequence_number': 'uint', 'gre.ack_number': 'uint',
  'vxlan.flags': 'uint', 'vxlan.flags.i': 'uint', 'vxlan.reserved': 'uint', 'vxlan.reserved2': 'uint',
  'geneve': 'none', 'geneve.version': 'uint', 'geneve.options_length': 'uint', 'geneve.flags.oam': 'uint', 'geneve.flags.critical': 'uint', 'geneve.proto_type': 'uint',
  'geneve.vni': 'uint', 'geneve.options': 'bytes', 'geneve.option': 'bytes', 'geneve.option.class': 'uint', 'geneve.option.type': 'uint', 'geneve.option.length': 'uint',
  'dns.length': 'uint', 'dns.id': 'uint', 'dns.flags': 'uint', 'dns.flags.response': 'uint', 'dns.flags.opcode': 'uint', 'dns.flags.authoritative': 'uint',
  'dns.flags.truncated': 'uint', 'dns.flags.recdesired': 'uint', 'dns.flags.recavail': 'uint', 'dns.flags.z': 'uint', 'dns.flags.authenticated': 'uint',
  'dns.flags.checkdisable': 'uint', 'dns.flags.rcode': 'uint', 'dns.count.queries': 'uint', 'dns.count.answers': 'uint', 'dns.count.auth_rr': 'uint', 'dns.count.zones': 'uint', 'dns.count.prerequisites': 'uint', 'dns.count.updates': 'uint',
  'dns.count.add_rr': 'uint', 'dns.queries': 'uint', 'dns.qry': 'none', 'dns.qry.name': 'string', 'dns.qry.type': 'uint', 'dns.qry.class': 'uint',
  'dns.answers': 'uint', 'dns.authorities': 'uint', 'dns.additionals': 'uint', 'dns.rr': 'none', 'dns.resp.name': 'string', 'dns.resp.type': 'uint',
  'dns.resp.class': 'uint', 'dns.resp.ttl': 'uint', 'dns.resp.len': 'uint', 'dns.a': 'ipv4', 'dns.aaaa': 'ipv6', 'dns.cname': 'string', 'dns.ns': 'string',
  'dns.ptr.domain_name': 'string', 'dns.mx.preference': 'uint', 'dns.mx.mail_exchange': 'string', 'dns.txt': 'string', 'dns.txt.length': 'uint',
  'dns.rr.udp_payload_size': 'uint', 'dns.resp.ext_rcode': 'uint', 'dns.resp.edns0_version': 'uint', 'dns.resp.z': 'uint',
  'data': 'none', 'data.data': 'bytes', 'data.len': 'uint', 'frame.protocols': 'string',
  'dns.ds.key_id': 'uint', 'dns.ds.algorithm': 'uint', 'dns.ds.digest_type': 'uint', 'dns.ds.digest': 'bytes',
  'dns.rrsig.type_covered': 'uint', 'dns.rrsig.algorithm': 'uint', 'dns.rrsig.labels': 'uint', 'dns.rrsig.original_ttl': 'uint', 'dns.rrsig.key_tag': 'uint', 'dns.rrsig.signers_name': 'string', 'dns.rrsig.signature': 'bytes',
  'dns.dnskey.flags': 'uint', 'dns.dnskey.flags.zone_key': 'uint', 'dns.dnskey.flags.key_revoked': 'uint', 'dns.dnskey.flags.secure_entry_point': 'uint', 'dns.dnskey.flags.reserved': 'uint', 'dns.dnskey.protocol': 'uint', 'dns.dnskey.algorithm': 'uint', 'dns.dnskey.key_id': 'uint', 'dns.dnskey.public_key': 'bytes',
  'dns.nsec.next_domain_name': 'string', 'dns.nsec3.algo': 'uint', 'dns.nsec3.flags': 'uint', 'dns.nsec3.flags.opt_out': 'uint', 'dns.nsec3.iterations': 'uint', 'dns.nsec3.salt_length': 'uint', 'dns.nsec3.salt_value': 'bytes', 'dns.nsec3.hash_length': 'uint', 'dns.nsec3.hash_value': 'string',
  'dns.tlsa.certificate_usage': 'uint', 'dns.tlsa.selector': 'uint', 'dns.tlsa.matching_type': 'uint', 'dns.tlsa.certificate_association_data': 'bytes', 'dns.sshfp.algorithm': 'uint', 'dns.sshfp.fingerprint.type': 'uint', 'dns.sshfp.fingerprint': 'bytes',
  'pppoe.version': 'uint', 'pppoe.type': 'uint', 'pppoe.payload_length': 'uint', 'ppp': 'none',
};

/** The type of a field a filter may name (FIELDS first: its meaning is kept for existing filters), or undefined. */
export function fieldType(name: string): FieldType | undefined {
  return FIELDS[name]?.type ?? (Object.hasOwn(TREE_FIELDS, name) ? TREE_FIELDS[name] : undefined);
}

/** Every name a filter accepts. */
export function fieldNames(): string[] {
  return [...new Set([...Object.keys(FIELDS), ...Object.keys(TREE_FIELDS)])];
}

/** A number field's type in Wireshark (FT_BOOLEAN, FT_UINT8 ... FT_UINT32, FT_INT32): what its constants may be. */
export type NumberWidth = 'bool' | 'u8' | 'u16' | 'u24' | 'u32' | 'i32';
const WIDTH_LISTS: Record<NumberWidth, string[]> = {
  u32: [
    'frame.number frame.len frame.cap_len frame.interface_id tcp.seq tcp.ack tcp.seq_raw tcp.ack_raw',
    'mpls.label mpls.exp mpls.bottom mpls.ttl esp.spi sll.ifindex eth.fcs ipv6.tclass ipv6.fraghdr.ident',
    'ah.spi ah.sequence tcp.options.sack_le tcp.options.sack_re tcp.options.timestamp.tsval',
    'tcp.options.timestamp.tsecr tcp.len icmpv6.mtu icmpv6.nd.na.flag gre.key gre.sequence_number',
    'gre.ack_number dns.resp.ttl dns.rrsig.original_ttl',
  ],
  u16: [
    'eth.type vlan.id vlan.priority arp.opcode ip.len ip.id ip.frag_offset ipv6.plen tcp.srcport',
    'tcp.dstport tcp.port tcp.flags tcp.window_size_value udp.srcport udp.dstport udp.port udp.length',
    'gre.proto pppoe.session_id ppp.protocol llc.control llc.type llc.pid sctp.srcport sctp.dstport',
    'sctp.port sll.pkttype sll.hatype sll.halen sll.etype sll.ltype sll.gretype ieee8021ad.priority',
    'ieee8021ad.dei ieee8021ad.id ieee8021ad.svid ieee8021ad.cvid ieee8021ah.etype vlan.etype vlan.len',
    'eth.len arp.hw.type arp.proto.type ip.checksum ip.opt.ra ipv6.fraghdr.offset tcp.checksum',
    'tcp.urgent_pointer tcp.options.mss_val udp.checksum icmp.checksum icmp.ident icmp.seq',
    'icmpv6.checksum gre.flags_and_version gre.flags.version gre.checksum gre.offset',
    'gre.key.payload_length gre.key.call_id vxlan.flags geneve.proto_type geneve.option.class dns.length',
    'dns.id dns.flags dns.flags.opcode dns.flags.rcode dns.count.queries dns.count.answers',
    'dns.count.auth_rr dns.count.zones dns.count.prerequisites dns.count.updates dns.count.add_rr',
    'dns.qry.type dns.qry.class dns.resp.type dns.resp.class dns.resp.len dns.mx.preference',
    'dns.rr.udp_payload_size dns.resp.z dns.ds.key_id dns.rrsig.type_covered dns.rrsig.key_tag',
    'dns.dnskey.flags dns.dnskey.flags.reserved dns.dnskey.key_id dns.nsec3.iterations',
    'pppoe.payload_length',
  ],
  u8: [
    'ip.proto ip.ttl ip.hdr_len ip.dsfield ipv6.nxt ipv6.hlim tcp.hdr_len icmp.type icmp.code icmpv6.type',
    'icmpv6.code pppoe.code llc.dsap llc.ssap igmp.type arp.hw.size arp.proto.size ip.version',
    'ip.dsfield.dscp ip.dsfield.ecn ip.flags ip.opt.type ip.opt.len ip.opt.ptr ipv6.version',
    'ipv6.fraghdr.nxt ipv6.routing.type ipv6.routing.segleft tcp.option_kind tcp.option_len',
    'tcp.options.wscale.shift geneve.version geneve.option.type geneve.option.length dns.txt.length',
    'dns.resp.ext_rcode dns.resp.edns0_version dns.ds.algorithm dns.ds.digest_type dns.rrsig.algorithm',
    'dns.rrsig.labels dns.dnskey.protocol dns.dnskey.algorithm dns.nsec3.algo dns.nsec3.flags',
    'dns.nsec3.salt_length dns.nsec3.hash_length dns.tlsa.certificate_usage dns.tlsa.selector',
    'dns.tlsa.matching_type dns.sshfp.algorithm dns.sshfp.fingerprint.type pppoe.version pppoe.type',
  ],
  bool: [
    'ip.flags.df ip.flags.mf tcp.flags.syn tcp.flags.ack tcp.flags.fin tcp.flags.reset tcp.flags.push',
    'vlan.dei ip.flags.rb ipv6.fraghdr.more tcp.flags.ae tcp.flags.cwr tcp.flags.ece tcp.flags.urg',
    'gre.flags.checksum gre.flags.key gre.flags.sequence_number gre.flags.ack geneve.flags.oam',
    'geneve.flags.critical dns.flags.response dns.flags.authoritative dns.flags.truncated',
    'dns.flags.recdesired dns.flags.recavail dns.flags.z dns.flags.authenticated dns.flags.checkdisable',
    'dns.dnskey.flags.zone_key dns.dnskey.flags.key_revoked dns.dnskey.flags.secure_entry_point',
    'dns.nsec3.flags.opt_out',
  ],
  u24: [
    'ipv6.flow vxlan.vni llc.oui geneve.vni',
  ],
  i32: [
    'data.len',
  ],
};
const WIDTHS = new Map<string, NumberWidth>(Object.entries(WIDTH_LISTS).flatMap(([w, l]) => l.join(' ').split(' ').map((f) => [f, w as NumberWidth])));
const WIDTH_MAX: Record<NumberWidth, number> = { bool: 2 ** 64 - 1, u8: 255, u16: 65535, u24: 16777215, u32: 4294967295, i32: 2147483647 };
const WIDTH_NAMES: Record<NumberWidth, string> = { bool: 'a boolean', u8: 'an 8-bit number', u16: 'a 16-bit number', u24: 'a 24-bit number', u32: 'a 32-bit number', i32: 'a signed 32-bit number' };

/** The Wireshark type of a number field a filter may name (undefined for the run's own fields and the rest). */
export function numberWidth(name: string): NumberWidth | undefined {
  return WIDTHS.get(name);
}

/** What a filter is evaluated on: the packet as received and what became of it. */
export interface PacketFacts {
  index: number;
  frame: Uint8Array;
  wireLen: number;
  capLen: number;
  action: string;
  retval: number;
  outcome?: string;
  path?: string;
  file?: string;
  line?: number;
  fault?: string;
  target?: string;
  queue?: number;
  modified?: boolean;
  printk?: string[];
  summary?: () => string;
  /** Arrival time, ns since 1970; the first packet's and the one before's in the capture (frame.time*). */
  tsNs?: bigint;
  firstTsNs?: bigint;
  prevTsNs?: bigint;
  /** pcapng interface id (frame.interface_id; absent for a classic pcap, as in Wireshark). */
  interfaceId?: number;
  /** The cooked header (LINKTYPE_LINUX_SLL 16 bytes, SLL2 20 bytes) the frame was captured with (sll.*). */
  linkType?: number;
  linkHeader?: Uint8Array;
}

export class FilterError extends Error {
  /** 0-based offset in the filter text, and the length of what is wrong (at least 1). */
  constructor(message: string, readonly position: number, readonly length = 1) {
    super(message);
  }
}

/** "column 12: message", then the filter and a caret under the position. */
export function formatFilterError(text: string, e: FilterError): string {
  // A long filter is shown from up to 60 characters before the position to 60 after it (what is wrong stays in sight).
  const from = text.length > 160 ? Math.max(0, e.position - 60) : 0;
  const to = text.length > 160 ? Math.min(text.length, e.position + Math.min(e.length, 60) + 60) : text.length;
  const shown = `${from > 0 ? '...' : ''}${text.slice(from, to)}${to < text.length ? '...' : ''}`;
  const pad = e.position - from + (from > 0 ? 3 : 0);
  return `column ${e.position + 1}: ${e.message}\n  ${shown}\n  ${' '.repeat(pad)}${'^'.repeat(Math.max(1, Math.min(e.length, to - e.position)))}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

/** A token; a string's `at` gives the position in the filter of each character of `v` (escapes processed). */
type Tok = { t: 'word' | 'str' | 'op' | 'eof'; v: string; pos: number; end: number; at?: number[] };

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** The escape sequence at text[j] (a backslash) in a string: its character and its length in the filter. */
function stringEscape(text: string, j: number): { ch: string; len: number } {
  const n = text[j + 1]!;
  const simple = SIMPLE_ESCAPES[n];
  if (simple !== undefined) return { ch: simple, len: 2 };
  let m = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(j + 1, j + 4));
  if (m) return { ch: String.fromCharCode(parseInt(m[1]!, 16)), len: 1 + m[0].length };
  m = /^[0-7]{1,3}/.exec(text.slice(j + 1, j + 4));
  if (m) {
    const code = parseInt(m[0], 8);
    if (code > 255) throw new FilterError(`\\${m[0]} is not a valid octal escape (above \\377)`, j, 1 + m[0].length);
    return { ch: String.fromCharCode(code), len: 1 + m[0].length };
  }
  m = n === 'u' ? /^u([0-9a-fA-F]{4})/.exec(text.slice(j + 1, j + 6)) : n === 'U' ? /^U([0-9a-fA-F]{8})/.exec(text.slice(j + 1, j + 10)) : null;
  if (m) {
    const code = parseInt(m[1]!, 16);
    if (code < 0xa0 || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
      throw new FilterError(`\\${m[0]} is not a valid universal character name`, j, 1 + m[0].length);
    return { ch: String.fromCodePoint(code), len: 1 + m[0].length };
  }
  throw new FilterError(`\\${n} is not a valid character escape sequence (write \\\\${n} for a backslash; in a regular expression, r"..." keeps backslashes)`, j, 2);
}

const OPS = ['&&', '||', '===', '!==', '~=', '==', '!=', '>=', '<=', '~', '!', '>', '<', '(', ')', '{', '}', ',', '[', ']', '&'];
const WORDS = /[A-Za-z0-9_.:/\-]/;
/** Words that stand between two operands, after which a value comes. */
const RELATION_WORDS = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'contains', 'matches', 'in', 'and', 'or', 'not', 'all_eq', 'any_eq', 'all_ne', 'any_ne']);

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const raw = (c === 'r' || c === 'R') && text[i + 1] === '"';
    if (c === '"' || raw) {
      // A string as tshark reads it: \\ \" \a \b \f \n \r \t \v \xhh \ooo (\uXXXX \UXXXXXXXX); any other escape is an
      // error. In a raw string r"..." every backslash stays (what a regular expression for `matches` wants).
      const open = raw ? i + 1 : i;
      let v = '';
      const at: number[] = [];
      let j = open + 1;
      for (;;) {
        if (j >= text.length) throw new FilterError('a string without its closing "', i, text.length - i);
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\\') {
          const n = text[j + 1];
          if (n === undefined) throw new FilterError('a string without its closing "', i, text.length - i);
          if (raw) {
            v += d + n;
            at.push(j, j + 1);
            j += 2;
            continue;
          }
          const e = stringEscape(text, j);
          v += e.ch;
          for (let k = 0; k < e.ch.length; k++) at.push(j);
          j += e.len;
          continue;
        }
        v += d;
        at.push(j);
        j++;
      }
      out.push({ t: 'str', v, pos: i, end: j + 1, at });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op, pos: i, end: i + op.length });
      i += op.length;
      continue;
    }
    if (c === '=' ) throw new FilterError("'=' is not an operator: use '==' to compare", i);
    // A unary plus, as tshark 4.0 takes it (`ip.ttl == +5`, `+ 5`): nothing. After a value it would be arithmetic.
    if (c === '+' || c === '*' || c === '%') {
      const prev = out[out.length - 1];
      const unary = c === '+' && (prev === undefined || (prev.t === 'op' && prev.v !== ')' && prev.v !== ']' && prev.v !== '}') || (prev.t === 'word' && (RELATION_WORDS.has(prev.v.toLowerCase()) || prev.v.endsWith('..'))));
      if (unary && /^\s*[A-Za-z0-9_]/.test(text.slice(i + 1))) {
        i++;
        continue;
      }
      // After a value: arithmetic (`ip.ttl + 1`, `frame.len % 2`), read by the parser.
      if (!unary && prev !== undefined) {
        out.push({ t: 'op', v: c, pos: i, end: i + 1 });
        i++;
        continue;
      }
    }
    if (c === '|') throw new FilterError(`'${c}' alone is not an operator: use '${c}${c}'`, i);
    if (!WORDS.test(c)) throw new FilterError(`unexpected character '${c}'`, i);
    let j = i;
    while (j < text.length && WORDS.test(text[j]!)) j++;
    out.push({ t: 'word', v: text.slice(i, j), pos: i, end: j });
    i = j;
  }
  out.push({ t: 'eof', v: '', pos: text.length, end: text.length });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Values

type Value = number | string;
/** A value as a filter compares it: times are BigInt nanoseconds. */
type FValue = Value | bigint;
type Matcher = (v: FValue) => boolean;

function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return undefined;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** An IPv6 address as 32 hex digits. */
function parseIpv6(s: string): string | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return undefined;
  let str = s;
  const v4tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail) {
    const v4 = parseIpv4(v4tail[2]!);
    if (v4 === undefined) return undefined;
    str = `${v4tail[1]}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const given = head.length + rest.length;
  if ([...head, ...rest].some((n) => Number.isNaN(n))) return undefined;
  if (halves.length === 1 && given !== 8) return undefined;
  if (halves.length === 2 && given > 7) return undefined;
  const groups = [...head, ...new Array(8 - given).fill(0), ...rest];
  return groups.map((g) => g.toString(16).padStart(4, '0')).join('');
}

function parseMac(s: string): string | undefined {
  const m = /^([0-9a-fA-F]{2})[:\-]([0-9a-fA-F]{2})[:\-]([0-9a-fA-F]{2})[:\-]([0-9a-fA-F]{2})[:\-]([0-9a-fA-F]{2})[:\-]([0-9a-fA-F]{2})$/.exec(s);
  return m ? m.slice(1).join(':').toLowerCase() : undefined;
}

/** A number as tshark reads one: decimal, 0x hex or 0 octal, a sign before it; its sign and size (as a BigInt). */
function parseNumber(s: string): { neg: boolean; mag: bigint } | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const d = m[2]!;
  const mag = /^0[xX]/.test(d) ? BigInt(`0x${d.slice(2)}`) : d.length > 1 && d[0] === '0' ? BigInt(`0o${d.slice(1)}`) : BigInt(d);
  return { neg: m[1] === '-' && mag !== 0n, mag };
}

/** A long constant shortened for a message (its place in the filter is shown under it). */
function shortText(s: string): string {
  return s.length > 24 ? `${s.slice(0, 20)}... (${s.length} characters)` : s;
}

/** A number of no sign (or +), as a JavaScript number. */
function parseUint(s: string): number | undefined {
  const n = parseNumber(s);
  return n && !n.neg ? Number(n.mag) : undefined;
}

/** The spellings of true and false tshark 4.0 takes for a boolean field (not `true`, nor in quotes). */
const BOOL_WORDS: Record<string, string> = { True: '1', TRUE: '1', False: '0', FALSE: '0' };

/**
 * The texts tshark 4.0 takes for a boolean field's true and false (its true_false_string, from `tshark -G values`),
 * case-insensitive, quoted or not: `tcp.flags.syn == Set`, `ip.flags.df == "not set"`, `dns.flags.response == "Message
 * is a query"`.
 */
const BOOL_TEXTS: Record<string, [string, string]> = (() => {
  const out: Record<string, [string, string]> = {};
  const of = (fields: string, yes: string, no: string) => {
    for (const f of fields.split(' ')) out[f] = [yes.toLowerCase(), no.toLowerCase()];
  };
  of('ip.flags.df ip.flags.mf tcp.flags.syn tcp.flags.ack tcp.flags.fin tcp.flags.reset tcp.flags.push ip.flags.rb tcp.flags.ae tcp.flags.cwr tcp.flags.ece tcp.flags.urg', 'Set', 'Not set');
  of('vlan.dei', 'Eligible', 'Ineligible');
  of('ipv6.fraghdr.more gre.flags.checksum gre.flags.key gre.flags.sequence_number gre.flags.ack dns.dnskey.flags.key_revoked dns.dnskey.flags.secure_entry_point', 'Yes', 'No');
  of('dns.flags.response', 'Message is a response', 'Message is a query');
  of('dns.flags.authoritative', 'Server is an authority for domain', 'Server is not an authority for domain');
  of('dns.flags.truncated', 'Message is truncated', 'Message is not truncated');
  of('dns.flags.recdesired', 'Do query recursively', "Don't do query recursively");
  of('dns.flags.recavail', 'Server can do recursive queries', "Server can't do recursive queries");
  of('dns.flags.z', 'reserved - incorrect!', 'reserved (0)');
  of('dns.flags.checkdisable', 'Acceptable', 'Unacceptable');
  of('dns.dnskey.flags.zone_key', 'This is the zone key for specified zone', 'This it not a zone key');
  of('dns.nsec3.flags.opt_out', 'Additional insecure delegations allowed', 'Additional insecure delegations forbidden');
  return out;
})();

/**
 * A constant compared with a number field of Wireshark type `width` (undefined: the run's own fields), as tshark 4.0
 * takes it: one past the type's range is an error; a boolean's is true (1) unless 0, and no negative; a negative one
 * for an unsigned field is taken but no relation holds with it (NaN; `!=` holds as "no occurrence equals").
 */
function numberConstant(field: string, width: NumberWidth | undefined, tok: Tok, signed = false): number {
  const texts = width === 'bool' ? BOOL_TEXTS[field] : undefined;
  if (texts && (tok.t === 'word' || tok.t === 'str')) {
    const t = tok.v.toLowerCase();
    if (t === texts[0]) return 1;
    if (t === texts[1]) return 0;
  }
  const n = tok.t === 'word' ? parseNumber(width === 'bool' ? (BOOL_WORDS[tok.v] ?? tok.v) : tok.v) : undefined;
  const len = tok.end - tok.pos;
  if (n === undefined) throw new FilterError(`${field} is a number; '${tok.v}' is not one`, tok.pos, len);
  if (width === 'bool') {
    if (n.neg) throw new FilterError(`${field} is a boolean (0 or 1); '${tok.v}' cannot be one`, tok.pos, len);
    return n.mag === 0n ? 0 : 1;
  }
  if (width !== undefined && n.mag > BigInt(WIDTH_MAX[width]) + (n.neg && width === 'i32' ? 1n : 0n))
    throw new FilterError(`'${shortText(tok.v)}' is too big for ${field}, ${WIDTH_NAMES[width]} (at most ${WIDTH_MAX[width]})`, tok.pos, len);
  if (!n.neg) return Number(n.mag);
  return width === 'i32' || signed ? -Number(n.mag) : NaN;
}

/** Seconds as tshark reads a time offset (`1`, `-1.5`, `+01.000000001`: at most 9 decimals), in ns. */
function parseSeconds(s: string): bigint | undefined {
  const m = /^([+-]?)(\d+)(?:\.(\d{1,9}))?$/.exec(s);
  if (!m) return undefined;
  const ns = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] === '-' ? -ns : ns;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * A date and time as tshark reads one for frame.time, in ns since 1970: "Nov 12, 1999 08:55:44.123" or
 * "2011-07-04 12:34:56" (also 2011-07-04T12:34, 2011-07-04 alone), local time unless " UTC" follows (or Z, after the
 * second form). Out-of-range days and seconds roll over as mktime does (Nov 31 is Dec 1).
 */
function parseDate(text: string): bigint | undefined {
  const s = text.trim();
  let m = /^([A-Za-z]{3})\s+(\d{1,2}),\s*(\d{1,4})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(\s+UTC)?$/.exec(s);
  let y: number, mo: number, d: number, h = 0, mi = 0, sec = 0, frac = '', utc: boolean;
  if (m) {
    mo = MONTHS.indexOf(m[1]!.toLowerCase());
    if (mo < 0) return undefined;
    [y, d, h, mi, sec] = [m[3], m[2], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
    frac = m[7] ?? '';
    utc = m[8] !== undefined;
  } else {
    m = /^(\d{1,4})-(\d{1,2})-(\d{1,2})(?:(?:T|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?(Z|\s+UTC)?$/.exec(s);
    if (!m) return undefined;
    [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
    [h, mi, sec] = [m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [number, number, number];
    frac = m[7] ?? '';
    utc = m[8] !== undefined;
  }
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 61) return undefined;
  const t = new Date(0);
  // setFullYear, not the Date constructor: a year below 100 is that year, not 1900 + it.
  if (utc) {
    t.setUTCFullYear(y, mo, d);
    t.setUTCHours(h, mi, sec, 0);
  } else {
    t.setFullYear(y, mo, d);
    t.setHours(h, mi, sec, 0);
  }
  const ms = t.getTime();
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
}

/**
 * A byte string as Wireshark writes one, as one character per byte (latin1): hex bytes separated by ':', '-' or '.'
 * (00:1b:21), an even run of hex digits (001b21), one byte (1b), or a quoted string (its UTF-8 bytes).
 */
function bytesLiteral(tok: Tok): string | undefined {
  if (tok.t === 'str') return Buffer.from(tok.v, 'utf8').toString('latin1');
  // A colon before it makes a value a literal even where its text names a protocol (`frame[0] == :ff`).
  const s = tok.v.length > 1 && tok.v[0] === ':' ? tok.v.slice(1) : tok.v;
  let hexs: string;
  if (/^[0-9a-fA-F]{1,2}([:.\-][0-9a-fA-F]{1,2})+$/.test(s)) hexs = s.split(/[:.\-]/).map((b) => b.padStart(2, '0')).join('');
  else if (/^([0-9a-fA-F]{2})+$/.test(s)) hexs = s;
  else if (/^[0-9a-fA-F]$/.test(s)) hexs = `0${s}`;
  else return undefined;
  return Buffer.from(hexs, 'hex').toString('latin1');
}

const ACTION_ALIASES: Record<string, string> = Object.fromEntries(
  ACTIONS.flatMap((a, i) => [[a.toLowerCase(), a], [a.slice(4).toLowerCase(), a], [String(i), a]]),
);

type Rel = '==' | '!=' | '>' | '<' | '>=' | '<=' | 'contains' | 'matches';
const REL_WORDS: Record<string, Rel> = { eq: '==', ne: '!=', gt: '>', lt: '<', ge: '>=', le: '<=', contains: 'contains', matches: 'matches', '~': 'matches' };

/** A matcher for one value of the right side, for a field of `type`. */
function valueMatcher(field: string, type: FieldType, rel: Rel, tok: Tok, width?: NumberWidth): Matcher {
  const s = tok.v;
  const bad = (what: string) => new FilterError(`${field} is ${what}; '${s}' is not one`, tok.pos, tok.end - tok.pos);
  if (rel === 'contains' || rel === 'matches') {
    // As in Wireshark, a MAC address is 6 bytes to `contains` (eth.addr contains 02:00), but matches no pattern.
    const macBytes = rel === 'contains' && type === 'mac';
    if (type !== 'string' && type !== 'bytes' && !macBytes) throw new FilterError(`'${rel}' works on text fields (outcome, summary, printk, ...) and bytes (frame, data.data, tcp.payload, ...)${rel === 'contains' ? ' and MAC addresses' : ''}; ${field} is ${TYPE_NAMES[type]}`, tok.pos, tok.end - tok.pos);
    if (macBytes) {
      const want = bytesLiteral(tok);
      if (want === undefined) throw bad('a byte string (such as 02:00 or 00:1b:21)');
      return (v) => toBytes('mac', v).includes(want);
    }
    if (rel === 'contains' && type === 'bytes') {
      const want = bytesLiteral(tok);
      if (want === undefined) throw bad('a byte string (such as 47:45:54, or "GET" for its UTF-8 bytes)');
      return (v) => (v as string).includes(want);
    }
    // tshark 4.0: text contains "" nowhere.
    if (rel === 'contains') return s === '' ? () => false : (v) => String(v).includes(s);
    let re: CompiledRegex;
    try {
      re = compileRegex(s);
    } catch (e) {
      if (!(e instanceof RegexError)) throw e;
      // The error's offset is in bytes of the pattern's UTF-8 text: the character there, then its place in the filter.
      let chars = 0;
      for (let bytes = 0; chars < s.length && bytes + Buffer.byteLength(s[chars]!) <= e.index; chars++) bytes += Buffer.byteLength(s[chars]!);
      const pos = tok.at?.[chars] ?? tok.pos;
      throw new FilterError(`not a valid regular expression: ${e.message} (at character ${chars + 1} of the pattern)`, pos, 1);
    }
    if (type === 'bytes') return (v) => re.testBytes(v as string);
    return (v) => re.test(String(v));
  }
  const ordered = rel !== '==' && rel !== '!=';
  const cmp = (a: number, b: number) => (rel === '>' ? a > b : rel === '<' ? a < b : rel === '>=' ? a >= b : rel === '<=' ? a <= b : a === b);
  const cmpBig = (a: bigint, b: bigint) => (rel === '>' ? a > b : rel === '<' ? a < b : rel === '>=' ? a >= b : rel === '<=' ? a <= b : a === b);
  switch (type) {
    case 'uint': {
      const n = numberConstant(field, width, tok);
      return (v) => cmp(v as number, n);
    }
    case 'ipv4': {
      const [addr, len] = s.split('/');
      const a = tok.t === 'word' ? parseIpv4(addr!) : undefined;
      const bits = len === undefined ? 32 : /^\d{1,2}$/.test(len) && Number(len) <= 32 ? Number(len) : -1;
      if (a === undefined || bits < 0) throw bad('an IPv4 address (or a network such as 10.0.0.0/8)');
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if (ordered && bits !== 32) throw new FilterError(`'${rel}' compares with one address, not a network`, tok.pos, tok.end - tok.pos);
      return (v) => (bits === 32 ? cmp(v as number, a) : ((v as number) & mask) >>> 0 === (a & mask) >>> 0);
    }
    case 'ipv6': {
      const [addr, len] = s.split('/');
      const a = tok.t === 'word' ? parseIpv6(addr!) : undefined;
      const bits = len === undefined ? 128 : /^\d{1,3}$/.test(len) && Number(len) <= 128 ? Number(len) : -1;
      if (a === undefined || bits < 0) throw bad('an IPv6 address (or a network such as 2001:db8::/32)');
      if (ordered) throw new FilterError(`'${rel}' does not compare IPv6 addresses: use == or !=`, tok.pos, tok.end - tok.pos);
      const prefix = (h: string) => BigInt(`0x${h}`) >> BigInt(128 - bits);
      const want = prefix(a);
      return (v) => prefix(v as string) === want;
    }
    case 'mac': {
      const m = tok.t === 'word' ? parseMac(s) : undefined;
      if (m === undefined) throw bad('a MAC address');
      if (ordered) throw new FilterError(`'${rel}' does not compare MAC addresses: use == or !=`, tok.pos, tok.end - tok.pos);
      return (v) => v === m;
    }
    case 'action': {
      const a = ACTION_ALIASES[s.toLowerCase()];
      if (!a) throw bad(`an XDP action (${ACTIONS.join(', ')})`);
      if (ordered) {
        const n = ACTIONS.indexOf(a as (typeof ACTIONS)[number]);
        return (v) => cmp(ACTIONS.indexOf(v as (typeof ACTIONS)[number]), n);
      }
      return (v) => v === a;
    }
    case 'bytes': {
      // Byte strings order as tshark 4.0's do: the shorter first, then byte by byte (one character per byte).
      const want = bytesLiteral(tok);
      if (want === undefined) throw bad('a byte string (such as 00:1b:21, or "text" for its UTF-8 bytes)');
      if (!ordered) return (v) => v === want;
      return (v) => {
        const a = v as string;
        const c = a.length !== want.length ? a.length - want.length : a < want ? -1 : a > want ? 1 : 0;
        return rel === '>' ? c > 0 : rel === '<' ? c < 0 : rel === '>=' ? c >= 0 : c <= 0;
      };
    }
    case 'string': {
      if (ordered) return (v) => (rel === '>' ? String(v) > s : rel === '<' ? String(v) < s : rel === '>=' ? String(v) >= s : String(v) <= s);
      return (v) => v === s;
    }
    case 'time': {
      const n = tok.t === 'word' ? parseSeconds(s) : undefined;
      if (n === undefined) throw bad('a time in seconds (such as 1.5 or 1764000000.000123, at most 9 decimals)');
      return (v) => cmpBig(v as bigint, n);
    }
    case 'abstime': {
      const n = tok.t === 'str' ? parseDate(s) : undefined;
      if (n === undefined) throw bad('a quoted date and time such as "Nov 12, 1999 08:55:44.123" or "2011-07-04 12:34:56" (local time; Z or UTC after it for UTC)');
      return (v) => cmpBig(v as bigint, n);
    }
    case 'none':
      throw new FilterError(`${field} has no value to compare: write it alone to test that it is present`, tok.pos, tok.end - tok.pos);
  }
}

/** tshark 4.0's protocol and field names that are also byte strings in hex (`tshark -G fields`). */
const TSHARK_HEX_NAMES = new Set(['aaf', 'acf', 'a11', 'a21', 'a615a', 'adb', 'bfd', 'c1222', 'c15', 'dc', 'dcc', 'e100', 'e164', 'e212', 'fc', 'fc00', 'fefd', 'ff']);

const TYPE_NAMES: Record<FieldType, string> = { time: 'a time in seconds', abstime: 'a date and time', uint: 'a number', ipv4: 'an IPv4 address', ipv6: 'an IPv6 address', mac: 'a MAC address', string: 'text', bytes: 'a byte string', action: 'an XDP action', none: 'a protocol' };

// ---------------------------------------------------------------------------------------------------------------
// Parser: or := and (|| and)*; and := not (&& not)*; not := ! not | primary; primary := ( or ) | field [rel value]

type Node = (get: (field: string) => FValue[]) => boolean;

export interface Filter {
  text: string;
  /** The fields it names. */
  fields: string[];
  /** Whether it names any field of the frame itself (needs the bytes of the packet). */
  needsFrame: boolean;
  test(p: PacketFacts): boolean;
  /**
   * A packet the filter is not asked about (not run: outgoing) but that a stateful field follows all the same, as
   * tshark does every frame of the capture: tcp.seq and tcp.ack are relative to each TCP stream's first numbers.
   * Only for frames in capture order, between `test` calls.
   */
  observe(frame: Uint8Array, cut?: boolean): void;
  /**
   * Every value the named field (one the filter names) has in the packet, as `test` would compare it (for tools and
   * tests comparing fields with tshark -T fields). In capture order, in place of `test`: it follows streams the same.
   */
  values(p: PacketFacts, field: string): (number | string | bigint)[];
}

const RESULT_FIELDS = new Set(['frame.number', 'frame.len', 'frame.cap_len', 'frame.interface_id', 'frame.time', 'frame.time_epoch', 'frame.time_relative', 'frame.time_delta', 'frame', 'action', 'retval', 'outcome', 'outcome.kind', 'outcome.reason', 'fault', 'fault.kind', 'exit.line', 'exit.file', 'driver.path', 'redirect.target', 'queue', 'modified', 'printk', 'summary']);

/** Deepest nesting of parentheses a filter may have (deeper is refused with a FilterError, not a stack overflow). */
const MAX_NESTING = 256;

/** Wireshark 4's display filter functions XDP Lens has. */
const FUNCTIONS = new Set(['len', 'count', 'upper', 'lower', 'abs', 'max', 'min', 'string']);

/** An IPv6 address of 32 hex digits as text, RFC 5952 (the longest run of two or more zero groups as '::'). */
function ipv6Text(hex: string): string {
  const g = Array.from({ length: 8 }, (_, i) => parseInt(hex.slice(4 * i, 4 * i + 4), 16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const t = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? t(g) : `${t(g.slice(0, best))}::${t(g.slice(best + bestLen))}`;
}

/** A value as tshark 4.0's string() writes it: numbers in decimal, addresses as text. */
function valueText(type: FieldType, x: FValue): string {
  if (type === 'ipv4') return [24, 16, 8, 0].map((sh) => (Number(x) >>> sh) & 255).join('.');
  if (type === 'ipv6') return ipv6Text(String(x));
  return String(x);
}
const WORDS_ONLY_OPS = /^(and|or|not|in|contains|matches|eq|ne|gt|lt|ge|le)$/i;
/** A number of an arithmetic expression: its value and whether its Wireshark type is signed (32-bit either way). */
type AV = { n: number; s: boolean };
type AAtom =
  | { k: 'f'; name: string; tok: Tok }
  | { k: 'c'; tok: Tok }
  | { k: 'call'; op: Operand; tok: Tok }
  | { k: 'neg'; e: AAtom; tok: Tok }
  | { k: 'bin'; op: string; l: AAtom; r: AAtom; tok: Tok };
type AExpr = { node: AAtom; fields: string[]; width: NumberWidth | undefined; lead: string; konst: boolean; label: string };

/** One operation as Wireshark's integer types do it: the left value's type's, undefined for no value (overflow, / 0). */
function arithOne(op: string, a: AV, b: AV): AV | undefined {
  if (!a.s) {
    const y = b.n >>> 0;
    let z: number;
    switch (op) {
      case '+': z = a.n + y; break;
      case '-':
        if (y > a.n) return a.n > 0x7fffffff || y > 0x7fffffff ? undefined : { n: a.n - y, s: true };
        z = a.n - y;
        break;
      case '*': z = a.n * y; break;
      case '/': if (y === 0) return undefined; z = Math.floor(a.n / y); break;
      case '%': if (y === 0) return undefined; z = a.n % y; break;
      default: z = (a.n & y) >>> 0;
    }
    return z > 0xffffffff ? undefined : { n: z, s: false };
  }
  const y = b.n | 0;
  let z: number;
  switch (op) {
    case '+': z = a.n + y; break;
    case '-': z = a.n - y; break;
    case '*': z = a.n * y; break;
    case '/': if (y === 0 || (a.n === -0x80000000 && y === -1)) return undefined; z = Math.trunc(a.n / y); break;
    case '%': if (y === 0 || (a.n === -0x80000000 && y === -1)) return undefined; z = a.n % y; break;
    default: z = a.n & y;
  }
  if (z > 0x7fffffff || z < -0x80000000) return undefined;
  return { n: z === 0 ? 0 : z, s: true };
}

/** One side of a comparison: a field (perhaps sliced or masked) or a function of fields. */
type Operand = { label: string; type: FieldType; vals: (g: (f: string) => FValue[]) => FValue[]; field?: string; view?: boolean; call?: true; width?: NumberWidth; present?: (g: (f: string) => FValue[]) => boolean; avals?: (g: (f: string) => FValue[]) => AV[] };

/** Parse a display filter; a FilterError names the position of what is wrong. */
export function compileFilter(text: string): Filter {
  const toks = tokenize(text);
  let k = 0;
  const fields = new Set<string>();
  const peek = () => toks[k]!;
  const isWord = (t: Tok, ...w: string[]) => t.t === 'word' && w.includes(t.v.toLowerCase());
  const describe = (t: Tok) => (t.t === 'eof' ? 'the end of the filter' : `'${text.slice(t.pos, t.end)}'`);

  // A chain of || or && of any length is one node over a list, and a run of ! one node, so neither parsing nor
  // testing recurses once per term (a filter of 20,000 terms); only parentheses nest, up to MAX_NESTING.
  function or(): Node {
    const terms = [and()];
    while (peek().v === '||' || isWord(peek(), 'or')) {
      k++;
      terms.push(and());
    }
    if (terms.length === 1) return terms[0]!;
    if (terms.length === 2) {
      const [l, r] = terms as [Node, Node];
      return (g) => l(g) || r(g);
    }
    return (g) => terms.some((t) => t(g));
  }
  function and(): Node {
    const terms = [not()];
    while (peek().v === '&&' || isWord(peek(), 'and')) {
      k++;
      terms.push(not());
    }
    if (terms.length === 1) return terms[0]!;
    if (terms.length === 2) {
      const [l, r] = terms as [Node, Node];
      return (g) => l(g) && r(g);
    }
    return (g) => terms.every((t) => t(g));
  }
  function not(): Node {
    let negations = 0;
    while ((peek().t === 'op' && peek().v === '!') || isWord(peek(), 'not')) {
      k++;
      negations++;
    }
    const inner = primary();
    return negations % 2 === 1 ? (g) => !inner(g) : inner;
  }
  let nesting = 0;
  function primary(): Node {
    const t = peek();
    if (t.t === 'op' && t.v === '(') {
      if (++nesting > MAX_NESTING) throw new FilterError(`parentheses nested more than ${MAX_NESTING} deep`, t.pos);
      k++;
      const inner = or();
      nesting--;
      const close = peek();
      if (close.v !== ')') throw new FilterError(`expected ')' to close the '(' at column ${t.pos + 1}, found ${describe(close)}`, close.pos, Math.max(1, close.end - close.pos));
      k++;
      return inner;
    }
    if (t.t === 'op' && t.v === '&') throw new FilterError("'&' alone is not an operator: use '&&'", t.pos);
    // Arithmetic on the left: `{ip.ttl + 1} == 6`, `-ip.ttl < -5`.
    if ((t.t === 'op' && t.v === '{') || (t.t === 'word' && t.v.startsWith('-'))) return arithCompare(arith());
    if (t.t === 'word' && parseNumber(t.v) !== undefined && arithAhead(k + 1)) throw new FilterError('arithmetic on the left side starts with a field or function (ip.ttl + 5, not 5 + ip.ttl)', t.pos, t.end - t.pos);
    if (t.t === 'word' && FUNCTIONS.has(t.v.toLowerCase()) && toks[k + 1]?.v === '(') {
      const c = call();
      return arithAhead(k) || c.avals ? arithCompare(arith({ k: 'call', op: c, tok: t })) : compare(c);
    }
    if (t.t !== 'word') {
      const prev = k > 0 ? ` after '${text.slice(toks[k - 1]!.pos, toks[k - 1]!.end)}'` : '';
      throw new FilterError(t.t === 'eof' ? (k === 0 ? 'the filter is empty' : `expected a field${prev}`) : `expected a field${prev}, found ${describe(t)}`, t.pos, Math.max(1, t.end - t.pos));
    }
    const field = t.v;
    const type = fieldType(field);
    if (!type) {
      const near = closeNames(field);
      const shown = field.length > 80 ? `${field.slice(0, 60)}... (${field.length} characters)` : field;
      throw new FilterError(`unknown field '${shown}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`, t.pos, t.end - t.pos);
    }
    const def = { type };
    fields.add(field);
    k++;
    // The field's values as the comparison sees them: a slice of its bytes, or its bits under a mask.
    let key = field;
    let view: ((x: FValue) => FValue | undefined) | undefined;
    let width = numberWidth(field);
    // A protocol's bytes (`tcp[0:2]`, `ip == ...`, `udp contains "x"`), as tshark's: its header to a slice or a
    // comparison, and to contains/matches every byte from its start its dissector was given.
    const ofProtocol = PROTOCOL_BYTES.has(field);
    if (arithAhead(k) || (peek().v === '&' && toks[k + 1]?.t === 'word' && arithAhead(k + 2))) return arithCompare(arith({ k: 'f', name: field, tok: t }));
    if (peek().v === '[') {
      width = undefined;
      if (field === 'frame') key = 'frame.raw';
      else if (ofProtocol) {
        if (CONTAINS_ONLY.has(field)) throw new FilterError(`${field}'s bytes work only with contains and matches here`, peek().pos, 1);
        fields.add((key = protocolKey(field, false)));
      }
      view = slice(field, field === 'frame' || ofProtocol ? 'bytes' : def.type);
      def.type = 'bytes';
      if (arithAhead(k)) throw new FilterError(`${text.slice(t.pos, toks[k - 1]!.end)} is a byte string: arithmetic takes number fields`, peek().pos, 1);
    }
    if (peek().v === '&') {
      const amp = peek();
      // A slice of a few bytes under a mask: their value as a big-endian number (`eth.dst[0] & 1`).
      const sliced = view;
      if (sliced && def.type === 'bytes') {
        def.type = 'uint';
        view = (x) => {
          const b = sliced(x);
          if (b === undefined || (b as string).length > 6) return undefined;
          let n = 0;
          for (let i = 0; i < (b as string).length; i++) n = n * 256 + (b as string).charCodeAt(i);
          return n;
        };
      }
      if (def.type !== 'uint') throw new FilterError(`'&' alone is not an operator: use '&&' ('&' is a bitwise and of a number field and a mask, as in tcp.flags & 0x02; ${field} is ${TYPE_NAMES[def.type]})`, amp.pos);
      if (width === 'bool') throw new FilterError(`'&' takes a number field and a mask; ${field} is a boolean (test it alone, or with == 1)`, amp.pos);
      k++;
      const mt = peek();
      // As a BigInt: no wider than the field's type (tshark), a negative one as 64 bits of two's complement.
      const mn = mt.t === 'word' ? parseNumber(mt.v) : undefined;
      if (mn === undefined) throw new FilterError(`expected a number after '&', found ${describe(mt)}`, mt.pos, Math.max(1, mt.end - mt.pos));
      if (width !== undefined && mn.mag > BigInt(WIDTH_MAX[width])) throw new FilterError(`'${shortText(mt.v)}' is too big for ${field}, ${WIDTH_NAMES[width]} (at most ${WIDTH_MAX[width]})`, mt.pos, mt.end - mt.pos);
      const mask = mn.neg ? BigInt.asUintN(64, -mn.mag) : mn.mag;
      k++;
      const before = view;
      view = (x) => {
        const y = before ? before(x) : x;
        return y === undefined ? undefined : Number(BigInt(y as number) & mask);
      };
      const nr = peek();
      const isRel = (nr.t === 'op' && ['==', '!=', '>', '<', '>=', '<='].includes(nr.v)) || (nr.t === 'word' && ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'in'].includes(nr.v.toLowerCase()));
      // Alone, `field & mask` holds when a bit of the mask is set.
      if (!isRel) return (g) => g(key).some((x) => { const y = view!(x); return y !== undefined && y !== 0; });
      def.type = 'uint';
    } else if ((field === 'frame' || ofProtocol) && !view) {
      // `frame contains ...`, `frame == ...`: the frame's bytes; `frame` alone: every packet (a protocol alone: present).
      const nr = peek();
      if ((nr.t === 'op' && ['==', '!=', '>', '<', '>=', '<=', '~', '===', '!==', '~='].includes(nr.v)) || (nr.t === 'word' && ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'contains', 'matches', 'in', 'all_eq', 'any_eq', 'all_ne', 'any_ne'].includes(nr.v.toLowerCase()))) {
        def.type = 'bytes';
        if (field === 'frame') key = 'frame.raw';
        else {
          const all = nr.v === '~' || ['contains', 'matches'].includes(nr.v.toLowerCase());
          if (!all && CONTAINS_ONLY.has(field)) throw new FilterError(`${field}'s bytes work only with contains and matches here`, nr.pos, nr.end - nr.pos);
          fields.add((key = protocolKey(field, all)));
        }
      }
    }
    const vals = view ? (g: (f: string) => FValue[]) => g(key).map(view!).filter((x): x is FValue => x !== undefined) : (g: (f: string) => FValue[]) => g(key);
    // A slice past the end of a field that is there: no value, yet `!=` holds (tshark 4.0: `frame[200] != 00` on a
    // shorter frame).
    const present = view ? (g: (f: string) => FValue[]) => g(key).length > 0 : undefined;
    return compare({ label: field, type: def.type, vals, field, view: view !== undefined, width, present });
  }

  /**
   * `len(f)`, `count(f)`, `upper(f)`, `lower(f)`, `abs(f)`, `max(a, b, ...)`, `min(...)`, as Wireshark 4's display
   * filter functions: one value per occurrence of the field (count: one value, none when the field is absent; max
   * and min: one value over every occurrence of every argument, numbers allowed as arguments).
   */
  function call(): Operand {
    const nameTok = peek();
    const fn = nameTok.v.toLowerCase();
    k += 2;
    const args: { field?: string; num?: number; tok: Tok; ex?: AExpr }[] = [];
    for (;;) {
      const a = peek();
      const lone = (toks[k + 1]?.v === ',' || toks[k + 1]?.v === ')') && (fieldType(a.v) !== undefined || parseNumber(a.v) !== undefined);
      // Arithmetic as an argument of abs(), max(), min() (tshark 4.0: `max(tcp.srcport + 1, tcp.dstport)`,
      // `abs(ip.ttl - 100)`); its Wireshark type is its first field's, and it cannot start with a constant.
      if ((fn === 'abs' || fn === 'max' || fn === 'min') && !(lone && a.t === 'word') && (a.v === '{' || (a.t === 'word' && (a.v.startsWith('-') || fieldType(a.v) !== undefined || parseNumber(a.v) !== undefined || (FUNCTIONS.has(a.v.toLowerCase()) && toks[k + 1]?.v === '('))))) {
        const ex = arith();
        if (ex.konst && args.length === 0) throw new FilterError(`arithmetic of constants alone cannot be the first argument of ${fn}(): start it with a field`, a.pos, Math.max(1, ex.label.length));
        args.push({ tok: a, ex });
        k--;
      } else if (a.t === 'word' && fieldType(a.v) !== undefined) args.push({ field: a.v, tok: a });
      else if ((fn === 'max' || fn === 'min') && a.t === 'word' && parseNumber(a.v) !== undefined) {
        // tshark 4.0: "Argument '3' is not valid for max()" when a constant comes first.
        if (args.length === 0) throw new FilterError(`${fn}() takes a field as its first argument, not a number (${fn}(ip.ttl, ${shortText(a.v)}))`, a.pos, a.end - a.pos);
        args.push({ num: 0, tok: a });
      } else if (a.t === 'word' && !WORDS_ONLY_OPS.test(a.v) && a.v !== ')' && parseNumber(a.v) === undefined && /^[a-z]/i.test(a.v)) {
        const near = closeNames(a.v);
        throw new FilterError(`unknown field '${a.v.length > 80 ? `${a.v.slice(0, 60)}...` : a.v}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`, a.pos, a.end - a.pos);
      } else throw new FilterError(`expected a field as the argument of ${fn}(), found ${describe(a)}`, a.pos, Math.max(1, a.end - a.pos));
      k++;
      const sep = peek();
      if (sep.v === ',') { k++; continue; }
      if (sep.v === ')') { k++; break; }
      throw new FilterError(`expected ',' or ')' in ${fn}(), found ${describe(sep)}`, sep.pos, Math.max(1, sep.end - sep.pos));
    }
    const label = text.slice(nameTok.pos, toks[k - 1]!.end);
    const many = fn === 'max' || fn === 'min';
    if (!many && args.length !== 1) throw new FilterError(`${fn}() takes one field, found ${args.length} arguments`, nameTok.pos, label.length);
    for (const a of args) {
      if (a.field === undefined) continue;
      const ty = fieldType(a.field)!;
      const bad = (want: string) => new FilterError(`${fn}() takes ${want}; ${a.field} is ${TYPE_NAMES[ty]}`, a.tok.pos, a.tok.end - a.tok.pos);
      if (fn === 'len' && ty === 'none' && a.field !== 'frame' && !PROTOCOL_BYTES.has(a.field)) throw new FilterError(`len() of ${a.field} is not supported here (the length tshark gives its item is not modelled)`, a.tok.pos, a.tok.end - a.tok.pos);
      if (fn === 'len' && a.field !== 'frame' && !(PROTOCOL_BYTES.has(a.field) && !CONTAINS_ONLY.has(a.field)) && !['bytes', 'string', 'mac', 'ipv4', 'ipv6'].includes(ty)) throw bad('a field of bytes, text or an address (or frame, or a protocol)');
      if ((fn === 'upper' || fn === 'lower') && ty !== 'string') throw bad('a text field');
      if ((fn === 'abs' || many) && ty !== 'uint') throw bad('a number field');
      // tshark 4.0: 'String conversion for field ... is not supported' for text, bytes, times and booleans.
      if (fn === 'string' && !['uint', 'ipv4', 'ipv6', 'mac'].includes(ty)) throw bad('a number or address field');
      if (fn === 'string' && numberWidth(a.field) === 'bool') throw new FilterError(`${fn}() takes a number or address field; ${a.field} is a boolean`, a.tok.pos, a.tok.end - a.tok.pos);
    }
    // max() and min() take fields of one Wireshark type (tshark: "Arguments to 'max' must have the same type"), and
    // constants in that type's range.
    const argWidth = (a: (typeof args)[number]) => (a.ex ? (a.ex.konst ? undefined : a.ex.width) : a.field === undefined ? undefined : numberWidth(a.field));
    const argName = (a: (typeof args)[number]) => a.ex?.label ?? a.field!;
    const typed = args.find((a) => argWidth(a) !== undefined);
    const width = fn === 'count' || fn === 'len' ? 'u32' : typed && argWidth(typed);
    if (many && typed)
      for (const a of args) {
        const w = argWidth(a);
        if (w !== undefined && w !== width) throw new FilterError(`${fn}() takes fields of one type: ${argName(typed)} is ${WIDTH_NAMES[width!]}, ${argName(a)} ${WIDTH_NAMES[w]}`, a.tok.pos, Math.max(1, (a.ex?.label ?? a.tok.v).length));
      }
    // A negative constant is a number below every value here (tshark: min(ip.ttl, -1) < 100 holds).
    for (const a of args) if (a.field === undefined && !a.ex) a.num = numberConstant(typed ? argName(typed) : `${fn}()`, width, a.tok, true);
    // With arithmetic among the arguments: each value keeps its sign (ip.ttl - 100 may be below zero), as the
    // arithmetic's values do; constants take the first argument's type.
    if (args.some((a) => a.ex)) {
      const lead = typed ? argName(typed) : `${fn}()`;
      const parts = args.map((a) => {
        if (a.ex) return arithValues(a.ex.node, a.ex.konst ? width : a.ex.width, a.ex.konst ? lead : a.ex.lead);
        if (a.num !== undefined) { const one = [{ n: a.num, s: a.num < 0 }]; return () => one; }
        fields.add(a.field!);
        const s = numberWidth(a.field!) === 'i32';
        return (g: (f: string) => FValue[]) => g(a.field!).map((x) => ({ n: Number(x), s }));
      });
      const label = text.slice(nameTok.pos, toks[k - 1]!.end);
      const avals = (g: (f: string) => FValue[]): AV[] => {
        if (fn === 'abs') return parts[0]!(g).map((x) => ({ n: Math.abs(x.n), s: x.s }));
        let best: AV | undefined;
        for (const p of parts) for (const x of p(g)) if (!best || (fn === 'max' ? x.n > best.n : x.n < best.n)) best = x;
        return best ? [best] : [];
      };
      return { label, type: 'uint', vals: (g) => avals(g).map((x) => x.n), avals, call: true, width };
    }
    // len() of a protocol: the length of its item, as its bytes in a comparison (`len(udp) == 8`).
    const keyOf = (f: string) => (fn === 'len' && f === 'frame' ? 'frame.cap_len' : fn === 'len' && PROTOCOL_BYTES.has(f) ? protocolKey(f, false) : f);
    for (const a of args) if (a.field !== undefined) fields.add(keyOf(a.field));
    const one = args[0]!;
    const f0 = one.field!;
    const ty0 = fieldType(f0)!;
    let vals: (g: (f: string) => FValue[]) => FValue[];
    let type: FieldType = 'uint';
    if (fn === 'count') vals = (g) => { const n = g(f0).length; return n ? [n] : []; };
    else if (fn === 'len' && f0 === 'frame') vals = (g) => g('frame.cap_len');
    else if (fn === 'len' && PROTOCOL_BYTES.has(f0)) vals = (g) => g(keyOf(f0)).map((x) => String(x).length);
    else if (fn === 'len') vals = (g) => g(f0).map((x) => (ty0 === 'string' ? Buffer.byteLength(String(x)) : toBytes(ty0, x).length));
    else if (fn === 'upper' || fn === 'lower') {
      type = 'string';
      vals = (g) => g(f0).map((x) => (fn === 'upper' ? String(x).toUpperCase() : String(x).toLowerCase()));
    } else if (fn === 'string') {
      type = 'string';
      vals = (g) => g(f0).map((x) => valueText(ty0, x));
    } else if (fn === 'abs') vals = (g) => g(f0);
    else vals = (g) => {
      const all: number[] = [];
      for (const a of args) {
        if (a.num !== undefined) all.push(a.num);
        else for (const x of g(a.field!)) all.push(Number(x));
      }
      return all.length ? [fn === 'max' ? Math.max(...all) : Math.min(...all)] : [];
    };
    return { label, type, vals, call: true, width: type === 'uint' ? width : undefined };
  }

  function compare(op: Operand): Node {
    const { label: field, vals, view: sliced, width } = op;
    const view = sliced || op.call ? true : undefined;
    const def = { type: op.type };
    const r = peek();
    const relTok0 = r.t === 'op' && ['==', '!=', '>', '<', '>=', '<=', '~', '===', '!==', '~='].includes(r.v) ? r.v : r.t === 'word' ? r.v.toLowerCase() : undefined;
    // Wireshark's forms for repeated fields: === / all_eq (every occurrence equals), ~= / !== / any_ne (one differs,
    // as tshark 4.0 reads !==); all_ne is != (the field is there and no occurrence equals), any_eq is ==.
    const quant = relTok0 === '===' || relTok0 === 'all_eq' ? 'all_eq' : relTok0 === '~=' || relTok0 === '!==' || relTok0 === 'any_ne' ? 'any_ne' : undefined;
    const relTok = quant ? '==' : relTok0 === 'all_ne' ? '!=' : relTok0 === 'any_eq' ? '==' : relTok0;
    let rel: Rel | undefined = relTok === undefined ? undefined : (['==', '!=', '>', '<', '>=', '<='] as string[]).includes(relTok) ? (relTok as Rel) : REL_WORDS[relTok];
    if (relTok === 'in') {
      k++;
      const open = peek();
      if (open.v !== '{') throw new FilterError(`expected '{' after 'in', found ${describe(open)}`, open.pos, Math.max(1, open.end - open.pos));
      k++;
      const ms: Matcher[] = [];
      while (peek().v !== '}') {
        const v = peek();
        if (v.t === 'eof') throw new FilterError(`expected '}' to close the set at column ${open.pos + 1}`, v.pos);
        if (v.v === ',') {
          k++;
          continue;
        }
        if (v.t !== 'word' && v.t !== 'str') throw new FilterError(`expected a value in the set, found ${describe(v)}`, v.pos, v.end - v.pos);
        // A range of values: `53..60`, or `53 .. 60`.
        // (`53..+60`: the unary plus splits the range into `53..` and `60`.)
        const split = v.t === 'word' && /^.+\.\.$/.test(v.v) && toks[k + 1]?.t === 'word';
        const dots = v.t === 'word' ? (split ? [v.v, v.v.slice(0, -2), toks[k + 1]!.v] : /^(.+?)\.\.(.+)$/.exec(v.v)) : null;
        if (dots || (toks[k + 1]?.t === 'word' && toks[k + 1]!.v === '..')) {
          const lo: Tok = dots ? { ...v, v: dots[1]! } : v;
          const hi: Tok = split ? toks[k + 1]! : dots ? { ...v, v: dots[2]! } : toks[k + 2]!;
          if (!dots && hi.t !== 'word' && hi.t !== 'str') throw new FilterError(`expected the end of the range after '..', found ${describe(hi)}`, hi.pos, Math.max(1, hi.end - hi.pos));
          const a = valueMatcher(field, def.type, '>=', lo, width);
          const b = valueMatcher(field, def.type, '<=', hi, width);
          ms.push((x) => a(x) && b(x));
          k += split ? 2 : dots ? 1 : 3;
          continue;
        }
        ms.push(valueMatcher(field, def.type, '==', v, width));
        k++;
      }
      if (!ms.length) throw new FilterError('the set is empty', open.pos, peek().end - open.pos);
      k++;
      return (g) => vals(g).some((x) => ms.some((m) => m(x)));
    }
    if (!rel) {
      if (op.call) throw new FilterError(`${field} alone is not a test: compare it with a value (${field} > 0)`, r.pos, Math.max(1, r.end - r.pos));
      if (r.t === 'word' && def.type !== 'none' && !isWord(r, 'and', 'or', 'not')) throw new FilterError(`expected an operator (==, !=, <, >, <=, >=, contains, matches, in) after ${field}, found ${describe(r)}`, r.pos, r.end - r.pos);
      return (g) => vals(g).length > 0;
    }
    k++;
    const v = peek();
    // Arithmetic on the right (`ip.ttl == 2 + 3`, `ip.ttl == {5}`, `ip.ttl == -ip.ttl`): the left side's values as
    // numbers of its type.
    if (rel !== 'contains' && rel !== 'matches' && ((v.t === 'op' && v.v === '{') || (v.t === 'word' && (arithAhead(k + 1) || (v.v.length > 1 && v.v.startsWith('-') && fieldType(v.v.slice(1)) !== undefined))))) {
      if (def.type !== 'uint' || width === 'bool') throw new FilterError(`arithmetic gives a number; ${field} is ${width === 'bool' ? 'a boolean' : TYPE_NAMES[def.type]}`, v.pos, Math.max(1, v.end - v.pos));
      k--;
      return arithRelation({ vals: (g) => vals(g).map((x) => ({ n: Number(x), s: width === 'i32' })), present: (g) => vals(g).length > 0 || (op.present !== undefined && op.present(g)), width, lead: field, label: field });
    }
    if (v.t !== 'word' && v.t !== 'str') throw new FilterError(`expected a value after '${text.slice(r.pos, r.end)}', found ${describe(v)}`, v.pos, Math.max(1, v.end - v.pos));
    // Another field on the right (`ip.src == ip.dst`), or a function (`count(ip.addr) == count(ip)`): a pair of
    // occurrences that compare so.
    const rightCall = v.t === 'word' && FUNCTIONS.has(v.v.toLowerCase()) && toks[k + 1]?.v === '(' && rel !== 'contains' && rel !== 'matches' ? call() : undefined;
    if (rightCall && rightCall.type !== def.type) throw new FilterError(`${rightCall.label} is ${TYPE_NAMES[rightCall.type]} and ${field} is ${TYPE_NAMES[def.type]}: they cannot be compared`, v.pos, rightCall.label.length);
    // A protocol on the right of a protocol, frame or slice is its bytes, as on the left (tshark 4.0: `udp == udp`,
    // `frame == eth`; a bytes field with a protocol it refuses: not of compatible types).
    const rightProtocol = !rightCall && v.t === 'word' && def.type === 'bytes' && (sliced || op.field === 'frame' || PROTOCOL_BYTES.has(op.field ?? '')) && rel !== 'contains' && rel !== 'matches' && PROTOCOL_BYTES.has(v.v) && !CONTAINS_ONLY.has(v.v);
    const other = rightProtocol ? 'bytes' : rightCall ? rightCall.type : v.t === 'word' && (!view || op.call) && rel !== 'contains' && rel !== 'matches' ? fieldType(v.v) : undefined;
    if (other !== undefined && other === def.type && other !== 'none' && other !== 'action' && !(def.type === 'uint' && !rightCall && parseNumber(v.v) !== undefined)) {
      const of = rightProtocol ? protocolKey(v.v, false) : v.v;
      if (!rightCall) {
        fields.add(of);
        k++;
      }
      const g2 = (g: (f: string) => FValue[]) => (rightCall ? rightCall.vals(g) : g(of));
      const ordered = rel !== '==' && rel !== '!=';
      if (ordered && (other === 'ipv6' || other === 'mac')) throw new FilterError(`'${rel}' does not compare ${TYPE_NAMES[other]}es: use == or !=`, r.pos, r.end - r.pos);
      // Byte strings order the shorter first, then byte by byte (as valueMatcher's).
      const order = (a: FValue, b: FValue): number => (other === 'bytes' && (a as string).length !== (b as string).length ? (a as string).length - (b as string).length : a < b ? -1 : a > b ? 1 : 0);
      const c = (a: FValue, b: FValue) => (rel === '==' ? a === b : rel === '>' ? order(a, b) > 0 : rel === '<' ? order(a, b) < 0 : rel === '>=' ? order(a, b) >= 0 : order(a, b) <= 0);
      if (rel === '!=') return (g) => { const as = vals(g); const bs = g2(g); return as.length > 0 && bs.length > 0 && !as.some((a) => bs.some((b) => a === b)); };
      if (quant === 'any_ne') return (g) => { const bs = g2(g); return vals(g).some((a) => bs.some((b) => a !== b)); };
      if (quant === 'all_eq') return (g) => { const as = vals(g); const bs = g2(g); return as.length > 0 && bs.length > 0 && as.every((a) => bs.every((b) => a === b)); };
      return (g) => { const bs = g2(g); return vals(g).some((a) => bs.some((b) => c(a, b))); };
    }
    // tshark 4.0 reads a word on the right that names one of its protocols as that field, even where it would be a
    // byte string (`frame contains ff`: Foundation Fieldbus, `frame[0] == fc`: Fibre Channel): a comparison with a
    // protocol absent here, which holds for no frame, `!=` neither (`:ff` is the byte).
    if (v.t === 'word' && TSHARK_HEX_NAMES.has(v.v) && (def.type === 'bytes' || (def.type === 'mac' && rel === 'contains'))) {
      // Only a slice or a protocol (here: frame) compares with a protocol; tshark 4.0 refuses any other field (and
      // frame with dc, a protocol of another type).
      if (!sliced && !op.call && ((op.field !== 'frame' && !PROTOCOL_BYTES.has(op.field ?? '')) || v.v === 'dc'))
        throw new FilterError(`${field} and ${v.v} (a protocol of Wireshark's) are not of compatible types: write :${v.v} for the byte`, v.pos, v.end - v.pos);
      k++;
      return () => false;
    }
    const m = valueMatcher(field, def.type, rel, v, width);
    k++;
    // Wireshark: a != b holds when a is there and no occurrence of it equals b (a packet without a has no a != b).
    if (rel === '!=') {
      const eq = valueMatcher(field, def.type, '==', v, width);
      const present = op.present;
      return (g) => {
        const xs = vals(g);
        return (xs.length > 0 || (present !== undefined && present(g))) && !xs.some(eq);
      };
    }
    if (quant === 'any_ne') return (g) => vals(g).some((x) => !m(x));
    if (quant === 'all_eq') return (g) => {
      const xs = vals(g);
      return xs.length > 0 && xs.every(m);
    };
    return (g) => vals(g).some(m);
  }

  // Arithmetic, as tshark 4.0 has it: + - * / % and & (lowest), unary minus, {braces} to group. Values are
  // Wireshark's: a number field's type is unsigned 32-bit (or signed for i32 fields); each operation is the left
  // value's type's, reading the right value's bits as that type; a result out of the type's range, or a division by
  // zero, is no value; an unsigned subtraction below zero, and the unary minus of an unsigned value, become signed.
  // Constants take the type of the expression's first field. Every value of each field meets every value of the other.
  function arithAhead(at: number): boolean {
    const t = toks[at];
    if (!t) return false;
    if (t.t === 'op') return t.v === '+' || t.v === '*' || t.v === '%';
    return t.t === 'word' && (t.v.startsWith('-') || t.v.startsWith('/')) && !t.v.startsWith('--');
  }
  /** The operator at k (splitting a word such as `-1` or `/2` into the operator and its operand), or undefined. */
  function arithOp(band: boolean): { v: string; tok: Tok } | undefined {
    const t = peek();
    if (t.t === 'op' && (t.v === '+' || t.v === '*' || t.v === '%' || (band && t.v === '&'))) return { v: t.v, tok: t };
    if (t.t !== 'word' || !(t.v.startsWith('-') || t.v.startsWith('/'))) return undefined;
    if (t.v.length > 1) toks.splice(k, 1, { t: 'word', v: t.v[0]!, pos: t.pos, end: t.pos + 1 }, { t: 'word', v: t.v.slice(1), pos: t.pos + 1, end: t.end });
    return { v: t.v[0]!, tok: peek() };
  }
  function arith(first?: AAtom): AExpr {
    const node = band(first);
    const fieldsIn: string[] = [];
    let lead: NumberWidth | undefined;
    let leadName = '';
    let leadSet = false;
    const walk = (a: AAtom): void => {
      if (a.k === 'f') {
        fieldsIn.push(a.name);
        if (!leadSet) [lead, leadName, leadSet] = [numberWidth(a.name) ?? 'u32', a.name, true];
      } else if (a.k === 'call') {
        if (!leadSet) [lead, leadName, leadSet] = [a.op.width ?? 'u32', a.op.label, true];
      } else if (a.k === 'neg') walk(a.e);
      else if (a.k === 'bin') {
        walk(a.l);
        walk(a.r);
      }
    };
    walk(node);
    return { node, fields: fieldsIn, width: leadSet ? lead : undefined, lead: leadName, konst: !leadSet, label: text.slice(firstPos(node), toks[k - 1]!.end) };
  }
  function firstPos(a: AAtom): number {
    return a.k === 'bin' ? Math.min(firstPos(a.l), a.tok.pos) : a.tok.pos;
  }
  function band(first?: AAtom): AAtom {
    let l = sum(first);
    for (let o = arithOp(true); o?.v === '&'; o = arithOp(true)) {
      k++;
      l = { k: 'bin', op: '&', l, r: sum(), tok: o.tok };
    }
    return l;
  }
  function sum(first?: AAtom): AAtom {
    let l = prod(first);
    for (let o = arithOp(false); o && (o.v === '+' || o.v === '-'); o = arithOp(false)) {
      k++;
      l = { k: 'bin', op: o.v, l, r: prod(), tok: o.tok };
    }
    return l;
  }
  function prod(first?: AAtom): AAtom {
    let l = first ?? unaryA();
    for (let o = arithOp(false); o && (o.v === '*' || o.v === '/' || o.v === '%'); o = arithOp(false)) {
      k++;
      l = { k: 'bin', op: o.v, l, r: unaryA(), tok: o.tok };
    }
    return l;
  }
  function unaryA(): AAtom {
    const t = peek();
    // A unary plus changes nothing (tshark 4.0: `frame.len - +580`).
    if (t.t === 'op' && t.v === '+' && toks[k + 1] !== undefined && toks[k + 1]!.t !== 'eof') {
      k++;
      const n = peek();
      if ((n.t === 'word' && (n.v.startsWith('-') || n.v.startsWith('+'))) || (n.t === 'op' && n.v === '+')) throw new FilterError(`'${text.slice(n.pos, n.pos + 1)}' cannot follow a unary '+'`, n.pos, 1);
      return unaryA();
    }
    if (t.t === 'word' && t.v.startsWith('-')) {
      if (t.v.length > 1) toks.splice(k, 1, { t: 'word', v: '-', pos: t.pos, end: t.pos + 1 }, { t: 'word', v: t.v.slice(1), pos: t.pos + 1, end: t.end });
      k++;
      return { k: 'neg', e: unaryA(), tok: t };
    }
    if (t.t === 'op' && t.v === '{') {
      if (++nesting > MAX_NESTING) throw new FilterError(`braces nested more than ${MAX_NESTING} deep`, t.pos);
      k++;
      const inner = band();
      nesting--;
      const close = peek();
      if (close.v !== '}') throw new FilterError(`expected '}' to close the '{' at column ${t.pos + 1}, found ${describe(close)}`, close.pos, Math.max(1, close.end - close.pos));
      k++;
      return inner;
    }
    if (t.t === 'word' && FUNCTIONS.has(t.v.toLowerCase()) && toks[k + 1]?.v === '(') {
      const op = call();
      if (op.type !== 'uint') throw new FilterError(`arithmetic takes numbers; ${op.label} is ${TYPE_NAMES[op.type]}`, t.pos, op.label.length);
      return { k: 'call', op, tok: t };
    }
    if (t.t === 'word' && parseNumber(t.v) !== undefined) {
      k++;
      return { k: 'c', tok: t };
    }
    if (t.t === 'word' && fieldType(t.v) !== undefined) {
      k++;
      if (peek().v === '[') throw new FilterError(`${t.v}[...] is a byte string: arithmetic takes number fields`, peek().pos, 1);
      return { k: 'f', name: t.v, tok: t };
    }
    if (t.t === 'word' && /^[a-z]/i.test(t.v) && !WORDS_ONLY_OPS.test(t.v)) {
      const near = closeNames(t.v);
      throw new FilterError(`unknown field '${t.v.length > 80 ? `${t.v.slice(0, 60)}...` : t.v}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`, t.pos, t.end - t.pos);
    }
    throw new FilterError(`expected a number or a field in the arithmetic, found ${describe(t)}`, t.pos, Math.max(1, t.end - t.pos));
  }
  /** The values of an arithmetic expression, its constants in Wireshark type `width`. */
  function arithValues(a: AAtom, width: NumberWidth | undefined, lead: string): (g: (f: string) => FValue[]) => AV[] {
    const signed = width === 'i32';
    switch (a.k) {
      case 'f': {
        const ty = fieldType(a.name)!;
        const w = numberWidth(a.name);
        if (ty === 'time') throw new FilterError(`arithmetic on times (${a.name}) is not supported`, a.tok.pos, a.tok.end - a.tok.pos);
        if (ty !== 'uint' || w === 'bool') throw new FilterError(`arithmetic takes number fields; ${a.name} is ${w === 'bool' ? 'a boolean' : TYPE_NAMES[ty]}`, a.tok.pos, a.tok.end - a.tok.pos);
        fields.add(a.name);
        const s = w === 'i32';
        return (g) => g(a.name).map((x) => ({ n: Number(x), s }));
      }
      case 'call': {
        if (a.op.avals) return a.op.avals;
        const s = a.op.width === 'i32';
        return (g) => a.op.vals(g).map((x) => ({ n: Number(x), s }));
      }
      case 'c': {
        const n = parseNumber(a.tok.v)!;
        if (width !== undefined && n.mag > BigInt(WIDTH_MAX[width]))
          throw new FilterError(`'${shortText(a.tok.v)}' is too big for ${lead}, ${WIDTH_NAMES[width]} (at most ${WIDTH_MAX[width]})`, a.tok.pos, a.tok.end - a.tok.pos);
        if (width === undefined && n.mag > 0xffffffffn) throw new FilterError(`'${shortText(a.tok.v)}' is too big (at most 4294967295)`, a.tok.pos, a.tok.end - a.tok.pos);
        const one = [{ n: Number(n.mag), s: signed }];
        return () => one;
      }
      case 'neg': {
        const e = arithValues(a.e, width, lead);
        return (g) => {
          const out: AV[] = [];
          for (const x of e(g)) {
            if (!x.s && x.n > 0x7fffffff) continue;
            out.push({ n: x.n === 0 ? 0 : x.s && x.n === -0x80000000 ? x.n : -x.n, s: true });
          }
          return out;
        };
      }
      case 'bin': {
        const l = arithValues(a.l, width, lead);
        const r = arithValues(a.r, width, lead);
        const op = a.op;
        return (g) => {
          const ls = l(g);
          if (!ls.length) return ls;
          const rs = r(g);
          const out: AV[] = [];
          for (const x of ls) for (const y of rs) {
            const z = arithOne(op, x, y);
            if (z !== undefined) out.push(z);
          }
          return out;
        };
      }
    }
  }
  /** A comparison (or a test alone) whose left side is arithmetic. */
  function arithCompare(e: AExpr): Node {
    if (e.konst) throw new FilterError('arithmetic of constants alone cannot be the left side: start it with a field', firstPos(e.node), Math.max(1, e.label.length));
    const vals = arithValues(e.node, e.width, e.lead);
    const need = [...new Set(e.fields)];
    // A function alone (max(ip.ttl - 1, 0)) is there when it has a value.
    const present = e.node.k === 'call' ? (g: (f: string) => FValue[]) => vals(g).length > 0 : (g: (f: string) => FValue[]) => need.every((f) => g(f).length > 0);
    return arithRelation({ vals, present, width: e.width, lead: e.lead, label: e.label });
  }
  function arithRelation(left: { vals: (g: (f: string) => FValue[]) => AV[]; present: (g: (f: string) => FValue[]) => boolean; width: NumberWidth | undefined; lead: string; label: string }): Node {
    const r = peek();
    const relTok = r.t === 'op' && ['==', '!=', '>', '<', '>=', '<=', '===', '!==', '~='].includes(r.v) ? r.v : r.t === 'word' ? r.v.toLowerCase() : undefined;
    const quant = relTok === '===' || relTok === 'all_eq' ? 'all_eq' : relTok === '~=' || relTok === '!==' || relTok === 'any_ne' ? 'any_ne' : undefined;
    const base = quant ? '==' : relTok === 'all_ne' ? '!=' : relTok === 'any_eq' ? '==' : relTok;
    const rel = base === undefined ? undefined : (['==', '!=', '>', '<', '>=', '<='] as string[]).includes(base) ? base : REL_WORDS[base];
    if (rel === undefined || rel === 'contains' || rel === 'matches') {
      if (relTok === 'in' || rel === 'contains' || rel === 'matches') throw new FilterError(`'${text.slice(r.pos, r.end)}' does not take arithmetic on its left: compare it with ==, !=, <, >, <= or >=`, r.pos, r.end - r.pos);
      if (r.t === 'word' && !isWord(r, 'and', 'or', 'not')) throw new FilterError(`expected an operator (==, !=, <, >, <=, >=) after ${left.label}, found ${describe(r)}`, r.pos, r.end - r.pos);
      // Alone, as tshark 4.0 tests it: a value that is not zero.
      return (g) => left.vals(g).some((v) => v.n !== 0);
    }
    k++;
    const re = arith();
    const rvals = re.konst ? arithValues(re.node, left.width, left.lead) : arithValues(re.node, re.width, re.lead);
    const rneed = [...new Set(re.fields)];
    // tshark reads a value of the left's unsigned type against a negative one as no relation.
    const holds = (a: AV, b: AV) => {
      if (!a.s && b.n < 0) return false;
      return rel === '==' ? a.n === b.n : rel === '>' ? a.n > b.n : rel === '<' ? a.n < b.n : rel === '>=' ? a.n >= b.n : rel === '<=' ? a.n <= b.n : a.n !== b.n;
    };
    const eq = (a: AV, b: AV) => (a.s || b.n >= 0) && a.n === b.n;
    const ne = (a: AV, b: AV) => (a.s || b.n >= 0) && a.n !== b.n;
    return (g) => {
      if (!left.present(g)) return false;
      if (rneed.some((f) => g(f).length === 0)) return false;
      const as = left.vals(g);
      const bs = rvals(g);
      if (rel === '!=') return !as.some((a) => bs.some((b) => eq(a, b)));
      if (quant === 'any_ne') return as.some((a) => bs.some((b) => ne(a, b)));
      if (quant === 'all_eq') return as.length > 0 && bs.length > 0 && as.every((a) => bs.every((b) => eq(a, b)));
      return as.some((a) => bs.some((b) => holds(a, b)));
    };
  }

  /** `[i:n]`, `[i-j]`, `[i]`, `[:n]`, `[i:]` after a field (negative i from the end): its bytes there. */
  function slice(field: string, type: FieldType): (x: FValue) => FValue | undefined {
    const open = peek();
    k++;
    const spec = peek();
    const close = toks[k + 1];
    if (spec.t !== 'word' || close?.v !== ']') throw new FilterError(`expected a range such as [0:2], [2-3] or [0] after ${field}`, open.pos, Math.max(1, (close ?? spec).end - open.pos));
    k += 2;
    if (type !== 'bytes' && type !== 'mac' && type !== 'ipv4' && type !== 'ipv6')
      throw new FilterError(`${field} is ${TYPE_NAMES[type]} and cannot be sliced`, open.pos, close.end - open.pos);
    const m = /^(-?\d+)?:(\d+)?$/.exec(spec.v) ?? /^(-?\d+)-(-?\d+)$/.exec(spec.v) ?? /^(-?\d+)$/.exec(spec.v);
    if (!m) throw new FilterError(`'${spec.v}' is not a range (offset:length, start-end, or one offset)`, spec.pos, spec.end - spec.pos);
    const colon = spec.v.includes(':');
    const dash = !colon && m[2] !== undefined;
    const start = Number(m[1] ?? 0);
    return (x) => {
      const b = typeof x === 'string' && type === 'bytes' ? x : toBytes(type, x);
      const from = start < 0 ? b.length + start : start;
      if (from < 0 || from > b.length) return undefined;
      const end = colon ? (m[2] === undefined ? b.length : from + Number(m[2])) : dash ? (Number(m[2]) < 0 ? b.length + Number(m[2]) : Number(m[2])) + 1 : from + 1;
      // A range past the end of the field: no value (Wireshark's slice does not exist); so is one over bytes the
      // capture cut from a protocol's item.
      if (end > b.length || end <= from) return undefined;
      const got = b.slice(from, end);
      return got.includes(NOT_CAPTURED) ? undefined : got;
    };
  }

  const root = or();
  const rest = peek();
  if (rest.t !== 'eof') {
    const hint = rest.t === 'word' || rest.t === 'str' ? ': join conditions with && or ||' : '';
    throw new FilterError(`unexpected ${describe(rest)}${hint}`, rest.pos, rest.end - rest.pos);
  }
  const named = [...fields];
  const needsFrame = named.some((f) => !RESULT_FIELDS.has(f));
  const needsTree = named.some((f) => !FIELDS[f]);
  // The fields the filter names: the only ones worth keeping from a frame's dissection.
  const wanted = new Set(named);
  // tcp.seq and tcp.ack are relative to the stream (tshark's default): every frame tested or observed updates the
  // streams' base numbers, whatever the rest of the filter decides, so each is dissected at once.
  const relative = wanted.has('tcp.seq') || wanted.has('tcp.ack') || TcpRelative.SACK.some((f) => wanted.has(f)) ? new TcpRelative() : undefined;
  const protocols = wanted.has('frame.protocols');
  const raw = named.some((f) => f.startsWith(' bytes ') || f.startsWith(' tvb '));
  if (relative) for (const f of TcpRelative.FIELDS) wanted.add(f);
  return {
    text,
    fields: named,
    needsFrame,
    observe(frame: Uint8Array, cut = false): void {
      if (relative) relative.apply(dissectFields(frame, wanted, cut));
    },
    test(p: PacketFacts): boolean {
      return root(getter(p));
    },
    values(p: PacketFacts, field: string): FValue[] {
      return getter(p)(field);
    },
  };
  function getter(p: PacketFacts): (f: string) => FValue[] {
    let dissected: Map<string, Value[]> | undefined;
    if (relative) relative.apply((dissected = dissectFields(p.frame, wanted, p.capLen < p.wireLen)));
    let tree: Map<string, Value[]> | undefined;
    return (f: string): FValue[] => {
      const r = resultField(p, f);
      if (r !== undefined) return r;
      if (needsTree && !FIELDS[f]) {
        tree ??= treeFields(p.frame, protocols, p.capLen < p.wireLen, raw);
        if (relative && TcpRelative.SACK.includes(f)) return relative.sack(tree.get(f)) ?? [];
        return tree.get(f) ?? [];
      }
      dissected ??= dissectFields(p.frame, wanted, p.capLen < p.wireLen);
      return dissected.get(f) ?? [];
    };
  }
}

/**
 * A field of no name a display filter can give: set on a TCP header whose numbers tshark does not follow (the one an
 * ICMP error quotes, one in a first fragment, one the IP packet's stated length cuts), for TcpRelative.
 */
const TCP_QUOTED = ' tcp.quoted';

/** The protocols whose bytes a filter can compare, slice or search (`tcp[0:2] == 00:50`, `udp contains "x"`). */
// (Checked against tshark 4.0 over the shared captures and random stacks; udp's item is its 8-byte header.)
export const PROTOCOL_BYTES = new Set(['eth', 'vlan', 'arp', 'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'data']);
const CONTAINS_ONLY = new Set<string>([]);

/**
 * A name no filter can give for a protocol's bytes: its header (`all` false: slices and comparisons), or every byte
 * from its start its dissector was given (contains and matches).
 */
/** A byte of a protocol's item the capture does not hold (not a latin1 character: no byte string equals it). */
const NOT_CAPTURED = '\u0100';
function protocolKey(proto: string, all: boolean): string {
  return `${all ? ' tvb ' : ' bytes '}${proto}`;
}
/** A segment of a bogus header length (under 20) has no tcp.flags, but its flags still set the stream's base, as in tshark. */
const TCP_BOGUS_FLAGS = ' tcp.bogus_flags';

/** A TCP stream's base numbers, one per direction (`a`: from the lower address and port, as TcpRelative keys it). */
interface TcpStream {
  a?: number;
  b?: number;
}

/**
 * tshark's relative sequence and acknowledgment numbers (tcp.relative_sequence_numbers, on by default): per TCP stream
 * and direction a base, the sequence number of the first segment seen that way (less one unless it is a SYN, so that
 * a capture begun mid-stream counts from 1), or, before any, the acknowledgment number less one of the first segment
 * with ACK seen the other way. tcp.seq is the sequence number less its direction's base; tcp.ack, on a segment with
 * ACK, the acknowledgment number less the other direction's base (without ACK, the number as sent); both modulo 2^32.
 * A SYN without ACK whose sequence number is not its direction's base starts a new stream (a port reused). Streams are
 * keyed by the innermost addresses and ports. Bounded: the table is emptied past MAX_STREAMS streams.
 */
class TcpRelative {
  static readonly FIELDS = [TCP_QUOTED, TCP_BOGUS_FLAGS, 'tcp.seq', 'tcp.ack', 'tcp.flags', 'tcp.srcport', 'tcp.dstport', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst'];
  static readonly MAX_STREAMS = 1_000_000;
  /** The SACK option's edges, relative to the other direction's base as tshark's are (tree fields). */
  static readonly SACK = ['tcp.options.sack_le', 'tcp.options.sack_re'];
  private readonly streams = new Map<string, TcpStream>();
  /** The other direction's base after the segment `apply` saw last (undefined: none known, or not followed). */
  reverseBase: number | undefined;

  /** The SACK edges of the segment `apply` saw last as tshark shows them: less the other direction's base, if known. */
  sack(values: Value[] | undefined): Value[] | undefined {
    const base = this.reverseBase;
    return base === undefined || values === undefined ? values : values.map((v) => (Number(v) - base) >>> 0);
  }

  /** Rewrites `fields`' tcp.seq and tcp.ack (a segment's numbers as sent) into the relative numbers. */
  apply(fields: Map<string, Value[]>): void {
    const seqs = fields.get('tcp.seq');
    this.reverseBase = undefined;
    // The TCP header an ICMP error quotes keeps its numbers as sent (tshark follows no stream there).
    if (seqs === undefined || seqs.length !== 1 || fields.has(TCP_QUOTED)) return;
    const last = (k: string) => {
      const l = fields.get(k);
      return l === undefined ? '' : String(l[l.length - 1]);
    };
    const src = `${last('ip.src')}/${last('ipv6.src')}:${last('tcp.srcport')}`;
    const dst = `${last('ip.dst')}/${last('ipv6.dst')}:${last('tcp.dstport')}`;
    const fromA = src <= dst;
    const key = fromA ? `${src}>${dst}` : `${dst}>${src}`;
    const flags = Number(fields.get('tcp.flags')?.[0] ?? fields.get(TCP_BOGUS_FLAGS)?.[0] ?? 0);
    const syn = (flags & 0x12) === 0x02;
    const ack = (flags & 0x10) !== 0;
    const seq = Number(seqs[0]);
    let st = this.streams.get(key);
    if (st === undefined) {
      if (this.streams.size >= TcpRelative.MAX_STREAMS) this.streams.clear();
      this.streams.set(key, (st = {}));
    } else if (syn && (fromA ? st.a : st.b) !== undefined && (fromA ? st.a : st.b) !== seq) {
      st.a = st.b = undefined;
    }
    let base = fromA ? st.a : st.b;
    // A SYN (with ACK too) sets its direction's base again.
    if (base === undefined || (flags & 0x02) !== 0) {
      base = (flags & 0x02) !== 0 ? seq : (seq - 1) >>> 0;
      if (fromA) st.a = base;
      else st.b = base;
    }
    seqs[0] = (seq - base) >>> 0;
    const acks = fields.get('tcp.ack');
    this.reverseBase = fromA ? st.b : st.a;
    if (!ack) return;
    if (acks === undefined || acks.length !== 1) return;
    const a = Number(acks[0]);
    let other = fromA ? st.b : st.a;
    if (other === undefined) {
      other = (a - 1) >>> 0;
      if (fromA) st.b = other;
      else st.a = other;
    }
    this.reverseBase = other;
    acks[0] = (a - other) >>> 0;
  }
}

/** A record's time as the first packet's or the one before a packet (tshark: 0 for a record without one). */
export function recordTime(pkt: { tsNs: bigint; untimed?: true }): bigint {
  return pkt.untimed ? 0n : pkt.tsNs;
}

/** Whether a filter names a field of the capture record itself (frame.time*, frame.interface_id, sll.*). */
export function namesRecordFields(f: Filter): boolean {
  return f.fields.some((n) => n.startsWith('frame.time') || n === 'frame.interface_id' || n === 'sll' || n.startsWith('sll.'));
}

/**
 * The facts of a capture record a filter of `namesRecordFields` needs: its time, the first packet's and the one
 * before's (any record of the capture, run or not), its pcapng interface, its cooked header.
 */
export function recordFacts(
  pkt: { tsNs: bigint; interfaceId: number; linkType: number; linkHeader?: Uint8Array; untimed?: true },
  pcapng: boolean,
  firstTsNs: bigint | undefined,
  prevTsNs: bigint | undefined,
): Pick<PacketFacts, 'tsNs' | 'firstTsNs' | 'prevTsNs' | 'interfaceId' | 'linkType' | 'linkHeader'> {
  // A record without a timestamp (a pcapng simple packet block) has no time fields, as in Wireshark.
  return { ...(pkt.untimed ? {} : { tsNs: pkt.tsNs }), firstTsNs, prevTsNs, ...(pcapng ? { interfaceId: pkt.interfaceId } : {}), linkType: pkt.linkType, ...(pkt.linkHeader ? { linkHeader: pkt.linkHeader } : {}) };
}

/** Parse only, for "errors as you type": undefined when the filter is valid. */
export function filterError(text: string): FilterError | undefined {
  try {
    compileFilter(text);
    return undefined;
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
}

/** Distance between two names in single-character edits (insert, delete, replace, swap of neighbours). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Names close to an unknown one, closest first (at most 6): a few edits away (`ip.sorce`, `tcp.dstprot`), then the
 * same field under another protocol (`svlan.id` -> `vlan.id`, `ieee8021ad.id`), or, failing those, the fields of the
 * same protocol.
 */
export function closeNames(name: string): string[] {
  const lower = name.toLowerCase();
  const all = fieldNames();
  const limit = Math.max(2, Math.floor(lower.length / 4));
  const last = lower.split('.').slice(1).join('.');
  const scored = all
    .map((f) => {
      // The distance is at least the difference in length: no table for a name far longer than every field.
      const d = Math.abs(lower.length - f.length) <= limit ? editDistance(lower, f) : Infinity;
      const sameTail = last !== '' && f.split('.').slice(1).join('.') === last;
      // A name cut short (`tcp.options.mss` for tcp.options.mss_val) is close whatever its length.
      return { f, d: d <= limit ? d : f.startsWith(lower) ? limit + 0.5 : sameTail ? limit + 1 : Infinity };
    })
    .filter((x) => Number.isFinite(x.d))
    .sort((x, y) => x.d - y.d || x.f.localeCompare(y.f));
  if (scored.length) return scored.slice(0, 6).map((x) => x.f);
  const proto = lower.split('.')[0]!;
  return all.filter((f) => f === proto || f.startsWith(`${proto}.`)).slice(0, 6);
}

/** A tree value as the filter compares it; undefined when it is not one of `type` (a named value with no number). */
function treeValue(type: FieldType, v: string): Value | undefined {
  switch (type) {
    case 'none':
      return 1;
    case 'string':
      return v;
    case 'ipv4':
      return parseIpv4(v);
    case 'ipv6':
      return parseIpv6(v);
    case 'mac':
      return parseMac(v);
    default: {
      const m = /^(\d+) bytes\b/.exec(v) ?? /\((0x[0-9a-f]+|\d+)\)$/i.exec(v) ?? /^(0x[0-9a-f]+|\d+)\b(?![.:])/i.exec(v);
      return m ? Number(m[1]) : undefined;
    }
  }
}

/**
 * The fields of the layer tree by key, every occurrence (layer keys present as 1), for the names of TREE_FIELDS;
 * frame.protocols only when `protocols` (a filter naming it).
 */
export function treeFields(frame: Uint8Array, protocols = true, cut = false, raw = false): Map<string, Value[]> {
  const out = new Map<string, Value[]>();
  const add = (k: string, v: Value | undefined) => {
    if (v === undefined) return;
    const l = out.get(k);
    if (l) l.push(v);
    else out.set(k, [v]);
  };
  const walk = (fields: TreeField[]) => {
    for (const f of fields) {
      // A line whose child repeats its key (an IPv4 option's line and its Type) is one occurrence, as in tshark.
      const type = f.children?.some((c) => c.key === f.key) ? undefined : TREE_FIELDS[f.key];
      if (type === 'bytes') add(f.key, latin1(frame, f.offset, f.length));
      else if (type) add(f.key, treeValue(type, f.value));
      // Wireshark gives the IPv6 header's version field the name ip.version as well (`ip.version == 6` selects IPv6).
      if (f.key === 'ipv6.version') add('ip.version', treeValue('uint', f.value));
      // The type after an 802.1ad tag, by the name filters had for it before (Wireshark's is ieee8021ah.etype).
      if (f.key === 'ieee8021ah.etype') add('ieee8021ad.etype', treeValue('uint', f.value));
      // Wireshark 4's names for the fragment header's fields (its offset in 8-byte units, as on the wire).
      if (f.key === 'ipv6.fragment') {
        for (const c of f.children ?? []) {
          const v = treeValue('uint', c.value);
          if (v === undefined) continue;
          if (c.key === 'ipv6.ext.nxt') add('ipv6.fraghdr.nxt', v);
          else if (c.key === 'ipv6.fragment.offset') add('ipv6.fraghdr.offset', Number(v) / 8);
          else if (c.key === 'ipv6.fragment.more') add('ipv6.fraghdr.more', v);
          else if (c.key === 'ipv6.fragment.id') add('ipv6.fraghdr.ident', v);
        }
      }
      if (f.children) walk(f.children);
    }
  };
  // The end of the innermost IP packet by its stated length (tcp.len counts to there, as Wireshark's does).
  // Whether the innermost IP header is a fragment's (Wireshark gives no tcp.len there); whether what follows is the
  // packet an ICMP error quotes (no payload fields in a quoted fragment).
  let ipEnd: number | undefined;
  let fragment = false;
  let quoted = false;
  const first = (fs: TreeField[], key: string): TreeField | undefined => {
    for (const f of fs) {
      if (f.key === key) return f;
      const c = f.children && first(f.children, key);
      if (c) return c;
    }
    return undefined;
  };
  const num = (f: TreeField | undefined) => {
    const n = f ? treeValue('uint', f.value) : undefined;
    return typeof n === 'number' ? n : undefined;
  };
  // The ports of the last TCP or UDP header when a dissector of tshark's takes its payload by port (not `data`).
  let claimed = false;
  const layers = dissectTree(frame);
  if (protocols && layers.length > 0) add('frame.protocols', frameProtocols(layers));
  // Where the bytes a dissector is given end: the frame's end, then the IP packet's by its stated length, then the
  // UDP datagram's (for what UDP carries; tshark's udp itself has the IP packet's).
  let limit = frame.length;
  for (const l of layers) {
    if (l.key === 'data' && claimed) continue;
    claimed = false;
    if (TREE_FIELDS[l.key] === 'none') add(l.key, 1);
    if (raw && PROTOCOL_BYTES.has(l.key)) {
      let end = limit;
      if (l.key === 'ip' || l.key === 'ipv6') {
        const n = num(first(l.fields, l.key === 'ip' ? 'ip.len' : 'ipv6.plen'));
        const stated = n === undefined ? undefined : l.key === 'ip' ? n : 40 + n;
        if (stated !== undefined && stated >= l.length && stated > 0) end = limit = Math.min(limit, l.offset + stated);
      } else if (l.key === 'arp' || l.key === 'data') end = l.offset + l.length;
      // ICMP's and ICMPv6's item covers the message, a quoted packet included; ARP's is the bytes captured (tshark 4.0,
      // from 2 bytes on).
      let item = l.key === 'icmp' || l.key === 'icmpv6' ? Math.max(l.length, end - l.offset) : l.length;
      // IPv6's item covers its extension headers, except in a fragment after the first: tshark (not reassembling)
      // stops at the fragment header and leaves the item its fixed 40 bytes.
      if (l.key === 'ipv6' && item > 40) {
        const fh = first(l.fields, 'ipv6.fragment');
        if (fh && num(first(fh.children ?? [], 'ipv6.fragment.offset'))) item = 40;
      }
      if (l.key === 'ip' && l.offset < frame.length) {
        // tshark's ip item is the header length the header states (IHL x 4), whatever its version or the bytes
        // captured: len(ip) is that, and a slice reaching a byte the capture cut (`ip[-1:]` of a cut header) has no
        // value. Those bytes are NOT_CAPTURED here, which no byte equals.
        const ihl = (frame[l.offset]! & 15) * 4;
        const have = Math.min(ihl, frame.length - l.offset);
        add(protocolKey(l.key, false), latin1(frame, l.offset, have) + NOT_CAPTURED.repeat(ihl - have));
        add(protocolKey(l.key, true), latin1(frame, l.offset, Math.max(l.length, end - l.offset)));
      } else if (l.key === 'vlan') {
        // tshark's vlan item is 4 bytes from its TCI on (none before 2 bytes of it): bytes cut off have no value.
        if (l.length >= 2) {
          add(protocolKey(l.key, false), latin1(frame, l.offset, Math.min(4, l.length)) + NOT_CAPTURED.repeat(Math.max(0, 4 - l.length)));
          add(protocolKey(l.key, true), latin1(frame, l.offset, Math.max(l.length, end - l.offset)));
        }
      } else if (l.key !== 'arp' || l.length >= 2) {
        add(protocolKey(l.key, false), latin1(frame, l.offset, item));
        add(protocolKey(l.key, true), latin1(frame, l.offset, Math.max(l.length, end - l.offset)));
      }
      if (l.key === 'udp') {
        const ul = num(first(l.fields, 'udp.length'));
        if (ul !== undefined && ul >= 8) limit = Math.min(limit, l.offset + ul);
      }
    }
    walk(l.fields);
    if (l.key === 'ip' || l.key === 'ipv6') {
      const n = num(first(l.fields, l.key === 'ip' ? 'ip.len' : 'ipv6.plen'));
      ipEnd = n !== undefined ? l.offset + n + (l.key === 'ipv6' ? 40 : 0) : undefined;
      // An IPv4 header says whether its packet is a fragment; an IPv6 header inside a fragment leaves it one (as
      // pinfo->fragmented: IPv4 sets it, IPv6 only ever raises it).
      if (l.key === 'ip') fragment = Boolean(num(first(l.fields, 'ip.flags.mf')) || num(first(l.fields, 'ip.frag_offset')));
      else {
        // A fragment header with its offset and M flag 0 (an atomic fragment, RFC 6946) makes no fragment to tshark.
        const fh = first(l.fields, 'ipv6.fragment');
        if (fh && (num(first(fh.children ?? [], 'ipv6.fragment.more')) || num(first(fh.children ?? [], 'ipv6.fragment.offset')))) fragment = true;
      }
    } else if ((l.key === 'tcp' || l.key === 'udp') && !l.truncated) {
      // The segment's or datagram's payload as captured, to the IP packet's stated end (tcp.payload, udp.payload:
      // whatever protocol Wireshark then finds in it), and TCP's payload length by the IP header's lengths.
      const start = l.offset + l.length;
      let end = Math.min(frame.length, ipEnd ?? frame.length);
      if (l.key === 'udp') {
        const ul = num(first(l.fields, 'udp.length'));
        if (ul !== undefined && ul >= 8) end = Math.min(end, l.offset + ul);
      }
      if (quoted && fragment) continue;
      // A reset's payload is its reset cause to Wireshark, not tcp.payload.
      const rst = l.key === 'tcp' && (num(first(l.fields, 'tcp.flags')) ?? 0) & 0x04;
      if (end > start && !rst) add(`${l.key}.payload`, latin1(frame, start, end - start));
      claimed = Boolean(rst) || tsharkClaimsPort(l.key === 'tcp', num(first(l.fields, `${l.key}.srcport`)) ?? 0, num(first(l.fields, `${l.key}.dstport`)) ?? 0);
      // Not in the packet an ICMP error quotes (tshark gives a quoted header no tcp.len). To the IP packet's stated end
      // where the snap length cut the frame, else no further than the frame (a frame shorter than its IP header says).
      if (l.key === 'tcp' && !fragment && !quoted && ipEnd !== undefined && ipEnd >= start) add('tcp.len', (cut ? ipEnd : Math.min(ipEnd, frame.length)) - start);
    } else if (l.key === 'tcp' && !quoted && !fragment && ipEnd !== undefined) {
      // A bogus header length (under 20): tshark's tcp.len is what follows that many header bytes, to the IP packet's
      // stated end or the end of the frame; a header the capture cuts: what follows the header by its length.
      const hl = num(first(l.fields, 'tcp.hdr_len'));
      if (hl !== undefined && hl < 20) add('tcp.len', Math.max(0, Math.min(ipEnd, frame.length) - (l.offset + hl)));
      // A header the snap length cuts (inside its options, or before): what follows the whole header to the IP
      // packet's end (none where the frame ends as sent, shorter than its IP header says).
      else if (hl !== undefined && cut && ipEnd >= l.offset + hl) add('tcp.len', ipEnd - (l.offset + hl));
    } else if (l.key === 'data') add('data.len', l.length);
    else if (l.key === 'icmp' || l.key === 'icmpv6') quoted = true;
  }
  return out;
}

/** A header's protocol whose last field says by EtherType what follows (tshark lists 'ethertype' after it). */
const BY_ETHERTYPE = new Set(['eth.type', 'vlan.etype', 'ieee8021ad.etype', 'ieee8021ah.etype']);

/**
 * tshark's frame.protocols for the layer tree: each protocol's name from the outside in, 'ethertype' after a header
 * that hands on by EtherType (Ethernet II, an 802.1Q or 802.1ad tag: not an 802.3 length), one 'mpls' for a label
 * stack, IPv6's extension headers by their names (ipv6.hopopts, ipv6.routing, ipv6.fraghdr, ipv6.dstopts, ah), IGMP
 * twice (tshark 4.0 adds it so), a TCP or UDP payload on a port tshark dissects by the name of that dissector
 * (net/tshark-ports.ts: the lower port's first; nothing for a TCP reset's payload), and no trailer, padding or FCS.
 * Not modelled (README): a dissector refusing a payload on its own port, heuristic dissectors (but DNS on UDP),
 * retransmissions.
 */
function frameProtocols(layers: TreeLayer[]): string {
  const out: string[] = [];
  let port: string | undefined;
  let reset = false;
  for (const l of layers) {
    if (l.key.includes('.')) continue; // eth.trailer, eth.padding, vlan.trailer, ...: fields, not protocols
    // A reset's payload is its reset cause (no protocol); a payload on a port tshark dissects is that dissector's.
    if (l.key === 'data' && (reset || port !== undefined)) {
      if (!reset) out.push(port!);
      port = undefined;
      reset = false;
      continue;
    }
    // The DNS layer on a port tshark gives another dissector first (mDNS on 5353, the lower port's): that name.
    const name = l.key === 'dns' && port !== undefined ? port : l.key;
    port = undefined;
    reset = false;
    if (l.key === 'mpls' && out[out.length - 1] === 'mpls') continue;
    out.push(name);
    if (l.key === 'igmp') out.push('igmp');
    if (l.key === 'ipv6') {
      for (const f of l.fields) {
        if (f.key === 'ipv6.fragment') out.push('ipv6.fraghdr');
        else if (f.key === 'ipv6.hopopts' || f.key === 'ipv6.routing' || f.key === 'ipv6.dstopts' || f.key === 'ah') out.push(f.key);
      }
      if (l.cutHeader) out.push(l.cutHeader);
    }
    if (l.key === 'eth' || l.key === 'vlan' || l.key === 'ieee8021ad') {
      if (l.fields.some((f) => BY_ETHERTYPE.has(f.key))) out.push('ethertype');
    }
    if ((l.key === 'tcp' || l.key === 'udp') && !l.truncated) {
      const n = (k: string) => {
        const f = l.fields.find((x) => x.key === k);
        const v = f ? treeValue('uint', f.value) : undefined;
        return typeof v === 'number' ? v : 0;
      };
      port = tsharkPortProtocol(l.key === 'tcp', n(`${l.key}.srcport`), n(`${l.key}.dstport`));
      reset = l.key === 'tcp' && (n('tcp.flags') & 0x04) !== 0;
    }
  }
  return out.join(':');
}

/** A value of a field as its bytes (one character per byte), for a slice. */
function toBytes(type: FieldType, x: FValue): string {
  if (type === 'ipv4') return String.fromCharCode((Number(x) >>> 24) & 255, (Number(x) >>> 16) & 255, (Number(x) >>> 8) & 255, Number(x) & 255);
  if (type === 'mac') return Buffer.from(String(x).replace(/:/g, ''), 'hex').toString('latin1');
  if (type === 'ipv6') return Buffer.from(String(x), 'hex').toString('latin1');
  return String(x);
}

/** The frame's bytes [o, o + n) as a filter compares bytes: one character per byte. */
function latin1(frame: Uint8Array, o: number, n: number): string {
  return Buffer.from(frame.buffer, frame.byteOffset + o, Math.max(0, Math.min(n, frame.length - o))).toString('latin1');
}

function resultField(p: PacketFacts, f: string): FValue[] | undefined {
  const one = (v: Value | undefined) => (v === undefined ? [] : [v]);
  const colon = p.outcome?.indexOf(':') ?? -1;
  switch (f) {
    case 'frame': return [1];
    case 'frame.raw': return [latin1(p.frame, 0, p.frame.length)];
    case 'frame.number': return [p.index];
    case 'frame.len': return [p.wireLen];
    case 'frame.cap_len': return [p.capLen];
    case 'frame.interface_id': return p.interfaceId === undefined ? [] : [p.interfaceId];
    case 'frame.time': case 'frame.time_epoch': return p.tsNs === undefined ? [] : [p.tsNs];
    case 'frame.time_relative': return p.tsNs === undefined || p.firstTsNs === undefined ? [] : [p.tsNs - p.firstTsNs];
    case 'frame.time_delta': return p.tsNs === undefined ? [] : [p.tsNs - (p.prevTsNs ?? p.tsNs)];
    case 'action': return [p.action];
    case 'retval': return [p.retval];
    case 'outcome': return one(p.outcome);
    case 'outcome.kind': return one(p.outcome === undefined ? undefined : colon < 0 ? p.outcome : p.outcome.slice(0, colon));
    case 'outcome.reason': return one(p.outcome === undefined || colon < 0 ? undefined : p.outcome.slice(colon + 1).trim());
    case 'fault': return p.fault ? [1] : [];
    case 'fault.kind': return one(p.fault);
    case 'exit.line': return p.line ? [p.line] : [];
    case 'exit.file': return one(p.file || undefined);
    case 'driver.path': return one(p.path);
    case 'redirect.target': return one(p.target);
    case 'queue': return [p.queue ?? 0];
    case 'modified': return p.modified ? [1] : [];
    case 'printk': return p.printk ?? [];
    case 'summary': return p.summary ? [p.summary()] : [];
    default: return f === 'sll' || f.startsWith('sll.') ? sllField(p, f) : undefined;
  }
}

/**
 * A field of the Linux cooked header (v1: 16 bytes, v2: 20) the packet was captured with, as Wireshark's SLL
 * dissector gives it: the address as sll.src.eth (6 bytes), sll.src.ipv4 (4) or sll.src.other (up to 8), the rest of
 * the 8-byte field as sll.unused; the protocol as sll.ltype (1536 or below), sll.gretype (address type 778, GRE) or
 * sll.etype. A netlink capture (address type 824) has none of them.
 */
function sllField(p: PacketFacts, f: string): FValue[] {
  const h = p.linkHeader;
  const v2 = p.linkType === 276;
  if (!h || (p.linkType !== 113 && !v2) || h.length < (v2 ? 20 : 16)) return [];
  const u16 = (o: number) => (h[o]! << 8) | h[o + 1]!;
  const hatype = u16(v2 ? 8 : 2);
  if (hatype === 824) return [];
  const halen = v2 ? h[11]! : u16(4);
  const addr = v2 ? 12 : 6;
  const proto = u16(v2 ? 0 : 14);
  switch (f) {
    case 'sll': return [1];
    case 'sll.pkttype': return [v2 ? h[10]! : u16(0)];
    case 'sll.hatype': return [hatype];
    case 'sll.halen': return [halen];
    case 'sll.ifindex': return v2 ? [((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0] : [];
    case 'sll.src.eth': return halen === 6 ? [Array.from(h.subarray(addr, addr + 6), (b) => b.toString(16).padStart(2, '0')).join(':')] : [];
    case 'sll.src.ipv4': return halen === 4 ? [((h[addr]! << 24) | (h[addr + 1]! << 16) | (h[addr + 2]! << 8) | h[addr + 3]!) >>> 0] : [];
    case 'sll.src.other': return halen !== 0 && halen !== 4 && halen !== 6 ? [latin1(h, addr, Math.min(halen, 8))] : [];
    case 'sll.unused': return halen < 8 ? [latin1(h, addr + halen, 8 - halen)] : [];
    case 'sll.ltype': return proto <= 1536 ? [proto] : [];
    case 'sll.gretype': return proto > 1536 && hatype === 778 ? [proto] : [];
    case 'sll.etype': return proto > 1536 && hatype !== 778 ? [proto] : [];
    default: return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The frame's fields, Wireshark's names; inner frames of VXLAN add their own occurrences.

export function dissectFields(frame: Uint8Array, wanted?: ReadonlySet<string>, cut = false): Map<string, Value[]> {
  const out = new Map<string, Value[]>();
  wantedNow = wanted;
  cutNow = cut;
  // `wanted`: only these fields are kept (a display filter's), the others passed over.
  const add = (k: string, v: Value) => {
    if (wanted !== undefined && !wanted.has(k)) return;
    const l = out.get(k);
    if (l) l.push(v);
    else out.set(k, [v]);
  };
  quotedNow = false;
  fragmentNow = false;
  ether(frame, add, 0);
  return out;
}

type Add = (k: string, v: Value) => void;

/**
 * Whether the dissection in progress is inside the packet an ICMP error quotes: as in Wireshark (and dissect-tree),
 * that packet ends where the capture does, and a header with no byte after it is followed by no protocol.
 */
let quotedNow = false;

/**
 * Whether an IP header of the dissection in progress is a first fragment (IPv4 MF, an IPv6 fragment header's M; a
 * later fragment carries no transport header): tshark (pinfo->fragmented, kept for the packets inside) follows no TCP
 * stream there, its tcp.seq/ack are the numbers as sent, and the segment moves no stream's base. An IPv6 atomic
 * fragment (offset 0, M 0) is not one.
 */
let fragmentNow = false;

/** Whether the frame being dissected was captured shorter than it was on the wire (dissectFields' `cut`). */
let cutNow = false;

/** The fields the dissection in progress keeps (dissectFields' `wanted`; undefined: all of them). */
let wantedNow: ReadonlySet<string> | undefined;
/** Whether any of these fields is kept: addresses are formatted only for a dissection that keeps them. */
const needs = (a: string, b: string, c: string): boolean => wantedNow === undefined || wantedNow.has(a) || wantedNow.has(b) || wantedNow.has(c);
/** Two lower-case hex digits of each byte value. */
const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/** The bytes [o, o + n) that the frame holds, two hex digits each, `sep` between them. */
function hexBytes(f: Uint8Array, o: number, n: number, sep: string): string {
  const end = Math.min(o + n, f.length);
  let s = '';
  for (let i = o; i < end; i++) s += i > o ? sep + HEX2[f[i]!]! : HEX2[f[i]!]!;
  return s;
}
const mac = (f: Uint8Array, o: number) => hexBytes(f, o, 6, ':');
const u16 = (f: Uint8Array, o: number) => (f[o]! << 8) | f[o + 1]!;
const u32 = (f: Uint8Array, o: number) => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
const hex = (f: Uint8Array, o: number, n: number) => hexBytes(f, o, n, '');

function ether(f: Uint8Array, add: Add, depth: number): void {
  if (f.length < 14 || depth > 3) return;
  add('eth', 1);
  if (needs('eth.dst', 'eth.src', 'eth.addr')) {
    const dst = mac(f, 0);
    const src = mac(f, 6);
    add('eth.dst', dst);
    add('eth.src', src);
    add('eth.addr', dst);
    add('eth.addr', src);
  }
  let type = u16(f, 12);
  let off = 14;
  let tpid = 0;
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 2 <= f.length) {
    const tci = u16(f, off);
    add('vlan', 1);
    add('vlan.id', tci & 0xfff);
    add('vlan.priority', tci >> 13);
    // A tag cut after its TCI: its fields, nothing after it (tshark).
    if (off + 4 > f.length) break;
    tpid = type;
    type = u16(f, off + 2);
    off += 4;
  }
  // Below 0x0600 the field is an 802.3 length (Wireshark's eth.len), not a type; after an 802.1ad tag Wireshark
  // dissects no LLC there (its bytes are data), as the packet view's tree.
  if (type >= 0x0600) add('eth.type', type);
  else if (tpid === 0x88a8) return;
  byType(f, type, off, add, depth);
}

/** What follows an EtherType (or an 802.3 length: LLC). */
function byType(f: Uint8Array, type: number, off: number, add: Add, depth: number): void {
  if (type === 0x0800) ipv4(f, off, add, depth);
  else if (type === 0x86dd) ipv6(f, off, add, depth);
  else if (type === 0x0806 && off + 28 > f.length) {
    // Cut short: ARP to Wireshark all the same from 2 bytes on (its hardware type), with the opcode when it was captured.
    if (off + 2 <= f.length) add('arp', 1);
    if (off + 8 <= f.length) add('arp.opcode', u16(f, off + 6));
  } else if (type === 0x0806) {
    add('arp', 1);
    add('arp.opcode', u16(f, off + 6));
    if (u16(f, off + 2) === 0x0800) {
      add('arp.src.proto_ipv4', u32(f, off + 14));
      add('arp.dst.proto_ipv4', u32(f, off + 24));
    }
  } else rareType(f, type, off, add, depth);
}

/** An MPLS label stack at `o` (after an EtherType, or in UDP port 6635), and the IP packet after it. */
function mpls(f: Uint8Array, o: number, add: Add, depth: number): void {
  add('mpls', 1);
  for (let n = 0; n < 16 && o + 4 <= f.length; n++) {
    const w = u32(f, o);
    add('mpls.label', w >>> 12);
    add('mpls.exp', (w >> 9) & 7);
    add('mpls.bottom', (w >> 8) & 1);
    add('mpls.ttl', w & 0xff);
    o += 4;
    if (w & 0x100) {
      // After the bottom label: IPv4 or IPv6 by the version nibble, as Wireshark guesses.
      if (o < f.length && f[o]! >> 4 === 4) ipv4(f, o, add, depth);
      else if (o < f.length && f[o]! >> 4 === 6) ipv6(f, o, add, depth);
      return;
    }
  }
}

/** MPLS, PPPoE, LLC/SNAP, LLDP, as Wireshark dissects them (their IP payloads too): off the common path. */
function rareType(f: Uint8Array, type: number, off: number, add: Add, depth: number): void {
  if ((type === 0x8847 || type === 0x8848) && off + 4 <= f.length) {
    mpls(f, off, add, depth);
  } else if ((type === 0x8864 || type === 0x8863) && off + 6 <= f.length) {
    add(type === 0x8864 ? 'pppoes' : 'pppoed', 1);
    add('pppoe.code', f[off + 1]!);
    add('pppoe.session_id', u16(f, off + 2));
    if (type === 0x8864 && off + 8 <= f.length) {
      const proto = u16(f, off + 6);
      add('ppp.protocol', proto);
      if (proto === 0x0021) ipv4(f, off + 8, add, depth);
      else if (proto === 0x0057) ipv6(f, off + 8, add, depth);
    }
  } else if (type === 0x88cc) {
    add('lldp', 1);
  } else if (type < 0x0600 && off + 3 <= f.length) {
    const dsap = f[off]!;
    const ssap = f[off + 1]!;
    const ctl = f[off + 2]!;
    add('llc', 1);
    add('llc.dsap', dsap);
    add('llc.ssap', ssap);
    // An unnumbered frame has a 1-byte control field, the others 2.
    if ((ctl & 3) !== 3 && off + 4 > f.length) return;
    add('llc.control', (ctl & 3) === 3 ? ctl : u16(f, off + 2));
    if (dsap === 0x42 && ssap === 0x42) {
      // The 802.3 length bounds the BPDU (the rest of the frame is padding or trailer).
      if (bpduShown(f, off + 3, off + type)) add('stp', 1);
    } else if (dsap === 0xaa && ssap === 0xaa && ctl === 3 && off + 8 <= f.length) {
      const oui = (f[off + 3]! << 16) | (f[off + 4]! << 8) | f[off + 5]!;
      const pid = u16(f, off + 6);
      add('llc.oui', oui);
      // Organisation 0 (and Cisco's 0x0000f8) carry an EtherType; Wireshark has fields of their own for the pids of
      // Cisco, IEEE 802.1 and Extreme, and llc.pid for the others.
      if (oui === 0 || oui === 0xf8) {
        add('llc.type', pid);
        byType(f, pid, off + 8, add, depth);
      } else if (oui !== 0x00000c && oui !== 0x0080c2 && oui !== 0x00e02b) add('llc.pid', pid);
    }
  }
}

function ipv4(f: Uint8Array, o: number, add: Add, depth: number): void {
  // Version 6 where IPv4 was announced is IPv6 to Wireshark, after a bogus IPv4 header (see dissect-tree).
  if (o < f.length && f[o]! >> 4 === 6) {
    add('ip', 1);
    return ipv6(f, o, add, depth);
  }
  // A header cut short (snap length, a quoted packet) is still IP to Wireshark, with the fields that were captured.
  if (o + 20 > f.length) return void (o < f.length && ipv4Cut(f, o, add));
  const ihl = (f[o]! & 15) * 4;
  add('ip', 1);
  // As Wireshark: a header that is not version 4, or shorter than 20 bytes, has no further fields.
  if (f[o]! >> 4 !== 4) return;
  if (ihl < 20) return void add('ip.hdr_len', ihl);
  add('ip.src', u32(f, o + 12));
  add('ip.dst', u32(f, o + 16));
  add('ip.addr', u32(f, o + 12));
  add('ip.addr', u32(f, o + 16));
  add('ip.proto', f[o + 9]!);
  add('ip.ttl', f[o + 8]!);
  add('ip.len', u16(f, o + 2));
  add('ip.id', u16(f, o + 4));
  add('ip.hdr_len', ihl);
  add('ip.dsfield', f[o + 1]!);
  const frag = u16(f, o + 6);
  add('ip.flags.df', (frag >> 14) & 1);
  add('ip.flags.mf', (frag >> 13) & 1);
  add('ip.frag_offset', (frag & 0x1fff) * 8);
  if (frag & 0x1fff) return;
  // An IPv4 header says whether its packet is a fragment (one inside a fragment is not, unless it is one too).
  fragmentNow = (frag & 0x2000) !== 0;
  // No payload by the stated length: no protocol follows (quoted, what was captured decides).
  const total = u16(f, o + 2);
  if (!quotedNow && total === ihl) return;
  // The packet ends at its stated length (what follows is the Ethernet trailer).
  l4(total > ihl && o + total < f.length ? f.subarray(0, o + total) : f, o + ihl, f[o + 9]!, add, depth);
}

/** An IPv4 header of fewer than 20 bytes (1 or more): ip, and each field whose bytes are there, as Wireshark. */
function ipv4Cut(f: Uint8Array, o: number, add: Add): void {
  add('ip', 1);
  const have = f.length - o;
  if (f[o]! >> 4 !== 4) return;
  const ihl = (f[o]! & 15) * 4;
  add('ip.hdr_len', ihl);
  if (ihl < 20) return;
  if (have >= 2) add('ip.dsfield', f[o + 1]!);
  if (have >= 4) add('ip.len', u16(f, o + 2));
  if (have >= 6) add('ip.id', u16(f, o + 4));
  if (have >= 8) {
    const frag = u16(f, o + 6);
    add('ip.flags.df', (frag >> 14) & 1);
    add('ip.flags.mf', (frag >> 13) & 1);
    add('ip.frag_offset', (frag & 0x1fff) * 8);
  }
  if (have >= 9) add('ip.ttl', f[o + 8]!);
  if (have >= 10) add('ip.proto', f[o + 9]!);
  if (have >= 16) {
    add('ip.src', u32(f, o + 12));
    add('ip.addr', u32(f, o + 12));
  }
}

function ipv6(f: Uint8Array, o: number, add: Add, depth: number): void {
  // Another version than 6 is not IPv6 to Wireshark: its version field, then its bytes as data.
  if (o < f.length && f[o]! >> 4 !== 6) return void add('ipv6', 1);
  if (o + 40 > f.length) {
    // Cut short: IPv6 to Wireshark all the same, with the fields that were captured (tshark 4.0: the payload length
    // only with the next header, the source once all of it is there, never the destination).
    add('ipv6', 1);
    if (o + 4 <= f.length) add('ipv6.flow', u32(f, o) & 0xfffff);
    if (o + 7 <= f.length) add('ipv6.plen', u16(f, o + 4));
    if (o + 7 <= f.length) add('ipv6.nxt', f[o + 6]!);
    if (o + 8 <= f.length) add('ipv6.hlim', f[o + 7]!);
    if (o + 24 <= f.length && needs('ipv6.src', 'ipv6.addr', 'ipv6.src')) {
      const src = hex(f, o + 8, 16);
      add('ipv6.src', src);
      add('ipv6.addr', src);
    }
    return;
  }
  add('ipv6', 1);
  if (needs('ipv6.src', 'ipv6.dst', 'ipv6.addr')) {
    const src = hex(f, o + 8, 16);
    const dst = hex(f, o + 24, 16);
    add('ipv6.src', src);
    add('ipv6.dst', dst);
    add('ipv6.addr', src);
    add('ipv6.addr', dst);
  }
  add('ipv6.nxt', f[o + 6]!);
  add('ipv6.hlim', f[o + 7]!);
  add('ipv6.plen', u16(f, o + 4));
  add('ipv6.flow', u32(f, o) & 0xfffff);
  let next = f[o + 6]!;
  let p = o + 40;
  for (let guard = 0; guard < 16; guard++) {
    if (next === 0 || next === 43 || next === 60) {
      if (p + 2 > f.length) return;
      next = f[p]!;
      p += (f[p + 1]! + 1) * 8;
    } else if (next === 51) {
      // An Authentication Header is one more extension header: what it authenticates follows (tshark decodes on).
      if (p + 2 > f.length) return;
      next = f[p]!;
      p += (f[p + 1]! + 2) * 4;
    } else if (next === 44) {
      if (p + 8 > f.length) return;
      add('ipv6.fragment', 1);
      add('ipv6.fraghdr', 1);
      const offset = u16(f, p + 2) & 0xfff8;
      if (u16(f, p + 2) & 1) fragmentNow = true;
      next = f[p]!;
      p += 8;
      if (offset) return;
    } else break;
  }
  // No payload by the stated length: no protocol follows; the packet ends there (then the Ethernet trailer).
  const plen = u16(f, o + 4);
  if (!quotedNow && o + 40 + plen <= p) return;
  l4(o + 40 + plen < f.length ? f.subarray(0, o + 40 + plen) : f, p, next, add, depth);
}

function l4(f: Uint8Array, p: number, proto: number, add: Add, depth: number): void {
  if (proto === 4) return ipv4(f, p, add, depth + 1);
  // IPv4's Authentication Header: the protocol it authenticates follows it (a chain of them is bounded by depth).
  if (proto === 51) return void (p + 2 <= f.length && depth < 3 && l4(f, p + (f[p + 1]! + 2) * 4, f[p]!, add, depth + 1));
  if (proto === 41) return ipv6(f, p, add, depth + 1);
  if (proto === 6 && p + 4 <= f.length) {
    // A header cut short by the snap length keeps the fields that were captured, as in Wireshark.
    const sport = u16(f, p);
    const dport = u16(f, p + 2);
    add('tcp', 1);
    if ((quotedNow || fragmentNow) && wantedNow?.has(TCP_QUOTED) === true) add(TCP_QUOTED, 1);
    add('tcp.srcport', sport);
    add('tcp.dstport', dport);
    add('tcp.port', sport);
    add('tcp.port', dport);
    // What tshark 4.0 shows of a header it has fewer bytes of (measured, test/filter/tcp-cut): under 16 bytes only the
    // ports (in the packet an ICMP error quotes, the sequence number from 8 bytes on); from 16 bytes the numbers,
    // header length, flags and window. The numbers are relative to the stream where the whole header is there or the
    // snap length cut the frame, as sent where the bytes just end (the IP packet's stated length, a quote). A quote has
    // no tcp.seq_raw (its tcp.seq is the number as sent).
    const have = f.length - p;
    const hlen = (f[p + 12]! >> 4) * 4;
    if (quotedNow && have >= 8 && have < 16) add('tcp.seq', u32(f, p + 4));
    if (have < 16) return;
    if (hlen < 20) {
      // A bogus header length: tshark 4.0 shows the sequence number (relative) and the header length, nothing after.
      add('tcp.seq', u32(f, p + 4));
      if (!quotedNow) add('tcp.seq_raw', u32(f, p + 4));
      add('tcp.hdr_len', hlen);
      if (wantedNow?.has(TCP_BOGUS_FLAGS) === true) add(TCP_BOGUS_FLAGS, ((f[p + 12]! & 1) << 8) | f[p + 13]!);
      return;
    }
    if (!quotedNow && !cutNow && have < Math.max(20, hlen) && wantedNow?.has(TCP_QUOTED) === true) add(TCP_QUOTED, 1);
    const flags = f[p + 13]!;
    add('tcp.seq', u32(f, p + 4));
    add('tcp.ack', u32(f, p + 8));
    if (!quotedNow) add('tcp.seq_raw', u32(f, p + 4));
    add('tcp.ack_raw', u32(f, p + 8));
    add('tcp.hdr_len', hlen);
    add('tcp.flags', ((f[p + 12]! & 1) << 8) | flags);
    add('tcp.flags.fin', flags & 1);
    add('tcp.flags.syn', (flags >> 1) & 1);
    add('tcp.flags.reset', (flags >> 2) & 1);
    add('tcp.flags.push', (flags >> 3) & 1);
    add('tcp.flags.ack', (flags >> 4) & 1);
    add('tcp.window_size_value', u16(f, p + 14));
    if (have < 20) return;
    // A DNS message: its two-byte length and 4 bytes or more of it after the whole header, as Wireshark (a bare ACK
    // on port 53 carries none), unless the other port is lower and tshark has a dissector for it (ssh on 22, ...);
    // not in a reset (its payload is the reset cause).
    if ((sport === 53 || dport === 53) && !(flags & 0x04) && p + (f[p + 12]! >> 4) * 4 + 6 <= f.length && tsharkPortProtocol(true, sport, dport) === 'dns') add('dns', 1);
  } else if (proto === 17 && p + 4 <= f.length) {
    const sport = u16(f, p);
    const dport = u16(f, p + 2);
    add('udp', 1);
    add('udp.srcport', sport);
    add('udp.dstport', dport);
    add('udp.port', sport);
    add('udp.port', dport);
    if (p + 6 <= f.length) add('udp.length', u16(f, p + 4));
    if (p + 8 > f.length) return;
    const service = udpService(sport, dport);
    if (service === 53 && p + 12 <= f.length) add('dns', 1); // 4 bytes or more of a message, as Wireshark
    const udpEnd = u16(f, p + 4) >= 8 ? p + u16(f, p + 4) : f.length;
    if (service === 0 && tsharkPortProtocol(false, sport, dport) === undefined && dnsHeuristic(f, p + 8, udpEnd)) add('dns', 1);
    if (service === 4789 && p + 16 <= f.length) {
      add('vxlan', 1);
      add('vxlan.vni', (f[p + 12]! << 16) | (f[p + 13]! << 8) | f[p + 14]!);
      ether(f.subarray(p + 16), add, depth + 1);
    } else if (service === 6081 && p + 16 <= f.length) {
      // GENEVE: its inner frame or packet after the options, as Wireshark dissects it.
      const inner = p + 16 + (f[p + 8]! & 0x3f) * 4;
      const gp = u16(f, p + 10);
      if (gp === 0x6558) ether(f.subarray(inner), add, depth + 1);
      else if (gp === 0x0800) ipv4(f, inner, add, depth + 1);
      else if (gp === 0x86dd) ipv6(f, inner, add, depth + 1);
    } else if (service === 6635 && p + 12 <= f.length) {
      mpls(f, p + 8, add, depth + 1); // MPLS in UDP (RFC 7510)
    } else if (service === 4500 && p + 16 <= f.length && u32(f, p + 8) !== 0 && f[p + 8] !== 0xff) {
      // UDP-encapsulated ESP (NAT traversal): a zero first word is IKE, a lone 0xff a keepalive.
      add('esp', 1);
      add('esp.spi', u32(f, p + 8));
    }
  } else if (proto === 1 && p + 6 <= f.length) {
    // (An ICMP message of fewer than 6 bytes has no icmp fields in Wireshark.)
    add('icmp', 1);
    add('icmp.type', f[p]!);
    add('icmp.code', f[p + 1]!);
    // An error's body is the start of the packet that caused it: its fields count too, as in Wireshark; a redirect
    // quotes the IP header and 8 bytes after it, and Wireshark looks no further.
    if ([3, 4, 5, 11, 12].includes(f[p]!) && depth < 3 && p + 8 < f.length) {
      quotedNow = true;
      const q = f[p] === 5 ? f.subarray(0, Math.min(f.length, p + 16 + (f[p + 8]! & 15) * 4)) : f;
      ipv4(q, p + 8, add, depth + 1);
    }
  } else if (proto === 58 && p + 2 <= f.length) {
    add('icmpv6', 1);
    add('icmpv6.type', f[p]!);
    add('icmpv6.code', f[p + 1]!);
    if (f[p]! >= 1 && f[p]! <= 4 && depth < 3 && p + 8 < f.length && f[p + 8]! >> 4 === 6) {
      quotedNow = true;
      ipv6(f, p + 8, add, depth + 1);
    }
  } else if (proto === 132 && p + 4 <= f.length) {
    add('sctp', 1);
    add('sctp.srcport', u16(f, p));
    add('sctp.dstport', u16(f, p + 2));
    add('sctp.port', u16(f, p));
    add('sctp.port', u16(f, p + 2));
  } else if (proto === 2 && p + 1 <= f.length) {
    add('igmp', 1);
    add('igmp.type', f[p]!);
  } else if (proto === 50 && p < f.length) {
    add('esp', 1);
    if (p + 4 <= f.length) add('esp.spi', u32(f, p));
  } else if (proto === 47 && p + 4 <= f.length) {
    add('gre', 1);
    const gp = u16(f, p + 2);
    add('gre.proto', gp);
    const fl = u16(f, p);
    if ((fl & 7) === 0 && !(fl & 0x4000)) {
      const inner = p + 4 + (fl & 0x8000 ? 4 : 0) + (fl & 0x2000 ? 4 : 0) + (fl & 0x1000 ? 4 : 0);
      if (gp === 0x0800) ipv4(f, inner, add, depth + 1);
      else if (gp === 0x86dd) ipv6(f, inner, add, depth + 1);
      else if (gp === 0x6558) ether(f.subarray(inner), add, depth + 1);
      else if (gp === 0x8847 || gp === 0x8848) mpls(f, inner, add, depth + 1); // MPLS over GRE (RFC 4023)
    }
  }
}
