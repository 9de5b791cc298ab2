// Benchmark: the as-you-type tier of issue 4 (simulator/analysis/source). The target is "diagnostics for a 2,000-line
// file within 50 ms of an edit (p95)".
//
//   node --import tsx bench/source-analysis.ts [--lines 2000] [--edits 300] [--write-generated FILE]
//
// The file is generated: copies of a realistic XDP program (Ethernet/VLAN/IPv4/TCP parsing, a static inline helper,
// maps, a switch, XDP_TX with rewritten addresses), each with its own names, until it has --lines lines. Measured:
//   - cold: a file the tier has never seen (full parse + analysis), median and max over several distinct names;
//   - edit: one keystroke at a random place (a digit in a constant, a space, a character in a comment) followed by
//     analysis of the whole file, which is what the language server does per edit (incremental parse + analysis);
//   - the same for every real program in the repository (examples/, parity corpus, fixtures) concatenated.
// Results are appended to bench/results/source-analysis.json.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { analyzeSource, initSourceAnalysis } from '../simulator/analysis/source/index.ts';
import { REPO, option } from './common.ts';

const repo = REPO;
const targetLines = Number(option('lines', '2000'));
const editCount = Number(option('edits', '300'));

function program(i: number): string {
  return `
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counts_${i} SEC(".maps");

const volatile __u16 blocked_port_${i} = ${1000 + i};

static __always_inline void count_${i}(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&counts_${i}, &k);
	if (v)
		*v += 1;
}

static __always_inline int reply_${i}(struct ethhdr *eth, struct iphdr *ip)
{
	unsigned char mac[ETH_ALEN];
	__be32 a = ip->saddr;

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	ip->saddr = ip->daddr;
	ip->daddr = a;
	return XDP_TX;
}

SEC("xdp")
int filter_${i}(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cursor = data + sizeof(*eth);
	__u16 proto;
	int action = XDP_PASS;

	if (cursor > data_end)
		return XDP_DROP;
	proto = eth->h_proto;
	for (int v = 0; v < 2; v++) {
		if (proto != bpf_htons(ETH_P_8021Q))
			break;
		struct vlan_hdr *vlan = cursor;
		if ((void *)(vlan + 1) > data_end)
			return XDP_DROP;
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		count_${i}(0);
		return XDP_PASS;
	}
	struct iphdr *ip = cursor;
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
		if ((void *)(tcp + 1) > data_end)
			return XDP_DROP;
		if (tcp->dest == bpf_htons(blocked_port_${i}))
			action = XDP_DROP;
		count_${i}(1);
		break;
	}
	case IPPROTO_ICMP:
		/* echo requests are answered in place */
		return reply_${i}(eth, ip);
	default:
		count_${i}(2);
	}
	return action;
}
`;
}

const header = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};
`;

function generate(lines: number): string {
  let text = header;
  for (let i = 0; text.split('\n').length < lines; i++) text += program(i);
  return text + '\nchar LICENSE[] SEC("license") = "GPL";\n';
}

function corpus(): string {
  const files = [join(repo, 'examples', 'xdp_filter.c')];
  for (const dir of ['test/analysis/fixtures/source/clean']) {
    for (const f of readdirSync(join(repo, dir)).filter((n) => n.endsWith('.c'))) files.push(join(repo, dir, f));
  }
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2);
};

/** One keystroke somewhere in the text: change a digit, insert a space, or type into a comment. */
function keystroke(text: string, rnd: () => number): string {
  const at = Math.floor(rnd() * text.length);
  const kind = Math.floor(rnd() * 3);
  if (kind === 0) {
    const m = /\d/.exec(text.slice(at));
    if (m) {
      const i = at + m.index;
      return text.slice(0, i) + String((Number(text[i]) + 1) % 10) + text.slice(i + 1);
    }
  }
  if (kind === 1) {
    const i = text.indexOf('/*', at);
    if (i >= 0) return text.slice(0, i + 2) + 'x' + text.slice(i + 2);
  }
  const nl = text.indexOf('\n', at);
  const i = nl < 0 ? text.length : nl;
  return text.slice(0, i) + ' ' + text.slice(i);
}

function measure(label: string, text: string, runsCold: number) {
  const lines = text.split('\n').length;
  const cold: number[] = [];
  let findings = 0;
  for (let r = 0; r < runsCold; r++) {
    const t0 = performance.now();
    findings = analyzeSource(`/bench/${label}-cold-${r}.c`, text).length;
    cold.push(performance.now() - t0);
  }
  const rnd = prng(1234);
  const file = `/bench/${label}-edit.c`;
  let cur = text;
  analyzeSource(file, cur);
  const edit: number[] = [];
  for (let e = 0; e < editCount; e++) {
    cur = keystroke(cur, rnd);
    const t0 = performance.now();
    analyzeSource(file, cur);
    edit.push(performance.now() - t0);
  }
  return {
    label,
    lines,
    findings,
    coldMsFirst: +cold[0].toFixed(2),
    coldMsMedian: pct(cold.slice(1), 50),
    coldMsMax: +Math.max(...cold.slice(1)).toFixed(2),
    edits: editCount,
    editMsMedian: pct(edit, 50),
    editMsP95: pct(edit, 95),
    editMsMax: +Math.max(...edit).toFixed(2),
    targetMsP95: 50,
  };
}

async function main() {
  const dump = option('write-generated', '');
  if (dump) {
    writeFileSync(dump, generate(targetLines));
    return;
  }
  const t0 = performance.now();
  await initSourceAnalysis();
  const initMs = +(performance.now() - t0).toFixed(1);
  const results = [measure('generated', generate(targetLines), 8), measure('repository-corpus', corpus(), 8)];
  const out = join(repo, 'bench', 'results', 'source-analysis.json');
  mkdirSync(dirname(out), { recursive: true });
  const history = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as unknown[]) : [];
  history.push({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    // Other work on the machine inflates every number; the load average at the end of the run says how much.
    loadAverage1m: +loadavg()[0].toFixed(2),
    initMs,
    results,
    pass: results.every((r) => r.editMsP95 < r.targetMsP95),
  });
  writeFileSync(out, JSON.stringify(history, null, 2) + '\n');
  console.log(JSON.stringify({ initMs, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
