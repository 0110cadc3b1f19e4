// Seeded, deterministic initialisation of a flat parameter vector from the layout's specs.
import { createRng } from '../util/rng.js';
import type { Layout } from './layout.js';

export function initParams(layout: Layout, seed: number): Float32Array {
  const flat = new Float32Array(layout.totalSize);
  const rng = createRng(seed);
  for (const e of layout.entries) {
    const v = flat.subarray(e.offset, e.offset + e.size);
    const init = e.init;
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
