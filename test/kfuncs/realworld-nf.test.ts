// The kernel selftest test_bpf_nf.c (../shared/realworld: vmlinux.h, CO-RE on a ___local opts flavour, the conntrack
// kfuncs, a __kconfig extern, a tc program beside the XDP one). The 6.18 kernel refuses this (older) version of it
// ("Possibly NULL pointer passed to trusted arg1": it passes a NULL tuple on purpose), so it runs in the simulator
// only, with the results its own test (prog_tests/bpf_nf.c) expects, except where 6.18 differs and the kernel tests
// of conntrack.test in kfuncs.test.ts show it: its 12-byte opts put `reserved[0]` where 6.18 has the output field
// `dir`, so that lookup is -ENOENT, not -EINVAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { REPO } from '../repo.ts';

const RW = join(REPO, '..', 'shared', 'realworld');
const SRC = join(RW, 'linux/tools/testing/selftests/bpf/progs/test_bpf_nf.c');
const INCLUDES = [join(RW, 'include'), join(RW, 'linux/tools/testing/selftests/bpf'), '/usr/include/x86_64-linux-gnu'];
const absent = !existsSync(SRC) ? `${SRC} is absent (../shared/realworld)` : false;

test('test_bpf_nf.c: the XDP conntrack test runs and gets the errors and entries the selftest expects', { skip: absent }, () => {
  const obj = loadProgramFile(SRC, { includeDirs: INCLUDES });
  // The tc program calls bpf_skb_ct_* (not XDP kfuncs, not modelled): it is refused, or, where the running kernel's BTF
  // has them, linked as unmodelled (a packet reaching the call stops).
  const tc = obj.programs.find((p) => p.name === 'nf_skb_ct_test');
  assert.ok(/bpf_skb_ct_lookup' is not modelled/.test(tc?.loadErrors?.join('\n') ?? '') ||
    tc?.kfuncs?.some((k) => k.name === 'bpf_skb_ct_lookup' && k.unmodelled), JSON.stringify(tc?.kfuncs));
  const session = new Session(obj, { program: 'nf_xdp_ct_test' });
  const r = session.runPacket(new Uint8Array(64), { tsNs: 1_000_000_000n });
  assert.equal(r.fault, undefined, r.fault?.message);
  assert.equal(r.retval, 0);
  const maps = session.mapsJson();
  const ints = (name: string) => {
    const v = Buffer.from(maps[name][0].value!, 'hex');
    return Array.from({ length: v.length / 4 }, (_, i) => v.readInt32LE(i * 4));
  };
  const [einvalTuple, einvalReserved, einvalNetns, einvalLen, eproto, enonet, enoent, eafnosupport, delta, status] = ints('test_bpf.bss');
  assert.deepEqual(
    { einvalTuple, einvalReserved, einvalNetns, einvalLen, eproto, enonet, enoent, eafnosupport, status },
    { einvalTuple: -22, einvalReserved: -2, einvalNetns: -22, einvalLen: -22, eproto: -71, enonet: -64, enoent: -2, eafnosupport: -97, status: 2 },
  );
  // bpf_ct_change_timeout(ct, 10000) then (ct->timeout - jiffies) / CONFIG_HZ: 10 s (the selftest accepts 8..10).
  assert.equal(delta, 10);
  assert.deepEqual(ints('test_bpf.data'), [0, 0, 0]); // test_alloc_entry, test_insert_entry, test_succ_lookup
  assert.deepEqual(maps['test_bp.kconfig'], [{ key: '00000000', value: 'fa00000000000000' }]);
  // The inserted connection is in the table after the run. Its bpf_ct_change_status(ct, IPS_SEEN_REPLY) failed with
  // -EBUSY (the new status drops CONFIRMED, as the kernel test of bpf_ct_change_status shows), so only CONFIRMED.
  const ct = session.conntrackJson();
  assert.equal(ct.length, 1);
  assert.deepEqual(ct[0].statusFlags, ['CONFIRMED']);
  assert.equal(ct[0].timeout, 10);
});
