// The Machine on hand-built LoadedObjects: ctx and packet access, memory faults with their slot index, the budget,
// bpf-to-bpf calls, tail calls, and helpers checked against the kernel-measured values of the reference (C.3, C.4,
// C.6 in shared/reference/xdp-semantics.md: 64-byte packet, headroom 256, frame_sz 4096).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../simulator/isa/asm.ts';
import { createMachine } from '../../simulator/vm/machine.ts';
import { MapType, BPF_F_RDONLY_PROG, type LoadedObject, type LoadedProgram, type MapDef } from '../../simulator/elf/types.ts';
import type { Environment, XdpBuff } from '../../simulator/vm/types.ts';

function prog(name: string, text: string, section = 'xdp'): LoadedProgram {
  const a = assemble(text);
  assert.deepEqual(a.errors, [], `assembling ${name}`);
  return {
    name,
    section,
    isXdp: true,
    frags: false,
    insns: a.insns,
    lines: a.insns.map((_, i) => ({ file: `${name}.c`, line: i + 1, column: 1 })),
    funcs: [{ insn: 0, name }],
  };
}

function object(programs: LoadedProgram[], maps: MapDef[] = []): LoadedObject {
  return { path: 'test.o', license: 'GPL', programs, maps };
}

function mapDef(name: string, type: number, keySize: number, valueSize: number, maxEntries: number, extra: Partial<MapDef> = {}): MapDef {
  return { name, type, keySize, valueSize, maxEntries, flags: 0, kind: 'user', section: '.maps', ...extra };
}

/** test_run geometry: frame 4096, headroom 256, meta supported, `len` bytes 0,1,2,... */
function buff(len = 64, extra: Partial<XdpBuff> = {}): XdpBuff {
  const frame = new Uint8Array(4096);
  for (let i = 0; i < len; i++) frame[256 + i] = i & 0xff;
  return { frame, data: 256, dataEnd: 256 + len, dataMeta: 256, frags: [], fragSize: 0, ingressIfindex: 1, rxQueueIndex: 0, ...extra };
}

const env: Environment = { nowNs: () => 1_000_000_000n, prandom: () => 4, cpu: 0, nrCpus: 1, routes: [] };

function run(text: string, b = buff(), opts: { maps?: MapDef[]; budget?: number; section?: string } = {}) {
  const m = createMachine(object([prog('p', text, opts.section)], opts.maps), { budget: opts.budget });
  return { result: m.run('p', b, env), buff: b, machine: m };
}

test('a program returns r0 truncated to u32, with the exit slot and its source line', () => {
  const { result } = run('lddw %r0, 0x100000002\nexit');
  assert.equal(result.retval, 2);
  assert.equal(result.exitInsn, 2);
  assert.equal(result.exitLoc?.line, 3);
  assert.equal(result.fault, undefined);
  assert.equal(result.steps, 2);
});

test('ctx loads give packet pointers; data_end - data is the packet length', () => {
  const { result } = run('ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r0, %r3\nsub %r0, %r2\nexit', buff(77));
  assert.equal(result.retval, 77);
});

test('ingress_ifindex and rx_queue_index are readable', () => {
  const { result } = run('ldxw %r0, [%r1+12]\nldxw %r2, [%r1+16]\nlsh %r2, 8\nor %r0, %r2\nexit', buff(64, { ingressIfindex: 7, rxQueueIndex: 3 }));
  assert.equal(result.retval, 0x307);
});

test('packet bytes load little-endian; reading at data_end faults out-of-bounds with the slot', () => {
  const ok = run('ldxw %r2, [%r1+0]\nldxw %r0, [%r2+4]\nexit');
  assert.equal(ok.result.retval, 0x07060504);
  const { result } = run('ldxw %r2, [%r1+0]\nldxb %r0, [%r2+64]\nexit');
  assert.equal(result.fault?.kind, 'out-of-bounds');
  assert.equal(result.fault?.insn, 1);
  assert.equal(result.fault?.loc?.line, 2);
  assert.match(result.fault!.message, /packet offset 64/);
  assert.equal(result.exitInsn, -1);
});

