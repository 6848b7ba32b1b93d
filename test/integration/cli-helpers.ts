/**
 * Helpers for the CLI integration tests: run the REAL `ballast` CLI (the built
 * `dist/src/cli/main.js`) as child processes against a throw-away deployment made with
 * `ballast init`, and snapshot everything a refused command must not change.
 *
 * Nothing here sleeps to make an assertion true: {@link waitFor} polls a condition with a bound.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ERROR_CODES, type ErrorCode } from '../../src/shared/errors.js';

/** Root of the repository (this file is test/integration/cli-helpers.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI: `npx tsc -p .` writes it. */
export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Exit code of a commander usage error (unknown command/option, missing argument). */
export const USAGE_EXIT = 2;

/** The documented exit code of a stable error code. */
export function exitOf(code: ErrorCode): number {
  return ERROR_CODES[code].exit;
}

export interface CliResult {
  readonly args: readonly string[];
  /** Exit code; null when killed by a signal (then `signal` says which). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Environment additions/overrides (undefined removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Extra `node` flags before the CLI script (e.g. `--import`). */
  readonly nodeArgs?: readonly string[];
  /** Hard bound for one command (a hung CLI fails the test instead of hanging it). */
  readonly timeoutMs?: number;
}

/** Variables of the test runner's environment that would change what the CLI does. */
const SCRUBBED_ENV = ['BALLAST_CONFIG', 'BALLAST_FAULT', 'BALLAST_DEBUG', 'NODE_OPTIONS', 'FORCE_COLOR'];

/** Runs `node dist/src/cli/main.js ...args` with pipes (so stdout/stderr are not TTYs). */
export function runBallast(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED_ENV.includes(k)) env[k] = v;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...(opts.nodeArgs ?? []), CLI, ...args],
      { env, cwd: opts.cwd ?? tmpdir(), encoding: 'utf8', maxBuffer: 64 * MiB, timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        // A string code is a spawn failure (ENOENT, maxBuffer...), not an exit status.
        if (err && typeof err.code === 'string') return reject(err);
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const signal = (err?.signal ?? null) as NodeJS.Signals | null;
        resolve({ args, code, signal, stdout, stderr });
      },
    );
  });
}

/** A compact description of a result for assertion messages. */
export function describeResult(r: CliResult): string {
  return `ballast ${r.args.map((a) => JSON.stringify(a)).join(' ')}\n  exit: ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n  stdout: ${r.stdout.slice(0, 2000)}\n  stderr: ${r.stderr.slice(0, 2000)}`;
}

/** Parses stdout as JSON, failing with the whole result when it is not. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    throw new Error(`stdout is not JSON (${(e as Error).message}):\n${describeResult(r)}`);
  }
}

/** A deployment made with `ballast init` in a fresh temporary directory. */
export class Deployment {
  private constructor(
    /** The temporary directory (removed by {@link cleanup}). */
    readonly dir: string,
    /** Absolute path of `ballast.yaml`. */
    readonly config: string,
    /** The text `ballast init` wrote, before any test edit. */
    readonly initText: string,
  ) {}

  /** `dataDir` of the init config (`./data` beside the file). */
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Path of the SQLite state database (init config: `<dataDir>/state.db`). */
  get stateDb(): string {
    return join(this.dataDir, 'state.db');
  }

