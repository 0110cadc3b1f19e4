// A shared trunk with one head per source model (what partial ZipIt! produces).
import { concat } from '../tensor/ops/index.js';
import type { Architecture } from './arch.js';
import { cnnLayers } from './cnn.js';
import type { MultiHeadDef } from './def.js';
import { mlpLayers } from './mlp.js';
import type { PermMember } from './permspec.js';
import { layerGroups, layerParams, readerOf, runLayers, type Layer } from './sequential.js';

/** The base's layers with the trunk's widths applied, split into trunk and head layers. */
export function splitLayers(def: MultiHeadDef): { trunk: Layer[]; head: Layer[] } {
  const layers = def.base.kind === 'mlp' ? mlpLayers(def.base) : cnnLayers(def.base);
  const resized = layers.map((l, i) => {
    const out = i < def.trunk ? def.widths[i] : l.out;
    const prev = i > 0 && i <= def.trunk ? layers[i - 1] : undefined;
    const repeat = prev && prev.kind === 'conv' && prev.flatten ? prev.flatten.spatial : 1;
    const inp = prev ? def.widths[i - 1] * repeat : l.in;
    return { ...l, in: inp, out } as Layer;
  });
  return { trunk: resized.slice(0, def.trunk), head: resized.slice(def.trunk) };
}

const headPrefix = (m: number) => `heads.${m}.`;

export const multihead: Architecture<MultiHeadDef> = {
  params(def) {
    const { trunk, head } = splitLayers(def);
    const decls = trunk.flatMap((l) => layerParams(l));
    for (let m = 0; m < def.heads; m++) decls.push(...head.flatMap((l) => layerParams(l, headPrefix(m))));
    return decls;
  },
  forward(def, ctx, x) {
    const { trunk, head } = splitLayers(def);
    const h = runLayers(trunk, ctx, x);
    return concat(Array.from({ length: def.heads }, (_, m) => runLayers(head, ctx, h, headPrefix(m))), 1);
  },
  permSpec(def) {
    const { trunk, head } = splitLayers(def);
    const last = trunk[trunk.length - 1];
    // The trunk's last group is read by the first layer of every head.
    const readers = (): PermMember[] => Array.from({ length: def.heads }, (_, m) => readerOf(last, head[0], headPrefix(m)));
    const groups = layerGroups(trunk, '', (i) => (i === trunk.length - 1 ? readers() : []));
    for (let m = 0; m < def.heads; m++) groups.push(...layerGroups(head, headPrefix(m)));
    return { groups };
  },
};
