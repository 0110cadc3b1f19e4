// What an architecture provides. Everything else (graphs, training, merging) is generic.
import type { Tensor } from '../tensor/graph.js';
import type { ParamDecl } from './layout.js';
import type { PermSpec } from './permspec.js';

export interface ForwardContext {
  readonly training: boolean;
  /** BatchNorm momentum for the running statistics (1: they become the batch's statistics). */
  readonly bnMomentum?: number;
  /** A parameter or buffer by name. */
  param(name: string): Tensor;
  /** Records post-activation features of a unit group (axis 1 = units). */
  tap(name: string, t: Tensor): void;
  /** New value of a buffer (training-mode running statistics). */
  setBuffer(name: string, t: Tensor): void;
}

export interface Architecture<D> {
  params(def: D): ParamDecl[];
  /** x is [N, C, H, W]; returns logits [N, classes]. */
  forward(def: D, ctx: ForwardContext, x: Tensor): Tensor;
  permSpec(def: D): PermSpec;
}
