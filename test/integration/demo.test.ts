import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const CLI = resolve('dist/src/cli/main.js');

// The README's first command runs this demo: it must work end to end, with real data checked.
test('ballast demo: migrations and retypes of volumes holding real data (one live, with a writer), every byte checked', async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const dir = await mkdtemp(join(tmpdir(), 'ballast-demo-'));
  try {
    const { stdout } = await run(process.execPath, [CLI, 'demo', '--dir', join(dir, 'demo')], { maxBuffer: 16 * 1024 * 1024 });
    expect(stdout).toContain('migrate success: driver-assisted (no data copied)');
    expect(stdout).toMatch(/migrate success: generic copy of 16\.00 MiB, verified block for block/);
    expect(stdout).toMatch(/retype success: generic copy/);
    expect(stdout).toContain('refused as expected: [RETYPE_NOT_ALLOWED]');
    expect(stdout).toContain('refused as expected: [INVALID_VOLUME]');
    expect(stdout.match(/ identical$/gm)).toHaveLength(4);
    expect(stdout).not.toContain('MISMATCH');
    expect(stdout).toMatch(/retype success \(live\): now on ballast@fast#ssd-\w, status in-use, type gold, same address/);
    expect(stdout).toMatch(/errors: 0\n/);
    expect(stdout).toMatch(/every one of the \d+ last acknowledged writes \(of \d+\) is in the destination/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
