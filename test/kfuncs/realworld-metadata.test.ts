// The kernel selftest xdp_hw_metadata.c (../shared/realworld: vmlinux.h, CO-RE, the RX metadata kfuncs) in the
// simulator: a UDP packet to port 9091 gets struct xdp_meta in front of it, filled from the modelled driver (mlx5:
// the capture timestamp, the flow's Toeplitz hash and XDP_RSS_TYPE_L4_IPV4_UDP; i40e: no timestamp, -EOPNOTSUPP for
// the hash), and the redirect to the empty XSKMAP falls back to XDP_PASS. The kernel cannot run it (a device-bound
// program, which BPF_PROG_TEST_RUN refuses); the realworld corpus test proves that it loads bound to a veth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { Driver } from '../../simulator/driver/rx.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { rssHash } from '../../simulator/driver/rss.ts';
import { REPO } from '../repo.ts';

const RW = join(REPO, '..', 'shared', 'realworld');
const SRC = join(RW, 'linux/tools/testing/selftests/bpf/progs/xdp_hw_metadata.c');
const INCLUDES = [join(RW, 'include'), join(RW, 'linux/tools/testing/selftests/bpf'), '/usr/include/x86_64-linux-gnu'];
const absent = !existsSync(SRC) ? `${SRC} is absent (../shared/realworld)` : false;

function udp(dport: number): Uint8Array {
  const b = new Uint8Array(60);
  b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  b.set([0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 168, 1, 7, 192, 168, 1, 9], 14);
  b.set([0x9c, 0x40, dport >> 8, dport & 0xff, 0, 26, 0, 0], 34);
  return b;
}

test('xdp_hw_metadata.c: struct xdp_meta filled from the driver profile, per profile', { skip: absent }, () => {
  const obj = loadProgramFile(SRC, { includeDirs: INCLUDES });
  const ts = 1_764_000_000_987_654_321n;
  for (const profile of ['mlx5', 'i40e'] as const) {
    const session = new Session(obj, { program: 'rx' });
    const driver = new Driver(session, { mode: 'native', profile: PROFILES[profile], queues: 1 });
    const skipped = driver.receive(udp(53), ts);
    assert.equal(skipped.metaLen, 0);
    const r = driver.receive(udp(9091), ts);
    assert.equal(r.fault, undefined, r.fault?.message);
    assert.equal(r.action, 'XDP_PASS');
    assert.equal(r.metaLen, 16); // struct xdp_meta of this xdp_metadata.h: timestamp, hash, type
    const meta = Buffer.from(r.out.subarray(0, 16));
    if (profile === 'mlx5') {
      assert.equal(meta.readBigUInt64LE(0), ts);
      assert.equal(meta.readUInt32LE(8), rssHash(udp(9091)) >>> 0);
      assert.equal(meta.readUInt32LE(12), 41); // XDP_RSS_TYPE_L4_IPV4_UDP
    } else {
      assert.equal(meta.readBigUInt64LE(0), 0n);
      assert.equal(meta.readInt32LE(12), -95); // rx_hash_err = -EOPNOTSUPP
    }
    const bss = session.mapsJson()['xdp_hw_m.bss'][0].value!;
    // pkts_skip, pkts_fail, pkts_redir
    assert.equal(bss, '010000000000000000000000000000000100000000000000');
    driver.finish();
  }
});
