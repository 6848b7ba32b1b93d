/**
 * `ballast telemetry …` and `ballast inventory …` run as the real CLI (built) against a deployment
 * made with `ballast init` (which writes the example price catalogue the config names).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Deployment, describeResult, exitOf, json } from './cli-helpers.js';

let d: Deployment;
let volumeId: string;
beforeAll(async () => {
  d = await Deployment.create('telemetry');
  volumeId = (await d.ok<{ id: string }>(['volume', 'create', '3', '--type', 'gold', '--name', 'hot'])).id;
});
afterAll(async () => {
  await d?.cleanup();
});

interface CollectJson {
  store: string;
  collectors: { name: string; ok: boolean; samples?: number; notes?: string[]; error?: { code: string; message: string } }[];
}

describe('ballast telemetry', () => {
  test('collect runs every configured collector and says what each stored', async () => {
    const out = await d.ok<CollectJson>(['telemetry', 'collect']);
    expect(out.store).toBe(`sqlite:${join(d.dataDir, 'telemetry.db')}`);
    expect(out.collectors.map((c) => [c.name, c.ok, c.samples])).toEqual([
      ['capacity', true, 4 * 8],
      ['performance', true, 0],
      ['cost', true, 4 * 2 + 2],
    ]);
    expect(out.collectors[1]!.notes).toEqual(['first reading: baseline taken, rates start with the next run']);
    const text = await d.run(['telemetry', 'collect', '--collector', 'capacity']);
    expect(text.code, describeResult(text)).toBe(0);
    expect(text.stdout).toContain('capacity: 32 samples');
    expect(text.stdout).not.toContain('cost:');
  });

  test('show: a table of every pool, JSON for scripts, and one pool with a chart', async () => {
    const table = await d.run(['telemetry', 'show']);
    expect(table.code, describeResult(table)).toBe(0);
    expect(table.stdout).toMatch(/\| ballast@fast#ssd-a +\| 3 +\| 3 +\|/);
    expect(table.stdout).toMatch(/\| ballast@capacity#hdd-b .*\| 0\.02 +\|/);
    const all = await d.ok<{ pools: { pool: string; allocatedGiB: number; pricePerGiBMonth: number | null }[] }>(['telemetry', 'show', '--window', '1h']);
    expect(all.pools.map((p) => [p.pool, p.allocatedGiB, p.pricePerGiBMonth])).toEqual([
      ['ballast@capacity#hdd-a', 0, 0.03],
      ['ballast@capacity#hdd-b', 0, 0.02],
      ['ballast@fast#ssd-a', 3, 0.12],
      ['ballast@fast#ssd-b', 0, 0.12],
    ]);
    const one = await d.run(['telemetry', 'show', 'ballast@fast#ssd-a', '--metric', 'capacity.allocated_gib']);
    expect(one.code, describeResult(one)).toBe(0);
    expect(one.stdout).toMatch(/\| capacity\.allocated_gib +\| 2 +\| 3 +\| 3 +\| 3 +\|/);
    expect(one.stdout).toContain('capacity.allocated_gib of ballast@fast#ssd-a');
    expect(one.stdout).toMatch(/ {6}3 ┤ *█/);
    const oneJson = await d.ok<{ series: { metric: string; samples: { value: number }[] } }>(['telemetry', 'show', 'ballast@fast#ssd-a']);
    expect(oneJson.series.metric).toBe('capacity.allocated_gib');
    expect(oneJson.series.samples.map((s) => s.value)).toEqual([3, 3]);
  });

  // Read-only refusals: run side by side.
  test.concurrent.each([
    { name: 'unknown pool', args: ['telemetry', 'show', 'ballast@fast#ssd-z'], code: 'POOL_NOT_FOUND' as const, msg: /no pool ballast@fast#ssd-z/ },
    { name: 'unknown metric', args: ['telemetry', 'show', 'ballast@fast#ssd-a', '--metric', 'perf.iopz'], code: 'INVALID_INPUT' as const, msg: /unknown metric 'perf.iopz'/ },
    { name: 'bad window', args: ['telemetry', 'show', '--window', '5x'], code: 'INVALID_INPUT' as const, msg: /--window '5x' must be a duration/ },
    { name: 'unknown collector', args: ['telemetry', 'collect', '--collector', 'nope'], code: 'INVALID_INPUT' as const, msg: /unknown collector nope: configured ones are capacity, performance, cost/ },
  ])('refused: $name', async ({ args, code, msg }) => {
    const r = await d.run(args);
    expect(r.code, describeResult(r)).toBe(exitOf(code));
    expect(r.stderr).toMatch(new RegExp(`^ERROR \\[${code}\\]: `));
    expect(r.stderr).toMatch(msg);
  });
});

describe('ballast inventory', () => {
  test('save writes the inventory as JSON; show prints it', async () => {
    await d.ok(['telemetry', 'collect']);
    const file = join(d.dir, 'out', 'inventory.json');
    const saved = await d.ok<{ id: string; file: string; pools: number; volumes: number }>(['inventory', 'save', file]);
    expect(saved).toMatchObject({ file, pools: 4, volumes: 1 });
    const inv = JSON.parse(await readFile(file, 'utf8')) as { id: string; schema: string; volumes: { id: string; pool: string }[]; pools: { name: string; costPerGiBMonth: number }[] };
    expect(inv.id).toBe(saved.id);
    expect(inv.schema).toBe('ballast.io/inventory/v1');
    expect(inv.volumes.map((v) => v.id)).toEqual([volumeId]);
    expect(inv.pools.map((p) => p.costPerGiBMonth)).toEqual([0.03, 0.02, 0.12, 0.12]);
    const shown = await d.run(['inventory', 'show']);
    expect(shown.code, describeResult(shown)).toBe(0);
    expect(shown.stdout).toMatch(/^Inventory [0-9a-f-]{36} taken /);
    expect(shown.stdout).toContain('4 pools, 1 volumes, 2 volume types');
    const asJson = await d.run(['--json', 'inventory', 'show']);
    expect(json<{ pools: unknown[] }>(asJson).pools).toHaveLength(4);
  });

  test('stale telemetry: refused with the pools named, no file written', async () => {
    const file = join(d.dir, 'stale.json');
    const r = await d.run(['inventory', 'save', file, '--max-age', '1ms']);
    expect(r.code, describeResult(r)).toBe(exitOf('TELEMETRY_STALE'));
    expect(r.stderr).toMatch(/^ERROR \[TELEMETRY_STALE\]: telemetry is stale for 4 pools \(allowed age 0s\): ballast@capacity#hdd-a \(newest sample /);
    expect(existsSync(file)).toBe(false);
  });
});

describe('price catalogue problems', () => {
  test('a broken catalogue: every problem located, nothing collected', async () => {
    const prices = join(d.dir, 'prices.yaml');
    const good = await readFile(prices, 'utf8');
    const before = await d.ok<{ pools: { lastSampleAt: string }[] }>(['telemetry', 'show']);
    try {
      await writeFile(prices, good.replace('perGiBMonth: 0.02', 'perGiBMonth: "0.02 EUR/GB-month"').replace('currency: EUR', 'currency: EUR\ncolour: blue'));
      const r = await d.run(['telemetry', 'collect']);
      expect(r.code, describeResult(r)).toBe(exitOf('PRICE_CATALOGUE_INVALID'));
      expect(r.stderr).toContain(`${prices}: 2 problems`);
      expect(r.stderr).toMatch(/prices\.yaml:8:1: colour: unknown key 'colour'/);
      expect(r.stderr).toMatch(/prices\.yaml:12:18: prices\[0\]\.perGiBMonth: unknown unit 'GB-month' for perGiBMonth/);
    } finally {
      await writeFile(prices, good);
    }
    const after = await d.ok<{ pools: { lastSampleAt: string }[] }>(['telemetry', 'show']);
    expect(after).toEqual(before);
  });

  test('a catalogue naming a pool the fleet lacks: cost fails by name, the others still store', async () => {
    const prices = join(d.dir, 'prices.yaml');
    const good = await readFile(prices, 'utf8');
    try {
      await writeFile(prices, good.replace('"ballast@capacity#hdd-b"', '"ballast@capacity#hdd-c"'));
      const r = await d.run(['--json', 'telemetry', 'collect']);
      expect(r.code, describeResult(r)).toBe(exitOf('COLLECTOR_FAILED'));
      const out = json<CollectJson>(r);
      expect(out.collectors.map((c) => [c.name, c.ok])).toEqual([
        ['capacity', true],
        ['performance', true],
        ['cost', false],
      ]);
      expect(out.collectors[2]!.error).toMatchObject({ code: 'PRICE_CATALOGUE_INVALID' });
      expect(out.collectors[2]!.error!.message).toMatch(/prices\.yaml:10:11: prices\[0\]\.pool: 'ballast@capacity#hdd-c' matches no pool of this fleet \(did you mean 'ballast@capacity#hdd-a'\?\)/);
      expect(JSON.parse(r.stderr) as unknown).toMatchObject({ error: { code: 'COLLECTOR_FAILED', message: '1 collector failed: cost' } });
    } finally {
      await writeFile(prices, good);
    }
  });
});
