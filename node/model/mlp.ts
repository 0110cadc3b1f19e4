// Multi-layer perceptron: flatten → (Linear → ReLU)* → Linear.
import type { Architecture } from './arch.js';
import type { MlpDef } from './def.js';
import { layerGroups, layerParams, runLayers, type Layer } from './sequential.js';

export function mlpLayers(def: MlpDef): Layer[] {
  const layers: Layer[] = [];
  let fanIn = def.input[0] * def.input[1] * def.input[2];
  def.hidden.forEach((out, i) => {
    layers.push({ kind: 'linear', name: `fc${i + 1}`, in: fanIn, out, group: `fc${i + 1}`, relu: true });
    fanIn = out;
  });
  layers.push({ kind: 'linear', name: 'head', in: fanIn, out: def.classes, relu: false });
  return layers;
}

export const mlp: Architecture<MlpDef> = {
  params: (def) => mlpLayers(def).flatMap((l) => layerParams(l)),
  forward: (def, ctx, x) => runLayers(mlpLayers(def), ctx, x),
  permSpec: (def) => ({ groups: layerGroups(mlpLayers(def)) }),
};
