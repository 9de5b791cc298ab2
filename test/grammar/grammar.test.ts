// The TextMate grammars: the committed JSON is the build of the YAML, snapshots of the sample files, and the rules
// that matter stated one by one. Regenerate snapshots with UPDATE_SNAPSHOTS=1 after checking the diff is intended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadGrammars, renderSnapshot, scopesOf, tokenize, SYNTAXES_DIR, type Token } from './tokenize.ts';
import type { IGrammar } from 'vscode-textmate';
import { REPO } from '../repo.ts';

const FIXTURES = join(REPO, 'test', 'grammar', 'fixtures');
const SNAPSHOTS = join(REPO, 'test', 'grammar', 'snapshots');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const grammars = loadGrammars();

const innermost = (scopes: string[]) => scopes[scopes.length - 1] ?? '-';

interface GrammarBuild {
  buildGrammar(yamlPath: string): string;
  grammarSources(): { yaml: string; json: string }[];
}

test('committed grammar JSON equals the build of its YAML source', async () => {
  const build = pathToFileURL(join(REPO, 'scripts', 'build-grammars.mjs')).href;
  const { buildGrammar, grammarSources } = (await import(build)) as GrammarBuild;
  const sources = grammarSources();
  assert.deepEqual(
    sources.map((s) => s.json.slice(SYNTAXES_DIR.length + 1)),
    ['xdp-bytecode.tmLanguage.json', 'xdp-c.injection.tmLanguage.json'],
  );
  for (const { yaml, json } of sources) {
    assert.ok(existsSync(json), `${json} is missing; run node scripts/build-grammars.mjs`);
    assert.equal(readFileSync(json, 'utf8'), buildGrammar(yaml), `${json} is stale; run node scripts/build-grammars.mjs`);
  }
});

test('package.json contributes both grammars and the xdp-bytecode language', () => {
  const pkg = JSON.parse(readFileSync(join(SYNTAXES_DIR, '..', 'package.json'), 'utf8'));
  const g = pkg.contributes.grammars as { scopeName: string; path: string; injectTo?: string[]; language?: string }[];
  const inj = g.find((x) => x.scopeName === 'source.c.xdp-injection');
  assert.deepEqual(inj?.injectTo, ['source.c']);
  assert.equal(inj?.path, './syntaxes/xdp-c.injection.tmLanguage.json');
  const bc = g.find((x) => x.scopeName === 'source.xdp-bytecode');
  assert.equal(bc?.language, 'xdp-bytecode');
  assert.equal(bc?.path, './syntaxes/xdp-bytecode.tmLanguage.json');
  assert.ok((pkg.contributes.languages as { id: string }[]).some((l) => l.id === 'xdp-bytecode'));
  for (const x of g) assert.ok(existsSync(join(SYNTAXES_DIR, '..', x.path)), `${x.path} does not exist`);
});

for (const name of readdirSync(FIXTURES).sort()) {
  test(`snapshot: ${name}`, async () => {
    const { c, bytecode } = await grammars;
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    const actual = renderSnapshot(name.endsWith('.c') ? c : bytecode, text);
    const snap = join(SNAPSHOTS, `${name}.snap.txt`);
    if (update || !existsSync(snap)) {
      if (!update) assert.fail(`${snap} does not exist; create it with UPDATE_SNAPSHOTS=1 and review it`);
      writeFileSync(snap, actual);
      return;
    }
    assert.equal(actual, readFileSync(snap, 'utf8'), `${name} tokenizes differently from ${snap} (UPDATE_SNAPSHOTS=1 to accept)`);
  });
}

test('snapshots have no orphan files', () => {
  const fixtures = new Set(readdirSync(FIXTURES).map((f) => `${f}.snap.txt`));
  for (const s of readdirSync(SNAPSHOTS)) assert.ok(fixtures.has(s), `snapshot ${s} has no fixture`);
});

