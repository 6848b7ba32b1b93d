/**
 * `ballast simulate` through the real command tree (src/cli/program.ts; the simulate command is
 * added if the tree does not register it yet): text summary, JSON and HTML files, comparison,
 * the schema, and bad scenarios (located errors, exit 2, no file written). The HTML report is
 * parsed: balanced tags, one SVG per chart kind with the right number of series, no external URL.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CliIo } from '../../src/cli/io.js';
import type { SimulationResult } from '../../src/simulator/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SIM = join(ROOT, 'simulations');
const out = mkdtempSync(join(tmpdir(), 'ballast-simulate-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ballast(...args: string[]): Promise<Run> {
  const r: Run = { code: 0, stdout: '', stderr: '' };
  const io: CliIo = { stdout: (s) => (r.stdout += s.endsWith('\n') ? s : `${s}\n`), stderr: (s) => (r.stderr += `${s}\n`), setExitCode: (n) => (r.code = n), isTTY: false };
  const program = buildProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('commander.')) r.code = r.code || 2;
    else throw e;
  }
  return r;
}

/** Tags of an HTML/SVG document, checked for balance; returns the count of each element name. */
function checkBalanced(html: string): Map<string, number> {
  const VOID = new Set(['meta', 'br', 'img', 'input', 'link', 'hr']);
  const stack: string[] = [];
  const counts = new Map<string, number>();
  const body = html.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    const n = name!.toLowerCase();
    if (close) {
      const top = stack.pop();
      if (top !== n) throw new Error(`unbalanced: </${n}> closes <${top}>`);
    } else {
      counts.set(n, (counts.get(n) ?? 0) + 1);
      if (!self && !VOID.has(n)) stack.push(n);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return counts;
}

let result: SimulationResult;

describe('ballast simulate', () => {
  beforeAll(async () => {
    const r = await ballast('simulate', join(SIM, 'price-change.yaml'), '--report', join(out, 'r.html'), '--json', join(out, 'r.json'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    result = JSON.parse(readFileSync(join(out, 'r.json'), 'utf8')) as SimulationResult;
  });

  test('prints the text summary the golden holds, and writes the JSON result', async () => {
    // Run from the repository root with a relative path, as the golden test names files.
    expect(process.cwd()).toBe(ROOT.replace(/\/$/, ''));
    const r = await ballast('simulate', 'simulations/price-change.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(SIM, 'expected', 'price-change.txt'), 'utf8'));
    for (const section of ['Totals', 'Pools', 'Events', 'Runs', 'Violations', 'Timeline of moves']) expect(r.stdout).toContain(`\n${section}`);
    expect(result.schema).toBe('ballast.io/simulation/v1');
    expect(result.sampleTimesMs).toHaveLength(57);
    expect(result.pools.map((p) => p.share.length)).toEqual(result.pools.map(() => 57));
    expect(result.events.map((e) => e.label)).toEqual(['price of ballast@fast#* becomes 0.3/GiB-month']);
  });

  test('the HTML report is well-formed, self-contained, and has the four charts with the right series', () => {
    const html = readFileSync(join(out, 'r.html'), 'utf8');
    const counts = checkBalanced(html);
    expect(counts.get('svg')).toBe(4);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    const charts = [...html.matchAll(/<svg [^>]*data-kind="([a-z]+)" data-series="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
    expect(charts).toEqual([
      ['utilization', result.pools.length],
      ['moved', 1],
      ['timeline', new Set(result.moves.map((m) => m.to)).size],
      ['cost', 1],
    ]);
    const utilization = html.slice(html.indexOf('data-kind="utilization"'), html.indexOf('data-kind="moved"'));
    expect([...utilization.matchAll(/class="series" data-name="([^"]+)" d="M[0-9.]+ [0-9.]+(?:L[0-9.]+ [0-9.]+)+"/g)].map((m) => m[1])).toEqual(result.pools.map((p) => p.name));
    expect((html.match(/class="interval"/g) ?? []).length).toBe(result.moves.length);
  });

  test('--json alone prints the JSON instead of the summary', async () => {
    const r = await ballast('simulate', join(SIM, 'price-change.yaml'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(result);
  });

  test('--compare runs both and puts them side by side (text and HTML)', async () => {
    const r = await ballast('simulate', join(SIM, 'price-change.yaml'), '--compare', join(SIM, 'price-change-balance-only.yaml'), '--report', join(out, 'c.html'));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Comparison: price-change vs price-change-balance-only');
    expect(r.stdout).toContain('cost/month at end');
    expect(r.stdout).toContain('Scenario price-change-balance-only');
    const counts = checkBalanced(readFileSync(join(out, 'c.html'), 'utf8'));
    expect(counts.get('svg')).toBe(8);
  });

  test('--compare-policies runs the same scenario under another policy set (balance-first vs cost-first)', async () => {
    const r = await ballast('simulate', join(SIM, 'price-change.yaml'), '--compare-policies', join(SIM, 'policies', 'balance.yaml'), '--json', join(out, 'cp.json'));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Comparison: price-change vs price-change [balance.yaml]');
    const both = JSON.parse(readFileSync(join(out, 'cp.json'), 'utf8')) as { a: SimulationResult; b: SimulationResult };
    expect(both.a).toEqual(result);
    expect(both.b.scenario.policies).toEqual([join(SIM, 'policies', 'balance.yaml').replace(`${process.cwd()}/`, '')]);
    expect(both.b.events).toEqual(both.a.events.map((e) => ({ ...e, detail: both.b.events[0]!.detail })));
    const both2 = await ballast('simulate', join(SIM, 'price-change.yaml'), '--compare', 'x.yaml', '--compare-policies', 'y.yaml');
    expect(both2.code).toBe(2);
    expect(both2.stderr).toContain('cannot be used together');
  });

  test('--schema prints the JSON Schema committed in simulations/', async () => {
    const r = await ballast('simulate', '--schema');
    expect(r.stdout).toBe(readFileSync(join(SIM, 'scenario.schema.json'), 'utf8'));
  });

  test.each([
    ['a scenario with located problems', 'horizon: 0d', 'SCENARIO_INVALID', ': the horizon must be longer than zero'],
    ['a missing scenario file', null, 'INVALID_INPUT', 'cannot read scenario'],
  ])('%s: exit 2, the error on stderr, no file written', async (_name, horizon, code, message) => {
    const file = join(out, `bad-${code}.yaml`);
    if (horizon) writeFileSync(file, readFileSync(join(SIM, 'price-change.yaml'), 'utf8').replace('horizon: 56d', horizon).replaceAll('policies/', `${SIM}/policies/`).replace('bases/', `${SIM}/bases/`));
    const report = join(out, `bad-${code}.html`);
    const json = join(out, `bad-${code}.json`);
    const r = await ballast('simulate', file, '--report', report, '--json', json);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERROR [${code}]`);
    expect(r.stderr).toContain(message);
    if (horizon) expect(r.stderr).toMatch(/bad-SCENARIO_INVALID\.yaml:\d+:\d+: horizon: the horizon must be longer than zero/);
    expect(existsSync(report)).toBe(false);
    expect(existsSync(json)).toBe(false);
    expect(r.stdout).toBe('');
  });

  test('a bad second scenario of a comparison writes nothing either', async () => {
    const report = join(out, 'cmp-bad.html');
    const r = await ballast('simulate', join(SIM, 'price-change.yaml'), '--compare', join(out, 'nope.yaml'), '--report', report);
    expect(r.code).toBe(2);
    expect(existsSync(report)).toBe(false);
  });
});
