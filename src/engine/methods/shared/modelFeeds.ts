// The model's weights as constant feeds of a method's runs: on a device provider (WebGPU) copied to the device once
// per method run and freed when it ends, however it ends; elsewhere the host arrays themselves.
import { type ModelConfig, paramShapes } from '../../model/architecture';
import type { Runtime } from '../../runtime/session';
import { type Feed, StepState, float32Tensors } from '../../runtime/stepState';
import type { Params, UnlearnContext } from '../types';

/** A StepState holding only the weights; the caller disposes it. */
export const modelOnDevice = (rt: Runtime, c: ModelConfig, params: Params): Promise<StepState> =>
  StepState.create(rt, { constants: float32Tensors(paramShapes(c), params) });

/** Runs `fn` with the context's weights as feeds, freeing their device copy afterwards. */
export async function withModelFeeds<T>(ctx: UnlearnContext, fn: (feeds: Record<string, Feed>) => Promise<T>):
Promise<T> {
  const model = await modelOnDevice(ctx.runtime, ctx.config, ctx.params);
  try {
    return await fn(model.feeds());
  } finally {
    model.dispose();
  }
}
