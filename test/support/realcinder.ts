/**
 * A real OpenStack Cinder for integration tests: runs `scripts/realcinder/setup.sh` (a copy of the team's `../shared/realcinder/`) (Debian's
 * Cinder 21 in noauth mode, two NFS-driver back-ends on loop-mounted file systems, RabbitMQ,
 * MariaDB; idempotent, installs packages on first run) and talks to it with plain fetch, never
 * through the adapter under test. Never skips: when Cinder cannot be brought up, `startRealCinder`
 * throws with the end of the setup log.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

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
  /** Seconds the setup took. */
  readonly setupSeconds: number;
  /** Whether this process started Cinder (and so stops it in `stop`). */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

/** Brings the real Cinder up (or finds it up). Throws, loudly, when it cannot. */
export async function startRealCinder(): Promise<RealCinderHandle> {
  const t0 = Date.now();
  const setup = join(REALCINDER_DIR, 'setup.sh');
  if (!existsSync(setup)) throw new Error(`the real-Cinder setup script ${setup} is missing (set REALCINDER_DIR)`);
  if (process.getuid?.() !== 0) throw new Error(`the real-Cinder tests must run as root: ${setup} installs packages and loop-mounts file systems`);
  const wasUp = await apiUp();
  const r = await run('bash', [setup], 8 * 60_000);
  if (r.code !== 0 || !(await apiUp())) {
    throw new Error(`could not bring up the real Cinder with ${setup} (exit ${String(r.code)}):\n${r.out.split('\n').slice(-30).join('\n')}`);
  }
  return {
    setupSeconds: (Date.now() - t0) / 1000,
    startedHere: !wasUp,
    stop: async () => {
      if (wasUp) return;
      const t = await run('bash', [join(REALCINDER_DIR, 'teardown.sh')], 120_000);
      if (t.code !== 0) throw new Error(`teardown.sh failed (exit ${String(t.code)}):\n${t.out.split('\n').slice(-20).join('\n')}`);
    },
  };
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
export async function createVolume(name: string, sizeGiB: number, volumeType?: string): Promise<string> {
  const r = await rest('POST', '/volumes', { volume: { name, size: sizeGiB, ...(volumeType ? { volume_type: volumeType } : {}) } });
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
