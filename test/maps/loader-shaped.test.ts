// Objects shaped for older or custom loaders, against the kernel: legacy SEC("maps") (struct bpf_map_def; the kernel
// harness loads it through its syscall-level loader since libbpf 1.x refuses it), maps declared with max_entries 0
// and sized at load (the simulator's default, the number of CPUs, and --max-entries), a map pinned by name. Retval,
// data_out and every map after the last packet must agree byte for byte. The real-world programs that use legacy maps
// (netronome l4lb and xdpdump, xdpcap's xdp_hook) must load and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { loadProgramFile, Session, XdpLensError } from '../../simulator/session.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REPO, sharedPath } from '../repo.ts';
import { differences, packets } from './kernel-diff.ts';

const PROGRAMS = join(REPO, 'test', 'maps', 'programs');

/** The kernel's possible CPUs (what libbpf_num_possible_cpus counts), from /sys/devices/system/cpu/possible. */
function possibleCpus(): number {
  const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  return text.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
}

test('legacy SEC("maps") definitions agree with the kernel (syscall-level loader), with a note', (t) => {
  const src = join(PROGRAMS, 'legacy_maps.c');
  const s = new Session(loadProgramFile(src), {});
  assert.ok(s.notes.some((n) => /legacy SEC\("maps"\).*libbpf 1\.0 and later refuse/.test(n)), s.notes.join('\n'));
  if (kernelOrSkip(t)) return;
  const { problems } = differences(src, { program: 'legacy' });
  assert.deepEqual(problems, []);
});

test('max_entries 0: the default (the number of CPUs) agrees with a loader that sizes maps to the CPUs', (t) => {
  const src = join(PROGRAMS, 'sized_pinned.c');
  const s = new Session(loadProgramFile(src), { nrCpus: 3 });
  assert.equal(s.machine.maps.find((m) => m.def.name === 'flows')!.def.maxEntries, 3);
  assert.ok(s.notes.some((n) => /map 'flows' declares max_entries 0.*using 3.*--max-entries flows=N/.test(n)));
  if (kernelOrSkip(t)) return;
  // differences() gives the session the kernel's possible CPUs; the harness sizes every max_entries-0 map to as many.
  const { problems, session } = differences(src, { program: 'sized', kernel: { zeroMaxEntries: possibleCpus() } });
  assert.equal(session.machine.maps.find((m) => m.def.name === 'per_slot')!.def.maxEntries, possibleCpus());
  assert.deepEqual(problems, []);
});

test('--max-entries MAP=N sizes a map as bpf_map__set_max_entries does; agrees with the kernel', (t) => {
  const src = join(PROGRAMS, 'sized_pinned.c');
  assert.throws(() => new Session(loadProgramFile(src), { maxEntries: { nope: 4 } }), (e: unknown) =>
    e instanceof XdpLensError && /--max-entries: no map named 'nope'/.test(e.message));
  if (kernelOrSkip(t)) return;
  const { problems, session } = differences(src, { program: 'sized', kernel: { zeroMaxEntries: 16 }, session: { maxEntries: { flows: 16, per_slot: 16 } } });
  assert.equal(session.notes.length, 0);
  assert.deepEqual(problems, []);
});

test('a map pinned by name (LIBBPF_PIN_BY_NAME) loads and runs; pinning has no effect on the program', (t) => {
  const src = join(PROGRAMS, 'sized_pinned.c');
  const obj = loadProgramFile(src);
  assert.equal(obj.maps.find((m) => m.name === 'xl_pinned_stats')!.pinning, 1);
  if (kernelOrSkip(t)) return;
  const { problems, kernelMaps } = differences(src, { program: 'sized', kernel: { zeroMaxEntries: 8 }, session: { maxEntries: { flows: 8, per_slot: 8 } } });
  assert.deepEqual(problems, []);
  assert.ok(kernelMaps.xl_pinned_stats.some((e) => e.value !== '0000000000000000'));
  assert.equal(existsSync('/sys/fs/bpf/xl_pinned_stats'), false, 'nothing left behind in bpffs');
});

const LEGACY_CORPUS: [string, string, string[]][] = [
  ['netronome-bpf-samples/l4lb/l4lb_xdp.c', 'loadbal', ['-Iinclude', '-Inetronome-bpf-samples/headers', '-I/usr/include/x86_64-linux-gnu']],
  ['netronome-bpf-samples/xdpdump/xdpdump_kern.c', 'process_packet', ['-Iinclude', '-Inetronome-bpf-samples/headers', '-I/usr/include/x86_64-linux-gnu']],
  ['xdpcap/testdata/xdp_hook.c', 'xdp_hook', ['-nostdinc', '-isystem', 'xdpcap/testdata/headers']],
];

for (const [path, program, rawFlags] of LEGACY_CORPUS) {
  test(`corpus ${path} (legacy maps) loads and runs in the simulator and agrees with the kernel`, (t) => {
    const root = sharedPath('realworld');
    const src = join(root, path);
    if (!existsSync(src)) return void t.skip(`${src} not present (the real-world corpus is optional)`);
    const flags = rawFlags.map((f, i) => (f.startsWith('-I') && !f.startsWith('-I/') ? `-I${join(root, f.slice(2))}` : rawFlags[i - 1] === '-isystem' ? join(root, f) : f));
    const s = new Session(loadProgramFile(src, { clangFlags: flags }), { program });
    assert.ok(s.notes.some((n) => /legacy SEC\("maps"\)/.test(n)));
    const pkts = packets().slice(0, 40);
    for (const p of pkts) assert.equal(s.runPacket(p).fault, undefined);
    if (kernelOrSkip(t)) return;
    const { problems } = differences(src, { program, flags, kernel: { only: true, xdpType: true } }, pkts);
    assert.deepEqual(problems, []);
  });
}
