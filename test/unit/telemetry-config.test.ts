import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig, parseDurationMs, renderInitConfig } from '../../src/config/index.js';
import { FileValidationError, formatLocation } from '../../src/shared/index.js';

const BASE = `apiVersion: ballast/v1
dataDir: ./data
backends:
  - name: fast
    driver: raw
    pools:
      - { name: ssd-a, size: 10GiB }
`;

function problems(text: string): string[] {
  try {
    parseConfig('/etc/ballast/ballast.yaml', text);
  } catch (e) {
    expect(e).toBeInstanceOf(FileValidationError);
    return (e as FileValidationError).problems.map((p) => `${formatLocation(p.location)}: ${p.path}: ${p.message}`);
  }
  return [];
}

describe('telemetry: section of ballast.yaml', () => {
  test('absent: defaults (embedded SQLite under dataDir), so existing files keep working', () => {
    const t = parseConfig('/etc/ballast/ballast.yaml', BASE).telemetry;
    expect(t).toEqual({
      store: { kind: 'sqlite', path: '/etc/ballast/data/telemetry.db', retention: { retentionMs: 90 * 86_400_000, downsampleAfterMs: 7 * 86_400_000, downsampleBucketMs: 3_600_000 } },
      windowMs: 86_400_000,
      growthWindowMs: 7 * 86_400_000,
      maxAgeMs: 15 * 60_000,
      fullThresholdShare: 0.85,
      pricesFile: null,
      schedules: { capacity: '*/5 * * * *', performance: '* * * * *', cost: '0 * * * *', external: '* * * * *', maintenance: '17 * * * *' },
      external: null,
    });
  });

  test('influx store, prices and an external mapping compile to ms and absolute paths', () => {
    const t = parseConfig(
      '/etc/ballast/ballast.yaml',
      `${BASE}telemetry:
  store: influx
  influx: { url: "http://db:8086", database: fleet, retentionPolicy: raw, batchSize: 100, requestTimeout: 2s }
  retention: 30d
  maxAge: 5m
  prices: ../prices/eu.yaml
  external: { url: "http://db:8086", database: telegraf, measurement: disk, keyTag: pool, fields: { perf.iops: ops } }
`,
    ).telemetry;
    expect(t.store).toEqual({
      kind: 'influx',
      url: 'http://db:8086',
      database: 'fleet',
      retentionPolicy: 'raw',
      batchSize: 100,
      maxBufferedPoints: 200_000,
      requestTimeoutMs: 2000,
      retention: { retentionMs: 30 * 86_400_000, downsampleAfterMs: 7 * 86_400_000, downsampleBucketMs: 3_600_000 },
    });
    expect(t.maxAgeMs).toBe(300_000);
    expect(t.pricesFile).toBe(join('/etc/prices/eu.yaml'));
    expect(t.external).toMatchObject({ database: 'telegraf', entity: 'pool', keyTag: 'pool', fields: { 'perf.iops': 'ops' }, lookbackMs: 3_600_000 });
  });

  test('bad values are located, all at once', () => {
    expect(
      problems(`${BASE}telemetry:
  store: mongo
  window: 24 hours
  schedules: { capacity: "every 5 minutes" }
  influx: { batchSize: 0 }
`),
    ).toEqual([
      "/etc/ballast/ballast.yaml:9:10: telemetry.store: expected one of 'sqlite', 'influx', found 'mongo'",
      '/etc/ballast/ballast.yaml:10:11: telemetry.window: window must be a duration such as 30s, 15m, 24h or 7d (units ms, s, m, h, d, w) (found \'24 hours\')',
      "/etc/ballast/ballast.yaml:11:26: telemetry.schedules.capacity: a cron schedule has 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. '*/5 * * * *' (found 'every 5 minutes')",
      '/etc/ballast/ballast.yaml:12:24: telemetry.influx.batchSize: batchSize must be a whole number ≥ 1 (found 0)',
    ]);
    expect(problems(`${BASE}telemetry:\n  retension: 30d\n`)).toEqual(["/etc/ballast/ballast.yaml:9:3: telemetry.retension: unknown key 'retension' (did you mean 'retention'?)"]);
  });

  test('durations', () => {
    expect([parseDurationMs('500ms'), parseDurationMs('30s'), parseDurationMs('1.5h'), parseDurationMs('2w'), parseDurationMs('0s'), parseDurationMs('5')]).toEqual([500, 30_000, 5_400_000, 1_209_600_000, null, null]);
  });

  test('the init template has a telemetry section naming the example price catalogue', () => {
    const t = parseConfig('/x/ballast.yaml', renderInitConfig()).telemetry;
    expect(t.store.kind).toBe('sqlite');
    expect(t.pricesFile).toBe('/x/prices.yaml');
  });
});
