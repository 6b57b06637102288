// The interfaces of the mitigation methods, one per family (one file per method, registered in registry.ts):
// unlearning methods edit a trained model given forget/retain sets, fine-tuning methods continue training it on
// chosen data, regularizers change training from scratch.
import type { ArtifactSet, TrainSet } from '../data/datasetTypes';
import type { TokenMatrix } from '../data/tokenMatrix';
import type { Shape, TensorSpec } from '../graph/index';
import type { ModelConfig } from '../model/architecture';
import type { Gpt2Config } from '../model/gpt2';
import type { HostArray, Runtime } from '../runtime/session';
import type { LossBuilder, TrainStepSpec } from '../train/trainStep';
import type { HyperValue, MethodInfo, MethodProgress } from '../../shared/methodTypes';

export type Params = Map<string, Float32Array>;

export interface UnlearnContext {
  runtime: Runtime;
  /** GPT-2 (TinyMem, Hugging Face) or GPT-NeoX (Pythia); methods reach the model through model/architecture.ts. */
  config: ModelConfig;
  /** The model to edit. Never mutated: methods copy what they change. */
  params: Params;
  /** The sequences to forget (the memorized ones), rows × context. */
  forget: TokenMatrix;
  /** Sequences whose behaviour to keep (clean training data); methods that do not use it ignore it. */
  retain: TokenMatrix;
  /** Prompt length of the memorization metric (50 for TinyMem, 32 for Pythia): where the memorized suffix starts. */
  promptLength: number;
  /** Hyper-parameters, already validated and with defaults filled in. */
  hp: Record<string, HyperValue>;
  seed: number;
  onProgress?(p: MethodProgress): void;
  /** Checked between steps; when aborted the method throws the signal's reason. */
  signal?: AbortSignal;
  /** Upper bound for large intermediate buffers (integrated gradients, Fisher blocks), in bytes. */
  memoryBudget?: number;
}

export interface UnlearnResult {
  /** The edited model (every tensor; unchanged ones may be the same arrays as the input). */
  params: Params;
  /**
   * Per edited tensor, what was pruned: 0 = pruned, 1 = kept, same length as the tensor. Neuron methods give the
   * c_fc weight and bias masks of the ablated neurons. Baselines that change values without pruning give none.
   */
  masks: Map<string, Uint8Array>;
  /** Extra facts worth reporting (e.g. neurons per layer). */
  notes?: string[];
}

export interface UnlearningMethod extends MethodInfo {
  family: 'neuron' | 'weight' | 'baseline';
  /** Whether `retain` is used (Greedy, BalancedSubnet, the gradient-difference and KL baselines). */
  usesRetain: boolean;
  run(ctx: UnlearnContext): Promise<UnlearnResult>;
}

// ---- fine-tuning (spec §4.B) -------------------------------------------------------------------------------------

/** What a fine-tuning method reads from the checkpoint's (rebuilt) dataset; TinyMem's math and language sets fit. */
export interface FineTuneData {
  readonly artifacts: ArtifactSet;
  readonly train: TrainSet;
}

export interface FineTuneContext {
  runtime: Runtime;
  config: Gpt2Config;
  /** The trained model. Never mutated. */
  params: Params;
  /** The checkpoint's training data, rebuilt from its manifest (presetDataset / tinymemDataset). */
  data: FineTuneData;
  /** Hyper-parameters, already validated and with defaults filled in. */
  hp: Record<string, HyperValue>;
  /** Seeds the batch order. */
  seed: number;
  onProgress?(p: MethodProgress): void;
  /** Checked between optimizer steps; when aborted the method throws the signal's reason. */
  signal?: AbortSignal;
}

export interface FineTuneResult {
  /** Every tensor after fine-tuning (all weights may change). */
  params: Params;
  /** Always empty: fine-tuning prunes nothing. Kept so that every method's result has the same shape. */
  masks: Map<string, Uint8Array>;
  /** Optimizer steps taken and the training loss of each. */
  steps: number;
  losses: number[];
  /** Wall-clock seconds of the training alone. */
  seconds: number;
  notes?: string[];
}

export interface FineTuneMethod extends MethodInfo {
  family: 'fine-tune';
  /** Only unlearning methods take a retain set (declared so that code reading `usesRetain` on any method compiles). */
  usesRetain?: never;
  run(ctx: FineTuneContext): Promise<FineTuneResult>;
}

// ---- regularizers (spec §4.A) ------------------------------------------------------------------------------------

/** The training run a regularizer joins: plain facts about the model and job, known before the first step. */
export interface RegularizerContext {
  /** The registered model's name (the regularizers here need `gpt2`) and its resolved config. */
  modelName: string;
  config: unknown;
  paramShapes: Record<string, Shape>;
  /** The job's seed: seeds power-iteration vectors and per-example masks. */
  seed: number;
  /** Hyper-parameters, already validated and with defaults filled in. */
  hp: Record<string, HyperValue>;
}

/**
 * What a regularizer adds to the training step. The step stays one graph: the regularizer may add batch inputs
 * (host state fed each step), wrap the model's loss, and read extra graph outputs after each step.
 */
export interface TrainingRegularizer {
  /** Distinguishes compiled step graphs (hyper-parameters baked into the graph go here). */
  readonly key: string;
  /** Extra batch tensors for a batch of `rows` rows; names must not clash with the model's. */
  batchSpec?(rows: number): Record<string, TensorSpec>;
  /** The loss actually trained on, built around the model's own loss. */
  loss(base: LossBuilder): LossBuilder;
  /**
   * Feeds for the extra batch tensors of the next step. `exampleIds` are the data source's row indices of the batch
   * (a stable id per training example across epochs).
   */
  feeds?(step: { exampleIds: Uint32Array }): Record<string, HostArray>;
  /** Tensors carried from step to step outside autodiff (TrainStepSpec.carry), e.g. power-iteration vectors. */
  carry?: TrainStepSpec['carry'];
  /** Receives the step's extra outputs (those the wrapped loss returned) after each successful step. */
  afterStep?(outputs: Readonly<Record<string, HostArray>>): void;
  /** Numbers worth recording in the run manifest (e.g. sequences dropped). */
  summary?(): Record<string, number>;
}

export interface RegularizerMethod extends MethodInfo {
  family: 'regularizer';
  usesRetain?: never;
  /** Sets up the regularizer for one training run (host state such as the loss-truncation buffer lives in it). */
  create(ctx: RegularizerContext): TrainingRegularizer;
  /**
   * Config fields of the trained model's evaluation mode, saved in its config.json so that every evaluation runs it
   * (example-tied dropout's channel scaling). Absent: the trained weights run as they are.
   */
  evaluationConfig?(config: Gpt2Config, hp: Record<string, HyperValue>): Partial<Gpt2Config>;
}

/** Every registered method, discriminated by `family`. */
export type MitigationMethod = UnlearningMethod | FineTuneMethod | RegularizerMethod;
