// Small CNN: (conv3×3 → ReLU → maxpool2) ×2 → flatten → Linear → ReLU → Linear.
import type { Architecture } from './arch.js';
import type { CnnDef } from './def.js';
import { layerGroups, layerParams, runLayers, type Layer } from './sequential.js';

export function cnnLayers(def: CnnDef): Layer[] {
  const [cin, h, w] = def.input;
  const [c1, c2] = def.channels;
  const spatial = (h / 4) * (w / 4);
  return [
    { kind: 'conv', name: 'conv1', in: cin, out: c1, kernel: 3, pad: 1, group: 'conv1', relu: true, pool: 2 },
    { kind: 'conv', name: 'conv2', in: c1, out: c2, kernel: 3, pad: 1, group: 'conv2', relu: true, pool: 2, flatten: { spatial } },
    { kind: 'linear', name: 'fc1', in: c2 * spatial, out: def.hidden, group: 'fc1', relu: true },
    { kind: 'linear', name: 'head', in: def.hidden, out: def.classes, relu: false },
  ];
}

export const cnn: Architecture<CnnDef> = {
  params: (def) => cnnLayers(def).flatMap((l) => layerParams(l)),
  forward: (def, ctx, x) => runLayers(cnnLayers(def), ctx, x),
  permSpec: (def) => ({ groups: layerGroups(cnnLayers(def)) }),
};
