// The packet detail lists the records a packet sent to user space (ring buffer, perf event array): a packet whose
// only effect on the maps was a ring buffer record must not read "no map updates". Program written for this test; the
// records' bytes against the kernel's are compare's (test/cli/compare-ringbuf, compare-perf-records).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { runCapture, packetDetail } from '../../server/run.ts';
import { DEFAULT_SETTINGS } from '../../server/protocol.ts';
import { outputRecordLines } from '../../client/format.ts';
import { udpFrame, noClang } from '../driver/helpers.ts';

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
const host = { settingsFor: async () => DEFAULT_SETTINGS, compileOptions: () => ({}), log: () => {} };

// The frame's last byte picks: 1 a reserved and submitted ring record, 2 two bpf_ringbuf_output records, 3 a reserved
// then discarded one, 4 a perf event record (no reader: the program passes the packet only on -ENOENT).
const SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
struct ev { __u32 len; __u32 pick; __u64 pad[2]; };

SEC("xdp")
int rec(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *last = end - 1;
	if (data + 60 > end || (void *)last < data)
		return XDP_ABORTED;
	__u32 pick = *last;
	__u32 len = end - data;
	if (pick == 1 || pick == 3) {
		struct ev *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e)
			return XDP_ABORTED;
		e->len = len;
		e->pick = pick;
		if (pick == 3)
			bpf_ringbuf_discard(e, 0);
		else
			bpf_ringbuf_submit(e, 0);
		return XDP_PASS;
	}
	if (pick == 2) {
		bpf_ringbuf_output(&events, &len, sizeof(len), 0);
		bpf_ringbuf_output(&events, &len, sizeof(len), 0);
		return XDP_PASS;
	}
	if (pick == 4) {
		struct ev e = { .len = len, .pick = pick };
		return bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e)) == -2 ? XDP_PASS : XDP_DROP;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
`;

test('packet detail: the ring buffer and perf event records each packet sent, and what the packet view says of them', { skip: noClang }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-records-'));
  try {
    const program = join(dir, 'rec.c');
    writeFileSync(program, SRC);
    const capture = join(dir, 'c.pcap');
    const w = new PcapWriter(capture);
    for (const [i, pick] of [1, 2, 3, 4, 0].entries()) w.write(BigInt(i) * 1000n, udpFrame(64, pick));
    w.close();
    const r = await runCapture({ uri: pathToFileURL(program).href, capture }, host, token as never);
    assert.equal(r.error, undefined);
    const runId = r.summary!.runId;
    const d = await Promise.all([0, 1, 2, 3, 4].map((index) => packetDetail({ runId, index }, token as never)));
    for (const x of d) assert.equal(x.error, undefined);
    assert.deepEqual(d.map((x) => x.action), ['XDP_PASS', 'XDP_PASS', 'XDP_PASS', 'XDP_PASS', 'XDP_PASS']);
    // No map entry changed for any of them: the records are all there is.
    assert.deepEqual(d.map((x) => x.maps.length), [0, 0, 0, 0, 0]);
    assert.deepEqual(d.map((x) => x.records?.map((o) => `${o.kind} ${o.map} ${o.bytes}`)), [['ringbuf events 24'], ['ringbuf events 4', 'ringbuf events 4'], undefined, ['perf perf 24'], undefined]);
    // The record's first bytes: its len field, the frame's 64 bytes, little-endian.
    assert.match(d[0]!.records![0]!.head, /^4000000001000000/);
    assert.deepEqual(d.map((x) => outputRecordLines(x.records ?? []).map((l) => l.text)), [
      ['1 ring buffer record (events, 24 bytes)'],
      ['2 ring buffer records (events, 4 bytes each)'],
      [],
      ['1 perf event record (perf, 24 bytes): no reader in this run, the helper returned -ENOENT'],
      [],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
