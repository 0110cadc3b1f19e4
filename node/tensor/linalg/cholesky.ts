// Dense symmetric positive-definite solves in float64 (least-squares normal equations).

/**
 * Solves A·X = B for symmetric positive-definite A (n×n) and B (n×k), row-major. Throws if A
 * is not positive definite (add a ridge to the diagonal for rank-deficient problems).
 */
export function choleskySolve(a: Float64Array, n: number, b: Float64Array, k: number): Float64Array {
  if (a.length !== n * n || b.length !== n * k) throw new Error(`cholesky: shapes ${a.length} / ${b.length} do not fit n=${n}, k=${k}`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      const li = i * n;
      const lj = j * n;
      for (let p = 0; p < j; p++) s -= l[li + p] * l[lj + p];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${i} is ${s})`);
        l[li + i] = Math.sqrt(s);
      } else {
        l[li + j] = s / l[lj + j];
      }
    }
  }
  // Forward substitution L·Y = B, then back substitution Lᵀ·X = Y, all k columns at once.
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const row = x.subarray(i * k, (i + 1) * k);
    for (let p = 0; p < i; p++) {
      const f = l[i * n + p];
      if (f === 0) continue;
      const src = x.subarray(p * k, (p + 1) * k);
      for (let c = 0; c < k; c++) row[c] -= f * src[c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < k; c++) row[c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const row = x.subarray(i * k, (i + 1) * k);
    for (let p = i + 1; p < n; p++) {
      const f = l[p * n + i];
      if (f === 0) continue;
      const src = x.subarray(p * k, (p + 1) * k);
      for (let c = 0; c < k; c++) row[c] -= f * src[c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < k; c++) row[c] *= inv;
  }
  return x;
}
