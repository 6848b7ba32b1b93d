/**
 * A real OpenStack Cinder for integration tests: runs `scripts/realcinder/setup.sh` (a copy of the team's `../shared/realcinder/`) (Debian's
 * Cinder 21 in noauth mode, two NFS-driver back-ends on loop-mounted file systems, RabbitMQ,
 * MariaDB; idempotent, installs packages on first run) and talks to it with plain fetch, never
 * through the adapter under test. Never skips: when Cinder cannot be brought up, `startRealCinder`
 * throws with the end of the setup log.
 *
 * Several test files share this one Cinder, also at the same time (vitest's parallel forks): setup
 * and teardown run under an exclusive `flock`, every user registers itself, and only the last user
 * tears Cinder down, and only when the tests brought it up (see {@link startRealCinder}).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import fsExt from 'fs-ext';

export const REALCINDER_DIR = process.env['REALCINDER_DIR'] ?? join(process.cwd(), 'scripts', 'realcinder');
export const RC_PROJECT = '0123456789abcdef0123456789abcdef';
export const RC_ENDPOINT = 'http://127.0.0.1:8776/v3';
const API = `${RC_ENDPOINT}/${RC_PROJECT}`;
const HEADERS = { 'X-Auth-Token': `admin:${RC_PROJECT}`, 'OpenStack-API-Version': 'volume 3.59', 'Content-Type': 'application/json' };
/** The connector the README uses to "attach" a volume on this host. */
const CONNECTOR = { host: 'localhost', ip: '127.0.0.1', platform: 'x86_64', os_type: 'linux', multipath: false };

export interface RestAnswer {
  readonly status: number;
  readonly json: Record<string, unknown> | null;
}

