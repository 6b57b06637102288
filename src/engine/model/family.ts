// A model family: everything the engine knows about one architecture, in one object. The metrics, the methods, the
// folder load/save and training see models only through it (architecture.ts looks the family up from a config), so
// a new architecture is one new file exporting a ModelFamily and one entry in FAMILIES.
//
// MLP conventions the methods rely on:
//   up    the input projection (GPT-2 mlp.c_fc, NeoX mlp.dense_h_to_4h); neuron i's input weights
//   down  the output projection (GPT-2 mlp.c_proj, NeoX mlp.dense_4h_to_h); neuron i's output weights
//   layout 'in_out': weights stored [in, out] (GPT-2 Conv1D): neuron i is up's column i and down's row i;
//          'out_in': weights stored [out, in] (torch Linear, NeoX): neuron i is up's row i and down's column i.
import type { Tensor } from '../graph/index';
import type { KVCache } from './attention';
import { type Gpt2Config, gpt2 } from './gpt2';
import { type NeoxConfig, gptNeox } from './gptNeox';

export type ModelConfig = Gpt2Config | NeoxConfig;
export type ModelType = 'gpt2' | 'gpt_neox';

/** Hooks every model implements. */
export interface ModelOptions {
  /** Multiplies layer i's MLP activations [inner]. */
  neuronMasks?: (Tensor | undefined)[];
  /** Elementwise masks on layer i's up/down MLP weights, in the weight's stored shape. */
  weightMasks?: ({ up?: Tensor; down?: Tensor } | undefined)[];
  /** Sees (and may replace) each layer's MLP activations. */
  onActivation?: (layer: number, act: Tensor) => Tensor;
}

/** Sizes under one set of names, whatever the config calls them. */
export interface ModelDims {
  layers: number;
  hidden: number;
  heads: number;
  inner: number;
  vocab: number;
  /** The longest sequence the model takes. */
  context: number;
}

export interface MlpNames {
  up: string;
  upBias: string;
  down: string;
  downBias: string;
}

export type MatrixLayout = 'in_out' | 'out_in';
type Params = Record<string, Tensor>;
type Decoded = { logits: Tensor; cache: KVCache };

export interface ModelFamily<C extends object = ModelConfig> {
  /** config.json's model_type, a name for messages, and transformers' class (config.json's architectures). */
  modelType: ModelType;
  name: string;
  architecture: string;
  /** A parsed config.json, checked (UserError at `file`) with defaults filled in; notes say what was assumed. */
  parseConfig(raw: unknown, file: string): { config: C; notes: string[] };
  /** A training job's plain-data config, validated with defaults filled in (errors name "model.config.<field>"). */
  trainConfig(raw: unknown): C;
  /** The config.json to write (checked; errors at `file`), keeping what the family keeps of a loaded folder's `raw`. */
  configJson(c: C, raw: Record<string, unknown>, file: string): Record<string, unknown>;
  dims(c: C): ModelDims;
  /** The same config with another number of layers (to count parameters in constant time). */
  withLayers(c: C, layers: number): C;
  /** The size fields, for messages ("n_layer=2, n_embd=16, …"). */
  sizeFields(c: C): string;
  /** The config field that holds the context length. */
  contextField: string;
  /** Every parameter, in a fixed order, with its Hugging Face name and shape. */
  paramShapes(c: C): [string, number[]][];
  init(c: C, normal: () => number): Map<string, Float32Array>;
  /** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
  forward(c: C, P: Params, tokens: Tensor, o?: ModelOptions): { logits: Tensor; activations: Tensor[] };
  /** Runs a prompt: last-position logits [B, V] and key/value caches with room for `capacity` positions. */
  prefill(c: C, P: Params, tokens: Tensor, capacity: number, o?: ModelOptions): Decoded;
  /** One decoding step of tokens [B, 1] at position `pos` (int64 [1]) against the caches. */
  decodeStep(c: C, P: Params, tokens: Tensor, pos: Tensor, cache: KVCache, o?: ModelOptions): Decoded;
  /** The MLP tensors the methods edit. */
  mlp: { layout: MatrixLayout; names(layer: number): MlpNames; tensor: RegExp };
  /** How the weights are stored in model.safetensors. */
  checkpoint: {
    /** The token embedding (its dtype is the model's). */
    embedding: string;
    /** The output head; `optional`: left out of the weights and the params when tied to the embedding (GPT-2). */
    head: { name: string; optional: boolean };
    /** A prefix other exports leave out (GPT-2's "transformer."), mapped back on load. */
    prefix?: string;
    /** Buffers of older exports that are not parameters, and the notes a load writes about them. */
    buffers: RegExp;
    buffersNote(names: string[]): string[];
    /** What a user does when the weights do not match config.json. */
    fix: string;
    /** A hint for weights with tensors the config does not list. */
    unexpectedHint(c: C, name: string): string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const FAMILIES: readonly ModelFamily<any>[] = [gpt2, gptNeox];

/** The family of a config: its model_type; TinyMem's own configs have none and are GPT-2. */
export const familyOf = (c: object): ModelFamily =>
  FAMILIES.find((f) => f.modelType === (c as { model_type?: string }).model_type) ?? gpt2;

export const familyOfType = (type: string): ModelFamily | undefined => FAMILIES.find((f) => f.modelType === type);
