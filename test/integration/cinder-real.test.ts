// The Cinder control plane against a REAL OpenStack Cinder (Debian's Cinder 21, noauth, two NFS
// back-ends that really hold data), brought up by test/support/realcinder.ts. Volumes are created,
// written and checked through Cinder's REST API directly; only the moves go through the adapter.
// Never skipped: if Cinder cannot be brought up, the suite fails with the setup log.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlPlane } from '../../src/cli/control-plane-factory.js';
import type { CliIo } from '../../src/cli/io.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCinderControlPlane, resolveCinderConnection, type CinderControlPlane } from '../../src/controlplane/index.js';
import type { MoveHandle, MoveProgress } from '../../src/model/index.js';
import { isAppError } from '../../src/shared/index.js';
import {
  createVolume,
  deleteVolumes,
  RC_ENDPOINT,
  RC_PROJECT,
  rest,
  startRealCinder,
  volume,
  volumeChecksum,
  writeVolume,
  type RealCinderHandle,
} from '../support/realcinder.js';

const POOL_A = 'realcinder@nfs-a#nfs-a';
const POOL_B = 'realcinder@nfs-b#nfs-b';
const RUN = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;

let rc: RealCinderHandle;
let cp: CinderControlPlane;
const created: string[] = [];
/** Every progress detail seen, per volume, for the assertions on transient states. */
const seen = new Map<string, string[]>();

