// What the three regularizers share: they are defined on GPT-2 (tensor names, per-sequence LM loss, block inputs).
import type { Tensor } from '../../graph/index';
import { F } from '../../graph/index';
import type { Gpt2Config } from '../../model/gpt2';
import type { LossWithOutputs } from '../../train/trainStep';
import type { RegularizerContext } from '../types';

/** The run's GPT-2 config, or an error naming the regularizer and the model it got. */
export function gpt2ConfigOf(id: string, ctx: RegularizerContext): Gpt2Config {
  if (ctx.modelName !== 'gpt2') throw new Error(
    `regularizer ${id} is defined for model gpt2 (its tensor names and LM loss), not "${ctx.modelName}"`);
  return ctx.config as Gpt2Config;
}

/** `built` (a loss, or a loss with outputs) plus `term`, keeping its outputs. */
export function addToLoss(built: Tensor | LossWithOutputs, term: Tensor): Tensor | LossWithOutputs {
  if ('outputs' in built) return { loss: F.add(built.loss, term), outputs: built.outputs };
  return F.add(built, term);
}
