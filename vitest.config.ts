import { defineConfig } from 'vitest/config';

// Three projects: pure unit tests, integration tests on embedded PGlite, and the same integration
// tests against the real PostgreSQL server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
// Each integration test file creates its own database and drops it afterwards.
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
    ],
  },
});
