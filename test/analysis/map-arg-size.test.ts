// A stack variable smaller than the map's key given as the key (`__u16 port; bpf_map_lookup_elem(&rules, &port)`
// with 24-byte keys, met in netxfw's port whitelist, the map named through `#define allowed_ports rule_map`): the
// helper reads the map's key size from the variable's address. When those bytes run past the frame the verifier
// refuses the call (the bytecode tier says so, in its words, and map-arg-size is not said again); when they stay
// inside it, a privileged loader's verifier accepts them (uninitialised stack is allowed for root) and the key
// looked up holds other variables' bytes: check warns (map-arg-size). `check` said nothing of the second before.
// Small programs written for this test; whether the kernel loads each is checked when there is one.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { NO_CLANG, show, got, both, kernelSays } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const MAP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct port_key {
	__u32 prefixlen;
	__u16 port;
	__u16 pad;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__type(key, struct port_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} rules SEC(".maps");

#define allowed_ports rules

SEC("xdp")
int prog(struct xdp_md *ctx)
{
`;
const END = `	return XDP_DROP;
}
char _license[] SEC("license") = "GPL";
`;

// Inside the frame: `port` sits below `key`, so the 24 bytes read from `port` end inside the frame.
const INSIDE = `${MAP}	struct port_key key = {};
	__u16 port = ctx->rx_queue_index;

	key.prefixlen = 48;
	key.port = port;
	if (bpf_map_lookup_elem(&rules, &key))
		return XDP_PASS;
	if (bpf_map_lookup_elem(&allowed_ports, &port)) // here
		return XDP_PASS;
${END}`;

// Past the frame: `port` is the only local, at fp-2; the verifier refuses the 24-byte read.
const PAST = `${MAP}	__u16 port = ctx->rx_queue_index;

	if (bpf_map_lookup_elem(&allowed_ports, &port)) // here
		return XDP_PASS;
${END}`;

// The key of the map's own type: nothing to say.
const WHOLE = `${MAP}	struct port_key key = {};

	key.prefixlen = 48;
	key.port = ctx->rx_queue_index;
	if (bpf_map_lookup_elem(&allowed_ports, &key)) // here
		return XDP_PASS;
${END}`;

const lineOf = (text: string) => text.split('\n').findIndex((l) => l.includes('// here')) + 1;

test('a 2-byte key of a map with 24-byte keys, inside the frame: map-arg-size on the lookup (the kernel loads it)', async () => {
  const src = analyzeSource('/tmp/map-arg-size.c', INSIDE, {});
  assert.deepEqual(got(src), [`map-arg-size@${lineOf(INSIDE)}`], show(src));
  assert.match(src[0]!.message, /`rules` has 24-byte keys, but `port` is 2 bytes: bpf_map_lookup_elem\(\) also reads the 22 bytes after it/);
  if (NO_CLANG) return;
  const fs = await both(INSIDE);
  assert.deepEqual(got(fs), [`map-arg-size@${lineOf(INSIDE)}`], show(fs));
  const refused = kernelSays(INSIDE);
  if (refused !== undefined) assert.deepEqual(refused, []);
});

test('a 2-byte key read past the frame: the verifier refusal alone (pointer-misuse), as the kernel refuses it', async () => {
  assert.deepEqual(got(analyzeSource('/tmp/map-arg-size.c', PAST, {})), [`map-arg-size@${lineOf(PAST)}`]);
  if (NO_CLANG) return;
  const fs = await both(PAST);
  assert.deepEqual(got(fs), [`pointer-misuse@${lineOf(PAST)}`], show(fs));
  assert.match(fs[0]!.message, /invalid read from stack R2 off=-2 size=24/);
  const refused = kernelSays(PAST);
  if (refused !== undefined) {
    assert.equal(refused.length, 1, refused.join('\n'));
    assert.match(refused[0]!, new RegExp(`^${lineOf(PAST)}: `));
  }
});

test('a key of the map\'s own type: no finding', async () => {
  assert.deepEqual(got(analyzeSource('/tmp/map-arg-size.c', WHOLE, {})), []);
  if (NO_CLANG) return;
  const fs = await both(WHOLE);
  assert.deepEqual(got(fs), [], show(fs));
});

// The same mistake in other shapes whose size is known: a cast of the address, a member of a local struct (the key
// read from it runs past the struct), and a pointer local holding the address. Each inside the frame (a larger
// local after it), so the kernel loads it; map-arg-size said nothing of these before (only `&local` was judged).
const FORMS: [string, string, RegExp][] = [
  ['a cast of the address', `	struct port_key key = {};
	__u16 port = ctx->rx_queue_index;

	key.prefixlen = 48;
	key.port = port;
	if (bpf_map_lookup_elem(&rules, &key))
		return XDP_PASS;
	if (bpf_map_lookup_elem(&allowed_ports, (void *)&port)) // here
		return XDP_PASS;
