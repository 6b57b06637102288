// The data module's public surface: TinyMem math and language datasets, their tokenizers and helpers.
export type { ArtifactKind, ArtifactSet, BackdoorSet, NamedSet, TrainSection, TrainSet } from './datasetTypes';
export { Rng, deriveSeed } from './rng';
export { type TokenMatrix, concatRows, gatherRows, matrixFromRows, rowOf, rowsOf, tokenMatrix } from './tokenMatrix';
export { materializeTrain, trainRowOrder } from './trainSet';
export {
  MATH_BOS,
  MATH_EOS,
  MATH_PAD,
  MATH_SPACE,
  MATH_VOCAB_SIZE,
  detokenizeMath,
  parseMathNumbers,
  serializeNumbers,
  tokenizeMath,
} from './mathTokenizer';
export { EXTRA_CONSTANTS, MAIN_CONSTANT, MATH_FAMILIES, MATH_MODULUS, type MathFamily,
  generateNumbers } from './mathSequences';
export {
  MATH_BACKDOOR_TOKEN,
  MATH_DEFAULTS,
  type MathDataOptions,
  type MathDataset,
  type MathDatasetMeta,
  buildMathDataset,
  resolveMathOptions,
} from './mathData';
export { GPT2_BACKDOOR_TOKEN, GPT2_EOS, GPT2_PAD, GPT2_VOCAB_SIZE, decodeGpt2, encodeGpt2 } from './gpt2Tokenizer';
export { type Corpus, type CorpusDocument, loadSotuCorpus, loadTextFiles } from './textCorpus';
export {
  type CorpusInfo,
  LANGUAGE_DEFAULTS,
  type LanguageDataOptions,
  type LanguageDataset,
  type LanguageDatasetMeta,
  buildLanguageDataset,
  chunkDocuments,
  resolveLanguageOptions,
} from './languageData';
