import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes (the CLI) and a real etcd on a shared 2-core machine: generous, never relied on for timing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
