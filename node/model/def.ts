// Model definitions are plain JSON-able data: they travel in safetensors metadata and on
// the wire, and two peers with equal definitions have identical parameter layouts.

export type NormKind = 'batchnorm' | 'layernorm';

export interface MlpDef {
  readonly kind: 'mlp';
  /** Input shape [C, H, W] (flattened by the model). */
  readonly input: readonly [number, number, number];
  readonly hidden: ReadonlyArray<number>;
  readonly classes: number;
}

export interface CnnDef {
  readonly kind: 'cnn';
  readonly input: readonly [number, number, number];
  /** Output channels of the two conv-relu-maxpool stages. */
  readonly channels: readonly [number, number];
  /** Width of the hidden fully connected layer. */
  readonly hidden: number;
  readonly classes: number;
}

export interface ResNetDef {
  readonly kind: 'resnet20';
  readonly input: readonly [number, number, number];
  /** Width multiplier: stages have 16w, 32w, 64w channels. */
  readonly width: number;
  readonly norm: NormKind;
  readonly classes: number;
}

/**
 * A trunk shared by several heads: the first `trunk` layers of a sequential model (with the
 * given output widths), then one copy of the remaining layers per head. Partial ZipIt!
 * merges produce it; the output is the heads' logits side by side, [N, heads·classes].
 */
export interface MultiHeadDef {
  readonly kind: 'multihead';
  readonly base: MlpDef | CnnDef;
  readonly trunk: number;
  readonly widths: ReadonlyArray<number>;
  readonly heads: number;
}

export type ModelDef = MlpDef | CnnDef | ResNetDef | MultiHeadDef;

export type ModelKind = Exclude<ModelDef['kind'], 'multihead'>;
export const MODEL_KINDS: ReadonlyArray<ModelKind> = ['mlp', 'cnn', 'resnet20'];

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Validates untrusted input (a file's metadata, a CLI flag, a peer's message) as a ModelDef. */
export function parseModelDef(x: unknown): ModelDef {
  const fail = (why: string): never => {
    throw new Error(`invalid model definition: ${why}`);
  };
  if (typeof x !== 'object' || x === null) return fail('not an object');
  const o = x as Record<string, unknown>;
  if (o.kind === 'multihead') {
    const base = parseModelDef(o.base);
    if (base.kind !== 'mlp' && base.kind !== 'cnn') fail('multihead.base must be an mlp or cnn');
    const layers = base.kind === 'mlp' ? base.hidden.length + 1 : 4;
    if (!posInt(o.trunk) || (o.trunk as number) >= layers) fail(`multihead.trunk must be in 1..${layers - 1}`);
    const widths = o.widths;
    if (!Array.isArray(widths) || widths.length !== o.trunk || !widths.every(posInt)) fail('multihead.widths must give one positive width per trunk layer');
    if (!posInt(o.heads) || (o.heads as number) < 2) fail('multihead.heads must be an integer ≥ 2');
    return { kind: 'multihead', base: base as MlpDef | CnnDef, trunk: o.trunk as number, widths: [...(widths as number[])], heads: o.heads as number };
  }
  const input = o.input;
  if (!Array.isArray(input) || input.length !== 3 || !input.every(posInt)) fail('input must be [channels, height, width] of positive integers');
  if (!posInt(o.classes) || (o.classes as number) < 2) fail('classes must be an integer ≥ 2');
  const inp = input as [number, number, number];
  switch (o.kind) {
    case 'mlp': {
      const hidden = o.hidden;
      if (!Array.isArray(hidden) || !hidden.every(posInt)) fail('mlp.hidden must be a list of positive integers');
      return { kind: 'mlp', input: inp, hidden: [...(hidden as number[])], classes: o.classes as number };
    }
    case 'cnn': {
      const ch = o.channels;
      if (!Array.isArray(ch) || ch.length !== 2 || !ch.every(posInt)) fail('cnn.channels must be two positive integers');
      if (!posInt(o.hidden)) fail('cnn.hidden must be a positive integer');
      if (inp[1] % 4 !== 0 || inp[2] % 4 !== 0) fail('cnn input height and width must be divisible by 4 (two 2×2 pools)');
      const [c1, c2] = ch as [number, number];
      return { kind: 'cnn', input: inp, channels: [c1, c2], hidden: o.hidden as number, classes: o.classes as number };
    }
    case 'resnet20': {
      if (!posInt(o.width)) fail('resnet20.width must be a positive integer');
      if (o.norm !== 'batchnorm' && o.norm !== 'layernorm') fail("resnet20.norm must be 'batchnorm' or 'layernorm'");
      return { kind: 'resnet20', input: inp, width: o.width as number, norm: o.norm as NormKind, classes: o.classes as number };
    }
    default:
      return fail(`unknown kind ${JSON.stringify(o.kind)} (expected one of ${MODEL_KINDS.join(', ')})`);
  }
}

/** The standard definitions behind the CLI's --model names, for a dataset's input shape. */
export function defaultModelDef(kind: ModelKind, input: readonly [number, number, number], classes: number, opts: { width?: number; norm?: NormKind; hidden?: number[] } = {}): ModelDef {
  switch (kind) {
    case 'mlp':
      return { kind, input, hidden: opts.hidden ?? [512, 512], classes };
    case 'cnn':
      return { kind, input, channels: [32, 64], hidden: opts.hidden?.[0] ?? 128, classes };
    case 'resnet20':
      return { kind, input, width: opts.width ?? 1, norm: opts.norm ?? 'batchnorm', classes };
  }
}

export function describeModel(def: ModelDef): string {
  switch (def.kind) {
    case 'multihead':
      return `${describeModel(def.base)} split after layer ${def.trunk} into ${def.heads} heads (trunk widths ${def.widths.join(', ')})`;
    case 'mlp':
      return `MLP ${[def.input.reduce((a, b) => a * b, 1), ...def.hidden, def.classes].join('-')}`;
    case 'cnn':
      return `CNN conv${def.channels[0]}-conv${def.channels[1]}-fc${def.hidden}-${def.classes}`;
    case 'resnet20':
      return `ResNet-20 ×${def.width} (${def.norm})`;
  }
}

/**
 * Optimiser steps fused into one ORT call by default: enough to amortise the per-call
 * copies of small models, few enough that big graphs compile quickly.
 */
export function defaultStepsPerCall(kind: ModelDef['kind']): number {
  return kind === 'mlp' ? 8 : kind === 'resnet20' ? 2 : 4;
}

/** Input shape [C, H, W] and number of classes per head of any definition. */
export function ioOf(def: ModelDef): { input: readonly [number, number, number]; classes: number; heads: number } {
  if (def.kind === 'multihead') return { input: def.base.input, classes: def.base.classes, heads: def.heads };
  return { input: def.input, classes: def.classes, heads: 1 };
}