  /**
   * `ballast init <tmp>`; `extraTypesYaml` is inserted at the top of `volumeTypes:` (YAML lines,
   * indented as list items) so tests can add e.g. a type every back-end serves. Unless `warmUp` is
   * false, one command then creates the state DB before any test runs commands in parallel.
   */
  static async create(prefix: string, opts: { extraTypesYaml?: string; warmUp?: boolean } = {}): Promise<Deployment> {
    const dir = await mkdtemp(join(tmpdir(), `ballast-cli-${prefix}-`));
    try {
      const r = await runBallast(['init', dir], { cwd: dir });
      if (r.code !== 0) throw new Error(`ballast init failed:\n${describeResult(r)}`);
      const config = join(dir, 'ballast.yaml');
      const initText = await readFile(config, 'utf8');
      if (opts.extraTypesYaml) {
        const marker = '\nvolumeTypes:\n';
        if (!initText.includes(marker)) throw new Error('init config has no volumeTypes: section to extend');
        await writeFile(config, initText.replace(marker, `${marker}${opts.extraTypesYaml}`));
      }
      const d = new Deployment(dir, config, initText);
      // One command alone first, so the state DB schema exists before tests run commands in parallel:
      // concurrent first opens race on the schema (PRODUCT BUG, see the test that reproduces it).
      if (opts.warmUp !== false) await d.ok(['type', 'list']);
      return d;
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Runs the CLI with BALLAST_CONFIG pointing at this deployment and cwd = its directory. */
  run(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
    return runBallast(args, { ...opts, cwd: opts.cwd ?? this.dir, env: { BALLAST_CONFIG: this.config, ...opts.env } });
  }

  /** Runs a command that must succeed, with `--json`, and returns its parsed stdout. */
  async ok<T = Record<string, unknown>>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
    const r = await this.run(['--json', ...args], opts);
    if (r.code !== 0) throw new Error(`expected success:\n${describeResult(r)}`);
    return json<T>(r);
  }

  /** Waits for migrations started by detached workers to end, then removes the directory. */
  async cleanup(): Promise<void> {
    if (existsSync(this.stateDb)) {
      // Attached volumes have a storage daemon (and maybe an exporter) running: detach them first.
      const listed = await this.run(['--json', 'volume', 'list']);
      if (listed.code === 0) {
        for (const v of JSON.parse(listed.stdout) as { id: string; status: string }[]) {
          if (v.status === 'in-use') await this.run(['volume', 'detach', v.id]);
        }
      }
      try {
        await waitFor('no migration in flight before cleanup', async () => openMigrations(this.stateDb) === 0, { timeoutMs: 60_000 });
      } catch {
        // best effort: remove anyway
      }
    }
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Number of migrations without `finished_at`, read straight from the state database. */
export function openMigrations(stateDb: string): number {
  const db = new Database(stateDb, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT COUNT(*) AS n FROM migrations WHERE finished_at IS NULL').get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/**
 * Polls `check` until it returns true (or a value other than false/undefined/null, which is then
 * returned), at most `timeoutMs`. The short pause between polls is pacing, never the assertion.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const interval = opts.intervalMs ?? 100;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== null && v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Writes `size` random bytes to `file` and returns them. */
export async function randomFile(file: string, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  await writeFile(file, data);
  return data;
}

/** Creates a sparse file of `size` bytes (nothing allocated). */
export async function sparseFile(file: string, size: number): Promise<void> {
  const h = await open(file, 'w');
  try {
    await h.truncate(size);
  } finally {
    await h.close();
  }
}

/** Reads `length` bytes of `file` at `offset` (short at EOF). */
export async function readRegion(file: string, offset: number, length: number): Promise<Buffer> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await h.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

export function isAllZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Files whose change is not a state change: the state DB (compared by content), locks, logs. */
const FINGERPRINT_SKIP = new Set(['state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal', '.run', '.logs']);
/** Files up to this size are hashed; larger ones (sparse raw images) are compared by stat. */
const HASH_LIMIT = 16 * MiB;

/**
 * Every file and directory under the data dir (but the state DB, locks and logs): kind, size,
 * mtime, and a content hash for files up to 16 MiB. Any write, create or delete shows.
 */
export async function fingerprintDataDir(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string, top: boolean): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (top && FINGERPRINT_SKIP.has(e.name)) continue;
      const p = join(dir, e.name);
      const rel = relative(dataDir, p);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out[`${rel}/`] = 'dir';
        await walk(p, false);
      } else {
        const hash = st.size <= HASH_LIMIT ? sha256(await readFile(p)) : `blocks=${st.blocks}`;
        out[rel] = `size=${st.size} mtime=${st.mtimeMs} ${hash}`;
      }
    }
  }
  await walk(dataDir, true);
  return out;
}

/**
 * Every row of every table of the state database, read directly (schema-agnostic, deleted rows
 * included): cheaper than four CLI calls per case and stricter than the lists they print.
 */
export function dumpStateDb(stateDb: string): Record<string, unknown[]> {
  const db = new Database(stateDb, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) out[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    return out;
  } finally {
    db.close();
  }
}

/** What the CLI itself reports as state: the lists the brief names, plus the event log. */
export async function cliState(d: Deployment): Promise<Record<string, unknown>> {
  const [volumes, snapshots, migrations, events] = await Promise.all([
    d.ok(['volume', 'list', '--all']),
    d.ok(['snapshot', 'list']),
    d.ok(['migration', 'list', '--limit', '1000']),
    d.ok(['events', '--limit', '100000']),
  ]);
  return { volumes, snapshots, migrations, events };
}

/** Cheap per-case state: the whole state DB plus the data dir fingerprint. */
export async function fastState(d: Deployment): Promise<{ db: Record<string, unknown[]>; files: Record<string, string> }> {
  return { db: dumpStateDb(d.stateDb), files: await fingerprintDataDir(d.dataDir) };
}

/** Escapes a string for use inside a RegExp. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A node `--import` preload that makes `MigrationJournal.listOpen()` return every migration, as a
 * snapshot read a moment before the last ones committed their end would. Used to reproduce,
 * deterministically, the window between recovery's `listOpen()` and its taking of the lock.
 */
export async function staleJournalPreload(dir: string): Promise<string> {
  const file = join(dir, 'stale-list-open.mjs');
  const journal = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'blockstore', 'migration-journal.js')).href;
  await writeFile(
    file,
    `import { MigrationJournal } from ${JSON.stringify(journal)};\n` +
      `MigrationJournal.prototype.listOpen = function () { return this.list(100000).reverse(); };\n`,
  );
  return file;
}

