// The metrics module's public surface (spec §3): memorization, backdoor success, accuracy, perplexity, heatmap,
// and `evaluate`, which runs all that apply to a dataset. Result types live in src/shared/metricTypes.ts.
export { type Params, greedyContinuation, sequenceLosses } from './score';
export {
  type ArtifactRows,
  type GenerateFn,
  type GenerationOptions,
  MEM_K,
  MEM_PROMPT_LENGTH,
  type MeasuredMemorization,
  type MemorizationInput,
  type MemorizationOptions,
  type MemorizationScore,
  comparedLength,
  measureMemorization,
  noiseFilter,
  scoreMemorization,
} from './memorization';
export { BACKDOOR_FILTER_START, type BackdoorOptions, type BackdoorScoreInput, backdoorFilter, groupByPromptLength,
  measureBackdoor, scoreBackdoor } from './backdoor';
export { PAPER_ACCURACY_BATCH, accuracyFromPredictions, summarizeAccuracy } from './accuracy';
export { PAPER_PERPLEXITY_BATCH, perplexityFromRowSums, perplexityFromTokenLosses } from './perplexity';
export { type TeacherForced, defaultEvalBatch, rowLossSums, teacherForced } from './teacherForced';
export { HEATMAP_MAX_ROWS, buildHeatmap, spreadRows } from './heatmap';
export { type EvalDataset, type EvalProgress, type EvaluateOptions, evaluate } from './evaluate';
