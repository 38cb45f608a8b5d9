import { defineConfig } from 'vitest/config';

// Four projects: pure unit tests, integration tests on embedded PGlite, the same integration
// tests against the real PostgreSQL server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
// Each integration test file creates its own database and drops it afterwards. Then browser tests (e2e).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.unit.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: ['apps/*/test/**/*.int.test.ts'],
          env: { HUILIU_TEST_DB: 'pglite' },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['apps/*/test/**/*.int.test.ts'],
          env: { HUILIU_TEST_DB: 'postgres' },
        },
      },
      {
        // Cluster mode: several nodes on the PostgreSQL server (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL,
        // default redis://127.0.0.1:6379, keys under a random prefix, deleted afterwards).
        extends: true,
        test: { name: 'cluster', include: ['apps/*/test/**/*.cluster.test.ts'], env: { HUILIU_TEST_DB: 'postgres' } },
      },
      {
        // The short fault harness (docs/durability.md): its own PostgreSQL, Redis and Huiliu processes, a few minutes.
        extends: true,
        test: {
          name: 'chaos',
          include: ['apps/*/test/**/*.chaos.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Browser end-to-end tests: real Chromium (CHROMIUM_PATH, default /usr/bin/chromium) against Huiliu
        // started as a user starts it (child process, embedded database). Needs `npm run build:ui` first
        // (npm test does it).
        extends: true,
        test: {
          name: 'e2e',
          include: ['apps/*/test/e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
