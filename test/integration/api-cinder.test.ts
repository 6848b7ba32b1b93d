/**
 * The Cinder v3-compatible API over a real embedded deployment, through real HTTP on 127.0.0.1:
 * status codes and bodies as Cinder's, admin-only fields and actions, per-project visibility, and
 * requests that are unauthenticated, malformed or oversized getting 4xx while changing nothing.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/api/index.js';
import type { BlockService } from '../../src/blockstore/index.js';
import { apiSchema, parseConfig } from '../../src/config/index.js';
import { CLI } from './cli-helpers.js';
import { fillVolume, makeDeployment, SMALL_CONFIG, type Deployment } from './deployment.js';

const ADMIN = 'admin-secret-0123456789abcdef';
const ALICE = 'alice-secret-0123456789abcdef';
const BOB = 'bob-secret-0123456789abcdef-xyz';
const TOKENS = [
  { user: 'root', token: ADMIN, role: 'admin', projectId: 'p-admin' },
  { user: 'alice', token: ALICE, role: 'member', projectId: 'p-alice' },
  { user: 'bob', tokenEnv: 'BALLAST_TEST_BOB_TOKEN', role: 'member', projectId: 'p-bob' },
];
const PROJECT: Record<string, string> = { [ADMIN]: 'p-admin', [ALICE]: 'p-alice', [BOB]: 'p-bob' };
const ADMIN_ONLY = ['os-vol-host-attr:host', 'os-vol-mig-status-attr:migstat', 'os-vol-mig-status-attr:name_id', 'migration_status'];

let d: Deployment;
let s: BlockService;
let api: ApiServer;
let writers: ApiServer;
const logs: Record<string, unknown>[] = [];

interface Reply {
  status: number;
  body: Record<string, unknown> | null;
  headers: Headers;
}

async function call(
  server: ApiServer,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const token = opts.token === undefined ? ADMIN : opts.token;
  const headers: Record<string, string> = { ...(token ? { 'x-auth-token': token } : {}), ...(opts.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null, headers: res.headers };
}

/** `/v3/<caller's project>` + path. */
function v3(token: string, path: string): string {
  return `/v3/${PROJECT[token]}${path}`;
}

function volumeOf(r: Reply): Record<string, unknown> {
  return r.body!['volume'] as Record<string, unknown>;
}

/** Everything a refused request must leave unchanged. */
function stateOf() {
  return {
    volumes: s.listVolumes(true),
    migrations: s.migrations(),
    types: s.listTypes(),
    reservations: s.ctx.db.prepare('SELECT * FROM reservations').all(),
  };
}

async function createAs(token: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await call(api, 'POST', v3(token, '/volumes'), { token, body: { volume: body } });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return volumeOf(r);
}

beforeAll(async () => {
  d = await makeDeployment();
  s = await d.open();
  const log = (e: Readonly<Record<string, unknown>>) => logs.push({ ...e });
  const env = { BALLAST_TEST_BOB_TOKEN: BOB };
  api = await startApiServer({ service: s, api: apiSchema.parse({ tokens: TOKENS, maxBodyBytes: 4096 }), configTypeNames: d.config.volumeTypes.map((t) => t.name), listen: '127.0.0.1:0', log, env });
  writers = await startApiServer({ service: s, api: apiSchema.parse({ tokens: TOKENS, memberWrites: true }), configTypeNames: [], listen: '127.0.0.1:0', log, env });
});

afterAll(async () => {
  await api?.close();
  await writers?.close();
  await d?.cleanup();
});

