// Optimisers as data plus their update rule on flat tensors. Hyper-parameters that change
// every step (learning rate, Adam's bias corrections) are graph inputs computed here, so a
// schedule never forces a recompile; the rest are baked into the graph as constants.
import type { Tensor } from '../tensor/graph.js';
import { add, div, mul, sqrt, sub } from '../tensor/ops/index.js';

export type OptimizerKind = 'sgd' | 'momentum' | 'adam' | 'adamw';
export const OPTIMIZER_KINDS: ReadonlyArray<OptimizerKind> = ['sgd', 'momentum', 'adam', 'adamw'];

export interface OptimizerConfig {
  readonly kind: OptimizerKind;
  readonly lr: number;
  /** L2 penalty (sgd, momentum, adam) or decoupled decay (adamw). */
  readonly weightDecay: number;
  /** momentum only. */
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** PyTorch's defaults for each optimiser (AdamW's decay 0.01 included). */
export function optimizerConfig(kind: OptimizerKind, overrides: Partial<Omit<OptimizerConfig, 'kind'>> = {}): OptimizerConfig {
  const cfg: OptimizerConfig = {
    kind,
    lr: kind === 'adam' || kind === 'adamw' ? 1e-3 : 0.01,
    weightDecay: kind === 'adamw' ? 0.01 : 0,
    momentum: 0.9,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const bad = (why: string): never => {
    throw new Error(`optimizer ${kind}: ${why}`);
  };
  if (!OPTIMIZER_KINDS.includes(kind)) bad(`unknown optimizer (expected one of ${OPTIMIZER_KINDS.join(', ')})`);
  if (!(cfg.lr > 0) || !Number.isFinite(cfg.lr)) bad(`learning rate must be a positive number, got ${cfg.lr}`);
  if (!(cfg.weightDecay >= 0)) bad(`weight decay must be ≥ 0, got ${cfg.weightDecay}`);
  if (!(cfg.momentum >= 0 && cfg.momentum < 1)) bad(`momentum must be in [0, 1), got ${cfg.momentum}`);
  if (cfg.nesterov && kind !== 'momentum') bad('nesterov applies to the momentum optimizer only');
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1)) bad('betas must be in [0, 1)');
  return cfg;
}

/** Number of per-parameter state vectors (momentum buffer; Adam's m and v). */
export function stateSlots(cfg: OptimizerConfig): number {
  return cfg.kind === 'sgd' ? 0 : cfg.kind === 'momentum' ? 1 : 2;
}

/** Per-step scalars fed to the graph: [lr] for SGD; [step size, eps', decay] for Adam(W). */
export function stepScalars(cfg: OptimizerConfig, step: number, lr = cfg.lr): number[] {
  if (cfg.kind === 'sgd' || cfg.kind === 'momentum') return [lr];
  // PyTorch's Adam: p −= lr/c1 · m / (√v/√c2 + eps), with m, v the usual moments. We keep
  // m̃ = m/(1−β1) and ṽ = v/(1−β2), which makes each moment update one multiply-add
  // (m̃ ← β1·m̃ + g): two fewer passes over every parameter per step. The constant factors
  // fold into the scalars: p −= s · m̃ / (√ṽ + e) with s = lr·(1−β1)·√c2 / (c1·√(1−β2))
  // and e = eps·√c2/√(1−β2).
  const c1 = 1 - cfg.beta1 ** step;
  const c2 = 1 - cfg.beta2 ** step;
  const k2 = Math.sqrt(1 - cfg.beta2);
  const decay = cfg.kind === 'adamw' ? 1 - lr * cfg.weightDecay : 1;
  return [(lr * (1 - cfg.beta1) * Math.sqrt(c2)) / (c1 * k2), (cfg.eps * Math.sqrt(c2)) / k2, decay];
}

/** PyTorch's exp_avg / exp_avg_sq from our scaled Adam state (for inspection and tests). */
export function adamMoments(cfg: OptimizerConfig, scaled: readonly [Float32Array, Float32Array]): [Float32Array, Float32Array] {
  return [scaled[0].map((x) => x * (1 - cfg.beta1)), scaled[1].map((x) => x * (1 - cfg.beta2))];
}

export const SCALARS_PER_STEP = 3;

export interface UpdateResult {
  readonly params: Tensor;
  readonly state: Tensor[];
}

/** The update of flat params p given flat gradient g, state tensors, and this step's scalars. */
export function applyUpdate(cfg: OptimizerConfig, p: Tensor, g: Tensor, state: ReadonlyArray<Tensor>, s: ReadonlyArray<Tensor>): UpdateResult {
  let grad = g;
  if (cfg.weightDecay > 0 && cfg.kind !== 'adamw') grad = add(grad, mul(p, cfg.weightDecay));
  switch (cfg.kind) {
    case 'sgd':
      return { params: sub(p, mul(grad, s[0])), state: [] };
    case 'momentum': {
      // PyTorch: buf = μ·buf + g (buf starts at 0, so the first step gives buf = g).
      const buf = add(mul(state[0], cfg.momentum), grad);
      const dir = cfg.nesterov ? add(grad, mul(buf, cfg.momentum)) : buf;
      return { params: sub(p, mul(dir, s[0])), state: [buf] };
    }
    case 'adam':
    case 'adamw': {
      const m = add(mul(state[0], cfg.beta1), grad);
      const v = add(mul(state[1], cfg.beta2), mul(grad, grad));
      const upd = mul(div(m, add(sqrt(v), s[1])), s[0]);
      const base = cfg.kind === 'adamw' ? mul(p, s[2]) : p;
      return { params: sub(base, upd), state: [m, v] };
    }
  }
}
