// Small model definitions that keep tests fast while exercising every layer type.
import type { ModelDef } from '../../node/model/def.js';

export const MNIST_INPUT = [1, 28, 28] as const;

export const smallMlp: ModelDef = { kind: 'mlp', input: [1, 8, 8], hidden: [16, 12], classes: 5 };
export const smallCnn: ModelDef = { kind: 'cnn', input: [2, 8, 8], channels: [4, 6], hidden: 10, classes: 5 };
export const smallResnetBN: ModelDef = { kind: 'resnet20', input: [3, 8, 8], width: 1, norm: 'batchnorm', classes: 5 };
export const smallResnetLN: ModelDef = { kind: 'resnet20', input: [3, 8, 8], width: 1, norm: 'layernorm', classes: 5 };

export const allSmall: Array<[string, ModelDef]> = [
  ['MLP', smallMlp],
  ['CNN', smallCnn],
  ['ResNet-20 (BatchNorm)', smallResnetBN],
  ['ResNet-20 (LayerNorm)', smallResnetLN],
];
