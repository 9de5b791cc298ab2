// Map keys and values written by field name, laid out through the program's BTF: seeding a hash map keyed by a struct
// with an enum member, expecting the values after a case (a failure shows the fields as written, actual beside),
// global data (.bss) by variable name; and the errors for fields that do not exist, with their positions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';

const PROGRAM = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum verdict { V_PASS = 2, V_DROP = 1 };
struct flow_key { __u8 proto; __u8 pad; __u16 port; };
struct flow_val { __u64 packets; __u32 bytes; enum verdict verdict; char tag[8]; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

__u64 seen = 0;
__u32 last_len = 0;

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	seen++;
	last_len = end - data;
	struct flow_key k = { .proto = ip->protocol, .port = 7 };
	struct flow_val *v = bpf_map_lookup_elem(&flows, &k);
	if (!v)
		return XDP_PASS;
	v->packets++;
	v->bytes += end - data;
	return v->verdict; // xdp-test: verdict
}
char LICENSE[] SEC("license") = "GPL";
`;

function setup(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-btf-'));
  writeFileSync(join(dir, 'flows.c'), PROGRAM);
  writeFileSync(join(dir, 'flows.xdptest.yaml'), yaml);
  return join(dir, 'flows.xdptest.yaml');
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HEAD = `program: flows.c
maps:
  flows:
    - key: {proto: 17, port: 7}
      value: {verdict: V_DROP, tag: udp}
    - key: {proto: 6, port: 7}
      value: {packets: 100, verdict: 2}
cases:
`;

test('struct keys and values by field name: seeding, expectations, global data by variable', { skip }, () => {
  const file = setup(`${HEAD}  - name: udp is dropped by its flow entry
    packet: [eth, ipv4, udp, payload: {len: 10}]
    expect:
      action: XDP_DROP
      exit: verdict
      maps:
        flows:
          - key: {proto: 17, port: 7}
            value: {packets: 1, bytes: 52, verdict: V_DROP, tag: udp}
          - key: {proto: 1, port: 7}
            value: null
        .bss:
          - key: 0
            value: {seen: 1, last_len: 52}
  - name: tcp passes, counted on top of the seed
    packet: [eth, ipv4, tcp]
    expect:
      action: XDP_PASS
      maps:
        flows:
          - key: {proto: 6, port: 7}
            value: {packets: 101, bytes: 54}
        .bss:
          - key: 0
            value: {seen: 2}
`);
  const r = cli(['test', file]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /2 cases: 2 passed, 0 failed/);
});

test('a struct value that differs is shown in the fields it was written with', { skip }, () => {
  const file = setup(`${HEAD}  - name: wrong count
    packet: [eth, ipv4, udp]
    expect:
      maps:
        flows:
          - key: {proto: 17, port: 7}
            value: {packets: 2, verdict: V_PASS}
`);
  const r = cli(['test', file]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(`:14:13: map flows key {proto: 17, port: 7}\n          expected: {packets: 2, verdict: V_PASS}\n          actual:   {packets: 1, verdict: V_DROP}`), r.stdout);
});

test('fields that the type does not have are errors at their position', { skip }, () => {
  const cases: [string, RegExp][] = [
    [`program: flows.c\nmaps:\n  flows:\n    - key: {proto: 17, prot: 7}\n      value: {packets: 1}\ncases: []\n`, /flows\.xdptest\.yaml:4:24: maps\.flows\[0\]\.key: no field 'prot' \(fields: proto, pad, port\)/],
    [`program: flows.c\nmaps:\n  flows:\n    - key: {proto: 17}\n      value: {verdict: V_MAYBE}\ncases: []\n`, /:5:24: maps\.flows\[0\]\.value\.verdict: 'V_MAYBE' is not one of V_PASS, V_DROP/],
    [`program: flows.c\nmaps:\n  flows:\n    - key: {proto: 256}\n      value: {}\ncases: []\n`, /:4:20: maps\.flows\[0\]\.key\.proto: 256 does not fit in 8 bits/],
    [`program: flows.c\nmaps:\n  flows:\n    - key: {proto: 1}\n      value: {tag: "much too long"}\ncases: []\n`, /:5:20: maps\.flows\[0\]\.value\.tag: 13 bytes of text, the array holds 8/],
  ];
  for (const [yaml, re] of cases) {
    const r = cli(['test', setup(yaml)]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, re);
  }
});