/** What the injection must do on top of any C grammar: the sample's XDP names in code, nothing in comments/strings. */
function checkCInjection(c: IGrammar): void {
  const src = readFileSync(join(FIXTURES, 'xdp_sample.c'), 'utf8');
  const t = tokenize(c, src);
  const at = (lineHas: string, text: string) => innermost(scopesOf(t, src, lineHas, text));

  for (const a of ['XDP_ABORTED', 'XDP_DROP']) assert.equal(at(`return ${a};`, a), 'variable.other.enummember.xdp-action.c', a);
  assert.equal(at('? XDP_TX : XDP_REDIRECT', 'XDP_TX'), 'variable.other.enummember.xdp-action.c');
  assert.equal(at('? XDP_TX : XDP_REDIRECT', 'XDP_REDIRECT'), 'variable.other.enummember.xdp-action.c');
  assert.equal(at('ifindex, XDP_PASS', 'XDP_PASS'), 'variable.other.enummember.xdp-action.c');
  const notAction = t.find((x) => x.text.includes('XDP_FOO'));
  assert.ok(notAction && !notAction.scopes.some((sc) => sc.includes('xdp')), `XDP_FOO is not an action: ${JSON.stringify(notAction)}`);

  assert.equal(at('count = bpf_map_lookup_elem', 'bpf_map_lookup_elem'), 'support.function.bpf-helper.map.c');
  assert.equal(at('return bpf_redirect_map', 'bpf_redirect_map'), 'support.function.bpf-helper.redirect.c');
  assert.equal(at('bpf_xdp_adjust_head(ctx', 'bpf_xdp_adjust_head'), 'support.function.bpf-helper.packet.c');
  assert.equal(at('bpf_xdp_get_buff_len', 'bpf_xdp_get_buff_len'), 'support.function.bpf-helper.packet.c');
  assert.equal(at('bpf_ktime_get_ns', 'bpf_ktime_get_ns'), 'support.function.bpf-helper.time.c');
  assert.equal(at('bpf_printk(', 'bpf_printk'), 'support.function.bpf-macro.c');
  assert.equal(at('bpf_htons(64)', 'bpf_htons'), 'support.function.bpf-macro.c');

  assert.equal(at('SEC("xdp")', 'xdp'), 'entity.name.section.xdp.c');
  assert.equal(at('SEC("xdp")', 'SEC'), 'storage.modifier.section.c');
  assert.equal(at('SEC("xdp.frags/devmap")', 'xdp.frags/devmap'), 'entity.name.section.xdp.c');
  assert.equal(at('SEC("tc")', 'tc'), 'entity.name.section.c');
  assert.equal(at('tx_ports SEC(".maps")', '.maps'), 'entity.name.section.c');

  // Exactly the members read through `->` are marked, not the local variables of the same name.
  const members = (lineHas: string) => {
    const line = src.split('\n').findIndex((l) => l.includes(lineHas));
    return t.filter((x) => x.line === line && innermost(x.scopes) === 'variable.other.member.xdp-md.c').map((x) => x.text);
  };
  assert.deepEqual(members('long)ctx->data;'), ['data']);
  assert.deepEqual(members('ctx -> data_end'), ['data_end']);
  assert.deepEqual(members('ctx->rx_queue_index'), ['rx_queue_index', 'ingress_ifindex']);
  assert.deepEqual(members('ctx->egress_ifindex'), ['egress_ifindex']);
  assert.equal(at('BPF_MAP_TYPE_DEVMAP', 'BPF_MAP_TYPE_DEVMAP'), 'variable.other.enummember.bpf-map-type.c');
  assert.equal(at('BPF_FIB_LOOKUP_DIRECT', 'BPF_FIB_LOOKUP_DIRECT'), 'variable.other.enummember.bpf-flag.c');
  assert.equal(at('struct xdp_md *ctx', 'xdp_md'), 'support.type.xdp.c');
  assert.equal(at('struct bpf_fib_lookup fib', 'bpf_fib_lookup'), 'support.type.xdp.c');

  // Comments and strings belong to the host grammar alone.
  const ours = (x: Token) => x.scopes.some((sc) => /xdp|bpf-|section/.test(sc));
  const commentLine = src.split('\n').findIndex((l) => l.includes('/* XDP_DROP'));
  assert.ok(t.some((x) => x.line === commentLine));
  for (const x of t.filter((x) => x.line === commentLine)) assert.ok(!ours(x) && x.scopes.some((sc) => sc.startsWith('comment.block')), JSON.stringify(x));
  const lineComment = t.find((x) => x.text.includes('truncated: XDP_PASS'));
  assert.ok(lineComment && !ours(lineComment) && lineComment.scopes.some((sc) => sc.startsWith('comment.line')), JSON.stringify(lineComment));
  const str = t.find((x) => x.text.includes('via bpf_redirect_map'));
  assert.ok(str && !ours(str) && str.scopes.some((sc) => sc.startsWith('string.quoted.double')), JSON.stringify(str));
}

