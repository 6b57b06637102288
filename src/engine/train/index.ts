// Training: AdamW as graph ops, the one-graph training step and its Trainer, the model and data-source registries,
// and the training loop (in-process or in a worker thread).
export { ADAMW_DEFAULTS, type AdamWOptions, type AdamWState, adamwUpdate, resolveAdamW } from './adamw';
export {
  type BatchSpecs,
  type LossBuilder,
  NonFiniteLossError,
  type StepResult,
  type TrainStepSpec,
  Trainer,
  buildTrainStep,
  initialState,
  stepNames,
} from './trainStep';
export { type ModelDefinition, getModel, modelNames, registerModel } from './models';
export { type BatchSource, type DataSourceFactory, openDataSource, permutationOrder,
  registerDataSource } from './dataSources';
export {
  type LoopHooks,
  type StartOptions,
  type TrainOutcome,
  type TrainingHandle,
  runTraining,
  startTraining,
  workerEntry,
} from './trainLoop';