/**
 * A preload that makes `Repo.listVolumes()` report volume `id` as still `creating`, as a list read
 * a moment before its create committed would; reproduces recovery's window for volume operations.
 */
export async function staleCreatingPreload(dir: string, volumeId: string): Promise<string> {
  const file = join(dir, 'stale-creating.mjs');
  const repo = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'blockstore', 'repo.js')).href;
  await writeFile(
    file,
    `import { Repo } from ${JSON.stringify(repo)};\n` +
      `const orig = Repo.prototype.listVolumes;\n` +
      `Repo.prototype.listVolumes = function (...a) {\n` +
      `  return orig.apply(this, a).map((v) => (v.id === ${JSON.stringify(volumeId)} ? { ...v, status: 'creating' } : v));\n` +
      `};\n`,
  );
  return file;
}

/**
 * A preload that makes the first `PRAGMA user_version` read return 0 on a database whose schema
 * exists: what a CLI process sees when another one, started at the same time on a fresh
 * deployment, creates the schema between this one's read and its migration transaction.
 */
export async function staleUserVersionPreload(dir: string): Promise<string> {
  const file = join(dir, 'stale-user-version.mjs');
  const sqlite = pathToFileURL(join(REPO_ROOT, 'node_modules', 'better-sqlite3', 'lib', 'index.js')).href;
  await writeFile(
    file,
    `import Database from ${JSON.stringify(sqlite)};\n` +
      `const orig = Database.prototype.pragma;\n` +
      `let stale = true;\n` +
      `Database.prototype.pragma = function (source, options) {\n` +
      `  // Only a read outside a transaction can be stale: inside BEGIN IMMEDIATE it is authoritative.\n` +
      `  if (stale && !this.inTransaction && /^\\s*user_version\\s*$/i.test(source)) {\n` +
      `    stale = false;\n` +
      `    return options && options.simple ? 0 : [{ user_version: 0 }];\n` +
      `  }\n` +
      `  return orig.call(this, source, options);\n` +
      `};\n`,
  );
  return file;
}
