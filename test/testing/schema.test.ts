// The JSON schema of *.xdptest.yaml given to the editor (package.json contributes.yamlValidation): generated from the
// builder's layers and fields and up to date; the example file conforms; a misspelt key does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../repo.ts';
import { LAYERS, LAYER_FIELDS } from '../../simulator/testing/packet.ts';

const SCHEMA = join(REPO, 'syntaxes', 'xdptest.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));

test('package.json contributes the schema for *.xdptest.yaml and .yml', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const v = pkg.contributes.yamlValidation as { fileMatch: string; url: string }[];
  assert.deepEqual(v.map((x) => x.fileMatch).sort(), ['*.xdptest.yaml', '*.xdptest.yml']);
  for (const x of v) assert.equal(join(REPO, x.url), SCHEMA);
});

test('the schema is what scripts/xdptest-schema.ts writes (layers and fields of the builder)', () => {
  const items = schema.properties.cases.items.properties.packet.items.anyOf;
  assert.deepEqual(items[0].enum, [...LAYERS]);
  for (const l of LAYERS) {
    const item = items.find((i: any) => i.required?.[0] === l);
    assert.ok(item, l);
    assert.deepEqual(Object.keys(item.properties[l].anyOf[1].properties), [...LAYER_FIELDS[l]], l);
  }
  const before = readFileSync(SCHEMA, 'utf8');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'xdptest-schema.ts')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(SCHEMA, 'utf8'), before, 'syntaxes/xdptest.schema.json is out of date: run scripts/xdptest-schema.ts');
});

// Ajv comes with the build tools (not a dependency of the extension): the editor's YAML extension does the same check.
const Ajv = (() => {
  try {
    return createRequire(join(REPO, 'package.json'))('ajv');
  } catch {
    return undefined;
  }
})();

test('the example conforms to the schema; a misspelt key and a bad action do not', { skip: !Ajv && 'ajv is not installed' }, () => {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const example = parse(readFileSync(join(REPO, 'examples', 'xdp_filter.xdptest.yaml'), 'utf8'));
  assert.ok(validate(example), JSON.stringify(validate.errors));
  const bad = structuredClone(example);
  bad.cases[0].expct = bad.cases[0].expect;
  assert.equal(validate(bad), false);
  const bad2 = structuredClone(example);
  bad2.cases[0].expect.action = 'XDP_DROPP';
  assert.equal(validate(bad2), false);
  const bad3 = structuredClone(example);
  bad3.cases[0].packet[1] = { ipv4: { srcip: '1.2.3.4' } };
  assert.equal(validate(bad3), false);
});
