// CIFAR-style ResNet-20 (He et al. 2016): a 3×3 stem, three stages of three basic blocks
// with 16w, 32w, 64w channels (stride 2 at stages 2 and 3, 1×1 projection shortcuts there),
// global average pooling and a linear head. Post-activation blocks: relu(main + shortcut).
//
// Unit groups: each stage's residual stream is one group (every layer that writes to it
// and every layer that reads it share the permutation), plus one group inside each block.
import { add, conv2d, flatten, globalAvgPool, linear, relu } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/graph.js';
import type { Architecture } from './arch.js';
import type { ResNetDef } from './def.js';
import { kaimingNormalFanOut, torchDefault } from './init.js';
import type { ParamDecl } from './layout.js';
import { applyNorm, normDecls, normMembers } from './norm.js';
import type { PermGroup, PermMember } from './permspec.js';

interface BlockShape {
  readonly name: string;
  readonly stage: number;
  readonly cin: number;
  readonly cout: number;
  readonly stride: number;
  readonly projection: boolean;
}

function blocks(def: ResNetDef): BlockShape[] {
  const out: BlockShape[] = [];
  let cin = 16 * def.width;
  for (let s = 0; s < 3; s++) {
    const cout = 16 * def.width * 2 ** s;
    for (let b = 0; b < 3; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      out.push({ name: `layer${s + 1}.${b}`, stage: s, cin, cout, stride, projection: stride !== 1 || cin !== cout });
      cin = cout;
    }
  }
  return out;
}

const convDecl = (name: string, out: number, inp: number, k: number): ParamDecl => ({
  name,
  shape: [out, inp, k, k],
  kind: 'param',
  init: kaimingNormalFanOut(out * k * k),
});

export const resnet20: Architecture<ResNetDef> = {
  params(def) {
    const c0 = 16 * def.width;
    const decls: ParamDecl[] = [convDecl('stem.conv.weight', c0, def.input[0], 3), ...normDecls('stem.norm', c0, def.norm)];
    for (const b of blocks(def)) {
      decls.push(convDecl(`${b.name}.conv1.weight`, b.cout, b.cin, 3), ...normDecls(`${b.name}.norm1`, b.cout, def.norm));
      decls.push(convDecl(`${b.name}.conv2.weight`, b.cout, b.cout, 3), ...normDecls(`${b.name}.norm2`, b.cout, def.norm));
      if (b.projection) {
        decls.push(convDecl(`${b.name}.shortcut.conv.weight`, b.cout, b.cin, 1), ...normDecls(`${b.name}.shortcut.norm`, b.cout, def.norm));
      }
    }
    const last = 64 * def.width;
    decls.push({ name: 'head.weight', shape: [def.classes, last], kind: 'param', init: torchDefault(last) });
    decls.push({ name: 'head.bias', shape: [def.classes], kind: 'param', init: torchDefault(last) });
    return decls;
  },

  forward(def, ctx, x) {
    const conv = (name: string, h: Tensor, stride: number, pad: number) => conv2d(h, ctx.param(name), undefined, { stride, padding: pad });
    let h = relu(applyNorm(ctx, 'stem.norm', conv('stem.conv.weight', x, 1, 1), def.norm));
    ctx.tap('stream1.stem', h);
    for (const b of blocks(def)) {
      const mid = relu(applyNorm(ctx, `${b.name}.norm1`, conv(`${b.name}.conv1.weight`, h, b.stride, 1), def.norm));
      ctx.tap(`${b.name}.inner`, mid);
      const main = applyNorm(ctx, `${b.name}.norm2`, conv(`${b.name}.conv2.weight`, mid, 1, 1), def.norm);
      const skip = b.projection ? applyNorm(ctx, `${b.name}.shortcut.norm`, conv(`${b.name}.shortcut.conv.weight`, h, b.stride, 0), def.norm) : h;
      h = relu(add(main, skip));
      ctx.tap(`stream${b.stage + 1}.${b.name}`, h);
    }
    return linear(flatten(globalAvgPool(h), 1), ctx.param('head.weight'), ctx.param('head.bias'));
  },

  permSpec(def) {
    const bs = blocks(def);
    const norm = (prefix: string) => normMembers(prefix, def.norm);
    const streams: { members: PermMember[]; taps: string[]; size: number }[] = [0, 1, 2].map((s) => ({
      members: [],
      taps: [],
      size: 16 * def.width * 2 ** s,
    }));
    streams[0].members.push({ tensor: 'stem.conv.weight', axis: 0 }, ...norm('stem.norm'));
    streams[0].taps.push('stream1.stem');
    const inner: PermGroup[] = [];
    for (const b of bs) {
      const into = streams[b.stage];
      const from = streams[b.projection ? b.stage - 1 : b.stage];
      // Readers of the incoming stream.
      from.members.push({ tensor: `${b.name}.conv1.weight`, axis: 1 });
      if (b.projection) from.members.push({ tensor: `${b.name}.shortcut.conv.weight`, axis: 1 });
      // Writers of the outgoing stream.
      into.members.push({ tensor: `${b.name}.conv2.weight`, axis: 0 }, ...norm(`${b.name}.norm2`));
      if (b.projection) into.members.push({ tensor: `${b.name}.shortcut.conv.weight`, axis: 0 }, ...norm(`${b.name}.shortcut.norm`));
      into.taps.push(`stream${b.stage + 1}.${b.name}`);
      inner.push({
        name: `${b.name}.inner`,
        size: b.cout,
        members: [{ tensor: `${b.name}.conv1.weight`, axis: 0 }, ...norm(`${b.name}.norm1`), { tensor: `${b.name}.conv2.weight`, axis: 1 }],
        taps: [`${b.name}.inner`],
      });
    }
    streams[2].members.push({ tensor: 'head.weight', axis: 1 });
    return {
      groups: [...streams.map((s, i) => ({ name: `stream${i + 1}`, size: s.size, members: s.members, taps: s.taps })), ...inner],
    };
  },
};