`, /`rules` has 24-byte keys, but `port` is 2 bytes: bpf_map_lookup_elem\(\) also reads the 22 bytes after it/],
  ['a member of a local struct', `	struct port_key key = {};
	struct { __u32 a; __u16 port; } small = {};

	key.prefixlen = 48;
	small.port = ctx->rx_queue_index;
	if (bpf_map_lookup_elem(&rules, &key))
		return XDP_PASS;
	if (bpf_map_lookup_elem(&allowed_ports, &small.port)) // here
		return XDP_PASS;
`, /`rules` has 24-byte keys, but `small.port`, 4 bytes before the end of `small`: bpf_map_lookup_elem\(\) also reads the 20 bytes after `small`/],
  ['a pointer local holding the address', `	struct port_key key = {};
	__u16 port = ctx->rx_queue_index;
	__u16 *kp = &port;

	key.prefixlen = 48;
	key.port = port;
	if (bpf_map_lookup_elem(&rules, &key))
		return XDP_PASS;
	if (bpf_map_lookup_elem(&allowed_ports, kp)) // here
		return XDP_PASS;
`, /`rules` has 24-byte keys, but `kp` points to `port`, which is 2 bytes: bpf_map_lookup_elem\(\) also reads the 22 bytes after `port`/],
];

for (const [what, body, message] of FORMS) {
  test(`a short key as ${what}: map-arg-size on the lookup (the kernel loads it)`, async () => {
    const text = `${MAP}${body}${END}`;
    const src = analyzeSource('/tmp/map-arg-size.c', text, {});
    assert.deepEqual(got(src), [`map-arg-size@${lineOf(text)}`], show(src));
    assert.match(src[0]!.message, message);
    if (NO_CLANG) return;
    const fs = await both(text);
    assert.deepEqual(got(fs), [`map-arg-size@${lineOf(text)}`], show(fs));
    const refused = kernelSays(text);
    if (refused !== undefined) assert.deepEqual(refused, []);
  });
}

test('a member whose key stays inside its struct, and a pointer local moved on: no finding', async () => {
  // `&key.prefixlen` with key of the map's own type: the key read is exactly `key`.
  const inside = `${MAP}	struct port_key key = {};

	key.prefixlen = 48;
	if (bpf_map_lookup_elem(&allowed_ports, &key.prefixlen)) // here
		return XDP_PASS;
${END}`;
  assert.deepEqual(got(analyzeSource('/tmp/map-arg-size.c', inside, {})), []);
  // `kp` set to the whole key on one path and the short local on the other: not known, not judged.
  const joined = `${MAP}	struct port_key key = {};
	__u16 port = ctx->rx_queue_index;
	void *kp = &port;

	if (port & 1)
		kp = &key;
	if (bpf_map_lookup_elem(&allowed_ports, kp)) // here
		return XDP_PASS;
${END}`;
  assert.deepEqual(got(analyzeSource('/tmp/map-arg-size.c', joined, {})), []);
});
