// Step cells: the YAML parser/validator (errors carry line, column and field), and the editor help (completion and
// hover data) that the extension wraps, checked against the engine's own registry and presets.
import assert from 'node:assert/strict';
import test from 'node:test';
import { completionsAt, hoverAt } from '../src/extension/assist';
import { type CellIssue, parseStep, regularizers, runnableMethods,
  stepOrThrow } from '../src/engine/notebook/parseStep';
import { STEP_KINDS } from '../src/shared/stepSchema';
import { UserError } from '../src/shared/userError';
import { PRESETS } from '../src/engine/presets';

function issues(source: string): CellIssue[] {
  const r = parseStep(source);
  assert.equal(r.step, null, `expected issues for:\n${source}`);
  assert.ok(r.issues.length > 0);
  return r.issues;
}

function one(source: string, field: string, line: number, message: RegExp): CellIssue {
  const found = issues(source).find((i) => i.field === field);
  assert.ok(found, `no issue for field "${field}" in ${JSON.stringify(issues(source))}`);
  assert.equal(found.line, line, `line of ${field}`);
  assert.match(found.message, message);
  return found;
}

const balanced = runnableMethods().find((m) => m.id === 'balanced-subnet')!;

test('valid cells of every step kind parse, with defaults filled in', () => {
  const t = stepOrThrow('step: train\npreset: cpu-math-noise\nout: runs/demo\nset: { train.epochs: 20, ' +
    'model.n_layer: 1 }\n');
  assert.deepEqual(t,
    { step: 'train', preset: 'cpu-math-noise', out: 'runs/demo', set: { 'train.epochs': '20', 'model.n_layer': '1' },
      force: false, evaluate: true });
  // Nested override maps flatten to the same keys; lists become JSON.
  const d = stepOrThrow('step: data\npreset: cpu-math-noise\nset:\n  train:\n    betas: [0.9, 0.95]\n  seed: 3\n');
  assert.deepEqual(d, { step: 'data', preset: 'cpu-math-noise', set: { 'train.betas': '[0.9,0.95]', seed: '3' } });
  assert.deepEqual(stepOrThrow('step: memorization\ncheckpoint: runs/x\n'),
    { step: 'memorization', checkpoint: 'runs/x' });
  assert.deepEqual(stepOrThrow('step: mitigate\nmethod: balanced-subnet\nhp: { ratio: 0.1 }\nseed: 2\n'),
    { step: 'mitigate', method: 'balanced-subnet', hp: { ratio: 0.1 }, force: false, seed: 2 });
  assert.deepEqual(stepOrThrow('step: compare\nmethods: [greedy, balanced-subnet]\ngrid: true\n'),
    { step: 'compare', methods: ['greedy', 'balanced-subnet'], grid: true });
  const all = stepOrThrow('step: compare\nmethods: all\n');
  assert.deepEqual(all.step === 'compare' && all.methods, runnableMethods().map((m) => m.id));
  assert.deepEqual(stepOrThrow('# a comment\nstep: inspect\n'), { step: 'inspect' });
});

test('unknown steps, missing steps and non-map cells point at the line', () => {
  one('step: mitigat\n', 'step', 1, /unknown step "mitigat"; use one of data, train/);
  one('# comment\npreset: x\n', 'step', 2, /missing; start the cell with `step: <kind>`/);
  const i = issues('just text')[0]!;
  assert.match(i.message, /a step cell is a YAML map/);
  const y = issues('step: train\npreset: [\n')[0]!;
  assert.match(y.message, /not valid YAML/);
  assert.ok(y.line >= 2);
  one('step: train\nstep: data\npreset: cpu-math-noise\n', '', 2, /not valid YAML.*unique|not valid YAML/i);
});

