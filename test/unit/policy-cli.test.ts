import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { registerPolicyCommands } from '../../src/cli/commands/policy.js';

/** Runs `ballast <args>` with captured output. */
function run(...args: string[]): { stdout: string; stderr: string; exitCode: number | undefined } {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const program = new Command('ballast').exitOverride();
  program.configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  registerPolicyCommands(program, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    setExitCode: (n) => (exitCode = n),
  });
  try {
    program.parse(args, { from: 'user' });
  } catch (e) {
    exitCode = (e as { exitCode?: number }).exitCode ?? 99;
  }
  return { stdout, stderr, exitCode };
}

const BROKEN = 'test/fixtures/policies-broken';

describe('ballast policy check', () => {
  test('passes on the examples (default: policies/*.yaml)', () => {
    const r = run('policy', 'check');
    expect(r).toEqual({ stdout: 'ok: 4 policy files checked\n', stderr: '', exitCode: 0 });
  });

  test('fails on the broken folder with located errors, exit 1', () => {
    const r = run('policy', 'check', BROKEN);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(
      `${BROKEN}/unknown-key.yaml:8:5: error: constraints.capacity.maxUtilisation: unknown key 'maxUtilisation' (did you mean 'maxUtilization'?)\n`,
    );
    expect(r.stdout).toContain(`${BROKEN}/binary-junk.yaml:2:16: error: binary data (NUL byte) in a YAML file\n`);
    expect(r.stdout).toMatch(/\n28 problems in 20 of 20 policy files\n$/);
  });

  test('--format github writes workflow annotations', () => {
    const r = run('policy', 'check', '--format', 'github', `${BROKEN}/decimal-size.yaml`, `${BROKEN}/bad-cron.yaml`);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::'))).toEqual([
      `::error file=${BROKEN}/bad-cron.yaml,line=7,col=13::when.schedule: expected a cron expression such as '0 */6 * * *', found '61 * * * *': 61 is a invalid expression for minute`,
      `::error file=${BROKEN}/decimal-size.yaml,line=9,col=15::constraints.budgets.maxBytes: expected a binary size such as '500GiB' or '2TiB', found '2TB': 'TB' is a decimal unit; Ballast sizes are binary, did you mean '2TiB'?`,
    ]);
  });

  test('--format github escapes % and separators', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-policy-'));
    const file = join(dir, 'a,b.yaml');
    writeFileSync(file, 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: x\nconstraints:\n  capacity:\n    maxUtilization: 85%%\n');
    const r = run('policy', 'check', '--format', 'github', file);
    expect(r.stdout).toContain(`::error file=${dir.replace(/:/g, '%3A')}/a%2Cb.yaml,line=7,col=21::`);
    expect(r.stdout).toContain("found '85%25%25'");
  });

  test('--format json', () => {
    const r = run('policy', 'check', '--format', 'json', `${BROKEN}/bad-enum.yaml`, 'policies/gold-latency.yaml');
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      files: ['policies/gold-latency.yaml', `${BROKEN}/bad-enum.yaml`],
      problems: [
        { file: `${BROKEN}/bad-enum.yaml`, line: 9, col: 13, path: 'objectives.balance.metric', message: "expected one of 'max', 'spread', found 'spred' (did you mean 'spread'?)" },
        {
          file: `${BROKEN}/bad-enum.yaml`,
          line: 12,
          col: 22,
          path: 'execution.retype.migrationPolicy',
          message: "expected one of 'never', 'on-demand', found 'ondemand' (did you mean 'on-demand'?)",
        },
      ],
    });
  });

  test('a missing file is a located problem', () => {
    const r = run('policy', 'check', 'policies/nope.yaml');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('policies/nope.yaml:1:1: error: no such file\n1 problem in 1 of 1 policy file\n');
  });

  test('--inventory checks references', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-policy-'));
    const inv = join(dir, 'inventory.json');
    writeFileSync(inv, JSON.stringify({ pools: ['ballast@fast#ssd-a', 'ballast@fast#ssd-b'], backends: ['fast'], volumeTypes: ['gold'], availabilityZones: ['nova'] }));
    const r = run('policy', 'check', '--inventory', inv, 'policies/drain-hdd-b.yaml');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("policies/drain-hdd-b.yaml:18:7: error: scope.pools[0]: unknown pool 'ballast@capacity#hdd-b' in the inventory");
  });

  test('control characters from a hostile file never reach the terminal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-policy-'));
    const file = join(dir, 'esc.yaml');
    writeFileSync(file, 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: x\n"\\e[31mred": 1\n');
    const r = run('policy', 'check', file);
    expect(r.stdout).toContain("unknown key '\\u001b[31mred'");
    expect(r.stdout).not.toContain('\u001b');
  });

  test('an unknown --format is refused by the parser', () => {
    const r = run('policy', 'check', '--format', 'xml');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('xml');
  });
});

describe('ballast policy explain', () => {
  test('prints Markdown for a valid policy', () => {
    const r = run('policy', 'explain', 'policies/drain-hdd-b.yaml');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith('# Placement policy: `drain-hdd-b`\n')).toBe(true);
    expect(r.stdout).toContain('- **Drain**: pools matching `ballast@capacity#hdd-b` are closed as destinations for every volume');
  });

  test('prints the problems of a broken policy to stderr, exit 1', () => {
    const r = run('policy', 'explain', `${BROKEN}/unknown-key.yaml`);
    expect(r).toEqual({
      stdout: '',
      stderr: `${BROKEN}/unknown-key.yaml:8:5: error: constraints.capacity.maxUtilisation: unknown key 'maxUtilisation' (did you mean 'maxUtilization'?)\n`,
      exitCode: 1,
    });
  });
});

describe('ballast policy schema', () => {
  test('prints the committed JSON Schema', () => {
    const r = run('policy', 'schema');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(readFileSync('policies/policy.schema.json', 'utf8'));
  });
});
