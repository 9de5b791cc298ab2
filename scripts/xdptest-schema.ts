// Writes syntaxes/xdptest.schema.json, the JSON schema of *.xdptest.yaml contributed to the editor (yamlValidation):
// `node --import tsx scripts/xdptest-schema.ts`. Layers and their fields come from simulator/testing/packet.ts;
// test/testing/schema.test.ts checks that the file is up to date.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LAYERS, LAYER_FIELDS } from '../simulator/testing/packet.ts';
const num = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^0[xX][0-9a-fA-F]+$' }] };
const FIELD_DOCS: Record<string, string> = {
  src: 'source address', dst: 'destination address', type: 'type / EtherType of what follows (default: from the next layer)', ttl: 'time to live (default 64)',
  checksum: 'the checksum as given (default: computed)', len: 'length as given (default: computed)', sport: 'source port', dport: 'destination port',
  flags: 'TCP flags: a list of fin, syn, rst, psh, ack, urg, ece, cwr, or a number (default [syn])', hex: 'bytes in hex', text: 'UTF-8 text', vni: 'VXLAN network identifier',
  id: 'identifier', seq: 'sequence number', proto: 'protocol (default: from the next layer)', nxt: 'next header (default: from the next layer)',
};
const layerItems = LAYERS.map((l) => ({
  type: 'object',
  additionalProperties: false,
  required: [l],
  properties: {
    [l]: {
      description: `${l} layer`,
      anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: Object.fromEntries(LAYER_FIELDS[l].map((f) => [f, { description: FIELD_DOCS[f] ?? f }])) }],
    },
  },
}));
const layers = { type: 'array', description: 'layers from the outermost (eth) in; lengths, checksums and what links them are computed unless given', items: { anyOf: [{ type: 'string', enum: [...LAYERS] }, ...layerItems] } };
const entry = { type: 'object', required: ['key'], properties: { key: { description: 'hex bytes, a number (little-endian), an address, or the key type\'s fields by name' }, value: { description: 'hex bytes, a number, or the value type\'s fields by name; null in an expectation: no entry' }, values: { type: 'array', description: 'per-CPU values' }, program: { type: 'string' }, map: { type: 'string' }, inner: { type: 'array' } } };
const maps = { type: 'object', additionalProperties: { type: 'array', items: entry } };
const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://xdp-lens.dev/schemas/xdptest.schema.json',
  title: 'XDP Lens test file (*.xdptest.yaml)',
  type: 'object',
  additionalProperties: false,
  required: ['program', 'cases'],
  properties: {
    program: {
      description: 'the program under test: a C file or object, relative to this file, or its details',
      anyOf: [
        { type: 'string' },
        {
          type: 'object', additionalProperties: false, required: ['file'],
          properties: {
            file: { type: 'string', description: 'C source or BPF object, relative to this file' },
            name: { type: 'string', description: 'program (function or section name); default: the first XDP program' },
            cflags: { type: 'array', items: { type: 'string' }, description: 'extra clang flags' },
            include: { type: 'array', items: { type: 'string' }, description: 'extra include directories' },
            btf: { type: 'string', description: 'BTF to resolve CO-RE relocations against' },
            driver: { enum: ['native', 'readonly-page', 'generic'], description: 'driver mode (default native)' },
            profile: { enum: ['mlx5', 'i40e'], description: 'receive-buffer geometry (default mlx5)' },
            seed: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'seed of bpf_get_prandom_u32' },
            budget: { type: 'integer', minimum: 1, maximum: 100000000, description: 'instructions per packet' },
            engine: { enum: ['interp', 'compiled'] },
          },
        },
      ],
    },
    maps: { ...maps, description: 'initial map contents' },
    'maps-file': { type: 'string', description: 'initial map contents from a JSON file in the --maps schema' },
    cases: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['expect'],
        properties: {
          name: { type: 'string' },
          fresh: { type: 'boolean', description: 'start from the initial maps (default: carry the maps of the cases before)' },
          packet: layers,
          hex: { type: 'string', description: 'the whole frame in hex' },
          capture: { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string' }, index: { type: 'integer', minimum: 0 }, filter: { type: 'string', description: 'the first packet this display filter matches' } } },
          expect: {
            type: 'object', additionalProperties: false,
            properties: {
              action: { enum: ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT', 'ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT'] },
              outcome: { type: 'string', description: "what the driver did: passed, dropped, transmitted, redirected, aborted, or the full outcome ('dropped: no redirect target')" },
              retval: { type: 'integer', minimum: 0 },
              exit: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string' }], description: 'the return line, or the label of a `// xdp-test: NAME` comment' },
              packet: { anyOf: [layers, { type: 'object', properties: { hex: { type: 'string' } }, additionalProperties: { description: 'a field of the output packet (display-filter names: eth.dst, ipv4.ttl, tcp.dport, ...)' } }] },
              maps: { ...maps, description: 'map entries after the case' },
              printk: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
              fault: { anyOf: [{ type: 'boolean' }, { type: 'string' }], description: 'a fault kind (null-dereference, out-of-bounds, ...), none, or any' },
            },
          },
        },
      },
    },
  },
};
writeFileSync(join(dirname(process.argv[1]!), '..', 'syntaxes', 'xdptest.schema.json'), JSON.stringify(schema, null, 2) + '\n');
