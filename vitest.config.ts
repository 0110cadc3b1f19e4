import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more parallel files would only fight over them and ORT's threads.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
