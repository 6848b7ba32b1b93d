import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, test } from 'vitest';

// Enforces ../shared/DESIGN.md section 3: dependency direction between modules, only a module's
// index.ts is imported from outside it, the single homes of some libraries, and a pure core.
const ROOT = resolve('.');

/** Which modules each module may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  'src/shared': [],
  'src/model': ['src/shared'],
  'src/policy': ['src/shared', 'src/model'],
  'src/config': ['src/shared', 'src/model', 'src/blockstore'],
  'src/telemetry': ['src/shared', 'src/model'],
  'src/solver': ['src/shared', 'src/model', 'src/policy'],
  'src/planner': ['src/shared', 'src/model', 'src/policy', 'src/solver'],
  'src/hypervisor': ['src/shared', 'src/model'],
  'src/blockstore': ['src/shared', 'src/model', 'src/hypervisor'],
  'src/controlplane': ['src/shared', 'src/model', 'src/blockstore'],
  'src/executor': ['src/shared', 'src/model', 'src/policy', 'src/solver', 'src/planner', 'src/controlplane'],
  'src/simulator': ['src/shared', 'src/model', 'src/policy', 'src/solver', 'src/planner', 'src/executor', 'src/telemetry', 'src/controlplane'],
  'src/api': ['src/shared', 'src/model', 'src/policy', 'src/solver', 'src/planner', 'src/executor', 'src/simulator', 'src/telemetry', 'src/controlplane', 'src/blockstore', 'src/config'],
  'src/daemon': ['*'],
  'src/cli': ['*'],
  drivers: ['src/shared', 'src/model', 'src/blockstore'],
  bench: ['*'],
};

/** Libraries with a single home. */
const SINGLE_HOME: Record<string, readonly string[]> = {
  influx: ['src/telemetry'],
  'javascript-lp-solver': ['src/solver'],
  // The policy language validates cron expressions with node-cron's own parser (no schedules run there).
  'node-cron': ['src/daemon', 'src/policy'],
  'better-sqlite3': ['src/blockstore', 'src/telemetry', 'src/executor', 'src/daemon'],
};

const PURE = ['src/model', 'src/policy', 'src/solver', 'src/planner'];
const IMPURE_RE = /\bDate\.now\(|\bMath\.random\(|\bnew Date\(\s*\)|\bsetTimeout\(|\bsetInterval\(/;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function moduleOf(file: string): string {
  const rel = relative(ROOT, file).split(sep);
  if (rel[0] === 'src') return `src/${rel[1]}`;
  return rel[0]!;
}

const sources = ['src', 'drivers', 'bench'].flatMap((d) => files(join(ROOT, d)));
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT_RE)].map((m) => (m[1] ?? m[2])!);
}

describe('architecture (DESIGN.md section 3)', () => {
  test('there are sources to check', () => {
    expect(sources.length).toBeGreaterThan(30);
  });

  test('dependency direction and index-only imports between modules', () => {
    const violations: string[] = [];
    for (const file of sources) {
      const from = moduleOf(file);
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec);
        const to = moduleOf(target);
        if (to === from) continue;
        const allowed = ALLOWED[from];
        if (!allowed) violations.push(`${relative(ROOT, file)}: module ${from} has no rule`);
        else if (!allowed.includes('*') && !allowed.includes(to)) violations.push(`${relative(ROOT, file)} imports ${to} (${spec}): ${from} may import only ${allowed.join(', ') || 'nothing'}`);
        const rel = relative(ROOT, target).split(sep);
        const isIndex = rel[rel.length - 1] === 'index.js' && (to.startsWith('src/') ? rel.length === 3 : rel.length === 2 || (to === 'drivers' && rel.length === 3));
        if (!isIndex) violations.push(`${relative(ROOT, file)} imports ${spec}: only a module's index.ts may be imported from outside it`);
      }
    }
    expect(violations).toEqual([]);
  });

  test('libraries with a single home', () => {
    const violations: string[] = [];
    for (const file of sources) {
      const from = moduleOf(file);
      for (const spec of importsOf(file)) {
        const homes = SINGLE_HOME[spec];
        if (homes && !homes.includes(from)) violations.push(`${relative(ROOT, file)} imports ${spec}; only ${homes.join(', ')} may`);
      }
    }
    expect(violations).toEqual([]);
  });

  test('the pure core reads no clock and no randomness', () => {
    const violations = sources
      .filter((f) => PURE.includes(moduleOf(f)))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, i }))
          .filter(({ line }) => IMPURE_RE.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*'))
          .map(({ line, i }) => `${relative(ROOT, f)}:${i + 1}: ${line.trim()}`),
      );
    expect(violations).toEqual([]);
  });
});