test('C injection: actions, helpers, sections and xdp_md fields in code, nothing in comments or strings', async () => {
  checkCInjection((await grammars).c);
});

// VS Code's own C grammar is not vendored here, but scripts/setup-e2e.sh installs a VS Code (code-server) that ships
// it; the injection must hold on top of it too (it takes `ctx->data` in one match from `ctx` on, for example).
const vscodeCGrammar = join(REPO, '.cache', 'code-server', '4.100.3', 'node_modules', 'code-server', 'lib', 'vscode', 'extensions', 'cpp', 'syntaxes', 'c.tmLanguage.json');
test(
  "C injection on top of VS Code's C grammar",
  { skip: existsSync(vscodeCGrammar) ? false : `VS Code's C grammar is not at ${vscodeCGrammar} (bash scripts/setup-e2e.sh installs it)` },
  async () => {
    checkCInjection((await loadGrammars(vscodeCGrammar)).c);
  },
);

test('C injection: .data on a non-xdp_md struct is not claimed', async () => {
  const { c } = await grammars;
  const src = 'int other(struct foo f) { return f.data + 1; }\n';
  const t = tokenize(c, src);
  assert.ok(t.every((x) => !x.scopes.some((s) => s.includes('xdp-md'))), JSON.stringify(t));
});

