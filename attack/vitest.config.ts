import { defineConfig } from 'vitest/config';

// The attack harnesses of issue 14's fast path, kept out of the main suite (its include does not
// name attack/): npx vitest run --config attack/vitest.config.ts attack/X.test.ts
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['attack/**/*.test.ts'],
    testTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
