// Sequential architectures as a list of layers (data). Parameters, forward pass, permutation
// spec and feature taps all follow from the list, and a list can be cut: a merged trunk
// followed by one head per source model is the same layers split at one point.
import type { Tensor } from '../tensor/graph.js';
import { conv2d, flatten, linear, maxPool2d, relu } from '../tensor/ops/index.js';
import type { ForwardContext } from './arch.js';
import { torchDefault } from './init.js';
import type { ParamDecl } from './layout.js';
import type { PermGroup, PermMember } from './permspec.js';

export interface LinearLayer {
  readonly kind: 'linear';
  readonly name: string;
  readonly in: number;
  readonly out: number;
  /** Unit group of the outputs (hidden layers); absent for the classifier. */
  readonly group?: string;
  readonly relu: boolean;
}

export interface ConvLayer {
  readonly kind: 'conv';
  readonly name: string;
  readonly in: number;
  readonly out: number;
  readonly kernel: number;
  readonly pad: number;
  readonly group?: string;
  readonly relu: boolean;
  /** Max-pooling window after the activation. */
  readonly pool?: number;
  /** Flatten to [N, C·H·W] after pooling; the next layer's input axis repeats each unit H·W times. */
  readonly flatten?: { readonly spatial: number };
}

export type Layer = LinearLayer | ConvLayer;

/** Parameters of one layer under a name prefix ('' or 'heads.0.'). */
export function layerParams(l: Layer, prefix = ''): ParamDecl[] {
  const fanIn = l.kind === 'conv' ? l.in * l.kernel * l.kernel : l.in;
  const shape = l.kind === 'conv' ? [l.out, l.in, l.kernel, l.kernel] : [l.out, l.in];
  return [
    { name: `${prefix}${l.name}.weight`, shape, kind: 'param', init: torchDefault(fanIn) },
    { name: `${prefix}${l.name}.bias`, shape: [l.out], kind: 'param', init: torchDefault(fanIn) },
  ];
}

/**
 * Runs layers in order. Taps: '<group>' after the activation (the features alignment uses),
 * '<group>:pre' before it (what REPAIR rescales) and '<group>:out' as the next layer reads it.
 */
export function runLayers(layers: ReadonlyArray<Layer>, ctx: ForwardContext, x: Tensor, prefix = ''): Tensor {
  let h = x;
  for (const l of layers) {
    const w = ctx.param(`${prefix}${l.name}.weight`);
    const b = ctx.param(`${prefix}${l.name}.bias`);
    h = l.kind === 'conv' ? conv2d(h, w, b, { padding: l.pad }) : linear(h.rank > 2 ? flatten(h, 1) : h, w, b);
    const tapName = l.group ? `${prefix}${l.group}` : undefined;
    if (tapName) ctx.tap(`${tapName}:pre`, h);
    if (l.relu) h = relu(h);
    if (tapName) ctx.tap(tapName, h);
    if (l.kind === 'conv') {
      if (l.pool) h = maxPool2d(h, l.pool);
      if (l.flatten) h = flatten(h, 1);
    }
    // What the next layer reads (after pooling and flattening), for layer-wise refits.
    if (tapName) ctx.tap(`${tapName}:out`, h);
  }
  return h;
}

/** One group per layer with a group: its outputs, and the next layer's inputs. */
export function layerGroups(layers: ReadonlyArray<Layer>, prefix = '', readers?: (i: number) => PermMember[]): PermGroup[] {
  const groups: PermGroup[] = [];
  layers.forEach((l, i) => {
    if (!l.group) return;
    const next = layers[i + 1];
    const members: PermMember[] = [
      { tensor: `${prefix}${l.name}.weight`, axis: 0 },
      { tensor: `${prefix}${l.name}.bias`, axis: 0 },
    ];
    if (next) members.push(readerOf(l, next, prefix));
    else if (readers) members.push(...readers(i));
    groups.push({ name: `${prefix}${l.group}`, size: l.out, members, taps: [`${prefix}${l.group}`] });
  });
  return groups;
}

/** The member by which `next` reads the outputs of `l`. */
export function readerOf(l: Layer, next: Layer, prefix: string): PermMember {
  const repeat = l.kind === 'conv' && l.flatten ? l.flatten.spatial : undefined;
  return { tensor: `${prefix}${next.name}.weight`, axis: 1, ...(repeat && repeat > 1 ? { repeat } : {}) };
}
