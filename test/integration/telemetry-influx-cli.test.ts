/**
 * The CLI with `telemetry.store: influx` against a real influxd started by the test: collect and
 * show go through InfluxDB; with the server stopped, collect fails with a clear typed error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInfluxd, type InfluxServer } from '../support/influxd.js';
import { Deployment, describeResult, exitOf } from './cli-helpers.js';

let server: InfluxServer;
let d: Deployment;
beforeAll(async () => {
  server = await startInfluxd();
  d = await Deployment.create('telinflux');
  const text = await readFile(d.config, 'utf8');
  const withInflux = text.replace(
    '  store: sqlite\n',
    `  store: influx\n  influx:\n    url: ${server.url}\n    database: fleet\n    requestTimeout: 2s\n`,
  );
  expect(withInflux).not.toBe(text);
  await writeFile(d.config, withInflux);
});
afterAll(async () => {
  await d?.cleanup();
  await server?.cleanup();
});

describe('ballast telemetry with InfluxDB', () => {
  test('collect writes to InfluxDB; show and inventory read from it', async () => {
    const out = await d.ok<{ store: string; collectors: { name: string; ok: boolean; samples: number }[] }>(['telemetry', 'collect']);
    expect(out.store).toBe(`influx:${server.url}/fleet`);
    expect(out.collectors.map((c) => [c.name, c.ok, c.samples])).toEqual([
      ['capacity', true, 32],
      ['performance', true, 0],
      ['cost', true, 10],
    ]);
    const r = await fetch(`${server.url}/query?db=fleet&q=${encodeURIComponent('SELECT count("allocated_gib") FROM "ballast"."ballast_pool" GROUP BY "pool"')}`);
    const body = (await r.json()) as { results: { series: { tags: { pool: string }; values: [string, number][] }[] }[] };
    expect(body.results[0]!.series.map((s) => [s.tags.pool, s.values[0]![1]])).toEqual([
      ['ballast@capacity#hdd-a', 1],
      ['ballast@capacity#hdd-b', 1],
      ['ballast@fast#ssd-a', 1],
      ['ballast@fast#ssd-b', 1],
    ]);
    const shown = await d.ok<{ store: string; pools: { pool: string; pricePerGiBMonth: number }[] }>(['telemetry', 'show']);
    expect(shown.store).toBe(`influx:${server.url}/fleet`);
    expect(shown.pools.map((p) => p.pricePerGiBMonth)).toEqual([0.03, 0.02, 0.12, 0.12]);
    const inv = await d.ok<{ freshness: { store: string }; pools: unknown[] }>(['inventory', 'show']);
    expect(inv.freshness.store).toBe(`influx:${server.url}/fleet`);
    expect(inv.pools).toHaveLength(4);
  });

  test('InfluxDB down: collect fails with TELEMETRY_STORE_UNAVAILABLE saying the samples were not stored', async () => {
    await server.stop();
    try {
      const r = await d.run(['telemetry', 'collect']);
      expect(r.code, describeResult(r)).toBe(exitOf('TELEMETRY_STORE_UNAVAILABLE'));
      expect(r.stderr).toMatch(/^ERROR \[TELEMETRY_STORE_UNAVAILABLE\]: the samples of this collection were not stored: InfluxDB at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    } finally {
      await server.restart();
    }
  });
});
