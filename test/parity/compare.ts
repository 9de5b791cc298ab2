// Compact differences between what the kernel and the simulator produced, for failure messages that fit on a screen:
// the first differing byte of data_out with a window of context, and map entries missing, extra or different.
import type { KernelMaps, KernelMapEntry } from '../kernel/runner.ts';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** undefined when equal, else e.g. `length 64 vs 60; first difference at byte 12: kernel 0800… sim 86dd…`. */
export function diffBytes(kernel: Uint8Array, sim: Uint8Array): string | undefined {
  const n = Math.min(kernel.length, sim.length);
  let i = 0;
  while (i < n && kernel[i] === sim[i]) i++;
  if (i === n && kernel.length === sim.length) return undefined;
  const from = Math.max(0, i - 4);
  const win = (b: Uint8Array) => hex(b.subarray(from, Math.min(b.length, i + 12))) || '(end)';
  const lens = kernel.length === sim.length ? `length ${kernel.length}` : `length kernel ${kernel.length} sim ${sim.length}`;
  return `${lens}; first difference at byte ${i}: kernel[${from}..] ${win(kernel)} sim[${from}..] ${win(sim)}`;
}

const entryText = (e: KernelMapEntry | undefined): string =>
  !e ? '(absent)' : e.program !== undefined ? `prog ${e.program}` : e.map !== undefined ? `map ${e.map}` : e.values ? `[${e.values.join(',')}]` : e.value ?? '';

/** Lines describing how the maps differ (at most `limit`), [] when equal. */
export function diffMaps(kernel: KernelMaps, sim: KernelMaps, limit = 12): string[] {
  const out: string[] = [];
  const names = [...new Set([...Object.keys(kernel), ...Object.keys(sim)])].sort();
  for (const name of names) {
    const k = kernel[name];
    const s = sim[name];
    if (!k || !s) {
      out.push(`map ${name}: only in ${k ? 'kernel' : 'simulator'}`);
      continue;
    }
    const km = new Map(k.map((e) => [e.key, e]));
    const sm = new Map(s.map((e) => [e.key, e]));
    for (const key of [...new Set([...km.keys(), ...sm.keys()])]) {
      const a = entryText(km.get(key));
      const b = entryText(sm.get(key));
      if (a !== b) out.push(`map ${name} key ${key}: kernel ${a} sim ${b}`);
    }
    if (out.length === 0 && k.map((e) => e.key).join() !== s.map((e) => e.key).join()) {
      out.push(`map ${name}: same entries in a different order (kernel ${k.map((e) => e.key).join(' ')}; sim ${s.map((e) => e.key).join(' ')})`);
    }
  }
  return out.length > limit ? [...out.slice(0, limit), `... ${out.length - limit} more`] : out;
}

/** The simulator's map JSON reduced to the fields the kernel dump has. */
export function normaliseSimMaps(json: Record<string, { key: string; value?: string; values?: string[]; program?: string; map?: string }[]>): KernelMaps {
  const out: KernelMaps = {};
  for (const [name, list] of Object.entries(json)) {
    out[name] = list.map((e) => {
      const r: KernelMapEntry = { key: e.key };
      if (e.program !== undefined) r.program = e.program;
      else if (e.map !== undefined) r.map = e.map;
      else if (e.values !== undefined) r.values = e.values;
      else r.value = e.value ?? '';
      return r;
    });
  }
  return out;
}