describe('versions and authentication', () => {
  test('the version documents need no token and carry the microversion range', async () => {
    const root = await call(api, 'GET', '/', { token: null });
    expect(root.status).toBe(300);
    const v3doc = await call(api, 'GET', '/v3/', { token: null });
    expect(v3doc.status).toBe(200);
    for (const r of [root, v3doc]) {
      const [v] = r.body!['versions'] as Record<string, unknown>[];
      expect(v).toMatchObject({ id: 'v3.0', status: 'CURRENT', min_version: '3.0', version: '3.70' });
    }
  });

  test.each([
    { name: 'no token', token: null },
    { name: 'unknown token', token: 'not-a-configured-token-at-all' },
    { name: 'prefix of a real token', token: ADMIN.slice(0, -1) },
    { name: 'noauth form while noauth is off', token: 'root:p-admin' },
  ])('$name → 401 in Cinder shape, nothing changes', async ({ token }) => {
    const before = stateOf();
    for (const [method, path, body] of [
      ['GET', '/v3/p-admin/volumes/detail', undefined],
      ['POST', '/v3/p-admin/volumes', { volume: { size: 1 } }],
    ] as const) {
      const r = await call(api, method, path, { token, body });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ unauthorized: { code: 401, message: 'The request you have made requires authentication.' } });
      expect(r.headers.get('x-ballast-error-code')).toBe('API_UNAUTHORIZED');
    }
    expect(stateOf()).toEqual(before);
  });

  test("a URL whose project is not the token's is a bad request, admins included", async () => {
    const r = await call(api, 'GET', '/v3/p-alice/volumes', { token: ADMIN });
    expect(r.status).toBe(400);
    expect((r.body!['badRequest'] as { message: string }).message).toContain('Malformed request url');
  });

  test('noauth tokens work only when enabled, and never on a non-loopback address', async () => {
    const noauth = await startApiServer({ service: s, api: apiSchema.parse({ noauth: true }), configTypeNames: [], listen: '127.0.0.1:0', log: () => undefined });
    try {
      const asAdmin = await call(noauth, 'GET', '/v3/abc123/scheduler-stats/get_pools', { token: 'admin:abc123' });
      expect(asAdmin.status).toBe(200);
      const asUser = await call(noauth, 'GET', '/v3/abc123/scheduler-stats/get_pools', { token: 'carol:abc123' });
      expect(asUser.status).toBe(403);
    } finally {
      await noauth.close();
    }
    await expect(startApiServer({ service: s, api: apiSchema.parse({ noauth: true }), configTypeNames: [], listen: '0.0.0.0:0', log: () => undefined })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(startApiServer({ service: s, api: apiSchema.parse({}), configTypeNames: [], listen: '127.0.0.1:0', log: () => undefined })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('volumes', () => {
  test('create (202), show, list and delete (202) with Cinder field names', async () => {
    const v = await createAs(ADMIN, { size: 1, name: 'api-a', volume_type: 'standard', metadata: { app: 'db' }, snapshot_id: null, imageRef: null });
    expect(v).toMatchObject({ name: 'api-a', size: 1, status: 'available', volume_type: 'standard', metadata: { app: 'db' }, 'os-vol-tenant-attr:tenant_id': 'p-admin', 'os-vol-mig-status-attr:migstat': null });
    expect(String(v['os-vol-host-attr:host'])).toMatch(/^ballast@capacity#hdd-[ab]$/);
    const shown = await call(api, 'GET', v3(ADMIN, `/volumes/${String(v['id'])}`));
    expect(shown.status).toBe(200);
    expect(volumeOf(shown)['id']).toBe(v['id']);
    const summary = await call(api, 'GET', v3(ADMIN, '/volumes'));
    expect((summary.body!['volumes'] as Record<string, unknown>[]).find((x) => x['id'] === v['id'])).toEqual({ id: v['id'], name: 'api-a', links: expect.any(Array) });
    const del = await call(api, 'DELETE', v3(ADMIN, `/volumes/${String(v['id'])}`));
    expect(del.status).toBe(202);
    expect(del.body).toBeNull();
    const gone = await call(api, 'GET', v3(ADMIN, `/volumes/${String(v['id'])}`));
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ itemNotFound: { code: 404, message: `Volume ${String(v['id'])} could not be found.` } });
  });

  test('admin-only fields: admins see host and migration fields, members of the project do not, others get 404', async () => {
    const mine = await s.createVolume({ sizeGiB: 1, name: 'alice-1', projectId: 'p-alice' });
    const asAdmin = volumeOf(await call(api, 'GET', v3(ADMIN, `/volumes/${mine.id}`)));
    for (const k of ADMIN_ONLY) expect(asAdmin).toHaveProperty(k);
    const asOwner = await call(api, 'GET', v3(ALICE, `/volumes/${mine.id}`), { token: ALICE });
    expect(asOwner.status).toBe(200);
    for (const k of ADMIN_ONLY) expect(volumeOf(asOwner)).not.toHaveProperty(k);
    expect(volumeOf(asOwner)['os-vol-tenant-attr:tenant_id']).toBe('p-alice');
    const asOther = await call(api, 'GET', v3(BOB, `/volumes/${mine.id}`), { token: BOB });
    expect(asOther.status).toBe(404);
    const bobList = await call(api, 'GET', v3(BOB, '/volumes/detail'), { token: BOB });
    expect((bobList.body!['volumes'] as unknown[]).length).toBe(0);
    const adminOwn = await call(api, 'GET', v3(ADMIN, '/volumes/detail'));
    expect((adminOwn.body!['volumes'] as { id: string }[]).map((x) => x.id)).not.toContain(mine.id);
    const adminAll = await call(api, 'GET', v3(ADMIN, '/volumes/detail?all_tenants=1'));
    expect((adminAll.body!['volumes'] as { id: string }[]).map((x) => x.id)).toContain(mine.id);
  });

  test.each([
    { name: 'no header: 3.0', header: undefined, status: 200, echo: 'volume 3.0', typeId: false },
    { name: '3.63 adds volume_type_id', header: 'volume 3.63', status: 200, echo: 'volume 3.63', typeId: true },
    { name: 'latest', header: 'volume latest', status: 200, echo: 'volume 3.70', typeId: true },
    { name: 'above the maximum', header: 'volume 3.99', status: 406, echo: null, typeId: false },
    { name: 'malformed', header: 'volume three', status: 400, echo: null, typeId: false },
  ])('microversion $name', async ({ header, status, echo, typeId }) => {
    const v = await s.createVolume({ sizeGiB: 1, projectId: 'p-admin' });
    const r = await call(api, 'GET', v3(ADMIN, `/volumes/${v.id}`), { headers: header ? { 'openstack-api-version': header } : {} });
    expect(r.status).toBe(status);
    expect(r.headers.get('openstack-api-version')).toBe(echo);
    if (status === 200) expect('volume_type_id' in volumeOf(r)).toBe(typeId);
  });

  test('members are read-only unless memberWrites: create and delete are 403 and change nothing', async () => {
    const before = stateOf();
    const r = await call(api, 'POST', v3(ALICE, '/volumes'), { token: ALICE, body: { volume: { size: 1 } } });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ forbidden: { code: 403, message: expect.stringContaining("Policy doesn't allow volume:create") } });
    expect(stateOf()).toEqual(before);
    const w = await call(writers, 'POST', v3(ALICE, '/volumes'), { token: ALICE, body: { volume: { size: 1, name: 'alice-w' } } });
    expect(w.status).toBe(202);
    expect(volumeOf(w)['os-vol-tenant-attr:tenant_id']).toBe('p-alice');
  });
});

describe('actions', () => {
  test('os-migrate_volume (admin): 202 with no body, the move runs in the server, show reports it', async () => {
    const v = await createAs(ADMIN, { size: 1, name: 'mig-1' });
    const src = String(v['os-vol-host-attr:host']);
    const dest = src.endsWith('hdd-a') ? 'ballast@capacity#hdd-b' : 'ballast@capacity#hdd-a';
    const r = await call(api, 'POST', v3(ADMIN, `/volumes/${String(v['id'])}/action`), { body: { 'os-migrate_volume': { host: dest, force_host_copy: true, lock_volume: 'true' } } });
    expect(r.status).toBe(202);
    expect(r.body).toBeNull();
    await api.moves.settled();
    const after = volumeOf(await call(api, 'GET', v3(ADMIN, `/volumes/${String(v['id'])}`)));
    expect(after).toMatchObject({ id: v['id'], status: 'available', 'os-vol-host-attr:host': dest, 'os-vol-mig-status-attr:migstat': 'success', migration_status: 'success' });
  });

  test.each([
    { name: 'non-admin migrate', token: ALICE, body: { 'os-migrate_volume': { host: 'ballast@capacity#hdd-b' } }, status: 403, fragment: 'migrate_volume' },
    { name: 'non-admin reset-status', token: ALICE, body: { 'os-reset_status': { status: 'error' } }, status: 403, fragment: 'reset_status' },
    { name: 'non-admin completion', token: ALICE, body: { 'os-migrate_volume_completion': { new_volume: '00000000-0000-0000-0000-000000000000' } }, status: 403, fragment: 'completion' },
    { name: 'missing host (3.0)', token: ADMIN, body: { 'os-migrate_volume': { force_host_copy: true } }, status: 400, fragment: 'Host field is missing.' },
    { name: 'non-boolean force_host_copy', token: ADMIN, body: { 'os-migrate_volume': { host: 'ballast@capacity#hdd-b', force_host_copy: 'maybe' } }, status: 400, fragment: 'force_host_copy' },
    { name: 'extra key', token: ADMIN, body: { 'os-migrate_volume': { host: 'ballast@capacity#hdd-b', speed: 'fast' } }, status: 400, fragment: "'speed'" },
    { name: 'unknown back-end', token: ADMIN, body: { 'os-migrate_volume': { host: 'ballast@nowhere#p' } }, status: 400, fragment: "No available service named 'ballast@nowhere'" },
    { name: 'type does not fit the destination', token: ADMIN, body: { 'os-migrate_volume': { host: 'ballast@fast#ssd-a' } }, status: 400, fragment: 'CapabilitiesFilter' },
    { name: 'two actions', token: ADMIN, body: { 'os-reset_status': { status: 'error' }, 'os-extend': { new_size: 2 } }, status: 400, fragment: 'exactly one action' },
    { name: 'unknown action', token: ADMIN, body: { 'os-teleport': {} }, status: 400, fragment: 'There is no such action: os-teleport' },
    { name: 'retype with a bad policy', token: ADMIN, body: { 'os-retype': { new_type: 'gold', migration_policy: 'sometimes' } }, status: 400, fragment: 'migration_policy' },
    { name: 'retype that needs a move under never', token: ADMIN, body: { 'os-retype': { new_type: 'gold' } }, status: 400, fragment: 'migration not allowed' },
    { name: 'retype to an unknown type', token: ADMIN, body: { 'os-retype': { new_type: 'platinum', migration_policy: 'on-demand' } }, status: 404, fragment: 'platinum' },
    { name: 'reset to a bogus status', token: ADMIN, body: { 'os-reset_status': { status: 'bogus-status' } }, status: 400, fragment: 'bogus-status' },
    { name: 'reset with nothing to set', token: ADMIN, body: { 'os-reset_status': {} }, status: 400, fragment: "Must specify 'status'" },
    { name: 'completion without new_volume', token: ADMIN, body: { 'os-migrate_volume_completion': { error: false } }, status: 400, fragment: 'new_volume' },
  ])('$name → $status, nothing changes', async ({ token, body, status, fragment }) => {
    const v = await s.createVolume({ sizeGiB: 1, projectId: PROJECT[token]!, type: 'standard' });
    const before = stateOf();
    const r = await call(api, 'POST', v3(token, `/volumes/${v.id}/action`), { token, body });
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    const [fault] = Object.values(r.body!) as { code: number; message: string }[];
    expect(fault!.code).toBe(status);
    expect(fault!.message).toContain(fragment);
    expect(stateOf()).toEqual(before);
  });

  test.each([
    { name: 'neither host nor cluster', args: { lock_volume: false }, fragment: 'One and only one of cluster and host must be set.' },
    { name: 'both host and cluster', args: { host: 'ballast@capacity#hdd-b', cluster: 'c1@capacity#hdd-b' }, fragment: 'One and only one of cluster and host must be set.' },
    { name: 'a cluster', args: { cluster: 'c1@capacity#hdd-b' }, fragment: 'no clusters' },
  ])('at microversion 3.59, migrate with $name → 400, nothing changes', async ({ args, fragment }) => {
    const v = await s.createVolume({ sizeGiB: 1, projectId: 'p-admin' });
    const before = stateOf();
    const r = await call(api, 'POST', v3(ADMIN, `/volumes/${v.id}/action`), { body: { 'os-migrate_volume': args }, headers: { 'openstack-api-version': 'volume 3.59' } });
    expect(r.status).toBe(400);
    expect(r.headers.get('openstack-api-version')).toBe('volume 3.59');
    expect((r.body!['badRequest'] as { message: string }).message).toContain(fragment);
    expect(stateOf()).toEqual(before);
  });

  test('os-retype on-demand (admin) migrates to a pool of the new type', async () => {
    const v = await createAs(ADMIN, { size: 1, name: 'rt-1', volume_type: 'standard' });
    const r = await call(api, 'POST', v3(ADMIN, `/volumes/${String(v['id'])}/action`), { body: { 'os-retype': { new_type: 'gold', migration_policy: 'on-demand' } } });
    expect(r.status).toBe(202);
    await api.moves.settled();
    const after = volumeOf(await call(api, 'GET', v3(ADMIN, `/volumes/${String(v['id'])}`)));
    expect(after['volume_type']).toBe('gold');
    expect(String(after['os-vol-host-attr:host'])).toMatch(/^ballast@fast#ssd-[ab]$/);
    expect(after['os-vol-mig-status-attr:migstat']).toBe('success');
  });

  test('a member may retype in place but not with a migration (403, unchanged)', async () => {
    const inPlace = await s.createVolume({ sizeGiB: 1, projectId: 'p-alice', type: 'gold' });
    const ok = await call(writers, 'POST', v3(ALICE, `/volumes/${inPlace.id}/action`), { token: ALICE, body: { 'os-retype': { new_type: 'gold-plus', migration_policy: 'on-demand' } } });
    expect(ok.status).toBe(202);
    expect(s.getVolume(inPlace.id)).toMatchObject({ host: inPlace.host, volumeTypeId: s.listTypes().find((t) => t.name === 'gold-plus')!.id });
    const needsMove = await s.createVolume({ sizeGiB: 1, projectId: 'p-alice', type: 'standard' });
    const before = stateOf();
    const refused = await call(writers, 'POST', v3(ALICE, `/volumes/${needsMove.id}/action`), { token: ALICE, body: { 'os-retype': { new_type: 'gold', migration_policy: 'on-demand' } } });
    expect(refused.status).toBe(403);
    expect(stateOf()).toEqual(before);
  });

  test('os-reset_status (admin) sets status and migration status; none means null', async () => {
    const v = await s.createVolume({ sizeGiB: 1, projectId: 'p-admin' });
    const path = v3(ADMIN, `/volumes/${v.id}/action`);
    expect((await call(api, 'POST', path, { body: { 'os-reset_status': { status: 'error', migration_status: 'error' } } })).status).toBe(202);
    expect(s.getVolume(v.id)).toMatchObject({ status: 'error', migrationStatus: 'error' });
    expect((await call(api, 'POST', path, { body: { 'os-reset_status': { status: 'available', migration_status: 'none' } } })).status).toBe(202);
    expect(s.getVolume(v.id)).toMatchObject({ status: 'available', migrationStatus: null });
  });

  test('os-migrate_volume_completion: 200 with save_volume_id for a plain swap; Cinder\'s mid-migration checks', async () => {
    const a = await s.createVolume({ sizeGiB: 1, projectId: 'p-admin' });
    const b = await s.createVolume({ sizeGiB: 1, projectId: 'p-admin' });
    const path = v3(ADMIN, `/volumes/${a.id}/action`);
    const swap = await call(api, 'POST', path, { body: { 'os-migrate_volume_completion': { new_volume: b.id, error: false } } });
    expect(swap.status).toBe(200);
    expect(swap.body).toEqual({ save_volume_id: b.id });
    s.resetStatus(a.id, { migrationStatus: 'migrating' });
    const before = stateOf();
    const r = await call(api, 'POST', path, { body: { 'os-migrate_volume_completion': { new_volume: b.id } } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ badRequest: { code: 400, message: 'Invalid volume: Destination volume not mid-migration.' } });
    expect(stateOf()).toEqual(before);
  });
});

describe('types, pools and services', () => {
  test('types: admins see every extra spec, members only the user-visible ones', async () => {
    const asAdmin = await call(api, 'GET', v3(ADMIN, '/types'));
    const gold = (asAdmin.body!['volume_types'] as Record<string, unknown>[]).find((t) => t['name'] === 'gold')!;
    expect(gold['extra_specs']).toEqual({ volume_backend_name: 'fast', 'capabilities:tier': 'gold' });
    const asMember = await call(api, 'GET', v3(ALICE, `/types/${String(gold['id'])}`), { token: ALICE });
    expect((asMember.body!['volume_type'] as Record<string, unknown>)['extra_specs']).toEqual({});
  });

  test('type create (200), duplicate (409), extra specs set/show/unset; config types and members refused', async () => {
    const created = await call(api, 'POST', v3(ADMIN, '/types'), { body: { volume_type: { name: 'silver', description: 'api type', extra_specs: { volume_backend_name: 'capacity' } } } });
    expect(created.status).toBe(200);
    const id = String((created.body!['volume_type'] as Record<string, unknown>)['id']);
    expect((await call(api, 'POST', v3(ADMIN, '/types'), { body: { volume_type: { name: 'silver' } } })).body).toEqual({ conflictingRequest: { code: 409, message: 'Volume Type silver already exists.' } });
    expect((await call(api, 'POST', v3(ADMIN, `/types/${id}/extra_specs`), { body: { extra_specs: { 'capabilities:tier': 'silver' } } })).status).toBe(200);
    expect((await call(api, 'GET', v3(ADMIN, `/types/${id}/extra_specs/capabilities:tier`))).body).toEqual({ 'capabilities:tier': 'silver' });
    expect((await call(api, 'PUT', v3(ADMIN, `/types/${id}/extra_specs/a`), { body: { b: 'x' } })).status).toBe(400);
    expect((await call(api, 'DELETE', v3(ADMIN, `/types/${id}/extra_specs/capabilities:tier`))).status).toBe(202);
    expect((await call(api, 'GET', v3(ADMIN, `/types/${id}/extra_specs/capabilities:tier`))).status).toBe(404);
    const before = stateOf();
    expect((await call(api, 'POST', v3(ALICE, '/types'), { token: ALICE, body: { volume_type: { name: 'bronze' } } })).status).toBe(403);
    expect((await call(api, 'POST', v3(ADMIN, '/types/gold/extra_specs'), { body: { extra_specs: { x: 'y' } } })).status).toBe(400);
    expect(stateOf()).toEqual(before);
  });

  test('get_pools: names, detail with capabilities, name filter; admin only', async () => {
    const names = (await call(api, 'GET', v3(ADMIN, '/scheduler-stats/get_pools'))).body!['pools'];
    expect(names).toEqual([{ name: 'ballast@capacity#hdd-a' }, { name: 'ballast@capacity#hdd-b' }, { name: 'ballast@fast#ssd-a' }, { name: 'ballast@fast#ssd-b' }]);
    const detail = (await call(api, 'GET', v3(ADMIN, '/scheduler-stats/get_pools?detail=true&name=ballast@fast%23ssd-a'))).body!['pools'] as Record<string, unknown>[];
    expect(detail).toHaveLength(1);
    expect(detail[0]!['capabilities']).toMatchObject({ pool_name: 'ssd-a', total_capacity_gb: 20, volume_backend_name: 'fast', thin_provisioning_support: true });
    expect((await call(api, 'GET', v3(ALICE, '/scheduler-stats/get_pools'), { token: ALICE })).status).toBe(403);
  });

  test('os-services lists the scheduler and one volume service per back-end', async () => {
    const r = await call(api, 'GET', v3(ADMIN, '/os-services'));
    expect((r.body!['services'] as Record<string, unknown>[]).map((x) => `${String(x['binary'])} ${String(x['host'])} ${String(x['state'])}`)).toEqual([
      'cinder-scheduler ballast up',
      'cinder-volume ballast@capacity up',
      'cinder-volume ballast@fast up',
    ]);
  });
});

describe('malformed, oversized and misrouted requests', () => {
  test.each([
    { name: 'malformed JSON', init: { raw: '{"volume": {"size": 1,' }, status: 400, fault: 'badRequest', fragment: 'Malformed request body' },
    { name: 'empty body', init: { raw: '' }, status: 400, fault: 'badRequest', fragment: 'body is empty' },
    { name: 'not an object', init: { body: [1, 2] }, status: 400, fault: 'badRequest', fragment: "'volume'" },
    { name: 'oversized body', init: { raw: JSON.stringify({ volume: { size: 1, description: 'x'.repeat(5000) } }) }, status: 413, fault: 'overLimit', fragment: 'limit is 4096 bytes' },
    { name: 'not JSON', init: { raw: 'size=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, fault: 'badMediaType', fragment: 'application/json' },
    { name: 'size zero', init: { body: { volume: { size: 0 } } }, status: 400, fault: 'badRequest', fragment: 'greater than 0' },
    { name: 'unsupported source', init: { body: { volume: { size: 1, snapshot_id: 'abc' } } }, status: 400, fault: 'badRequest', fragment: 'snapshot_id' },
  ])('POST volumes with $name → $status $fault, nothing changes', async ({ init, status, fault, fragment }) => {
    const before = stateOf();
    const r = await call(api, 'POST', v3(ADMIN, '/volumes'), init);
    expect(r.status).toBe(status);
    expect(Object.keys(r.body!)).toEqual([fault]);
    expect((r.body![fault] as { message: string }).message).toContain(fragment);
    expect(stateOf()).toEqual(before);
  });

  test('a chunked body (no Content-Length) is cut off at the limit with 413 and changes nothing', async () => {
    const before = stateOf();
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const init = { method: 'POST', headers: { 'x-auth-token': ADMIN, 'content-type': 'application/json' }, body, duplex: 'half' };
    const res = await fetch(`${api.url}${v3(ADMIN, '/volumes')}`, init as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { overLimit: { message: string } }).overLimit.message).toContain('more than 4096 bytes');
    expect(stateOf()).toEqual(before);
  });

  test('unknown paths are 404 and wrong methods 405 with Allow', async () => {
    expect((await call(api, 'GET', v3(ADMIN, '/backups'))).status).toBe(404);
    const r = await call(api, 'PUT', v3(ADMIN, '/volumes'), { body: {} });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST');
    expect(Object.keys(r.body!)).toEqual(['badMethod']);
  });

  test('every request is logged once with its id, and no token ever appears in the log', async () => {
    const r = await call(api, 'GET', v3(ADMIN, '/volumes'));
    const id = r.headers.get('x-openstack-request-id');
    expect(id).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(logs.filter((l) => l['request_id'] === id)).toEqual([expect.objectContaining({ msg: 'request', method: 'GET', status: 200, user: 'root', project: 'p-admin' })]);
    const text = JSON.stringify(logs);
    for (const secret of [ADMIN, ALICE, BOB]) expect(text).not.toContain(secret);
  });
});

describe('a move running in the server', () => {
  test('show reports progress to admins while it copies; a graceful close cancels it and leaves the volume on its source', async () => {
    const slow = await makeDeployment(SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 1MiB/s }'));
    const svc = await slow.open();
    const server = await startApiServer({ service: svc, api: apiSchema.parse({ tokens: TOKENS.slice(0, 2) }), configTypeNames: [], listen: '127.0.0.1:0', log: () => undefined });
    try {
      const v = await svc.createVolume({ sizeGiB: 1, projectId: 'p-admin', type: 'standard' });
      await fillVolume(svc, slow.dir, v.id, 4 * 1024 * 1024, 0);
      const dest = v.host.endsWith('hdd-a') ? 'ballast@capacity#hdd-b' : 'ballast@capacity#hdd-a';
      const path = `/v3/p-admin/volumes/${v.id}`;
      expect((await call(server, 'POST', `${path}/action`, { body: { 'os-migrate_volume': { host: dest, force_host_copy: true, lock_volume: true } } })).status).toBe(202);
      let seen: Record<string, unknown> = {};
      for (let i = 0; i < 200 && seen['migration_progress'] === undefined; i++) {
        seen = volumeOf(await call(server, 'GET', path));
        if (seen['migration_progress'] === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toMatchObject({ status: 'maintenance', 'os-vol-mig-status-attr:migstat': 'migrating', migration_destination: dest });
      const asMember = volumeOf(await call(server, 'GET', `/v3/p-alice/volumes/${(await svc.createVolume({ sizeGiB: 1, projectId: 'p-alice' })).id}`, { token: ALICE }));
      expect(asMember).not.toHaveProperty('migration_progress');
      expect(server.moves.active).toBe(1);
      await server.close({ moveGraceMs: 0 });
      expect(server.moves.active).toBe(0);
      const after = svc.getVolume(v.id);
      expect(after).toMatchObject({ host: v.host, status: 'available', migrationStatus: 'error' });
      expect(svc.latestMigration(v.id)?.finishedAtMs).not.toBeNull();
      await expect(fetch(`${server.url}/`)).rejects.toThrow();
    } finally {
      await server.close();
      await slow.cleanup();
    }
  });
});

describe('the api: section of ballast.yaml', () => {
  test('defaults: loopback on Cinder\'s port, no noauth, no tokens, 112 KiB bodies, members read-only', () => {
    expect(parseConfig('ballast.yaml', SMALL_CONFIG).api).toEqual({ listen: '127.0.0.1:8776', maxBodyBytes: 114688, noauth: false, noauthAdmins: ['admin'], memberWrites: false, tokens: [] });
  });

  test.each([
    { name: 'bad listen', api: '  listen: "8776"', want: 'api.listen: listen must be host:port' },
    { name: 'short token', api: '  tokens: [{ user: a, token: short, role: admin, projectId: p1 }]', want: 'at least 16 characters' },
    { name: 'token and tokenEnv', api: '  tokens: [{ user: a, token: 0123456789abcdef0, tokenEnv: T, role: admin, projectId: p1 }]', want: 'exactly one of token and tokenEnv' },
    { name: 'unknown role', api: '  tokens: [{ user: a, tokenEnv: T, role: owner, projectId: p1 }]', want: 'api.tokens[0].role' },
    { name: 'misspelt key', api: '  noAuth: true', want: "unknown key 'noAuth'" },
    { name: 'tiny body limit', api: '  maxBodyBytes: 10', want: 'maxBodyBytes must be a whole number from 1024' },
  ])('$name is reported with its place in the file', ({ api: section, want }) => {
    let message = '';
    try {
      parseConfig('ballast.yaml', `${SMALL_CONFIG}api:\n${section}\n`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/ballast\.yaml:\d+:\d+: api/);
    expect(message).toContain(want);
  });
});

describe('ballast serve', () => {
  test('prints its URL, serves the Cinder API, logs JSON lines, and stops cleanly on SIGTERM', async () => {
    const dep = await makeDeployment(`${SMALL_CONFIG}api:\n  noauth: true\n`);
    const child = spawn(process.execPath, [CLI, '--config', dep.config.configFile, 'serve', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout });
        const timer = setTimeout(() => reject(new Error(`no URL within 30 s; stderr: ${stderr}`)), 30_000);
        lines.on('line', (l) => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(l);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        void exited.then((code) => reject(new Error(`serve exited with ${String(code)}: ${stderr}`)));
      });
      const headers = { 'x-auth-token': 'admin:abc123', 'content-type': 'application/json' };
      const created = await fetch(`${url}/v3/abc123/volumes`, { method: 'POST', headers, body: JSON.stringify({ volume: { size: 1, name: 'served' } }) });
      expect(created.status).toBe(202);
      const listed = (await (await fetch(`${url}/v3/volumes/detail`, { headers })).json()) as { volumes: { name: string }[] };
      expect(listed.volumes.map((v) => v.name)).toEqual(['served']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const events = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.filter((e) => e['msg'] === 'request').map((e) => `${String(e['method'])} ${String(e['status'])}`)).toEqual(['POST 202', 'GET 200']);
      expect(events.map((e) => e['msg']).slice(-2)).toEqual(['stopping', 'stopped']);
    } finally {
      child.kill('SIGKILL');
      await exited;
      await dep.cleanup();
    }
  });
});
