import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real files, real SQLite, real child processes: give slow CI machines room, never sleep-based.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default on a 2-CPU machine is one worker (CPUs - 1): every file in series. Most of the
    // slow files wait on child processes, QEMU, InfluxDB or a real Cinder rather than compute, so
    // three at once keeps CI well under its time limit; every test waits on conditions, not sleeps.
    maxWorkers: 3,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
