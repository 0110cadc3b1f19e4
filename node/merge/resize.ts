// The definition of a merged model whose unit groups have new sizes (PLeaS widens them).
import type { ModelDef } from '../model/def.js';

export function resizedDef(def: ModelDef, sizes: ReadonlyMap<string, number>): ModelDef {
  const size = (g: string, d: number) => sizes.get(g) ?? d;
  switch (def.kind) {
    case 'mlp':
      return { ...def, hidden: def.hidden.map((h, i) => size(`fc${i + 1}`, h)) };
    case 'cnn':
      return { ...def, channels: [size('conv1', def.channels[0]), size('conv2', def.channels[1])], hidden: size('fc1', def.hidden) };
    case 'resnet20': {
      for (const [g, s] of sizes) {
        const stage = g.startsWith('stream') ? Number(g[6]) - 1 : Number(/layer(\d)/.exec(g)?.[1] ?? 1) - 1;
        if (s !== 16 * def.width * 2 ** stage) throw new Error('merge: ResNet-20 merges keep every group at its width (use weight/activation/zipit without width changes)');
      }
      return def;
    }
    case 'multihead':
      throw new Error('merge: multi-head models cannot be merged again');
  }
}
