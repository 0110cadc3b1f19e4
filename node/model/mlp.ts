// Multi-layer perceptron: flatten → (Linear → ReLU)* → Linear.
import { flatten, linear, relu } from '../tensor/ops/index.js';
import type { Architecture } from './arch.js';
import type { MlpDef } from './def.js';
import { torchDefault } from './init.js';
import type { ParamDecl } from './layout.js';
import type { PermGroup } from './permspec.js';

const layerName = (def: MlpDef, i: number) => (i < def.hidden.length ? `fc${i + 1}` : 'head');

export const mlp: Architecture<MlpDef> = {
  params(def) {
    const decls: ParamDecl[] = [];
    let fanIn = def.input[0] * def.input[1] * def.input[2];
    [...def.hidden, def.classes].forEach((out, i) => {
      const name = layerName(def, i);
      decls.push({ name: `${name}.weight`, shape: [out, fanIn], kind: 'param', init: torchDefault(fanIn) });
      decls.push({ name: `${name}.bias`, shape: [out], kind: 'param', init: torchDefault(fanIn) });
      fanIn = out;
    });
    return decls;
  },
  forward(def, ctx, x) {
    let h = flatten(x, 1);
    for (let i = 0; i <= def.hidden.length; i++) {
      const name = layerName(def, i);
      h = linear(h, ctx.param(`${name}.weight`), ctx.param(`${name}.bias`));
      if (i < def.hidden.length) {
        h = relu(h);
        ctx.tap(`fc${i + 1}`, h);
      }
    }
    return h;
  },
  permSpec(def) {
    const groups: PermGroup[] = def.hidden.map((size, i) => ({
      name: `fc${i + 1}`,
      size,
      members: [
        { tensor: `fc${i + 1}.weight`, axis: 0 },
        { tensor: `fc${i + 1}.bias`, axis: 0 },
        { tensor: `${layerName(def, i + 1)}.weight`, axis: 1 },
      ],
      taps: [`fc${i + 1}`],
    }));
    return { groups };
  },
};