test('unknown and missing keys name the key and line', () => {
  one('step: train\npreset: cpu-math-noise\nepochs: 3\n', 'epochs', 3,
    /unknown key for a train step; it takes preset, set, out/);
  one('step: train\nout: runs/x\n', 'preset', 1, /missing: a train step needs `preset:`/);
  one('step: mitigate\n', 'method', 1, /needs `method:`/);
  one('step: compare\n', 'methods', 1, /needs `methods:`/);
});

test('bad values name the field: types, presets, overrides', () => {
  one('step: train\npreset: cpu-math-noise\nforce: maybe\n', 'force', 3, /expected true or false, got "maybe"/);
  one('step: mitigate\nmethod: greedy\nseed: -1\n', 'seed', 3, /non-negative integer/);
  one('step: train\npreset: nope\n', 'preset', 2, /unknown preset "nope"; CPU presets: cpu-math-noise/);
  const e = one('step: train\npreset: cpu-math-noise\nset:\n  train.epochs: -3\n', 'set.train.epochs', 4,
    /expected an integer in \[1, 1000000\], got -3/);
  assert.equal(e.column, 3);
  one('step: train\npreset: cpu-math-noise\nset: { model.wat: 1 }\n', 'set.model.wat', 3, /unknown model setting/);
  one('step: train\npreset: cpu-math-noise\nset: 5\n', 'set', 3, /expected a map of overrides/);
});

test('methods and hyper-parameters are checked against the registry', () => {
  one('step: mitigate\nmethod: balanced-subnett\n', 'method', 2,
    /unknown method "balanced-subnett"; known methods: .*balanced-subnet/);
  one('step: compare\nmethods: [greedy, nope]\n', 'methods[1]', 2, /unknown method "nope"/);
  one('step: compare\nmethods: greedy\n', 'methods', 2, /list of method ids/);
  const ratio = balanced.hyperParams.find((h) => h.name === 'ratio')!;
  const r = one('step: mitigate\nmethod: balanced-subnet\nhp:\n  ratio: 5\n', 'hp.ratio', 4,
    new RegExp(`out of range \\[${ratio.min}, ${ratio.max}\\] \\(default ${ratio.default}\\)`));
  assert.equal(r.column, 10, 'points at the value');
  one('step: mitigate\nmethod: balanced-subnet\nhp: { nope: 1 }\n', 'hp.nope', 3,
    /unknown hyper-parameter "nope"; it has ratio/);
  one('step: mitigate\nmethod: balanced-subnet\nhp: { ratio: [1] }\n', 'hp.ratio', 3,
    /expected a number, true\/false or a text/);
});

test('a cell error lists every issue with its line and field', () => {
  assert.throws(() => stepOrThrow('step: train\npreset: nope\nfoo: 1\n'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.problems.length, 2);
    assert.match(e.message, /line 3, foo: unknown key/);
    assert.match(e.message, /line 2, preset: unknown preset/);
    return true;
  });
});

test('completions: step kinds, keys of the step, presets, methods, hyper-parameters with paper defaults, overrides',
  () => {
    assert.deepEqual(completionsAt('', 0, 0).map((c) => c.label), ['step']);
    assert.deepEqual(completionsAt('step: ', 0, 6).map((c) => c.label), [...STEP_KINDS]);
    const keys = completionsAt('step: mitigate\nmethod: greedy\n', 2, 0).map((c) => c.label);
    assert.ok(keys.includes('hp') && keys.includes('checkpoint') && !keys.includes('method')
      && !keys.includes('preset'),
    keys.join());
    assert.deepEqual(completionsAt('step: train\npreset: ', 1, 8).map((c) => c.label), PRESETS.map((p) => p.name));
    const methods = completionsAt('step: mitigate\nmethod: ', 1, 8);
    assert.deepEqual(methods.map((c) => c.label), runnableMethods().map((m) => m.id));
    const hps = completionsAt('step: mitigate\nmethod: balanced-subnet\nhp:\n  ', 3, 2);
    assert.deepEqual(hps.map((c) => c.insertText), balanced.hyperParams.map((h) => `${h.name}: ${h.default}`));
    assert.match(hps[0]!.documentation!, /paper default/);
    const inline = completionsAt('step: mitigate\nmethod: balanced-subnet\nhp: { ', 2, 6);
    assert.equal(inline.length, balanced.hyperParams.length);
    const over = completionsAt('step: train\npreset: cpu-math-noise\nset: { ', 2, 7);
    const epochs = over.find((c) => c.label === 'train.epochs');
    assert.equal(epochs?.insertText, `train.epochs: ${PRESETS.find((p) => p.name === 'cpu-math-noise')!.train.epochs}`);
    assert.ok(over.some((c) => c.label === 'data.numNoise') && over.some((c) => c.label === 'model.n_layer'));
    assert.deepEqual(completionsAt('step: train\npreset: cpu-math-noise\nforce: ', 2, 7).map((c) => c.label),
      ['true', 'false']);
  });

