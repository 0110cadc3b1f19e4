// Splitting a training set among agents, all seeded: IID, Dirichlet(α) label skew, and
// k classes per agent (the pathological non-IID split of DIMAT and FedAvg papers).
import type { Rng } from '../util/rng.js';

export type PartitionSpec =
  | { readonly kind: 'iid' }
  | { readonly kind: 'dirichlet'; readonly alpha: number }
  | { readonly kind: 'classes'; readonly perAgent: number };

/** A partition as configuration files write it (snake_case), shared by scenarios and peer configs. */
export type PartitionConfig = { readonly kind: 'iid' } | { readonly kind: 'dirichlet'; readonly alpha: number } | { readonly kind: 'classes'; readonly per_agent: number };

export function partitionSpecOf(p: PartitionConfig): PartitionSpec {
  return p.kind === 'iid' ? { kind: 'iid' } : p.kind === 'dirichlet' ? { kind: 'dirichlet', alpha: p.alpha } : { kind: 'classes', perAgent: p.per_agent };
}

function byClass(labels: Uint8Array, classes: number, rng: Rng): number[][] {
  const out: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((l, i) => out[l].push(i));
  for (const c of out) rng.shuffle(c);
  return out;
}

/** Returns one Int32Array of sample indices per agent; every sample goes to at most one agent. */
export function partition(labels: Uint8Array, classes: number, agents: number, spec: PartitionSpec, rng: Rng): Int32Array[] {
  if (!Number.isInteger(agents) || agents < 1) throw new Error(`partition: agents must be a positive integer, got ${agents}`);
  const parts: number[][] = Array.from({ length: agents }, () => []);
  switch (spec.kind) {
    case 'iid': {
      // Stratified: every class is dealt round-robin, so shards have equal class mixes.
      const cls = byClass(labels, classes, rng);
      let k = 0;
      for (const c of cls) for (const i of c) parts[k++ % agents].push(i);
      break;
    }
    case 'dirichlet': {
      if (!(spec.alpha > 0)) throw new Error(`partition: Dirichlet alpha must be > 0, got ${spec.alpha}`);
      for (const c of byClass(labels, classes, rng)) {
        const g = Array.from({ length: agents }, () => rng.gamma(spec.alpha));
        const total = g.reduce((a, b) => a + b, 0);
        let start = 0;
        let acc = 0;
        for (let a = 0; a < agents; a++) {
          acc += g[a] / total;
          const end = a === agents - 1 ? c.length : Math.round(acc * c.length);
          for (let i = start; i < end; i++) parts[a].push(c[i]);
          start = end;
        }
      }
      break;
    }
    case 'classes': {
      const k = spec.perAgent;
      if (!Number.isInteger(k) || k < 1 || k > classes) throw new Error(`partition: classes per agent must be in 1..${classes}, got ${k}`);
      // Agent a holds classes a·k … a·k+k−1 (mod C); each class is split evenly among its holders.
      const holders: number[][] = Array.from({ length: classes }, () => []);
      for (let a = 0; a < agents; a++) for (let j = 0; j < k; j++) holders[(a * k + j) % classes].push(a);
      byClass(labels, classes, rng).forEach((c, cl) => {
        const h = holders[cl];
        if (h.length === 0) return;
        c.forEach((i, n) => parts[h[n % h.length]].push(i));
      });
      break;
    }
  }
  return parts.map((p) => {
    rng.shuffle(p);
    return Int32Array.from(p);
  });
}
