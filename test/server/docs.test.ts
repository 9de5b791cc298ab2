// Hover documentation covers every helper the simulator implements, every action, every xdp_md field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELPERS, helperName } from '../../simulator/vm/helpers.ts';
import { ACTION_DOCS, FIB_RESULT_DOCS, FOREIGN_VERDICT_DOCS, HELPER_DOCS, XDP_MD_FIELDS, lookupDoc } from '../../server/docs.ts';
import { readFileSync, existsSync } from 'node:fs';
import { ACTIONS } from '../../simulator/session.ts';

test('every implemented helper, action and xdp_md field has a hover doc', () => {
  const missing = [...HELPERS.keys()].map((id) => helperName(id)!).filter((n) => !HELPER_DOCS[n.startsWith('bpf_') ? n : `bpf_${n}`]);
  assert.deepEqual(missing, []);
  assert.deepEqual(Object.keys(ACTION_DOCS).sort(), [...ACTIONS].sort());
  assert.deepEqual(Object.keys(XDP_MD_FIELDS), ['data', 'data_end', 'data_meta', 'ingress_ifindex', 'rx_queue_index', 'egress_ifindex']);
  for (const d of [...Object.values(HELPER_DOCS), ...Object.values(ACTION_DOCS)]) assert.ok(d.body.length > 40 && d.signature.length > 5);
});

test('lookup depends on context: a field after ->, a section inside SEC("...")', () => {
  assert.match(lookupDoc('data', { field: true })!.signature, /__u32 data;/);
  assert.equal(lookupDoc('data', {}), undefined);
  assert.match(lookupDoc('xdp.frags', { section: true })!.body, /multi-buffer/);
  assert.match(lookupDoc('xdp/custom_name', { section: true })!.signature, /SEC\("xdp"\)/);
  assert.match(lookupDoc('XDP_TX', {})!.body, /TX ring/);
});

test('return codes: every bpf_fib_lookup result and the verdicts of other program types have a hover with their number', () => {
  // The numbers as the installed uapi headers define them (when present).
  const bpfH = '/usr/include/linux/bpf.h';
  if (existsSync(bpfH)) {
    const body = /enum \{\s*(BPF_FIB_LKUP_RET_SUCCESS[^}]*)\}/.exec(readFileSync(bpfH, 'utf8'))![1]!;
    const names = [...body.matchAll(/(BPF_FIB_LKUP_RET_\w+)/g)].map((m) => m[1]!);
    assert.deepEqual(Object.keys(FIB_RESULT_DOCS), names);
    names.forEach((n, i) => assert.match(FIB_RESULT_DOCS[n]!.signature, new RegExp(`^${n} = ${i} `)));
  }
  const clsH = '/usr/include/linux/pkt_cls.h';
  if (existsSync(clsH)) {
    const text = readFileSync(clsH, 'utf8');
    for (const [name, d] of Object.entries(FOREIGN_VERDICT_DOCS)) {
      if (!name.startsWith('TC_ACT_')) continue;
      const m = new RegExp(`#define ${name}\\s+\\(?(-?\\d+)`).exec(text);
      assert.ok(m, name);
      assert.match(d.signature, new RegExp(`^${name} = ${m![1]} `));
    }
  }
  assert.match(lookupDoc('BPF_FIB_LKUP_RET_NO_NEIGH', {})!.body, /neighbour table/);
  assert.match(lookupDoc('TC_ACT_SHOT', {})!.body, /2 is `XDP_PASS`.*`XDP_DROP` is likely meant/);
  assert.match(lookupDoc('TC_ACT_OK', {})!.body, /0 is `XDP_ABORTED` \(the packet is dropped as an error\)/);
  assert.match(lookupDoc('TC_ACT_REDIRECT', {})!.body, /7 is not an XDP action/);
  assert.match(lookupDoc('SK_PASS', {})!.body, /1 is `XDP_DROP`/);
});
