import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SqliteTelemetryStore } from '../../src/telemetry/index.js';
import { storeContract, T0 } from './telemetry-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ballast-tsdb-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', async (retention) => SqliteTelemetryStore.open({ path: join(dir, `t${n++}`, 'telemetry.db'), retention }));

test('samples survive closing and reopening the file', async () => {
  const path = join(dir, 'reopen.db');
  const retention = { retentionMs: 1e12, downsampleAfterMs: 1e11, downsampleBucketMs: 3_600_000 };
  const a = SqliteTelemetryStore.open({ path, retention });
  await a.write([{ entity: 'pool', key: 'h@b#p', metric: 'capacity.free_gib', atMs: T0, value: 42 }]);
  await a.close();
  const b = SqliteTelemetryStore.open({ path, retention });
  expect([...(await b.latest('pool', 'capacity.free_gib'))]).toEqual([['h@b#p', { atMs: T0, value: 42 }]]);
  expect(b.name).toBe(`sqlite:${path}`);
  await b.close();
});