test('ctx stores, wrong-size ctx loads and egress_ifindex outside devmap programs fault', () => {
  assert.equal(run('stw [%r1+0], 1\nmov %r0, 2\nexit').result.fault?.kind, 'ctx-write');
  assert.equal(run('mov %r2, 1\nstxw [%r1+16], %r2\nmov %r0, 2\nexit').result.fault?.kind, 'ctx-write');
  const bad = run('ldxb %r0, [%r1+12]\nexit').result.fault;
  assert.equal(bad?.kind, 'bad-ctx-access');
  assert.match(bad!.message, /off=12 size=1/);
  assert.equal(run('ldxw %r0, [%r1+20]\nexit').result.fault?.kind, 'bad-ctx-access');
  assert.equal(run('ldxw %r0, [%r1+20]\nexit', buff(64, { egressIfindex: 9 }), { section: 'xdp/devmap' }).result.retval, 9);
  assert.equal(run('ldxw %r0, [%r1+2]\nexit').result.fault?.kind, 'bad-ctx-access');
});

test('a NULL pointer dereference is named as such', () => {
  const { result } = run('mov %r2, 0\nldxw %r0, [%r2+4]\nexit');
  assert.equal(result.fault?.kind, 'null-dereference');
  assert.equal(result.fault?.insn, 1);
});

test('stores into a read-only page fault readonly-page-write', () => {
  const { result } = run('ldxw %r2, [%r1+0]\nstb [%r2+0], 1\nmov %r0, 2\nexit', buff(64, { readonlyPage: true }));
  assert.equal(result.fault?.kind, 'readonly-page-write');
  const rw = run('ldxw %r2, [%r1+0]\nstb [%r2+0], 0xab\nmov %r0, 2\nexit');
  assert.equal(rw.buff.frame[256], 0xab);
});

test('the stack is 512 bytes below r10, zero when unwritten', () => {
  assert.equal(run('ldxdw %r0, [%r10-512]\nexit').result.retval, 0);
  assert.equal(run('mov %r1, 5\nstxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit').result.retval, 5);
  const f = run('stdw [%r10-520], 1\nmov %r0, 0\nexit').result.fault;
  assert.equal(f?.kind, 'out-of-bounds');
  assert.equal(run('stb [%r10+0], 1\nmov %r0, 0\nexit').result.fault?.kind, 'out-of-bounds');
});

test('the instruction budget stops a loop that does not end, naming the slot', () => {
  const { result } = run('mov %r0, 0\nloop:\nadd %r0, 1\njne %r0, 0, loop\nexit', buff(), { budget: 1000 });
  assert.equal(result.fault?.kind, 'budget-exhausted');
  assert.ok(result.fault!.insn === 1 || result.fault!.insn === 2);
  assert.equal(result.steps, 1000);
});

test('bpf-to-bpf calls preserve r6-r9; recursion past 8 frames faults call-depth', () => {
  const ok = run('mov %r6, 6\nmov %r1, 4\ncall local f\nadd %r0, %r6\nexit\nf:\nmov %r6, 100\nmov %r0, %r1\nexit');
  assert.equal(ok.result.retval, 10);
  const deep = run('call local f\nexit\nf:\ncall local f\nexit');
  assert.equal(deep.result.fault?.kind, 'call-depth');
  assert.equal(deep.result.fault?.insn, 2);
});

test('validation errors come back as invalid-insn faults naming the slot', () => {
  const r = run('mov %r10, 1\nexit');
  assert.equal(r.result.fault?.kind, 'invalid-insn');
  assert.match(r.result.fault!.message, /insn 0: frame pointer is read only/);
});

test('a helper the simulator does not model faults with its kernel name', () => {
  const { result } = run('call 35\nmov %r0, 2\nexit');
  assert.equal(result.fault?.kind, 'unsupported-helper');
  assert.match(result.fault?.message ?? '', /^helper 35 \(bpf_get_current_task\) not supported: /);
});

