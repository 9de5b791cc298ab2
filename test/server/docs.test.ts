// Hover documentation covers every helper the simulator implements, every action, every xdp_md field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELPERS, helperName } from '../../simulator/vm/helpers.ts';
import { ACTION_DOCS, HELPER_DOCS, XDP_MD_FIELDS, lookupDoc } from '../../server/docs.ts';
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
