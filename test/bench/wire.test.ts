// The wire benchmark runs end to end (figures are checked for shape and for what does not
// depend on timing: codec sizes and errors; speed targets live in `npm run bench`).
import { describe, expect, it } from 'vitest';
import { benchBlob, benchCodecs, benchLatency } from '../../node/bench/wire.js';

describe('bench wire', () => {
  it('codec figures on a trained MLP: int8 ≤ 0.27× of fp32, lossless raw, error feedback keeps lossy copies close', async () => {
    const lines = await benchCodecs(3);
    const by = Object.fromEntries(lines.map((l) => [l.bench === 'codec' ? l.codec : '', l]));
    expect(Object.keys(by).sort()).toEqual(['fp16', 'int8', 'raw', 'topk']);
    for (const l of lines) if (l.bench === 'codec') expect(l.params).toBe(669_706);
    const ratio = (c: string) => (by[c].bench === 'codec' ? by[c].ratio : NaN);
    const rel = (c: string) => (by[c].bench === 'codec' ? by[c].rel_error : NaN);
    expect(ratio('raw')).toBe(1);
    expect(ratio('fp16')).toBe(0.5);
    expect(ratio('int8')).toBeLessThanOrEqual(0.27);
    expect(ratio('topk')).toBeCloseTo(0.2, 3);
    expect(rel('raw')).toBe(0);
    expect(rel('fp16')).toBeLessThan(1e-3);
    expect(rel('int8')).toBeLessThan(1e-2);
    // Top-k sends a tenth per version; with two versions the residual is still large but shrinking.
    expect(rel('topk')).toBeLessThan(0.8);
  });

  it('blob transfer between two processes and latency over three hops run and report', async () => {
    const blob = await benchBlob(1);
    expect(blob).toMatchObject({ bench: 'blob', mb: 14.9 });
    if (blob.bench === 'blob') {
      // A real transfer: it takes time, and libp2p cannot outrun a plain socket between the same processes.
      for (const ms of blob.runs) expect(ms).toBeGreaterThan(0);
      expect(blob.mb_per_s).toBeGreaterThan(0);
      expect(blob.mb_per_s).toBeLessThan(blob.tcp_reference_mb_per_s);
    }
    const lat = await benchLatency(3);
    expect(lat).toMatchObject({ bench: 'latency', hops: 3, runs: 3 });
  });
});
