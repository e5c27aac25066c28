import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most test files wait on loopback I/O, a throwaway PostgreSQL or real time (the crash and
    // failover tests), not on the CPU: at least three at once, even on a 2-core CI machine, cuts
    // the suite from about 6 minutes to under 3 there.
    maxWorkers: Math.max(3, availableParallelism()),
  },
});
