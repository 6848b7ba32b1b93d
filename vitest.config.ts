import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real files, real SQLite, real child processes: give slow CI machines room, never sleep-based.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
