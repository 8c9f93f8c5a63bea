import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,server,cli,client,test}/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Each file may start a PGlite (about 800 MB) or a browser: two at a time suits two cores.
    maxWorkers: 2,
  },
});
