// `run --conntrack FILE.json`: the connection table seeded before the first packet, changed by the program, expiring
// with the capture's clock, and reported in the jsonl summary line ("conntrack"); a bad seed is a clear error (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const CAPTURE = join(REPO, '..', 'shared', 'captures', 'zeek--get-to-ssh-server.pcap');
const skip = !haveClang ? 'clang is not installed' : !existsSync(CAPTURE) ? `capture ${CAPTURE} is absent` : false;
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-ct-cli-'));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROG = join(dir, 'ct_mark.c');
writeFileSync(PROG, `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_ct_opts { __s32 netns_id; __s32 error; __u8 l4proto; __u8 dir; __u16 ct_zone_id; __u8 ct_zone_dir; __u8 reserved[3]; };
struct nf_conn { __u8 _a[8]; __u32 timeout; __u8 _b[116]; unsigned long status; __u8 _c[32]; __u32 mark; };
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32, struct bpf_ct_opts *, __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct bpf_sock_tuple tup = {};
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = IPPROTO_TCP };
	struct nf_conn *ct;
	__u16 *ports;
	int verdict = XDP_PASS;

	if ((void *)(ip + 1) + 4 > end || ip->protocol != IPPROTO_TCP) return XDP_PASS;
	ports = (void *)(ip + 1);
	tup.ipv4.saddr = ip->saddr;
	tup.ipv4.daddr = ip->daddr;
	tup.ipv4.sport = ports[0];
	tup.ipv4.dport = ports[1];
	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	if (!ct) return XDP_DROP;
	if (opts.dir) verdict = XDP_TX;
	ct->mark = ct->mark + 1;
	bpf_ct_release(ct);
	return verdict;
}
`);

function seed(name: string, conns: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(conns));
  return p;
}

const FLOW = { proto: 'tcp', src: '136.216.42.40', sport: 44338, dst: '130.74.164.231', dport: 22 };

test('run --conntrack: lookups in both directions find the seeded connection; marks and the table are reported', { skip }, () => {
  const file = seed('ct.json', [{ ...FLOW, status: ['SEEN_REPLY', 'ASSURED'], mark: 7, timeout: 600 }]);
  const r = cli(['run', PROG, CAPTURE, '--format', 'jsonl', '--conntrack', file, '--exit-lines', 'exit']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const packets = recs.slice(0, -1);
  const last = recs[recs.length - 1];
  const tcp = packets.filter((p) => / > |Flags/.test(p.summary) && p.summary.startsWith('IP '));
  assert.ok(tcp.length > 2);
  // Original direction (client to port 22) passes, replies (dir 1) are sent back, nothing is dropped.
  for (const p of tcp) assert.equal(p.action, p.summary.includes('.22 >') ? 'XDP_TX' : 'XDP_PASS', p.summary);
  assert.equal(last.conntrack.length, 1);
  const c = last.conntrack[0];
  assert.deepEqual({ proto: c.proto, src: c.src, sport: c.sport, dst: c.dst, dport: c.dport }, FLOW);
  assert.equal(c.mark, 7 + tcp.length);
  assert.deepEqual(c.statusFlags, ['SEEN_REPLY', 'ASSURED', 'CONFIRMED']);
  assert.ok(c.timeout > 0 && c.timeout <= 600);
});

test('run --conntrack on the C file: the return-line twin has the same connections (its lines are the real returns)', { skip }, () => {
  const file = seed('ct-lines.json', [{ ...FLOW, timeout: 600 }]);
  const r = cli(['run', PROG, CAPTURE, '--format', 'jsonl', '--conntrack', file, '--limit', '8']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const lines = readFileSync(PROG, 'utf8').split('\n');
  const verdictLine = lines.findIndex((l) => l.includes('return verdict;')) + 1;
  // Every packet of the flow finds its connection and leaves through `return verdict;` (a twin with an empty table
  // would have dropped them, and the line would have been the closing brace's exit instead).
  for (const p of recs.slice(0, 8)) {
    assert.notEqual(p.action, 'XDP_DROP', p.summary);
    assert.equal(p.line, verdictLine, `packet ${p.packet}: line ${p.line}, exit line ${p.exitLine}`);
  }
  assert.equal(recs[8].conntrack.length, 1);
});

test('run --conntrack: a connection expires with the capture clock (the next lookup misses, the report drops it)', { skip }, () => {
  const file = seed('ct-short.json', [{ ...FLOW, timeout: 0.1 }]);
  const r = cli(['run', PROG, CAPTURE, '--format', 'jsonl', '--conntrack', file, '--exit-lines', 'exit', '--limit', '3']);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  // Packets 0 and 1 are within 1 ms; packet 2 comes 147 ms later, after the 100 ms timeout.
  assert.deepEqual(recs.slice(0, 3).map((p) => p.action), ['XDP_PASS', 'XDP_TX', 'XDP_DROP']);
  assert.deepEqual(recs[3].conntrack, []);
});

test('run --conntrack: a bad seed names the file and the connection, exit status 2', { skip }, () => {
  const file = seed('ct-bad.json', [FLOW, { ...FLOW, proto: 'icmp' }]);
  const r = cli(['run', PROG, CAPTURE, '--conntrack', file]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ct-bad\.json: connection 1: "proto" is "tcp" or "udp"/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test('run --conntrack, table format: the summary counts the connections left', { skip }, () => {
  const file = seed('ct-table.json', [{ ...FLOW, timeout: 600 }]);
  const r = cli(['run', PROG, CAPTURE, '--conntrack', file, '--exit-lines', 'exit', '--limit', '5']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /conntrack: 1 connection in the table after the run/);
});
