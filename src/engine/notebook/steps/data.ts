// `step: data`: builds a preset's dataset (the same one a train step would train on) and summarizes it.
import { presetDataset, resolvePreset } from '../../presets';
import type { ViewOutput } from '../../../shared/viewPayloads';
import type { CellContext, CellResult } from '../context';
import type { DataStep } from '../parseStep';

export async function runDataStep(s: DataStep, ctx: CellContext): Promise<CellResult> {
  ctx.onProgress({ message: `building the ${s.preset} dataset` });
  const p = resolvePreset(s.preset, s.set);
  const ds = presetDataset(p);
  const a = ds.artifacts;
  const rows: [string, string][] = [
    ['dataset', `${ds.kind} (${p.data.dataset === 'math' ? `family ` +
      `${String((p.data.options as { family?: string }).family)}` : 'text chunks'})`],
    ['planted artifact', a.kind === 'noise' ? `${a.tokens.rows} noised sequences`
      : `backdoor, trigger ${JSON.stringify(ds.backdoor?.trigger)}`],
    ['duplication factors', a.dupFactors.join(', ')],
    ['training rows (unique)', String(ds.train.tokens.rows)],
    ['training rows per epoch', String(ds.train.size)],
    ['context length (tokens)', String(ds.train.tokens.cols)],
    ['vocabulary', String(ds.vocabSize)],
    ['test sets', ds.tests.map((t) => `${t.name} (${t.tokens.rows})`).join(', ')],
    ['seed', String(p.seed)],
  ];
  const overrides = Object.entries(s.set).map(([k, v]) => `${k}=${v}`).join(', ');
  const markdown = [
    `### ${s.title ?? `Data: ${p.name}`}`,
    p.description,
    overrides ? `Overrides: \`${overrides}\`` : '',
    '',
    '| property | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ].filter((l, i) => l !== '' || i > 2).join('\n');
  const out: ViewOutput = { mime: 'text/markdown', payload: markdown, markdown };
  return { outputs: [out], provider: '', stopped: false };
}
