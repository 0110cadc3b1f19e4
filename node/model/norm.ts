// Normalisation layers as the architectures use them: parameter declarations, the forward
// in train or eval mode, and the tensors that join a unit group in the permutation spec.
import { batchNormEval, batchNormTrain, layerNorm } from '../tensor/ops/nn.js';
import type { Tensor } from '../tensor/graph.js';
import type { ForwardContext } from './arch.js';
import type { NormKind } from './def.js';
import type { ParamDecl } from './layout.js';
import type { PermMember } from './permspec.js';

export const BN_MOMENTUM = 0.1;
export const NORM_EPS = 1e-5;

export function normDecls(prefix: string, c: number, kind: NormKind): ParamDecl[] {
  const decls: ParamDecl[] = [
    { name: `${prefix}.weight`, shape: [c], kind: 'param', init: { kind: 'const', value: 1 } },
    { name: `${prefix}.bias`, shape: [c], kind: 'param', init: { kind: 'const', value: 0 } },
  ];
  if (kind === 'batchnorm') {
    decls.push(
      { name: `${prefix}.running_mean`, shape: [c], kind: 'buffer', init: { kind: 'const', value: 0 } },
      { name: `${prefix}.running_var`, shape: [c], kind: 'buffer', init: { kind: 'const', value: 1 } },
    );
  }
  return decls;
}

export function normMembers(prefix: string, kind: NormKind): PermMember[] {
  const names = kind === 'batchnorm' ? ['weight', 'bias', 'running_mean', 'running_var'] : ['weight', 'bias'];
  return names.map((n) => ({ tensor: `${prefix}.${n}`, axis: 0 }));
}

/** BatchNorm over (N, H, W) per channel, or LayerNorm over channels at each position. */
export function applyNorm(ctx: ForwardContext, prefix: string, x: Tensor, kind: NormKind): Tensor {
  const scale = ctx.param(`${prefix}.weight`);
  const bias = ctx.param(`${prefix}.bias`);
  if (kind === 'layernorm') return layerNorm(x, scale, bias, [1], NORM_EPS);
  const p = { scale, bias, runningMean: ctx.param(`${prefix}.running_mean`), runningVar: ctx.param(`${prefix}.running_var`) };
  if (!ctx.training) return batchNormEval(x, p, NORM_EPS);
  const r = batchNormTrain(x, p, ctx.bnMomentum ?? BN_MOMENTUM, NORM_EPS);
  ctx.setBuffer(`${prefix}.running_mean`, r.runningMean);
  ctx.setBuffer(`${prefix}.running_var`, r.runningVar);
  return r.y;
}
