import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // npm installs and child processes on a shared 2-core machine: generous, never relied on for timing.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The files share one packed release (global setup) and run one after another to keep the machine free.
    fileParallelism: false,
  },
});
