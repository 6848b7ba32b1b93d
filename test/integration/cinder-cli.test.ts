/**
 * Debian's real `cinder` client (python3-cinderclient) against Ballast's Cinder API, with the
 * noauth plugin as operators use it on a lab Cinder: `get-pools --detail`, `create`, `show` (the
 * fields of the seed's example table), `migrate --force-host-copy True --lock-volume True`,
 * `retype --migration-policy on-demand`, `reset-state`, and a non-admin refused. The data written
 * before the moves is read back after them. Fails (never skips) when `cinder` is missing.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import type { BlockService } from '../../src/blockstore/index.js';
import { apiSchema } from '../../src/config/index.js';
import { fillVolume, makeDeployment, readBack, sameBytes, type Deployment } from './deployment.js';

/** A hex project id (Cinder's routes expect one). */
const PROJECT = 'c0ffee0123456789abcdef0123456789';

/**
 * The rows of the seed's `cinder show` table as cinderclient 9 prints them: v3 says `name` and
 * `description` for `display_*`, and the client renders `attachments` as `attached_servers`.
 */
const SEED_FIELDS = [
  'attached_servers',
  'availability_zone',
  'bootable',
  'created_at',
  'description',
  'id',
  'metadata',
  'name',
  'os-vol-host-attr:host',
  'os-vol-mig-status-attr:migstat',
  'os-vol-mig-status-attr:name_id',
  'os-vol-tenant-attr:tenant_id',
  'size',
  'snapshot_id',
  'source_volid',
  'status',
  'volume_type',
];