async function pollToEnd(handle: MoveHandle, timeoutMs = 150_000): Promise<MoveProgress> {
  const until = Date.now() + timeoutMs;
  const details = seen.get(handle.volumeId) ?? [];
  seen.set(handle.volumeId, details);
  for (;;) {
    const p = await cp.moveProgress(handle);
    details.push(`${p.state} ${p.detail}`);
    if (p.state !== 'running') return p;
    if (Date.now() > until) throw new Error(`move of ${handle.volumeId} still running after ${timeoutMs} ms: ${details.slice(-5).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function newVolume(tag: string, type?: string): Promise<string> {
  const id = await createVolume(`ballast-it-${RUN}-${tag}`, 1, type);
  created.push(id);
  await writeVolume(id, [
    { offset: 0, bytes: randomBytes(MiB) },
    { offset: 64 * MiB, bytes: randomBytes(3 * MiB) },
  ]);
  return id;
}

const other = (pool: string): string => (pool === POOL_A ? POOL_B : POOL_A);

beforeAll(async () => {
  rc = await startRealCinder();
  cp = openCinderControlPlane(resolveCinderConnection({ authType: 'noauth', endpoint: RC_ENDPOINT, projectId: RC_PROJECT, userId: 'admin' }, {}), {
    // A small page makes the listing walk Cinder's markers.
    pageSize: 2,
    startGraceMs: 20_000,
    settleMs: 30_000,
  });
}, 10 * 60_000);

afterAll(async () => {
  try {
    if (created.length > 0) await deleteVolumes(created);
  } finally {
    await rc?.stop();
  }
}, 5 * 60_000);

describe('Cinder control plane on a real Cinder', { timeout: 240_000 }, () => {
  test('negotiates the microversion and lists pools, types and volumes like the REST API', async () => {
    expect(await cp.connect()).toBe('3.65');
    const [a, b, c] = [await newVolume('list-1'), await newVolume('list-2', 'type-a'), await newVolume('list-3', 'type-b')];

    const pools = await cp.listPools();
    const names = pools.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining([POOL_A, POOL_B]));
    for (const p of pools.filter((x) => x.name === POOL_A || x.name === POOL_B)) {
      expect(p).toMatchObject({ state: 'up', availabilityZone: 'nova', backend: p.name.split('#')[0] });
      expect(p.capacity.totalCapacityGb).toBeGreaterThan(15);
      expect(p.capacity.maxOverSubscriptionRatio).toBe(1);
      expect(p.capacity.thinProvisioningSupport).toBe(true);
      expect(p.capabilities['storage_protocol']).toBe('NFS');
      expect(p.volumeBackendName).toBe(p.name.endsWith('nfs-a') ? 'nfs-a' : 'nfs-b');
    }

    // allocatedGiB is what the volumes on the pool add up to (Cinder's own number leaks after moves).
    const all = (await rest('GET', '/volumes/detail?all_tenants=1')).json!['volumes'] as { size: number; 'os-vol-host-attr:host': string | null }[];
    for (const p of pools) expect(p.allocatedGiB).toBe(all.filter((v) => v['os-vol-host-attr:host'] === p.name).reduce((s, v) => s + v.size, 0));

    const types = await cp.listVolumeTypes();
    expect(types.find((t) => t.name === 'type-a')?.extraSpecs).toEqual({ volume_backend_name: 'nfs-a' });
    expect(types.find((t) => t.name === 'type-b')?.extraSpecs).toEqual({ volume_backend_name: 'nfs-b' });

    const vols = await cp.listVolumes();
    expect(vols.map((v) => v.id)).toEqual([...vols.map((v) => v.id)].sort());
    const detail = await rest('GET', '/volumes/detail?all_tenants=1');
    const restIds = (detail.json!['volumes'] as { id: string; migration_status: string | null }[])
      .filter((v) => !(v.migration_status ?? '').startsWith('target:'))
      .map((v) => v.id)
      .sort();
    expect(vols.map((v) => v.id)).toEqual(restIds);
    for (const id of [a, b, c]) {
      const rv = await volume(id);
      const fv = vols.find((v) => v.id === id);
      expect(fv).toMatchObject({
        pool: rv['os-vol-host-attr:host'],
        volumeType: rv['volume_type'],
        sizeGiB: 1,
        status: 'available',
        projectId: RC_PROJECT,
        attached: false,
        snapshotCount: 0,
        replicated: false,
      });
      expect(fv?.volumeTypeId).toBe(types.find((t) => t.name === rv['volume_type'])?.id);
      expect(await cp.getVolume(id)).toEqual(fv);
    }
    expect((await cp.getVolume(b))?.pool).toBe(POOL_A);
    expect((await cp.getVolume(c))?.pool).toBe(POOL_B);
    expect(await cp.getVolume('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(await cp.ioCounters()).toBeNull();
  });

  test('ballast.yaml with controlPlane: cinder (noauth) opens this Cinder through the CLI factory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-cinder-cfg-'));
    try {
      const file = join(dir, 'ballast.yaml');
      writeFileSync(
        file,
        ['apiVersion: ballast/v1', 'controlPlane:', '  type: cinder', '  authType: noauth', `  endpoint: ${RC_ENDPOINT}`, `  projectId: "${RC_PROJECT}"`, '  userId: admin', '  maxMicroversion: "3.59"', ''].join('\n'),
      );
      const err: string[] = [];
      const io: CliIo = { stdout: () => undefined, stderr: (s) => void err.push(s), setExitCode: () => undefined, isTTY: false };
      const opened = await openControlPlane(io, { config: file }, {});
      try {
        expect([opened.controlPlane.kind, opened.controlPlane.name]).toEqual(['cinder', `${RC_ENDPOINT}/${RC_PROJECT}`]);
        expect((await opened.controlPlane.listPools()).map((p) => p.name)).toEqual(expect.arrayContaining([POOL_A, POOL_B]));
        expect(opened.config.backends).toEqual([]);
        expect(err).toEqual([]);
      } finally {
        await opened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('migrates a volume to the other back-end: done, host changed, migration_status success, data unchanged', async () => {
    const id = await newVolume('migrate');
    const before = await volume(id);
    const from = String(before['os-vol-host-attr:host']);
    const to = other(from);
    const sum = await volumeChecksum(id);

    const handle = await cp.startMove({ op: 'migrate', volumeId: id, host: to, forceHostCopy: false, lockVolume: false });
    // While it runs, the temporary target row must never be listed.
    const mid = await cp.listVolumes();
    expect(mid.filter((v) => v.name === `ballast-it-${RUN}-migrate`).map((v) => v.id)).toEqual([id]);
    const end = await pollToEnd(handle);
    expect(end, seen.get(id)?.join(' | ')).toMatchObject({ state: 'done', error: null });
    expect(seen.get(id)?.join(' | ')).toMatch(/running \S+: migration_status (starting|migrating|completing)/);

    const after = await volume(id);
    expect(after['os-vol-host-attr:host']).toBe(to);
    expect(after['migration_status']).toBe('success');
    expect(await volumeChecksum(id)).toEqual(sum);
    expect((await cp.getVolume(id))?.pool).toBe(to);

    // Again, back: now the volume starts with an old 'success' that must not count as done.
    const back = await cp.startMove({ op: 'migrate', volumeId: id, host: from, forceHostCopy: true, lockVolume: true });
    const first = await cp.moveProgress(back);
    expect(first.state).toBe('running');
    const cancel = await cp.cancelMove(back);
    expect(cancel.cancelled).toBe(false);
    expect(cancel.reason).toMatch(/cannot|no API to cancel|already ended/);
    expect(await pollToEnd(back)).toMatchObject({ state: 'done' });
    const again = await volume(id);
    expect([again['os-vol-host-attr:host'], again['migration_status'], again['status']]).toEqual([from, 'success', 'available']);
    expect(await volumeChecksum(id)).toEqual(sum);
  });

  test('retypes on-demand across back-ends: type-a on nfs-a becomes type-b on nfs-b, data unchanged', async () => {
    const id = await newVolume('retype', 'type-a');
    expect((await volume(id))['os-vol-host-attr:host']).toBe(POOL_A);
    const sum = await volumeChecksum(id);
    const handle = await cp.startMove({ op: 'retype', volumeId: id, newVolumeType: 'type-b', migrationPolicy: 'on-demand' });
    expect(await pollToEnd(handle)).toMatchObject({ state: 'done', error: null });
    const after = await volume(id);
    expect([after['volume_type'], after['os-vol-host-attr:host'], after['migration_status']]).toEqual(['type-b', POOL_B, 'success']);
    expect(await volumeChecksum(id)).toEqual(sum);
  });

  test('a refused move surfaces Cinder’s own error, typed, and changes nothing', async () => {
    const id = await newVolume('refused');
    const host = String((await volume(id))['os-vol-host-attr:host']);
    const cases = [
      { host, code: 'INVALID_VOLUME', text: /HTTP 400.*destination host\/cluster must be different than the current one/ },
      { host: 'realcinder@nope#nope', code: 'INVALID_HOST', text: /HTTP 400.*No available service named 'realcinder@nope#nope'/ },
    ];
    for (const c of cases) {
      const err = await cp.startMove({ op: 'migrate', volumeId: id, host: c.host, forceHostCopy: false, lockVolume: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isAppError(err) ? [err.code, err.details['httpStatus']] : err).toEqual([c.code, 400]);
      expect((err as Error).message).toMatch(c.text);
      const v = await volume(id);
      expect([v['os-vol-host-attr:host'], v['status'], v['migration_status']]).toEqual([host, 'available', null]);
    }
    const missing = await cp.startMove({ op: 'retype', volumeId: '00000000-0000-0000-0000-000000000000', newVolumeType: 'type-b', migrationPolicy: 'never' }).catch((e: unknown) => e);
    expect(isAppError(missing) && missing.code).toBe('VOLUME_NOT_FOUND');
  });

  test('an attached (in-use) volume: Cinder accepts, then fails without Nova; the adapter says so per move', async () => {
    const id = await newVolume('in-use');
    const from = String((await volume(id))['os-vol-host-attr:host']);
    // Attach as Nova would, without Nova: os-reserve then os-attach to a made-up server.
    expect((await rest('POST', `/volumes/${id}/action`, { 'os-reserve': {} })).status).toBe(202);
    const attach = { 'os-attach': { instance_uuid: '11111111-2222-3333-4444-555555555555', mountpoint: '/dev/vdb', mode: 'rw' } };
    expect((await rest('POST', `/volumes/${id}/action`, attach)).status).toBe(202);
    expect((await cp.getVolume(id))).toMatchObject({ status: 'in-use', attached: true });
    try {
      const h = await cp.startMove({ op: 'migrate', volumeId: id, host: other(from), forceHostCopy: false, lockVolume: false });
      const p = await pollToEnd(h);
      expect(p.state, seen.get(id)?.join(' | ')).toBe('failed');
      expect(p.error?.code).toBe('MIGRATION_FAILED');
      expect(p.error?.message).toMatch(/attached: Cinder moves in-use volumes only through Nova/);
      const v = await volume(id);
      expect([v['status'], v['os-vol-host-attr:host'], v['migration_status']]).toEqual(['in-use', from, 'error']);
    } finally {
      const v = await volume(id);
      const att = (v['attachments'] as { attachment_id: string }[])[0];
      if (att) expect((await rest('POST', `/volumes/${id}/action`, { 'os-detach': { attachment_id: att.attachment_id } })).status).toBe(202);
    }
  });

  test('a migrate the type pins elsewhere fails later with the reason; a retype with never does nothing and says so', async () => {
    const id = await newVolume('pinned', 'type-a');
    const pinned = await cp.startMove({ op: 'migrate', volumeId: id, host: POOL_B, forceHostCopy: false, lockVolume: false });
    const p1 = await pollToEnd(pinned);
    expect(p1.state, seen.get(id)?.join(' | ')).toBe('failed');
    expect(p1.error?.code).toBe('MIGRATION_FAILED');
    expect(p1.error?.message).toMatch(/pins volume_backend_name=nfs-a.*reports nfs-b.*retype/);
    expect((await volume(id))['os-vol-host-attr:host']).toBe(POOL_A);

    const never = await cp.startMove({ op: 'retype', volumeId: id, newVolumeType: 'type-b', migrationPolicy: 'never' });
    const p2 = await pollToEnd(never, 90_000);
    expect(p2.state, seen.get(id)?.join(' | ')).toBe('failed');
    expect(p2.error).toMatchObject({ code: 'RETYPE_NOT_ALLOWED', retryable: false });
    expect(p2.error?.message).toMatch(/migration_policy never/);
    const v = await volume(id);
    expect([v['volume_type'], v['os-vol-host-attr:host']]).toEqual(['type-a', POOL_A]);
  });
});
