// Labels of the maps view (no `vscode`, unit-tested in test/client/maps-format.test.ts): a map's line, an entry's
// line with what changed since the run started, and where a seed setting was stored.
import type { MapEntryView, MapView } from '../server/protocol.ts';
import { staleChanged } from './format.ts';

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** A ring's size as it is set (a power of two): "16 MiB", "256 KiB"; other sizes in bytes. */
const ringSize = (n: number) => (n >= 1 << 20 && n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : plural(n, 'byte'));

/** `HASH · __u32 → __u64 · 3 entries, 1 changed` */
/** Maps that hold records or events for user space, not elements: their key and value sizes and count say nothing. */
const EVENT_MAPS = new Set(['RINGBUF', 'USER_RINGBUF', 'PERF_EVENT_ARRAY']);
const eventText = (m: MapView) => `${m.type === 'PERF_EVENT_ARRAY' ? 'events' : 'records'} for user space, not shown`;

export function mapDescription(m: MapView): string {
  if (EVENT_MAPS.has(m.type)) return `${m.type}${m.type === 'PERF_EVENT_ARRAY' ? '' : ` · ${ringSize(m.maxEntries)} ring`} · ${eventText(m)}`;
  const types = m.keyType || m.valueType ? `${m.keyType ?? `${m.keySize} B`} → ${m.valueType ?? `${m.valueSize} B`}` : `${m.keySize} B → ${m.valueSize} B`;
  const count = plural(m.total, 'entry', 'entries') + (m.changed ? `, ${m.changed} changed` : '');
  return `${m.type} · ${types} · ${count}`;
}

export function mapTooltip(m: MapView): string {
  if (EVENT_MAPS.has(m.type)) return `${m.name}: BPF_MAP_TYPE_${m.type}, max_entries ${m.maxEntries}\nIt holds ${eventText(m)} (no entries).`;
  return [
    `${m.name}: BPF_MAP_TYPE_${m.type}, max_entries ${m.maxEntries}`,
    `key ${m.keyType ?? '(no BTF type)'}, ${m.keySize} bytes; value ${m.valueType ?? '(no BTF type)'}, ${m.valueSize} bytes`,
    `${plural(m.total, 'entry', 'entries')} after the run; ${m.changed} changed since the run started (after the seed)`,
  ].join('\n');
}

/**
 * The view's message: how many maps after which run (named by its program and capture, as the packets view names it)
 * and how many entries changed, or the run's error; prefixed, when the program or the settings changed since that run,
 * by a stale notice that says how to refresh it (the view's description says "stale" too).
 */
export function mapsMessage(r: { run: string; maps: number; changed: number; error?: string }, stale: boolean | string): string {
  const text = r.error ?? (r.maps ? `${plural(r.maps, 'map')} after the run of ${r.run}; ${plural(r.changed, 'entry', 'entries')} changed since it started` : `The run of ${r.run}: the program has no maps.`);
  if (!stale) return text;
  return [`Stale: ${staleChanged(stale)} changed since this run. Run "XDP: Re-run".`, text].filter(Boolean).join(' ');
}

/** `[6]` */
export const entryLabel = (e: MapEntryView): string => `[${e.keyText}]`;

/** `1  (was 0)`, `5  (new)`, `(deleted, was 3)` */
export function entryDescription(e: MapEntryView): string {
  switch (e.change) {
    case 'added': return `${e.valueText}  (new since the run started)`;
    case 'changed': return `${e.valueText}  (was ${e.beforeText ?? '?'})`;
    case 'deleted': return `(deleted; was ${e.valueText})`;
    default: return e.valueText;
  }
}

/**
 * A 4-byte key read as the IPv4 address its bytes spell (network order), for the many maps keyed by an address
 * (a blocklist's 192.0.2.66 is the __u32 1107427520 on a little-endian machine): only when its first and last bytes
 * are not 0, which rules out small indices and counters.
 */
export function ipv4Reading(keyHex: string): string | undefined {
  if (!/^[0-9a-f]{8}$/i.test(keyHex)) return undefined;
  const b = [0, 2, 4, 6].map((i) => parseInt(keyHex.slice(i, i + 2), 16));
  return b[0] && b[3] ? b.join('.') : undefined;
}

export function entryTooltip(e: MapEntryView): string {
  const ip = ipv4Reading(e.key);
  const lines = [`key ${e.keyText}   (hex ${e.key}${ip ? `; as an IPv4 address: ${ip}` : ''})`, `value ${e.valueText}`, `hex ${e.value}`];
  if (e.change === 'changed') lines.push(`at the start of the run: ${e.beforeText}`);
  if (e.change === 'added') lines.push('not in the map when the run started');
  if (e.change === 'deleted') lines.push('deleted during the run; the value shown is the one it had at the start');
  return lines.join('\n');
}

/** The entries not listed yet of a map whose first `shown` are: the paging row's label, or undefined when none. */
export function moreLabel(m: MapView, shown: number, page: number): string | undefined {
  const rest = m.rows - shown;
  return rest > 0 ? `Show ${rest > page ? `the next ${page}` : rest === 1 ? 'the last entry' : `the last ${rest}`} (${plural(rest, 'entry', 'entries')} not listed)` : undefined;
}

/** A seed file's path as stored in the setting: relative to the workspace folder when inside it. */
export function settingPath(file: string, folder: string | undefined): string {
  if (folder && (file === folder || file.startsWith(folder.endsWith('/') ? folder : `${folder}/`))) return file.slice(folder.length).replace(/^\/+/, '');
  return file;
}
