// SPDX-License-Identifier: GPL-2.0
// A small XDP firewall, the demo for `xdp-lens run`:
//   - counts packets per protocol (ARRAY map `proto_count`);
//   - drops IPv4 packets whose source is in the HASH map `blocklist` (seed it with --maps);
//   - drops TCP to the port configured in .rodata (telnet, 23, by default);
//   - answers ICMP echo requests itself with XDP_TX (swaps addresses, rewrites the type, fixes the checksum);
//   - passes everything else, including 802.1Q-tagged traffic after looking inside the tags.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/icmp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { P_OTHER, P_ARP, P_IPV4, P_IPV6, P_TCP, P_UDP, P_ICMP, P_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, P_MAX);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   /* IPv4 source address, network byte order */
	__type(value, __u64); /* packets dropped */
} blocklist SEC(".maps");

const volatile __u16 blocked_port = 23;

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline void count(__u32 proto)
{
	__u64 *v = bpf_map_lookup_elem(&proto_count, &proto);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline int icmp_echo_reply(struct ethhdr *eth, struct iphdr *ip, struct icmphdr *icmp)
{
	unsigned char mac[ETH_ALEN];
	__be32 addr;

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	/* Type 8 -> 0 changes the first 16-bit word of the ICMP header by 0x0800: RFC 1624 incremental update. */
	icmp->type = ICMP_ECHOREPLY;
	icmp->checksum = csum_fold((__u16)~icmp->checksum + (__u16)~bpf_htons(0x0800));
	return XDP_TX;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cursor = data + sizeof(*eth);
	__u16 proto;

	if (cursor > data_end)
		return XDP_DROP;
	proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vlan = cursor;
		if ((void *)(vlan + 1) > data_end)
			return XDP_DROP;
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_ARP)) {
		count(P_ARP);
		return XDP_PASS;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		count(P_IPV6);
		return XDP_PASS;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		count(P_OTHER);
		return XDP_PASS;
	}

	struct iphdr *ip = cursor;
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	count(P_IPV4);

	__u64 *hits = bpf_map_lookup_elem(&blocklist, &ip->saddr);
	if (hits) {
		__sync_fetch_and_add(hits, 1);
		return XDP_DROP; // xdp-test: blocklisted
	}

	cursor = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = cursor;
		if ((void *)(tcp + 1) > data_end)
			return XDP_DROP;
		count(P_TCP);
		if (tcp->dest == bpf_htons(blocked_port))
			return XDP_DROP; // xdp-test: blocked-port
		return XDP_PASS;
	}
	if (ip->protocol == IPPROTO_UDP) {
		count(P_UDP);
		return XDP_PASS;
	}
	if (ip->protocol == IPPROTO_ICMP) {
		struct icmphdr *icmp = cursor;
		if ((void *)(icmp + 1) > data_end)
			return XDP_DROP;
		count(P_ICMP);
		if (icmp->type == ICMP_ECHO && cursor == data + sizeof(*eth) + sizeof(*ip))
			return icmp_echo_reply(eth, ip, icmp); // xdp-test: echo-reply
		return XDP_PASS;
	}
	count(P_OTHER);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
