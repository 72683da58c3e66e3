// `-S key=value` values are read as MMEngine's DictAction reads `--cfg-options` (the expected
// values below are what mmengine 0.10's DictAction._parse_iterable returns), so a variant's
// fingerprint holds what the training program sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCfgValue, parseSetting, cfgValueText } from '../../src/config/settings.js';
import { autoVariantName } from '../../src/config/variants.js';

test('values parse as MMEngine DictAction parses them', () => {
  const cases: Array<[string, unknown]> = [
    ['1', 1], ['1.5', 1.5], ['1e-3', 0.001], ['-2', -2], ['True', true], ['false', false], ['None', null], ['abc', 'abc'],
    ['[1,2]', [1, 2]], ['(1,[2,3])', [1, [2, 3]]], ['1,2', [1, 2]], ["'a b'", 'ab'], ['[a,[b,c]]', ['a', ['b', 'c']]],
    ['0.01', 0.01], ['+3', 3], ['.5', 0.5], ['1_000', 1000], ['[]', []], ['none', 'none'], ['1.', 1], ['inf', Infinity],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseCfgValue(text), want, text);
});

test('a setting is key=value; +key marks a new key; values write back as --cfg-options reads them', () => {
  assert.deepEqual(parseSetting('optim_wrapper.optimizer.lr=0.01'), { key: 'optim_wrapper.optimizer.lr', value: 0.01, add: false });
  assert.deepEqual(parseSetting('+model.extra=[1,2]'), { key: 'model.extra', value: [1, 2], add: true });
  for (const bad of ['lr', '=1', 'a..b=1', '1a=2', 'a b=1']) assert.throws(() => parseSetting(bad), /is not a setting: write -S key\.path=value/, bad);
  assert.throws(() => parseSetting('lr=inf'), /inf is not a finite number/);
  for (const v of [1, 0.001, true, null, 'x', [1, [2, 'a']]] as const) assert.deepEqual(parseCfgValue(cfgValueText(v as never)), v);
  assert.equal(autoVariantName('cfar_os', { 'model.pfa': 0.001, 'model.guard': 4 }), 'cfar_os@model.guard=4,model.pfa=0.001');
  assert.equal(autoVariantName('x', { betas: [0.9, 0.99] }), undefined);
});