/** One REST call to the real Cinder (noauth admin). */
export async function rest(method: string, path: string, body?: unknown): Promise<RestAnswer> {
  const res = await fetch(`${API}${path}`, { method, headers: HEADERS, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** `GET /volumes/{id}`'s volume. */
export async function volume(id: string): Promise<Record<string, unknown>> {
  const r = await rest('GET', `/volumes/${id}`);
  if (r.status !== 200) throw new Error(`GET volume ${id}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json!['volume'] as Record<string, unknown>;
}

async function apiUp(): Promise<boolean> {
  try {
    const r = await fetch('http://127.0.0.1:8776/', { signal: AbortSignal.timeout(3_000) });
    return r.status === 300;
  } catch {
    return false;
  }
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, out });
    });
  });
}

export interface RealCinderHandle {
  /** Seconds the setup took (waiting for another test file's setup included). */
  readonly setupSeconds: number;
  /** Whether this process brought Cinder up (it may still not be the one that stops it). */
  readonly startedHere: boolean;
  /** Unregisters this user; the last user stops Cinder if the tests brought it up. */
  stop(): Promise<void>;
}

/** Where the test files sharing Cinder coordinate: `lock`, `users/<pid>-<token>`, `started-by-tests`. */
export const REALCINDER_COORD_DIR = process.env['REALCINDER_COORD_DIR'] ?? '/var/tmp/realcinder-tests';
const USERS_DIR = join(REALCINDER_COORD_DIR, 'users');
/** Present while a Cinder that the tests (not CI, not a person) brought up is running. */
const MARKER = join(REALCINDER_COORD_DIR, 'started-by-tests');

/** Runs `fn` holding an exclusive flock on the coordination lock (released when the fd closes, also on a crash). */
async function withCoordLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(USERS_DIR, { recursive: true });
  const fd = openSync(join(REALCINDER_COORD_DIR, 'lock'), 'a');
  try {
    await new Promise<void>((resolveLock, reject) => fsExt.flock(fd, 'ex', (e) => (e ? reject(e) : resolveLock())));
    return await fn();
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Registered users whose process still lives; removes the registrations of dead ones (a crashed fork). */
function liveUsers(): string[] {
  const live: string[] = [];
  for (const f of readdirSync(USERS_DIR)) {
    if (pidAlive(Number(f.split('-')[0]))) live.push(f);
    else rmSync(join(USERS_DIR, f), { force: true });
  }
  return live;
}

/**
 * Brings the real Cinder up (or finds it up) and registers this process as one of its users.
 * Throws, loudly, when it cannot. Under the coordination lock, so two test files starting at once
 * do not run setup.sh side by side; `stop()` of the last user runs teardown.sh, but only when a
 * test brought Cinder up (CI or a person who started it keeps it), and never with
 * `REALCINDER_KEEP=1`.
 */
export async function startRealCinder(): Promise<RealCinderHandle> {
  const t0 = Date.now();
  const setup = join(REALCINDER_DIR, 'setup.sh');
  if (!existsSync(setup)) throw new Error(`the real-Cinder setup script ${setup} is missing (set REALCINDER_DIR)`);
  if (process.getuid?.() !== 0) throw new Error(`the real-Cinder tests must run as root: ${setup} installs packages and loop-mounts file systems`);
  return withCoordLock(async () => {
    liveUsers();
    const wasUp = await apiUp();
    const r = await run('bash', [setup], 8 * 60_000);
    if (r.code !== 0 || !(await apiUp())) {
      throw new Error(`could not bring up the real Cinder with ${setup} (exit ${String(r.code)}):\n${r.out.split('\n').slice(-30).join('\n')}`);
    }
    if (!wasUp) writeFileSync(MARKER, `${process.pid}\n`);
    // Cinder's default quota (10 volumes a project) is too small for test files running side by side.
    const q = await rest('PUT', `/os-quota-sets/${RC_PROJECT}`, { quota_set: { volumes: -1, gigabytes: -1, snapshots: -1 } });
    if (q.status !== 200) throw new Error(`could not lift the project's quota: HTTP ${q.status} ${JSON.stringify(q.json)}`);
    const me = `${process.pid}-${randomBytes(4).toString('hex')}`;
    writeFileSync(join(USERS_DIR, me), '');
    let stopped = false;
    return {
      setupSeconds: (Date.now() - t0) / 1000,
      startedHere: !wasUp,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await withCoordLock(async () => {
          rmSync(join(USERS_DIR, me), { force: true });
          if (liveUsers().length > 0 || !existsSync(MARKER) || process.env['REALCINDER_KEEP'] === '1') return;
          const t = await run('bash', [join(REALCINDER_DIR, 'teardown.sh')], 120_000);
          if (t.code !== 0) throw new Error(`teardown.sh failed (exit ${String(t.code)}):\n${t.out.split('\n').slice(-20).join('\n')}`);
          rmSync(MARKER, { force: true });
        });
      },
    };
  });
}

/** Polls `GET /volumes/{id}` until `pred` holds; throws with the last state on timeout. */
export async function waitForVolume(id: string, pred: (v: Record<string, unknown>) => boolean, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  let last: Record<string, unknown> = {};
  while (Date.now() < until) {
    last = await volume(id);
    if (pred(last)) return last;
    if (last['status'] === 'error') throw new Error(`volume ${id} went to status error`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`volume ${id}: timed out; last status ${String(last['status'])} migration_status ${String(last['migration_status'])}`);
}

/** Creates a volume through the REST API and waits until it is available. Returns its id. */
export async function createVolume(name: string, sizeGiB: number, volumeType?: string, metadata?: Readonly<Record<string, string>>): Promise<string> {
  const r = await rest('POST', '/volumes', { volume: { name, size: sizeGiB, ...(volumeType ? { volume_type: volumeType } : {}), ...(metadata ? { metadata } : {}) } });
  if (r.status !== 202) throw new Error(`create volume ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  const id = (r.json!['volume'] as { id: string }).id;
  await waitForVolume(id, (v) => v['status'] === 'available', 90_000);
  return id;
}

/** The file behind a volume, through `os-initialize_connection` (README: mount_point_base/md5(export)/name). */
async function volumeFile(id: string): Promise<string> {
  const r = await rest('POST', `/volumes/${id}/action`, { 'os-initialize_connection': { connector: CONNECTOR } });
  if (r.status !== 200) throw new Error(`initialize_connection ${id}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  const info = r.json!['connection_info'] as { data: { export: string; name: string }; mount_point_base?: string };
  const base = info.mount_point_base ?? (info.data as { mount_point_base?: string }).mount_point_base;
  if (!base) throw new Error(`initialize_connection ${id}: no mount_point_base in ${JSON.stringify(info)}`);
  const t = await rest('POST', `/volumes/${id}/action`, { 'os-terminate_connection': { connector: CONNECTOR } });
  if (t.status !== 202) throw new Error(`terminate_connection ${id}: HTTP ${t.status}`);
  return join(base, createHash('md5').update(info.data.export).digest('hex'), info.data.name);
}

/** Writes `chunks` (offset → bytes) into the volume's data, fsynced. */
export async function writeVolume(id: string, chunks: readonly { offset: number; bytes: Buffer }[]): Promise<void> {
  const fh = await open(await volumeFile(id), 'r+');
  try {
    for (const c of chunks) await fh.write(c.bytes, 0, c.bytes.length, c.offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** SHA-256 of the volume's whole data, and its length. */
export async function volumeChecksum(id: string): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(await volumeFile(id), 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(8 * 1024 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { sha256: hash.digest('hex'), bytes: pos };
  } finally {
    await fh.close();
  }
}

/**
 * SHA-256 over the given regions of the volume's data (in order), and the data's length: for
 * tests that wrote a few MiB into a 1 GiB volume, where hashing the whole of it (8 s per GiB on a
 * loaded machine) costs too much. Include a region that was never written to check it stays zero.
 */
export async function regionChecksum(id: string, regions: readonly { offset: number; length: number }[]): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(await volumeFile(id), 'r');
  try {
    const hash = createHash('sha256');
    for (const r of regions) {
      const buf = Buffer.alloc(r.length);
      const { bytesRead } = await fh.read(buf, 0, r.length, r.offset);
      hash.update(buf.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), bytes: (await fh.stat()).size };
  } finally {
    await fh.close();
  }
}

/** Root of the real Cinder's data (setup.sh's RC_BASE). */
export const REALCINDER_BASE = process.env['RC_BASE'] ?? '/var/tmp/realcinder';

/** Every back-end file named after the volume (`<RC_BASE>/mnt/<md5(export)>/volume-<id>`): one when it lives in exactly one place. */
export function volumeFiles(volumeId: string): string[] {
  const mnt = join(REALCINDER_BASE, 'mnt');
  return readdirSync(mnt)
    .map((d) => join(mnt, d, `volume-${volumeId}`))
    .filter((f) => existsSync(f))
    .sort();
}

/**
 * How many migrations Cinder itself carried out for a volume, from its own logs: every
 * `os-migrate_volume` or migrating `os-retype` creates a target volume on the destination, and
 * cinder-volume logs that creation under the request id of the action that caused it. So this
 * counts the distinct request ids of `POST /volumes/{id}/action` (cinder-api.log) under which a
 * volume was created (cinder-volume.log). Independent of Ballast's own journal.
 */
export function migrationsStarted(volumeId: string): number {
  const logs = join(REALCINDER_BASE, 'logs');
  const reqOf = (line: string) => /\[(?:None )?(req-[0-9a-f-]+)/.exec(line)?.[1] ?? null;
  const actions = new Set<string>();
  for (const line of readFileSync(join(logs, 'cinder-api.log'), 'utf8').split('\n')) {
    if (line.includes(` POST `) && line.includes(`/volumes/${volumeId}/action`)) {
      const req = reqOf(line);
      if (req) actions.add(req);
    }
  }
  const creations = new Set<string>();
  for (const line of readFileSync(join(logs, 'cinder-volume.log'), 'utf8').split('\n')) {
    if (!line.includes(': being created as raw')) continue;
    const req = reqOf(line);
    if (req && actions.has(req) && !line.includes(`Volume ${volumeId}:`)) creations.add(req);
  }
  return creations.size;
}

/** Deletes volumes, waiting for them to go (best effort: errors are collected and thrown at the end). */
export async function deleteVolumes(ids: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const id of ids) {
    const r = await rest('DELETE', `/volumes/${id}`);
    if (r.status !== 202 && r.status !== 404) problems.push(`${id}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  }
  const until = Date.now() + 60_000;
  for (const id of ids) {
    while (Date.now() < until && (await rest('GET', `/volumes/${id}`)).status !== 404) await new Promise((r) => setTimeout(r, 500));
  }
  if (problems.length > 0) throw new Error(`could not delete volumes: ${problems.join('; ')}`);
}
