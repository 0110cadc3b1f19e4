// Detecting what the ORT build on this machine offers beyond standard ONNX, by running
// probes rather than guessing from CPU flags: the NCHWc block size is whatever MLAS chose.
import type { CompileTarget } from '../graph.js';
import { encodeModel } from '../onnx/encode.js';
import { NCHWC } from '../ops/nchwc.js';
import { compiledModel, type Runtime } from './pool.js';

/**
 * ReorderInput on [1, 32, 1, 2] with x[c, p] = 10·c + p: in the blocked layout channel 0 of
 * position 1 (the value 1) lands at index B, the block size. Index 1 means no blocking.
 */
export async function detectTarget(rt: Runtime): Promise<CompileTarget> {
  if (process.env.MERGEMESH_NCHWC === '0') return {};
  const probe = compiledModel(
    encodeModel({
      graph: {
        name: 'nchwc_probe',
        nodes: [{ op: 'ReorderInput', domain: NCHWC, inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 32, 1, 2] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 32, 1, 2] }],
      },
      opsets: [
        { domain: '', version: 18 },
        { domain: NCHWC, version: 1 },
      ],
    }),
  );
  try {
    const x = Float32Array.from({ length: 64 }, (_, i) => 10 * Math.floor(i / 2) + (i % 2));
    const res = await rt.run(probe, { x: { dtype: 'float32', dims: [1, 32, 1, 2], data: x } });
    const y = res.outputs.y.data as Float32Array;
    const block = y.indexOf(1);
    return block > 1 && (block & (block - 1)) === 0 ? { nchwcBlock: block } : {};
  } catch {
    return {};
  } finally {
    await rt.release(probe).catch(() => undefined);
  }
}
