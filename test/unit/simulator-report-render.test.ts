/**
 * The HTML report rendered by a real browser: each chart kind is put alone on a page, screenshot
 * by headless Chromium (Debian's `chromium` package), and the pixels are checked: the chart is not
 * blank, and it shows exactly the series it should (one palette colour per pool for utilization,
 * success and failure colours on the timeline). With UPDATE_GOLDENS=1 the screenshots are written
 * to docs/simulator-<kind>.png (the pictures in docs/simulator.md).
 *
 * Needs Debian's `chromium` (scripts/install-system-deps.sh installs it). Locally it is skipped when
 * Chromium is missing; in CI (CI=true) a missing Chromium fails the suite instead.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { openScenario, PALETTE, productionEngine, renderChartPage, resultCharts, runScenario, STATUS_COLOR, type SimulationResult } from '../../src/simulator/index.js';
import { countColor, readPng, type Image } from './simulator-png.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => {
  try {
    execFileSync(p, ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
});
const dir = mkdtempSync(join(tmpdir(), 'ballast-render-'));
const KINDS = ['utilization', 'moved', 'timeline', 'cost'] as const;

function screenshot(kind: string, svg: string): Image {
  const html = join(dir, `${kind}.html`);
  const png = join(dir, `${kind}.png`);
  writeFileSync(html, renderChartPage(svg, kind));
  const height = Number(/height="(\d+)"/.exec(svg)![1]) + 40;
  execFileSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--window-size=820,${height}`, `--screenshot=${png}`, `file://${html}`], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  if (process.env['UPDATE_GOLDENS'] === '1') copyFileSync(png, join(ROOT, 'docs', `simulator-${kind}.png`));
  return readPng(readFileSync(png));
}

function inked(img: Image): number {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) if (img.data[i]! < 200 || img.data[i + 1]! < 200 || img.data[i + 2]! < 200) n++;
  return n;
}

// Locally skipped without Chromium; in CI (CI=true) it always runs, and fails when Chromium is missing.
describe.skipIf(!CHROMIUM && process.env['CI'] !== 'true')('the report in headless Chromium', () => {
  let r: SimulationResult;
  const shots = new Map<string, Image>();
  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('no /usr/bin/chromium: install Debian\'s chromium (scripts/install-system-deps.sh)');
    r = await runScenario({ ...openScenario(join(ROOT, 'simulations', 'retire-backend.yaml')), engine: productionEngine() });
    resultCharts(r).forEach((svg, i) => shots.set(KINDS[i]!, screenshot(KINDS[i]!, svg)));
  });

  test('every chart kind renders, none blank', () => {
    for (const kind of KINDS) {
      const img = shots.get(kind)!;
      expect(img.width).toBe(820);
      expect(inked(img)).toBeGreaterThan(2000);
    }
  });

  test('utilization shows one series per pool, and no more', () => {
    const img = shots.get('utilization')!;
    const present = PALETTE.map((c) => countColor(img, c) > 20);
    expect(r.pools).toHaveLength(5);
    expect(present).toEqual(PALETTE.map((_, i) => i < r.pools.length));
  });

  test('data moved and cost show their single series', () => {
    for (const kind of ['moved', 'cost'] as const) {
      const present = PALETTE.map((c) => countColor(shots.get(kind)!, c) > 20);
      expect(present).toEqual(PALETTE.map((_, i) => i === 0));
    }
  });

  test('the timeline shows the successes and the failed attempts', () => {
    const img = shots.get('timeline')!;
    expect(r.moves.some((m) => m.outcome === 'error')).toBe(true);
    expect(countColor(img, STATUS_COLOR['success']!)).toBeGreaterThan(100);
    expect(countColor(img, STATUS_COLOR['error']!)).toBeGreaterThan(10);
    expect(countColor(img, STATUS_COLOR['cancelled']!)).toBe(0); // nothing was cancelled
  });
});
