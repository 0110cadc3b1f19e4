// Checks autodiff against central finite differences, evaluated by ORT in float32.
// Directional derivatives along random directions exercise every element of every
// input at once: |(L(x+εv) − L(x−εv))/2ε − ⟨∇L, v⟩| relative to their magnitude.
import { gradients } from '../../node/tensor/autodiff.js';
import { compileGraph } from '../../node/tensor/compile.js';
import { Graph, STANDARD_TARGET, type CompileTarget, type Tensor } from '../../node/tensor/graph.js';
import type { HostTensor } from '../../node/tensor/host.js';
import { encodeModel } from '../../node/tensor/onnx/encode.js';
import { mul, reduceSum } from '../../node/tensor/ops/index.js';
import { compiledModel, type Runtime } from '../../node/tensor/runtime/pool.js';
import { numel } from '../../node/tensor/shape.js';
import { randn } from './rng.js';

export interface CheckInput {
  readonly shape: ReadonlyArray<number>;
  /** Defaults to seeded standard normal data. */
  readonly data?: Float32Array | BigInt64Array;
  readonly dtype?: 'float32' | 'int64';
  /** Whether to differentiate with respect to this input (default: true for float32). */
  readonly wrt?: boolean;
}

export interface CheckResult {
  readonly maxRelError: number;
  readonly checks: Array<{ input: number; fd: number; analytic: number; rel: number }>;
}

export async function gradCheck(
  rt: Runtime,
  build: (...xs: Tensor[]) => Tensor,
  inputs: ReadonlyArray<CheckInput>,
  { eps = 1e-3, directions = 3, seed = 1, target = STANDARD_TARGET }: { eps?: number; directions?: number; seed?: number; target?: CompileTarget } = {},
): Promise<CheckResult> {
  const g = new Graph();
  const xs = inputs.map((inp, i) => g.input(`x${i}`, inp.shape, inp.dtype ?? 'float32'));
  const y = build(...xs);
  // A random linear functional of y, so that no gradient is trivially uniform.
  const r = g.constant(randn(numel(y.shape), seed + 1000), y.shape, 'float32');
  const loss = reduceSum(mul(y, r));
  const wrtIdx = inputs.map((inp, i) => ((inp.wrt ?? (inp.dtype ?? 'float32') === 'float32') ? i : -1)).filter((i) => i >= 0);
  const grads = gradients(loss, wrtIdx.map((i) => xs[i]));
  const outs: Record<string, Tensor> = { loss };
  grads.forEach((gr, k) => (outs[`g${k}`] = gr));
  const full = compiledModel(encodeModel(compileGraph(g, outs, { target })));
  const lossOnly = compiledModel(encodeModel(compileGraph(g, { loss }, { target })));

  const base: HostTensor[] = inputs.map((inp, i) => ({
    dtype: inp.dtype ?? 'float32',
    dims: inp.shape,
    data: inp.data ?? randn(numel(inp.shape), seed + i),
  }));
  const feeds = (ts: HostTensor[]) => Object.fromEntries(ts.map((t, i) => [`x${i}`, t]));
  const res = await rt.run(full, feeds(base));
  const analytic = wrtIdx.map((_, k) => res.outputs[`g${k}`].data as Float32Array);

  const checks: CheckResult['checks'] = [];
  for (let d = 0; d < directions; d++) {
    for (const [k, i] of wrtIdx.entries()) {
      const x = base[i].data as Float32Array;
      // A random direction plus the analytic gradient's direction at equal norm: a purely
      // random direction can have a derivative too small to resolve in float32, while the
      // random part still exposes errors orthogonal to the analytic gradient.
      const v = randn(x.length, seed * 7919 + d * 31 + i);
      const gNorm = norm(analytic[k]);
      const vNorm = norm(v);
      if (gNorm > 0) for (let j = 0; j < v.length; j++) v[j] += (analytic[k][j] * vNorm) / gNorm;
      const shifted = async (sign: number) => {
        const xp = Float32Array.from(x, (xv, j) => xv + sign * eps * v[j]);
        const ts = base.slice();
        ts[i] = { ...base[i], data: xp };
        const out = await rt.run(lossOnly, feeds(ts));
        return (out.outputs.loss.data as Float32Array)[0];
      };
      const fd = ((await shifted(1)) - (await shifted(-1))) / (2 * eps);
      let an = 0;
      for (let j = 0; j < v.length; j++) an += analytic[k][j] * v[j];
      const rel = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-3);
      checks.push({ input: i, fd, analytic: an, rel });
    }
  }
  await rt.release(full);
  await rt.release(lossOnly);
  return { maxRelError: Math.max(...checks.map((c) => c.rel)), checks };
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}
