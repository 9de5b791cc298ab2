// Benchmark: the on-save tier of issue 4 (clang, load, bytecode analysis) on the largest XDP program in the repository
// and on a generated stress program. The target is "the on-save tier under 1 s including clang".
//
//   node --import tsx bench/bytecode-analysis.ts [--runs 5] [--rules 120]
//
// For every program: clang runs cold (a fresh cache directory per run, so nothing is reused), then the object is
// loaded and analysed; analysis alone is also timed warm (median of --runs after one warm-up). Results are appended
// to bench/results/bytecode-analysis.json.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { analyzeObjectReport } from '../simulator/analysis/bytecode.ts';
import { compileC } from '../simulator/compile.ts';
import { loadObject } from '../simulator/elf/index.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';
import { REPO, option } from './common.ts';

const repo = REPO;
const runs = Number(option('runs', '5'));
const stressRules = Number(option('rules', '120'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 10) / 10;

function compileCold(path: string, flags: string[] = []): { obj: LoadedObject; compileMs: number; loadMs: number } {
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lens-bench-'));
  try {
    const t0 = performance.now();
    const r = compileC(path, { cacheDir, flags });
    const t1 = performance.now();
    if (!r.objectPath) throw new Error(`compiling ${path} failed:\n${r.stderr}`);
    const { object } = loadObject(readFileSync(r.objectPath), path);
    const t2 = performance.now();
    if (!object) throw new Error(`loading ${path} failed`);
    return { obj: object, compileMs: t1 - t0, loadMs: t2 - t1 };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/**
 * A long but ordinary program: parse Ethernet/VLAN/IPv4/IPv6/TCP/UDP, then `rules` port rules, each a bounds-checked
 * header read, a map lookup and a counter, ending in verdicts. Written to a temp file.
 */
function stressProgram(rules: number): string {
  const lines: string[] = [
    '#include <linux/bpf.h>', '#include <linux/if_ether.h>', '#include <linux/ip.h>', '#include <linux/ipv6.h>',
    '#include <linux/tcp.h>', '#include <linux/udp.h>', '#include <linux/in.h>', '#include <bpf/bpf_helpers.h>',
    '#include <bpf/bpf_endian.h>',
    'struct vlan_hdr { __be16 tci; __be16 proto; };',
    'struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");',
    'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, __u32); } allow SEC(".maps");',
    'static __always_inline void bump(__u32 k) { __u64 *c = bpf_map_lookup_elem(&hits, &k); if (c) *c += 1; }',
    'SEC("xdp")',
    'int stress(struct xdp_md *ctx) {',
    '  void *data = (void *)(long)ctx->data;',
    '  void *end = (void *)(long)ctx->data_end;',
    '  struct ethhdr *eth = data;',
    '  if ((void *)(eth + 1) > end) return XDP_DROP;',
    '  __u16 proto = eth->h_proto;',
    '  void *cur = eth + 1;',
    '  if (proto == bpf_htons(ETH_P_8021Q)) {',
    '    struct vlan_hdr *vh = cur;',
    '    if ((void *)(vh + 1) > end) return XDP_DROP;',
    '    proto = vh->proto;',
    '    cur = vh + 1;',
    '  }',
    '  __u8 l4 = 0;',
    '  __u32 src = 0;',
    '  if (proto == bpf_htons(ETH_P_IP)) {',
    '    struct iphdr *ip = cur;',
    '    if ((void *)(ip + 1) > end) return XDP_DROP;',
    '    l4 = ip->protocol;',
    '    src = ip->saddr;',
    '    cur = ip + 1;',
    '  } else if (proto == bpf_htons(ETH_P_IPV6)) {',
    '    struct ipv6hdr *ip6 = cur;',
    '    if ((void *)(ip6 + 1) > end) return XDP_DROP;',
    '    l4 = ip6->nexthdr;',
    '    src = ip6->saddr.in6_u.u6_addr32[3];',
    '    cur = ip6 + 1;',
    '  } else return XDP_PASS;',
    '  __u32 *ok = bpf_map_lookup_elem(&allow, &src);',
    '  if (ok && *ok) return XDP_PASS;',
    '  __u16 dport = 0;',
    '  if (l4 == IPPROTO_TCP) {',
    '    struct tcphdr *tcp = cur;',
    '    if ((void *)(tcp + 1) > end) return XDP_DROP;',
    '    dport = bpf_ntohs(tcp->dest);',
    '    if (tcp->syn && tcp->fin) return XDP_DROP;',
    '  } else if (l4 == IPPROTO_UDP) {',
    '    struct udphdr *udp = cur;',
    '    if ((void *)(udp + 1) > end) return XDP_DROP;',
    '    dport = bpf_ntohs(udp->dest);',
    '  }',
  ];
  for (let i = 0; i < rules; i++) {
    lines.push(`  if (dport == ${1000 + i * 7}) {`);
    lines.push(`    bump(${i});`);
    lines.push(`    if ((void *)(eth + 1) <= end && eth->h_source[${i % 6}] == ${i & 0xff}) return XDP_DROP;`);
    lines.push('  }');
  }
  lines.push('  bump(1023);', '  return XDP_PASS;', '}', 'char _license[] SEC("license") = "GPL";');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-bench-src-'));
  const path = join(dir, 'stress.c');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Every repository program once (cold clang): the largest by instructions and the slowest to analyse. */
function surveyRepoPrograms(): { largest: string; slowest: string } {
  const dirs = [join(repo, 'test', 'parity', 'programs'), join(repo, 'examples'), join(repo, 'test', 'analysis', 'fixtures', 'bytecode', 'clean')];
  let best = { path: '', insns: -1 };
  let slow = { path: '', ms: -1 };
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.c'))) {
      const path = join(dir, f);
      let obj: LoadedObject;
      try {
        obj = compileCold(path, f === 'p16_atomics.c' ? ['-mcpu=v3'] : []).obj;
      } catch {
        continue;
      }
      const insns = obj.programs.filter((p) => p.isXdp).reduce((n, p) => n + p.insns.length, 0);
      if (insns > best.insns) best = { path, insns };
      const t = performance.now();
      analyzeObjectReport(obj);
      const ms = performance.now() - t;
      if (ms > slow.ms) slow = { path, ms };
    }
  }
  return { largest: best.path, slowest: slow.path };
}

function measure(label: string, path: string) {
  const cold: { compileMs: number; loadMs: number; analyzeMs: number }[] = [];
  let report = undefined as ReturnType<typeof analyzeObjectReport> | undefined;
  let obj: LoadedObject | undefined;
  for (let i = 0; i < runs; i++) {
    const c = compileCold(path);
    const t = performance.now();
    report = analyzeObjectReport(c.obj);
    cold.push({ compileMs: c.compileMs, loadMs: c.loadMs, analyzeMs: performance.now() - t });
    obj = c.obj;
  }
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    analyzeObjectReport(obj!);
    warm.push(performance.now() - t);
  }
  const totals = cold.map((c) => c.compileMs + c.loadMs + c.analyzeMs);
  const result = {
    label,
    file: path.startsWith(repo) ? path.slice(repo.length + 1) : basename(path),
    sourceLines: readFileSync(path, 'utf8').split('\n').length,
    insns: obj!.programs.filter((p) => p.isXdp).reduce((n, p) => n + p.insns.length, 0),
    stepsWalked: report!.programs.reduce((n, p) => n + p.steps, 0),
    complete: report!.programs.every((p) => p.complete),
    findings: report!.findings.length,
    clangMsMedian: round(median(cold.map((c) => c.compileMs))),
    loadMsMedian: round(median(cold.map((c) => c.loadMs))),
    analyzeMsFirst: round(cold[0].analyzeMs),
    analyzeMsWarmMedian: round(median(warm)),
    onSaveMsMedian: round(median(totals)),
    onSaveMsMax: round(Math.max(...totals)),
    targetMs: 1000,
  };
  console.log(JSON.stringify(result));
  return result;
}

const survey = surveyRepoPrograms();
const results = [
  measure('largest repository program (instructions)', survey.largest),
  measure('slowest repository program to analyse', survey.slowest),
  measure(`generated stress program (${stressRules} rules)`, stressProgram(stressRules)),
];
const out = join(repo, 'bench', 'results', 'bytecode-analysis.json');
mkdirSync(dirname(out), { recursive: true });
const history = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : [];
history.push({
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model.split(' ').slice(0, 2).join(' '), memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  runs,
  results,
  pass: results.every((r) => r.onSaveMsMax < r.targetMs),
});
writeFileSync(out, JSON.stringify(history, null, 2) + '\n');
