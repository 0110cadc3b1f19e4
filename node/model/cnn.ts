// Small CNN: (conv3×3 → ReLU → maxpool2) ×2 → flatten → Linear → ReLU → Linear.
import { conv2d, flatten, linear, maxPool2d, relu } from '../tensor/ops/index.js';
import type { Architecture } from './arch.js';
import type { CnnDef } from './def.js';
import { torchDefault } from './init.js';
import type { ParamDecl } from './layout.js';

export const cnn: Architecture<CnnDef> = {
  params(def) {
    const [cin, h, w] = def.input;
    const [c1, c2] = def.channels;
    const flat = c2 * (h / 4) * (w / 4);
    const conv = (name: string, out: number, inp: number): ParamDecl[] => [
      { name: `${name}.weight`, shape: [out, inp, 3, 3], kind: 'param', init: torchDefault(inp * 9) },
      { name: `${name}.bias`, shape: [out], kind: 'param', init: torchDefault(inp * 9) },
    ];
    const fc = (name: string, out: number, inp: number): ParamDecl[] => [
      { name: `${name}.weight`, shape: [out, inp], kind: 'param', init: torchDefault(inp) },
      { name: `${name}.bias`, shape: [out], kind: 'param', init: torchDefault(inp) },
    ];
    return [...conv('conv1', c1, cin), ...conv('conv2', c2, c1), ...fc('fc1', def.hidden, flat), ...fc('head', def.classes, def.hidden)];
  },
  forward(_def, ctx, x) {
    let h = relu(conv2d(x, ctx.param('conv1.weight'), ctx.param('conv1.bias'), { padding: 1 }));
    ctx.tap('conv1', h);
    h = maxPool2d(h, 2);
    h = relu(conv2d(h, ctx.param('conv2.weight'), ctx.param('conv2.bias'), { padding: 1 }));
    ctx.tap('conv2', h);
    h = flatten(maxPool2d(h, 2), 1);
    h = relu(linear(h, ctx.param('fc1.weight'), ctx.param('fc1.bias')));
    ctx.tap('fc1', h);
    return linear(h, ctx.param('head.weight'), ctx.param('head.bias'));
  },
  permSpec(def) {
    const [c1, c2] = def.channels;
    const spatial = (def.input[1] / 4) * (def.input[2] / 4);
    return {
      groups: [
        {
          name: 'conv1',
          size: c1,
          members: [
            { tensor: 'conv1.weight', axis: 0 },
            { tensor: 'conv1.bias', axis: 0 },
            { tensor: 'conv2.weight', axis: 1 },
          ],
          taps: ['conv1'],
        },
        {
          name: 'conv2',
          size: c2,
          members: [
            { tensor: 'conv2.weight', axis: 0 },
            { tensor: 'conv2.bias', axis: 0 },
            { tensor: 'fc1.weight', axis: 1, repeat: spatial },
          ],
          taps: ['conv2'],
        },
        {
          name: 'fc1',
          size: def.hidden,
          members: [
            { tensor: 'fc1.weight', axis: 0 },
            { tensor: 'fc1.bias', axis: 0 },
            { tensor: 'head.weight', axis: 1 },
          ],
          taps: ['fc1'],
        },
      ],
    };
  },
};
