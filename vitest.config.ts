import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Two cores: more parallel files would only fight over them and ORT's threads.
    maxWorkers: 2,
    // The JSON report is what .ci/run turns into its "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: '.cache/test-results.json' }]],
  },
});
