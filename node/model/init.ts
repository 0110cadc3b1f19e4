// Seeded, deterministic initialisation of a flat parameter vector from the layout's specs.
import { createRng } from '../util/rng.js';
import type { InitSpec, Layout, LayoutEntry } from './layout.js';

/**
 * How layers declared with PyTorch's default start. 'he' replaces that legacy uniform
 * (which He et al. show shrinks ReLU activations layer by layer) with He-normal on fan-in and
 * zero biases, as hand-written research code usually does; merging results depend on it
 * (docs/agents.md). Constants and ResNet's He-normal convolutions are the same in both.
 */
export type InitScheme = 'torch' | 'he';
export const INIT_SCHEMES: ReadonlyArray<InitScheme> = ['torch', 'he'];

function specUnder(e: LayoutEntry, scheme: InitScheme): InitSpec {
  if (scheme === 'torch' || e.init.kind !== 'uniform') return e.init;
  if (e.shape.length < 2) return { kind: 'const', value: 0 };
  const fanIn = e.shape.slice(1).reduce((a, b) => a * b, 1);
  return { kind: 'normal', std: Math.sqrt(2 / fanIn) };
}

export function initParams(layout: Layout, seed: number, scheme: InitScheme = 'torch'): Float32Array {
  const flat = new Float32Array(layout.totalSize);
  const rng = createRng(seed);
  for (const e of layout.entries) {
    const v = flat.subarray(e.offset, e.offset + e.size);
    const init = specUnder(e, scheme);
    switch (init.kind) {
      case 'const':
        v.fill(init.value);
        break;
      case 'uniform':
        for (let i = 0; i < v.length; i++) v[i] = (2 * rng.next() - 1) * init.bound;
        break;
      case 'normal':
        for (let i = 0; i < v.length; i++) v[i] = rng.normal() * init.std;
        break;
    }
  }
  return flat;
}

/** PyTorch's default for Linear and Conv (kaiming_uniform with a=√5): U(±1/√fan_in). */
export const torchDefault = (fanIn: number) => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) }) as const;

/** He-normal with fan_out, as torchvision initialises ResNet convolutions. */
export const kaimingNormalFanOut = (fanOut: number) => ({ kind: 'normal', std: Math.sqrt(2 / fanOut) }) as const;
