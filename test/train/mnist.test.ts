// Real training on MNIST (acceptance of the tensor core): accuracy, determinism, a
// standalone ONNX export that predicts exactly like our graph, safetensors round trips.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillBatch } from '../../node/data/dataset.js';
import { loadDataset } from '../../node/data/load.js';
import { defaultModelDef } from '../../node/model/def.js';
import { exportGraph } from '../../node/model/graphs.js';
import { loadModelFile, saveModelFile } from '../../node/model/safetensors.js';
import { encodeModel } from '../../node/tensor/onnx/encode.js';
import { createRuntime } from '../../node/tensor/runtime/pool.js';
import { predict } from '../../node/train/evaluate.js';
import { runTrainJob, type TrainJobResult } from '../../node/train/job.js';
import { optimizerConfig } from '../../node/train/optimizer.js';

const rt = createRuntime();
const dir = mkdtempSync(join(tmpdir(), 'mergemesh-train-'));
const test = loadDataset('mnist', 'test');
let mlp: TrainJobResult;
let cnn: TrainJobResult;

beforeAll(async () => {
  const adam = optimizerConfig('adam', { lr: 1e-3 });
  mlp = await runTrainJob({ model: defaultModelDef('mlp', [1, 28, 28], 10), dataset: 'mnist', epochs: 3, batch: 128, optimizer: adam, seed: 0, runtime: rt });
  cnn = await runTrainJob({ model: defaultModelDef('cnn', [1, 28, 28], 10), dataset: 'mnist', epochs: 2, batch: 128, optimizer: adam, seed: 0, runtime: rt });
}, 600_000);

afterAll(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('real training on MNIST', () => {
  it('MLP 784-512-512-10, Adam 1e-3, batch 128, 3 epochs reaches ≥ 97.5 % test accuracy', () => {
    console.log(`MLP test accuracy ${(100 * mlp.test.accuracy).toFixed(2)} %, ${Math.round(mlp.samplesPerS)} samples/s`);
    expect(mlp.test.count).toBe(10_000);
    expect(mlp.test.accuracy).toBeGreaterThanOrEqual(0.975);
    // Learning happened epoch over epoch, not just by the end.
    expect(mlp.epochs[2].meanLoss).toBeLessThan(mlp.epochs[0].meanLoss);
  });

  it('CNN, 2 epochs, reaches ≥ 98.3 % test accuracy', () => {
    console.log(`CNN test accuracy ${(100 * cnn.test.accuracy).toFixed(2)} %, ${Math.round(cnn.samplesPerS)} samples/s`);
    expect(cnn.test.accuracy).toBeGreaterThanOrEqual(0.983);
  });

  it('same seed ⇒ bit-identical weights; another seed ⇒ different weights', async () => {
    const run = (seed: number) =>
      runTrainJob({ model: defaultModelDef('mlp', [1, 28, 28], 10, { hidden: [64] }), dataset: 'mnist', epochs: 1, batch: 64, optimizer: optimizerConfig('adam'), seed, trainSamples: 4096, testSamples: 1000, runtime: rt });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(Buffer.compare(Buffer.from(a.weights.buffer), Buffer.from(b.weights.buffer))).toBe(0);
    expect(a.test.accuracy).toBe(b.test.accuracy);
    expect(Buffer.compare(Buffer.from(a.weights.buffer), Buffer.from(c.weights.buffer))).not.toBe(0);
  });
});

describe('standalone ONNX export', () => {
  it.each(['mlp', 'cnn'] as const)('%s: the exported model predicts like our eval graph on all 10,000 test images', async (kind) => {
    const r = kind === 'mlp' ? mlp : cnn;
    const bytes = encodeModel(exportGraph(r.model, r.weights));
    const file = join(dir, `${kind}.onnx`);
    writeFileSync(file, bytes);
    // Only standard ONNX: the file is for any runtime, not just ours.
    const session = await ort.InferenceSession.create(file);
    const ours = await predict(rt, r.model, r.weights, test);
    const d = test.shape[0] * test.shape[1] * test.shape[2];
    let agree = 0;
    let maxDiff = 0;
    for (let start = 0; start < test.count; start += 2000) {
      const n = Math.min(2000, test.count - start);
      const x = new Float32Array(n * d);
      const idx = Int32Array.from({ length: n }, (_, i) => start + i);
      fillBatch(test, idx, 0, n, x, new BigInt64Array(n));
      const out = (await session.run({ input: new ort.Tensor('float32', x, [n, ...test.shape]) })).logits.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const a = out.subarray(i * 10, i * 10 + 10);
        const b = ours.subarray((start + i) * 10, (start + i) * 10 + 10);
        if (a.indexOf(Math.max(...a)) === b.indexOf(Math.max(...b))) agree++;
        for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(a[c] - b[c]));
      }
    }
    await session.release();
    expect(agree).toBe(10_000);
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('uses only the default ONNX domain and names its I/O input/logits', () => {
    const m = exportGraph(cnn.model, cnn.weights);
    expect(m.opsets.map((o) => o.domain)).toEqual(['']);
    expect(m.graph.nodes.every((n) => !n.domain)).toBe(true);
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['input']);
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['logits']);
  });
});

describe('safetensors model files', () => {
  it('round-trip bit-exactly with the model definition in the metadata', () => {
    const file = join(dir, 'cnn.safetensors');
    saveModelFile(file, cnn.model, cnn.weights, { note: 'test' });
    const back = loadModelFile(file);
    expect(back.model.def).toEqual(cnn.model.def);
    expect(Buffer.compare(Buffer.from(back.weights.buffer), Buffer.from(cnn.weights.buffer))).toBe(0);
    expect(back.metadata.note).toBe('test');
  });

  it('are rejected with a clear message when truncated or not ours', () => {
    const file = join(dir, 'mlp.safetensors');
    saveModelFile(file, mlp.model, mlp.weights);
    const bytes = readFileSync(file);
    writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
    expect(() => loadModelFile(join(dir, 'cut.safetensors'))).toThrow(/offsets|bytes/);
    writeFileSync(join(dir, 'junk.safetensors'), Buffer.from('not a model at all'));
    expect(() => loadModelFile(join(dir, 'junk.safetensors'))).toThrow(/header/);
    expect(() => loadModelFile(join(dir, 'missing.safetensors'))).toThrow(/cannot read/);
  });

  const hasNumpy = (() => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasNumpy)('load in numpy with the standard layout (checked when python3 + numpy exist)', () => {
    const file = join(dir, 'mlp-np.safetensors');
    saveModelFile(file, mlp.model, mlp.weights);
    const script = [
      'import json, struct, sys, numpy as np',
      'b = open(sys.argv[1], "rb").read()',
      'n = struct.unpack("<Q", b[:8])[0]',
      'h = json.loads(b[8:8 + n])',
      'out = {}',
      'for k, v in h.items():',
      '    if k == "__metadata__": continue',
      '    s, e = v["data_offsets"]',
      '    a = np.frombuffer(b[8 + n + s: 8 + n + e], dtype="<f4").reshape(v["shape"])',
      '    out[k] = [list(a.shape), float(a.astype(np.float64).sum())]',
      'print(json.dumps(out))',
    ].join('\n');
    const got = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Record<string, [number[], number]>;
    for (const e of mlp.model.layout.entries) {
      const v = mlp.weights.subarray(e.offset, e.offset + e.size);
      const sum = v.reduce((a, x) => a + x, 0);
      expect(got[e.name][0]).toEqual(e.shape);
      expect(got[e.name][1]).toBeCloseTo(sum, 3);
    }
  });
});
