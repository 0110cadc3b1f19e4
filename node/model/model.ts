// A model: its definition plus everything derived from it (layout, permutation spec,
// initialisation, forward pass). Created from data alone, so any peer can rebuild it.
import type { Tensor } from '../tensor/graph.js';
import type { Architecture, ForwardContext } from './arch.js';
import { cnn } from './cnn.js';
import { ioOf, type ModelDef } from './def.js';
import { multihead } from './multihead.js';
import { initParams, type InitScheme } from './init.js';
import { createLayout, type Layout } from './layout.js';
import { mlp } from './mlp.js';
import { validatePermSpec, type PermSpec } from './permspec.js';
import { resnet20 } from './resnet.js';

export interface Model {
  readonly def: ModelDef;
  readonly layout: Layout;
  readonly spec: PermSpec;
  /** Input shape [C, H, W] of one sample. */
  readonly input: readonly [number, number, number];
  /** Classes per head; the logits are [N, heads·classes]. */
  readonly classes: number;
  readonly heads: number;
  /** A seeded, deterministic initial weight vector (parameters then buffers). */
  init(seed: number, scheme?: InitScheme): Float32Array;
  forward(ctx: ForwardContext, x: Tensor): Tensor;
}

function archOf(def: ModelDef): Architecture<ModelDef> {
  const table: { [K in ModelDef['kind']]: Architecture<Extract<ModelDef, { kind: K }>> } = { mlp, cnn, resnet20, multihead };
  return table[def.kind] as Architecture<ModelDef>;
}

export function createModel(def: ModelDef): Model {
  const arch = archOf(def);
  const layout = createLayout(arch.params(def));
  const spec = arch.permSpec(def);
  validatePermSpec(spec, layout);
  return {
    def,
    layout,
    spec,
    ...ioOf(def),
    init: (seed, scheme) => initParams(layout, seed, scheme),
    forward: (ctx, x) => arch.forward(def, ctx, x),
  };
}