let d: Deployment;
let s: BlockService;
let api: ApiServer;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cinder ...args` (asynchronously: the server answers from this process). */
function cinder(args: readonly string[], user = 'admin', server: ApiServer = api): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_') && !k.startsWith('CINDER')) env[k] = v;
  Object.assign(env, {
    OS_AUTH_TYPE: 'noauth',
    OS_USER_ID: user,
    OS_PROJECT_ID: PROJECT,
    CINDER_ENDPOINT: `${server.url}/v3`,
    OS_VOLUME_API_VERSION: '3.59',
  });
  return new Promise((resolve, reject) => {
    const child = spawn('cinder', [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new Error("the `cinder` client is not installed: apt-get install -y --no-install-recommends python3-cinderclient (this test never skips)")
          : e,
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every `| Property | Value |` table of an output, as records (prettytable, one row per line). */
function tables(out: string): Record<string, string>[] {
  const result: Record<string, string>[] = [];
  let current: Record<string, string> | null = null;
  for (const line of out.split('\n')) {
    const cells = line.startsWith('|') ? line.split('|').slice(1, -1).map((c) => c.trim()) : null;
    if (!cells || cells.length !== 2) continue;
    if (cells[0] === 'Property') {
      current = {};
      result.push(current);
    } else if (current) {
      current[cells[0]!] = cells[1]!;
    }
  }
  return result;
}

async function show(id: string): Promise<Record<string, string>> {
  const r = await cinder(['show', id]);
  expect(r.code, r.stderr).toBe(0);
  const [t] = tables(r.stdout);
  return t!;
}

beforeAll(async () => {
  d = await makeDeployment();
  s = await d.open();
  api = await startApiServer({ service: s, api: apiSchema.parse({ noauth: true }), configTypeNames: d.config.volumeTypes.map((t) => t.name), listen: '127.0.0.1:0', log: () => undefined });
});

afterAll(async () => {
  await api?.close();
  await d?.cleanup();
});

describe('the cinder CLI against Ballast', () => {
  let id = '';
  let written: { data: Buffer; offset: number };

  test('get-pools --detail lists every pool with its capabilities', async () => {
    const r = await cinder(['get-pools', '--detail']);
    expect(r.code, r.stderr).toBe(0);
    const pools = tables(r.stdout);
    expect(pools.map((p) => p['name']).sort()).toEqual(['ballast@capacity#hdd-a', 'ballast@capacity#hdd-b', 'ballast@fast#ssd-a', 'ballast@fast#ssd-b']);
    const ssdA = pools.find((p) => p['name'] === 'ballast@fast#ssd-a')!;
    expect(ssdA).toMatchObject({ pool_name: 'ssd-a', total_capacity_gb: '20', volume_backend_name: 'fast', thin_provisioning_support: 'True' });
  });

  test('create makes a volume in the caller\'s project; show has the seed\'s fields', async () => {
    const r = await cinder(['create', '--name', 'cli-vol', '--volume-type', 'standard', '1']);
    expect(r.code, r.stderr).toBe(0);
    const [created] = tables(r.stdout);
    id = created!['id']!;
    expect(created).toMatchObject({ name: 'cli-vol', size: '1', status: 'available', volume_type: 'standard', 'os-vol-tenant-attr:tenant_id': PROJECT });
    const shown = await show(id);
    for (const f of SEED_FIELDS) expect(Object.keys(shown)).toContain(f);
    const v = s.getVolume(id);
    expect(shown).toMatchObject({ id, 'os-vol-host-attr:host': v.host, 'os-vol-mig-status-attr:migstat': 'None', 'os-vol-mig-status-attr:name_id': 'None', availability_zone: 'nova' });
    written = await fillVolume(s, d.dir, id);
  });

  test('a non-admin migrate is refused with 403 and changes nothing', async () => {
    const before = s.getVolume(id);
    const r = await cinder(['migrate', id, 'ballast@capacity#hdd-b'], 'bob');
    expect(`${r.stdout}${r.stderr}`).toMatch(/Policy doesn't allow volume_extension:volume_admin_actions:migrate_volume to be performed\..*HTTP 403/);
    expect(s.getVolume(id)).toEqual(before);
    expect(s.latestMigration(id)).toBeNull();
  });

  test('migrate --force-host-copy True --lock-volume True moves the volume; show reports the new host', async () => {
    const src = s.getVolume(id).host;
    const dest = src.endsWith('hdd-a') ? 'ballast@capacity#hdd-b' : 'ballast@capacity#hdd-a';
    const r = await cinder(['migrate', '--force-host-copy', 'True', '--lock-volume', 'True', id, dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Request to migrate volume ${id} has been accepted.`);
    await api.moves.settled();
    const m = s.latestMigration(id)!;
    expect(m).toMatchObject({ srcHost: src, destHost: dest, forceHostCopy: true, lockVolume: true, outcome: 'success' });
    expect(await show(id)).toMatchObject({ id, status: 'available', 'os-vol-host-attr:host': dest, 'os-vol-mig-status-attr:migstat': 'success' });
    expect(sameBytes(await readBack(s, d.dir, id, written.offset, written.data.length), written.data)).toBe('identical');
  });

  test('retype --migration-policy on-demand moves the volume to a pool of the new type', async () => {
    const r = await cinder(['retype', '--migration-policy', 'on-demand', id, 'gold']);
    expect(r.code, r.stderr).toBe(0);
    await api.moves.settled();
    const shown = await show(id);
    expect(shown).toMatchObject({ id, status: 'available', volume_type: 'gold', 'os-vol-mig-status-attr:migstat': 'success' });
    expect(shown['os-vol-host-attr:host']).toMatch(/^ballast@fast#ssd-[ab]$/);
    expect(sameBytes(await readBack(s, d.dir, id, written.offset, written.data.length), written.data)).toBe('identical');
  });

  test('a retype the policy forbids is refused with the reason', async () => {
    const before = s.getVolume(id);
    const r = await cinder(['retype', id, 'standard']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/migration not allowed.*HTTP 400/);
    expect(s.getVolume(id)).toEqual(before);
  });

  test('reset-state sets the status and clears the migration status; list shows it', async () => {
    const r = await cinder(['reset-state', '--state', 'error', '--reset-migration-status', id]);
    expect(r.code, r.stderr).toBe(0);
    expect(s.getVolume(id)).toMatchObject({ status: 'error', migrationStatus: null });
    const list = await cinder(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`\\| ${id} \\| error +\\| cli-vol \\| 1 +\\| gold`));
  });
});

describe('the cinder CLI with a configured token instead of noauth', () => {
  test('a token whose secret is <user>:<project> authenticates; anything else is 401', async () => {
    const secret = 'f3a9c2e7b1d04c68a5e2';
    const tokens = apiSchema.parse({ tokens: [{ user: 'ops', token: `${secret}:${PROJECT}`, role: 'admin', projectId: PROJECT }] });
    const logs: string[] = [];
    const guarded = await startApiServer({ service: s, api: tokens, configTypeNames: [], listen: '127.0.0.1:0', log: (e) => logs.push(JSON.stringify(e)) });
    try {
      const [ok, refused] = await Promise.all([cinder(['get-pools'], secret, guarded), cinder(['get-pools'], 'admin', guarded)]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('ballast@fast#ssd-a');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('(HTTP 401)');
      expect(logs.join('\n')).not.toContain(secret);
      expect(logs.some((l) => l.includes('"user":"ops"'))).toBe(true);
    } finally {
      await guarded.close();
    }
  });
});