test('bytecode: indices, registers, memory operands, jumps, helpers, source lines', async () => {
  const { bytecode } = await grammars;
  const src = readFileSync(join(FIXTURES, 'verifier_log.xdp-bytecode'), 'utf8');
  const t = tokenize(bytecode, src);
  const at = (lineHas: string, text: string) => innermost(scopesOf(t, src, lineHas, text));

  assert.equal(at('0: r2 = *(u32', '0'), 'constant.numeric.instruction-index.xdp-bytecode');
  assert.equal(at('0: r2 = *(u32', 'r2'), 'variable.other.register.xdp-bytecode');
  assert.equal(at('0: r2 = *(u32', 'u32'), 'storage.type.size.xdp-bytecode');
  assert.equal(at('if r4 s> r3', 'if'), 'keyword.control.xdp-bytecode');
  assert.equal(at('if r4 s> r3', 's>'), 'keyword.operator.comparison.xdp-bytecode');
  assert.equal(at('goto pc+12', '+12'), 'constant.numeric.offset.xdp-bytecode');
  assert.equal(at('map[id:17]', 'id:17'), 'entity.name.map.xdp-bytecode');
  assert.equal(at('call bpf_map_lookup_elem#1', 'bpf_map_lookup_elem'), 'support.function.bpf-helper.xdp-bytecode');
  assert.equal(at('call bpf_map_lookup_elem#1', '1'), 'constant.numeric.helper-id.xdp-bytecode');
  assert.equal(at('r0 = -1', '-1'), 'constant.numeric.decimal.xdp-bytecode');
  assert.equal(at('r0 = -1', '3 packets: XDP_DROP'), 'comment.line.annotation.xdp-bytecode');
  assert.equal(at('r1 s>>= 32', 's>>='), 'keyword.operator.assignment.compound.xdp-bytecode');
  assert.equal(at('  12: exit', 'exit'), 'keyword.control.exit.xdp-bytecode');

  // Source lines in both orders: file:line then code, and bpftool's code @ file:line.
  assert.equal(at('; prog.c:44', 'prog.c'), 'entity.name.filename.xdp-bytecode');
  assert.equal(at('; prog.c:44', '44'), 'constant.numeric.line-number.xdp-bytecode');
  // The code part is handed to the C grammar (here the test host, whose keyword rule marks `return`).
  assert.deepEqual(scopesOf(t, src, '; prog.c:44', 'return').slice(-2), ['meta.embedded.line.c', 'keyword.control.c']);
  assert.equal(at('@ prog.c:26', 'prog.c'), 'entity.name.filename.xdp-bytecode');
  assert.equal(at('@ prog.c:26', '26'), 'constant.numeric.line-number.xdp-bytecode');

  // Labels, and the mnemonic syntax of our own disassembler.
  assert.equal(at('int xdp_redirect(', 'xdp_redirect'), 'entity.name.function.xdp-bytecode');
  assert.equal(at('xdp_devmap_prog:', 'xdp_devmap_prog'), 'entity.name.function.xdp-bytecode');
  assert.equal(at('ldxw %r2', 'ldxw'), 'keyword.other.mnemonic.xdp-bytecode');
  assert.equal(at('ldxw %r2', '%r2'), 'variable.other.register.xdp-bytecode');
  assert.equal(at('jeq %r2', 'jeq'), 'keyword.other.mnemonic.xdp-bytecode');
  assert.equal(at('mov %r0, 3', 'XDP_TX'), 'comment.line.annotation.xdp-bytecode');
  assert.equal(at('R1=ctx()', 'R1=ctx() R10=fp0 (a verifier state comment)'), 'comment.line.xdp-bytecode');
});

test('bytecode: llvm-objdump listing with raw bytes', async () => {
  const { bytecode } = await grammars;
  const src = readFileSync(join(FIXTURES, 'llvm_objdump.xdp-bytecode'), 'utf8');
  const t = tokenize(bytecode, src);
  const at = (lineHas: string, text: string) => innermost(scopesOf(t, src, lineHas, text));
  assert.equal(at('<xdp_redirect>:', 'xdp_redirect'), 'entity.name.function.xdp-bytecode');
  assert.equal(at('<xdp_redirect>:', '0000000000000000'), 'constant.numeric.address.xdp-bytecode');
  assert.equal(at('r2 = *(u32 *)(r1 + 0x0)', '61 12 00 00 00 00 00 00'), 'comment.other.raw-bytes.xdp-bytecode');
  assert.equal(at('r2 = *(u32 *)(r1 + 0x0)', '0x0'), 'constant.numeric.hex.xdp-bytecode');
  assert.equal(at('goto +0xc <LBB0_4>', 'LBB0_4'), 'entity.name.label.xdp-bytecode');
  assert.equal(at('r1 = 0x0 ll', 'll'), 'storage.modifier.wide-immediate.xdp-bytecode');
  assert.equal(at('lock *(u32', 'lock'), 'keyword.other.lock.xdp-bytecode');
  assert.equal(at('lock *(u32', 'w2'), 'variable.other.register.xdp-bytecode');
  assert.equal(at('r1 = be16 r1', 'be16'), 'keyword.other.byte-swap.xdp-bytecode');
  assert.equal(at('*(u32 *)(r10 - 0x4) = r1', 'r10'), 'variable.language.frame-pointer.xdp-bytecode');
});