test('hover: step kinds, keys, methods, hyper-parameters and presets', () => {
  const src = 'step: mitigate\nmethod: balanced-subnet\nhp: { ratio: 0.05 }\n';
  const kind = hoverAt(src, 0, 8)!;
  assert.match(kind.markdown, /\*\*mitigate\*\* step: Unlearns/);
  assert.deepEqual([kind.line, kind.start, kind.end], [0, 6, 14]);
  assert.match(hoverAt(src, 1, 2)!.markdown, /\*\*method\*\* \(required\)/);
  const m = hoverAt(src, 1, 12)!.markdown;
  assert.ok(m.includes(balanced.name) && m.includes(balanced.description));
  for (const h of balanced.hyperParams) assert.ok(m.includes(`\`${h.name}\` | \`${h.default}\``),
    `method hover lists ${h.name}`);
  const hp = hoverAt(src, 2, 8)!.markdown;
  const ratio = balanced.hyperParams.find((h) => h.name === 'ratio')!;
  assert.ok(hp.startsWith(`**ratio** = \`${ratio.default}\` (paper default)`) && hp.includes(ratio.description), hp);
  assert.match(hoverAt('step: train\npreset: cpu-math-noise\n', 1, 10)!.markdown, /Quickstart/);
  assert.equal(hoverAt(src, 2, 16), null, 'no hover on a plain value');
});

test('train steps take a regularizer from the registry, with its hyper-parameters checked', () => {
  const regs = regularizers();
  assert.ok(regs.length > 0);
  const r = regs[0]!;
  const h = r.hyperParams[0]!;
  const t = stepOrThrow(`step: train\npreset: cpu-math-noise\nregularizer: ${r.id}\nhp: { ${h.name}: ${h.default} }\n`);
  assert.deepEqual(t.step === 'train' && [t.regularizer, t.hp], [r.id, { [h.name]: h.default }]);
  one('step: train\npreset: cpu-math-noise\nregularizer: nope\n', 'regularizer', 3,
    /unknown regularizer "nope"; regularizers: /);
  one('step: train\npreset: cpu-math-noise\nhp: { a: 1 }\n', 'hp', 3, /add `regularizer: <id>`/);
  one(`step: mitigate\nmethod: ${r.id}\n`, 'method', 2, /is a regularizer: it applies while training from scratch/);
  assert.deepEqual(completionsAt('step: train\nregularizer: ', 1, 13).map((c) => c.label), regs.map((x) => x.id));
  assert.deepEqual(completionsAt(`step: train\nregularizer: ${r.id}\nhp: { `, 2, 6).map((c) => c.insertText),
    r.hyperParams.map((x) => `${x.name}: ${x.default}`));
});

test('right after `hp: ` a completion inserts a flow map with the paper default', () => {
  const c = completionsAt('step: mitigate\nmethod: balanced-subnet\nhp: ', 2, 4);
  assert.deepEqual(c.map((x) => x.insertText), balanced.hyperParams.map((h) => `{ ${h.name}: ${h.default} }`));
});
