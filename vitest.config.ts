import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Tests start real processes; two cores do not profit from more workers.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
