// The debugger's Maps scope shows keys and values decoded through the maps' BTF types (simulator/btf-format.ts, the
// formatter checked against bpftool in test/maps/btf-format.test.ts): on test/maps/btf/btf_values.c seeded with a
// struct value, an enum value and a string, stopped in the program, a struct value expands member by member (nested
// arrays and structs too), an enum reads by name, a per-CPU value expands per CPU, global data by variable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { XdpDebugSession } from '../../simulator/debug/adapter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { entryText, mapFormat } from '../../simulator/btf-format.ts';
import { REPO } from '../repo.ts';

const PROGRAM = join(REPO, 'test', 'maps', 'btf', 'btf_values.c');
const skip = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dap-maps-'));
const capture = join(dir, 'cap.pcap');
const mapsFile = join(dir, 'maps.json');
let server: Server;
let port = 0;

// struct value: u64, s64, s32, color, name[12], in[2] {s8,u8,s16,arr[3]}, f (bitfields), union, ptr, cv, flag, c, uc, grid.
const structValue = Buffer.alloc(112);
structValue.writeBigUInt64LE(42n, 0);
structValue.writeBigInt64LE(-7n, 8);
structValue.writeInt32LE(-1, 16);
structValue.writeInt32LE(5, 20); // GREEN
structValue.write('eth0', 24);
structValue.writeInt8(-2, 36);
const SEED = {
  structs: [{ key: '0a000001' + '5000' + '06' + '00', value: structValue.toString('hex') }],
  colors: [{ key: '01000000', value: 'fdffffff' }],
  names: [{ key: 'ffffff7f', value: Buffer.from('lens\0\0\0\0\0\0\0\0\0\0\0\0').toString('hex') }],
};

before(async () => {
  const w = new PcapWriter(capture);
  w.write(1_000_000_000n, new Uint8Array(64));
  w.close();
  writeFileSync(mapsFile, JSON.stringify(SEED));
  server = createServer((socket) => {
    const s = new XdpDebugSession();
    s.setRunAsServer(true);
    s.start(socket, socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Maps in Variables: decoded through BTF, structs expandable', { skip }, async () => {
  const dc = new DebugClient('node', 'unused', 'xdp');
  dc.defaultTimeout = 120_000;
  await dc.start(port);
  try {
    const ev = dc.waitForEvent('stopped');
    await Promise.all([dc.launch({ program: PROGRAM, capture, maps: mapsFile, stopOnEntry: true }), dc.configurationSequence()]);
    await ev;
    const frame = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!;
    const scope = (await dc.scopesRequest({ frameId: frame.id })).body.scopes.find((s) => s.name === 'Maps')!;
    const maps = new Map((await dc.variablesRequest({ variablesReference: scope.variablesReference })).body.variables.map((v) => [v.name, v]));
    const children = async (v: DebugProtocol.Variable) => new Map((await dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables.map((x) => [x.name, x]));

    // The text is the formatter's on the seeded bytes.
    const obj = loadProgramFile(PROGRAM);
    const text = (map: string, e: { key: string; value: string }) => entryText(mapFormat(obj.btf, obj.maps.find((m) => m.name === map)), e);
    const structs = [...(await children(maps.get('structs')!)).values()];
    assert.equal(structs.length, 1);
    const want = text('structs', SEED.structs[0]!);
    assert.equal(structs[0]!.name, `[${want.key}]`);
    assert.equal(structs[0]!.value, want.value);
    assert.equal(structs[0]!.type, 'struct value');
    // Member by member, nested values expandable.
    const fields = await children(structs[0]!);
    assert.deepEqual([...fields.keys()].slice(0, 6), ['u64', 's64', 's32', 'color', 'name', 'in']);
    assert.deepEqual(['u64', 's64', 's32', 'color', 'name'].map((n) => fields.get(n)!.value), ['42', '-7', '-1', 'GREEN', '"eth0"']);
    const inner = await children(fields.get('in')!);
    assert.deepEqual([...inner.keys()], ['[0]', '[1]']);
    assert.equal((await children(inner.get('[0]')!)).get('s8')!.value, '-2');
    const f = await children(fields.get('f')!);
    assert.deepEqual([...f.keys()], ['a', 'b', 'c', 'd', 'e']);

    const colors = await children(maps.get('colors')!);
    assert.equal(colors.get('[1]')!.value, 'BLUE');
    const names = await children(maps.get('names')!);
    assert.equal(names.get('[BIG_B]')!.value, '"lens"', 'an enum key reads by name');
    // Per CPU: the value expands per CPU.
    const percpu = await children(maps.get('percpu')!);
    const slot0 = percpu.get('[0]')!;
    assert.match(slot0.value, /^cpu0: \{\.a = 0/);
    assert.ok([...(await children(slot0)).keys()].every((k) => /^cpu\d+$/.test(k)));
    // Global data: variable by variable.
    const rodata = [...maps.keys()].find((n) => n.endsWith('.rodata'))!;
    const ro = (await children(maps.get(rodata)!)).get('[00000000]')!; // a global-data key has no BTF type (libbpf gives it none)
    assert.equal(ro.value, '{.limit = -42, .greeting = "hello"}');
  } finally {
    await dc.stop();
  }
});
