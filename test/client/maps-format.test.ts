// The maps view's labels (client/maps-format.ts): a map's line, an entry with what changed since the run started,
// the paging row, and the path a seed setting stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryDescription, entryLabel, entryTooltip, ipv4Reading, mapDescription, mapsMessage, mapTooltip, moreLabel, settingPath } from '../../client/maps-format.ts';
import type { MapView } from '../../server/protocol.ts';

const map = (over: Partial<MapView> = {}): MapView => ({
  name: 'proto_count', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 256, keyType: '__u32', valueType: '__u64',
  total: 256, changed: 2, rows: 256, offset: 0, entries: [], ...over,
});

test('a map reads as its type, its C key and value types, and its counts', () => {
  assert.equal(mapDescription(map()), 'ARRAY · __u32 → __u64 · 256 entries, 2 changed');
  assert.equal(mapDescription(map({ keyType: undefined, valueType: undefined, total: 1, changed: 0 })), 'ARRAY · 4 B → 8 B · 1 entry');
});

test('a ring buffer or perf event array says it holds records, not entries', () => {
  const rb = map({ name: 'rb', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 262144, keyType: undefined, valueType: undefined, total: 0, changed: 0 });
  assert.equal(mapDescription(rb), 'RINGBUF · 256 KiB ring · records for user space, not shown');
  assert.equal(mapDescription({ ...rb, maxEntries: 1 << 24 }), 'RINGBUF · 16 MiB ring · records for user space, not shown');
  assert.match(mapTooltip(rb), /^rb: BPF_MAP_TYPE_RINGBUF, max_entries 262144\nIt holds records for user space, not shown \(no entries\)\.$/);
  assert.equal(mapDescription(map({ type: 'PERF_EVENT_ARRAY', total: 0, changed: 0 })), 'PERF_EVENT_ARRAY · events for user space, not shown');
});

test('an entry shows its decoded key and value and what changed', () => {
  const e = { key: '06000000', value: '0100000000000000', keyText: '6', valueText: '1' };
  assert.equal(entryLabel(e), '[6]');
  assert.equal(entryDescription(e), '1');
  assert.equal(entryDescription({ ...e, change: 'changed', beforeText: '0' }), '1  (was 0)');
  assert.match(entryDescription({ ...e, change: 'added' }), /^1 {2}\(new/);
  assert.equal(entryDescription({ ...e, change: 'deleted' }), '(deleted; was 1)');
});

test('large maps page: the row says how many are left and how many the next page shows', () => {
  assert.equal(moreLabel(map(), 100, 500), 'Show the last 156 (156 entries not listed)');
  assert.equal(moreLabel(map({ rows: 1200 }), 100, 500), 'Show the next 500 (1,100 entries not listed)');
  assert.equal(moreLabel(map({ rows: 101 }), 100, 500), 'Show the last entry (1 entry not listed)');
  assert.equal(moreLabel(map(), 256, 500), undefined);
});

test('a seed inside the workspace folder is stored relative to it', () => {
  assert.equal(settingPath('/ws/seeds/m.json', '/ws'), 'seeds/m.json');
  assert.equal(settingPath('/other/m.json', '/ws'), '/other/m.json');
  assert.equal(settingPath('/wsx/m.json', '/ws'), '/wsx/m.json');
  assert.equal(settingPath('/ws/m.json', undefined), '/ws/m.json');
});

test('the view message: the maps after a run named by its program and capture, and the stale notice after an edit', () => {
  const r = { run: 'xdp_filter.c on demo.pcap', maps: 4, changed: 1 };
  assert.equal(mapsMessage(r, false), '4 maps after the run of xdp_filter.c on demo.pcap; 1 entry changed since it started');
  assert.equal(
    mapsMessage(r, true),
    'Stale: the file or the settings changed since this run. Run "XDP: Re-run". 4 maps after the run of xdp_filter.c on demo.pcap; 1 entry changed since it started',
  );
  assert.equal(
    mapsMessage(r, 'the map seed file blocklist.json'),
    'Stale: the map seed file blocklist.json changed since this run. Run "XDP: Re-run". 4 maps after the run of xdp_filter.c on demo.pcap; 1 entry changed since it started',
  );
  assert.equal(mapsMessage({ ...r, maps: 0 }, false), 'The run of xdp_filter.c on demo.pcap: the program has no maps.', 'an empty view says why');
  assert.match(mapsMessage({ ...r, error: 'run-3 is no longer held' }, true) ?? '', /^Stale: .* run-3 is no longer held$/);
  assert.doesNotMatch(mapsMessage(r, true), /run-\d/, 'no run id: it means nothing to the user');
});

test('a 4-byte key whose bytes spell an address says which (the tooltip), an index does not', () => {
  const e = { key: 'c0000242', value: '0100000000000000', keyText: '1107427520', valueText: '1' };
  assert.equal(entryTooltip(e).split('\n')[0], 'key 1107427520   (hex c0000242; as an IPv4 address: 192.0.2.66)');
  assert.equal(ipv4Reading('06000000'), undefined, 'proto_count[6]');
  assert.equal(ipv4Reading('00000001'), undefined);
  assert.equal(ipv4Reading('0a000001'), '10.0.0.1');
  assert.equal(ipv4Reading('0a0000010a000002'), undefined, 'not 4 bytes');
  assert.equal(entryTooltip({ key: '06000000', value: '01', keyText: '6', valueText: '1' }).split('\n')[0], 'key 6   (hex 06000000)');
});
