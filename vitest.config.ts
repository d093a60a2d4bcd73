import { defineConfig } from 'vitest/config';

/**
 * Tests that load the machine for a long time (a 300 MB page, 8 processes refreshing a token
 * for seconds, the benchmarks in quick mode): their own project, run after the others, one
 * file at a time, so they never starve the timing-sensitive tests. `npm test` runs both.
 */
const heavy = [
  'test/integration/streaming.test.ts',
  'test/integration/refresh-storm.test.ts',
  'test/integration/bench-quick.test.ts',
  // Real Redis topologies (Sentinel failover, a 3-master cluster): many processes each.
  'test/integration/redis-sentinel.test.ts',
  'test/integration/redis-cluster.test.ts',
  // ACL and TLS redis-servers with a worker and producers per case: about 25 s, a dozen processes.
  'test/integration/redis-auth-tls.test.ts',
];

const shared = {
  setupFiles: ['test/helpers/isolate-env.ts'],
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Once for both projects: Redis for the suite (REDIS_URL or a private redis-server).
    globalSetup: ['test/helpers/global-setup.ts'],
    projects: [
      { test: { ...shared, name: 'main', include: ['test/**/*.test.ts'], exclude: heavy, sequence: { groupOrder: 0 } } },
      { test: { ...shared, name: 'heavy', include: heavy, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
