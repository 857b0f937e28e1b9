import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: a loaded 2-core CI box; no test relies on how fast a case runs (the time bound is 2 s a case).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One file at a time: each opens real processes (etcd, child runners) and the machine is shared.
    fileParallelism: false,
  },
});