test('a helper XDP programs may not call faults as the verifier refusal it is', () => {
  const { result } = run('call 9\nmov %r0, 2\nexit');
  assert.equal(result.fault?.kind, 'helper-misuse');
  assert.match(result.fault?.message ?? '', /^program of this type cannot use helper bpf_skb_store_bytes#9: /);
});

const callAndReturn = (setup: string, id: number) => `${setup}\ncall ${id}\nexit`;

test('bpf_xdp_adjust_head bounds match the kernel (C.3)', () => {
  const head = (delta: number, b = buff()) => run(callAndReturn(`mov %r2, ${delta}`, 44), b);
  assert.equal(head(-216).result.retval, 0);
  assert.equal(head(-216).buff.dataEnd - head(-216).buff.data, 280);
  assert.equal(head(-217).result.retval, 0xffffffea); // -22
  assert.equal(head(50).result.retval, 0);
  assert.equal(head(51).result.retval, 0xffffffea);
  const meta = buff(64, { dataMeta: 256 - 32 });
  assert.equal(head(-184, meta).result.retval, 0);
  assert.equal(head(-185, buff(64, { dataMeta: 256 - 32 })).result.retval, 0xffffffea);
});

test('bpf_xdp_adjust_tail bounds match the kernel (C.3) and grown bytes are zero', () => {
  const tail = (delta: number) => run(callAndReturn(`mov %r2, ${delta}`, 65));
  const grown = tail(3456);
  assert.equal(grown.result.retval, 0);
  assert.equal(grown.buff.dataEnd - grown.buff.data, 3520);
  assert.ok(grown.buff.frame.subarray(256 + 64, 256 + 3520).every((x) => x === 0));
  assert.equal(tail(3457).result.retval, 0xffffffea);
  assert.equal(tail(-50).result.retval, 0);
  assert.equal(tail(-51).result.retval, 0xffffffea);
});

test('bpf_xdp_adjust_meta bounds and alignment match the kernel (C.3)', () => {
  const meta = (delta: number, b = buff()) => run(callAndReturn(`mov %r2, ${delta}`, 54), b).result.retval >> 0;
  assert.equal(meta(-4), 0);
  assert.equal(meta(-2), -13);
  assert.equal(meta(-216), 0);
  assert.equal(meta(-220), -22);
  assert.equal(meta(4), -22);
  assert.equal(meta(-4, buff(64, { dataMeta: 257 })), -524); // metadata unsupported
});

test('after adjust_head the metadata window is readable through data_meta', () => {
  const { result } = run('mov %r6, %r1\nmov %r2, -8\ncall 54\nldxw %r2, [%r6+8]\nstw [%r2+0], 0x11223344\nldxw %r0, [%r2+0]\nexit');
  assert.equal(result.retval, 0x11223344);
});

test('bpf_redirect: flags give XDP_ABORTED, otherwise XDP_REDIRECT and the recorded ifindex (C.6)', () => {
  assert.equal(run('mov %r1, 5\nmov %r2, 1\ncall 23\nexit').result.retval, 0);
  const { result } = run('mov %r1, 5\nmov %r2, 0\ncall 23\nexit');
  assert.equal(result.retval, 4);
  assert.deepEqual(result.redirect, { kind: 'ifindex', ifindex: 5, flags: 0 });
});

test('xdp_load_bytes / get_buff_len (C.4: load@60 len 4 ok, @61 -EINVAL, @70000 -EFAULT)', () => {
  const load = (off: number) => run(`mov %r6, %r1\nmov %r2, ${off}\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 4\ncall 189\nexit`).result.retval >> 0;
  assert.equal(load(60), 0);
  assert.equal(load(61), -22);
  assert.equal(load(70000), -14);
  const got = run('mov %r2, 60\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 4\ncall 189\nldxw %r0, [%r10-8]\nexit');
  assert.equal(got.result.retval, 0x3f3e3d3c);
  const frags = buff(64, { frags: [new Uint8Array(100)] });
  assert.equal(run('call 188\nexit', frags).result.retval, 164);
});

test('xdp_store_bytes writes across the linear part into a fragment', () => {
  const b = buff(64, { frags: [new Uint8Array(16)] });
  const { result } = run('stdw [%r10-8], -1\nmov %r2, 60\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\ncall 190\nexit', b);
  assert.equal(result.retval, 0);
  assert.deepEqual([...b.frame.subarray(316, 320)], [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...b.frags[0].subarray(0, 5)], [0xff, 0xff, 0xff, 0xff, 0]);
});

test('map lookup, update and the value pointer; NULL for a missing key', () => {
  const maps = [mapDef('counters', MapType.ARRAY, 4, 8, 4)];
  const text = [
    'stw [%r10-4], 1',
    'lddw %r1, map[0]',
    'mov %r2, %r10',
    'add %r2, -4',
    'call 1',
    'jeq %r0, 0, out',
    'mov %r1, 3',
    'lock add [%r0+0], %r1',
    'ldxdw %r0, [%r0+0]',
    'exit',
    'out:',
    'mov %r0, 99',
    'exit',
  ].join('\n');
  const m = createMachine(object([prog('p', text)], maps));
  assert.equal(m.run('p', buff(), env).retval, 3);
  assert.equal(m.run('p', buff(), env).retval, 6, 'map state lives in the Machine across runs');
  const miss = createMachine(object([prog('p', text.replace('stw [%r10-4], 1', 'stw [%r10-4], 9'))], maps));
  assert.equal(miss.run('p', buff(), env).retval, 99);
});

test('stores into a BPF_F_RDONLY_PROG map value fault readonly-write', () => {
  const maps = [mapDef('cfg', MapType.ARRAY, 4, 8, 1, { flags: BPF_F_RDONLY_PROG })];
  const text = 'stw [%r10-4], 0\nlddw %r1, map[0]\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, +1\nstw [%r0+0], 1\nmov %r0, 2\nexit';
  const r = createMachine(object([prog('p', text)], maps)).run('p', buff(), env);
  assert.equal(r.fault?.kind, 'readonly-write');
  assert.equal(r.fault?.insn, 7);
});

test('global data: lddw map_value reads the initial image', () => {
  const init = new Uint8Array([0x2a, 0, 0, 0, 7, 0, 0, 0]);
  const maps = [mapDef('p.rodata', MapType.ARRAY, 4, 8, 1, { kind: 'global', section: '.rodata', initialValue: init, flags: BPF_F_RDONLY_PROG })];
  const r = createMachine(object([prog('p', 'lddw %r1, map_value[0]+4\nldxw %r0, [%r1+0]\nexit')], maps)).run('p', buff(), env);
  assert.equal(r.retval, 7);
});

test('tail calls: at most 33, then the call falls through (34 runs, as measured)', () => {
  const maps = [
    mapDef('jmp', MapType.PROG_ARRAY, 4, 4, 2, { initialProgs: [{ index: 0, program: 'p' }] }),
    mapDef('count', MapType.ARRAY, 4, 8, 1),
  ];
  const text = [
    'mov %r6, %r1',
    'stw [%r10-4], 0',
    'lddw %r1, map[1]',
    'mov %r2, %r10',
    'add %r2, -4',
    'call 1',
    'jeq %r0, 0, done',
    'mov %r1, 1',
    'lock add [%r0+0], %r1',
    'mov %r1, %r6',
    'lddw %r2, map[0]',
    'mov %r3, 0',
    'call 12',
    'done:',
    'mov %r0, 2',
    'exit',
  ].join('\n');
  const m = createMachine(object([prog('p', text)], maps));
  const r = m.run('p', buff(), env);
  assert.equal(r.fault, undefined);
  assert.equal(r.retval, 2);
  assert.equal(r.tailCalls, 33);
  const count = m.maps[1].lookup(new Uint8Array(4), 0)!;
  assert.equal(new DataView(count.buffer, count.byteOffset).getUint32(0, true), 34);
});

test('a tail call to an empty slot continues after the call', () => {
  const maps = [mapDef('jmp', MapType.PROG_ARRAY, 4, 4, 2)];
  const r = run('lddw %r2, map[0]\nmov %r3, 1\ncall 12\nmov %r0, 3\nexit', buff(), { maps }).result;
  assert.equal(r.retval, 3);
  assert.equal(r.tailCalls, 0);
});

test('bpf_loop runs the callback until it returns 1 and returns the number of calls', () => {
  const text = [
    'mov %r6, 0',
    'stdw [%r10-8], 0',
    'mov %r1, 10',
    'lddw %r2, func cb',
    'mov %r3, %r10',
    'add %r3, -8',
    'mov %r4, 0',
    'call 181',
    'ldxdw %r1, [%r10-8]',
    'lsh %r0, 8',
    'or %r0, %r1',
    'exit',
    'cb:',
    'ldxdw %r3, [%r2+0]',
    'add %r3, %r1',
    'stxdw [%r2+0], %r3',
    'mov %r0, 0',
    'jne %r1, 4, +1',
    'mov %r0, 1',
    'exit',
  ].join('\n');
  const r = run(text).result;
  assert.equal(r.fault, undefined);
  // indices 0..4 summed = 10; 5 invocations
  assert.equal(r.retval, (5 << 8) | 10);
});
