/**
 * One `qemu-storage-daemon` (QSD) per attached volume, serving it over NBD on a unix socket the way
 * a VM's disk is served, driven over QMP.
 *
 * The daemon is spawned detached (own session, stdio to a log file, not waited on), so it outlives
 * the Ballast process; its pidfile, sockets and a JSON state file live in `runDir` under the
 * daemon's name, and `StorageDaemon.find` connects to it again after a restart. `--daemonize` is not
 * used: its double fork hands the daemon to PID 1, which does not always reap (a zombie then looks
 * alive), while a direct child is reaped by Node for as long as Ballast runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError, isAppError } from '../shared/index.js';
import { absoluteSource, blockdevOptions, checkName, generationOf, nbdUnixAddress, nodeName, qemuOptValue } from './block-nodes.js';
import { cancelMirrorJob, completeMirrorJob, queryMirrorJobs, startMirror, type MirrorHost } from './live-mirror.js';
import { commandLineOf, isProcessAlive, pollUntil } from './process.js';
import { QmpClient } from './qmp-client.js';
import type {
  BlockSource,
  CancelMirrorResult,
  MirrorJobInfo,
  MirrorOptions,
  MirrorResult,
  StorageDaemonState,
} from './types.js';

/** The executable; Debian ships it in `qemu-system-common`. */
export const QSD_BINARY = 'qemu-storage-daemon';

const EXPORT_ID = 'exp0';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Options of {@link StorageDaemon.start}. */
export interface StartOptions {
  /** Directory for the daemon's sockets, pidfile, state and log (created if missing). */
  readonly runDir: string;
  /** Daemon name, unique in `runDir` (file names derive from it). */
  readonly name: string;
  readonly source: BlockSource;
  /** NBD export name consumers ask for. */
  readonly exportName: string;
  readonly writable: boolean;
  /** Executable to run (default `qemu-storage-daemon` from PATH). */
  readonly binary?: string;
}

/** Where a daemon's files are. */
export interface DaemonLocation {
  readonly runDir: string;
  readonly name: string;
}

/** Options of {@link StorageDaemon.stop}. */
export interface StopOptions {
  /**
   * Drop connected consumers (`block-export-del` mode `hard`) and stop even during a mirror.
   * Without it, a connected consumer or a running mirror makes `stop` fail with INVALID_VOLUME and
   * the daemon keeps serving.
   */
  readonly force?: boolean;
}

function pathsOf(runDir: string, name: string) {
  return {
    qmpSocket: join(runDir, `${name}.qmp`),
    nbdSocket: join(runDir, `${name}.nbd`),
    pidFile: join(runDir, `${name}.pid`),
    stateFile: join(runDir, `${name}.json`),
    logFile: join(runDir, `${name}.log`),
  };
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function logTail(path: string): Promise<string> {
  const text = (await readText(path).catch(() => null)) ?? '';
  return text.trim().split('\n').slice(-5).join(' | ');
}

/** True when `pid` is a live qemu-storage-daemon whose command line names `qmpSocket`. */
function isOurDaemon(pid: number, qmpSocket: string): boolean {
  if (!isProcessAlive(pid)) return false;
  const cmd = commandLineOf(pid);
  return cmd === null || cmd.includes(qemuOptValue(qmpSocket)); // a reused PID runs something else
}

async function readPid(pidFile: string): Promise<number | null> {
  const text = await readText(pidFile);
  if (text === null) return null;
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * A running qemu-storage-daemon serving one volume over NBD. Create with {@link StorageDaemon.start}
 * or reconnect with {@link StorageDaemon.find}.
 */
export class StorageDaemon {
  private qmpClient: QmpClient;
  private state: StorageDaemonState;
  private child: ChildProcess | null;
  private busy: string | null = null;

  private constructor(qmp: QmpClient, state: StorageDaemonState, child: ChildProcess | null) {
    this.qmpClient = qmp;
    this.state = state;
    this.child = child;
  }

  /**
   * Starts a daemon serving `source` as export `exportName`: spawns QSD detached with a QMP socket
   * `<runDir>/<name>.qmp` and pidfile `<runDir>/<name>.pid`, waits (bounded, 10 s) until QMP
   * answers, then adds the source node `vol-0`, starts the NBD server on `<runDir>/<name>.nbd` and
   * adds export `exp0`. Fails with INVALID_INPUT for bad names or socket paths too long,
   * INVALID_VOLUME when a daemon of that name already runs, DRIVER_ERROR when QEMU is missing or
   * refuses (nothing is left running then).
   */
  static async start(options: StartOptions): Promise<StorageDaemon> {
    checkName('daemon name', options.name);
    checkName('export name', options.exportName);
    const runDir = resolve(options.runDir);
    const source = absoluteSource(options.source);
    const paths = pathsOf(runDir, options.name);
    for (const p of [paths.qmpSocket, paths.nbdSocket]) {
      if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
        throw new AppError('INVALID_INPUT', `socket path too long for a unix socket (${Buffer.byteLength(p)} > ${MAX_SOCKET_PATH} bytes): ${p}`);
      }
    }
    await mkdir(runDir, { recursive: true });
    const oldPid = await readPid(paths.pidFile);
    if (oldPid !== null && isOurDaemon(oldPid, paths.qmpSocket)) {
      throw new AppError('INVALID_VOLUME', `a storage daemon named ${options.name} already runs in ${runDir} (pid ${oldPid})`, {
        details: { pid: oldPid, runDir, name: options.name },
      });
    }
    await removeFiles(paths); // stale leftovers of a daemon that died

    const first = nodeName(0);
    let state: StorageDaemonState = {
      version: 1,
      name: options.name,
      runDir,
      pid: 0,
      ...paths,
      exportId: EXPORT_ID,
      exportName: options.exportName,
      writable: options.writable,
      address: nbdUnixAddress(options.exportName, paths.nbdSocket),
      activeNode: first,
      nodes: { [first]: source },
      mirror: null,
      startedAtMs: Date.now(),
    };
    // Recorded before the spawn, so a daemon with a pidfile always has its state next to it.
    await writeState(state);

    let child: ChildProcess;
    try {
      child = await spawnDaemon(options.binary ?? QSD_BINARY, paths);
    } catch (e) {
      await removeFiles(paths);
      throw e;
    }
    const pid = child.pid!;
    let qmp: QmpClient | null = null;
    try {
      let exited: string | null = null;
      child.once('exit', (code, sig) => {
        exited = sig ? `signal ${sig}` : `exit code ${code}`;
      });
      qmp = await pollUntil(
        async () => {
          if (exited) {
            throw new AppError('DRIVER_ERROR', `qemu-storage-daemon ${options.name} exited at start (${exited}): ${await logTail(paths.logFile)}`);
          }
          try {
            return await QmpClient.connect(paths.qmpSocket, { timeoutMs: 2000 });
          } catch (e) {
            if (isAppError(e) && e.code === 'DRIVER_ERROR') return undefined; // not listening yet
            throw e;
          }
        },
        { timeoutMs: START_TIMEOUT_MS, intervalMs: 25, what: `the QMP socket of storage daemon ${options.name}` },
      );
      state = { ...state, pid };
      await writeState(state);
      await qmp.execute('blockdev-add', blockdevOptions(first, source));
      await qmp.execute('nbd-server-start', { addr: { type: 'unix', data: { path: paths.nbdSocket } } });
      await qmp.execute('block-export-add', {
        type: 'nbd',
        id: EXPORT_ID,
        'node-name': first,
        name: options.exportName,
        writable: options.writable,
      });
      return new StorageDaemon(qmp, state, child);
    } catch (e) {
      qmp?.close();
      await killAndWait(pid, child);
      await removeFiles(paths);
      throw isAppError(e) && e.code !== 'DRIVER_ERROR'
        ? e
        : new AppError('DRIVER_ERROR', `could not start storage daemon ${options.name}: ${(e as Error).message}`, {
            cause: e,
            details: { runDir, name: options.name },
          });
    }
  }

  /**
   * Connects again to the daemon `name` in `runDir` (after a restart of Ballast): resolves null
   * when none runs (no pidfile, or its process is gone). A live daemon whose QMP does not answer,
   * or that has no state file, fails with DRIVER_ERROR (the caller decides whether to kill it).
   */
  static async find(location: DaemonLocation): Promise<StorageDaemon | null> {
    checkName('daemon name', location.name);
    const runDir = resolve(location.runDir);
    const paths = pathsOf(runDir, location.name);
    const pid = await readPid(paths.pidFile);
    if (pid === null || !isOurDaemon(pid, paths.qmpSocket)) return null;
    const text = await readText(paths.stateFile);
    if (text === null) {
      throw new AppError('DRIVER_ERROR', `storage daemon ${location.name} (pid ${pid}) runs but ${paths.stateFile} is missing`, {
        details: { pid, runDir, name: location.name },
      });
    }
    const recorded = JSON.parse(text) as StorageDaemonState;
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(paths.qmpSocket, { timeoutMs: 5000 });
    } catch (e) {
      throw new AppError('DRIVER_ERROR', `storage daemon ${location.name} (pid ${pid}) does not answer on QMP: ${(e as Error).message}`, {
        cause: e,
        details: { pid, runDir, name: location.name },
      });
    }
    const d = new StorageDaemon(qmp, { ...recorded, pid }, null);
    try {
      await d.reconcile();
    } catch (e) {
      qmp.close();
      throw e;
    }
    return d;
  }

  /** The QMP session (for callers that need a command this class does not wrap). */
  get qmp(): QmpClient {
    return this.qmpClient;
  }

  /** PID of the daemon process. */
  get pid(): number {
    return this.state.pid;
  }

  /** Consumer address: `nbd+unix:///<exportName>?socket=<path>`. */
  get address(): string {
    return this.state.address;
  }

  /** The recorded state as plain JSON (store it with the attachment). */
  describe(): StorageDaemonState {
    return structuredClone(this.state);
  }

  /** The node export `exp0` serves now, from `query-block-exports` (a `#block…` filter during a mirror). */
  async activeNode(): Promise<string> {
    const node = await this.exportNode();
    if (node === undefined) throw new AppError('DRIVER_ERROR', `storage daemon ${this.state.name} has no export ${EXPORT_ID}`);
    return node;
  }

  /** Node names QEMU has open (`query-named-block-nodes`, format and protocol nodes). */
  async nodeNames(): Promise<string[]> {
    const nodes = await this.qmpClient.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', { flat: true });
    return nodes.map((n) => n['node-name']);
  }

  /**
   * Copies the volume live to `target` and pivots the export to it (see live-mirror.ts for the
   * sequence). Resolves once the export serves the target and the old node is released. Before the
   * pivot, an error or abort cancels the job, removes the target node and rejects with CANCELLED or
   * MIGRATION_FAILED; the export keeps serving the source. If the QMP connection breaks, rejects with
   * DRIVER_ERROR and the job keeps running in the daemon: `find` it again, then `queryJobs` and
   * `completeMirror` or `cancelMirror`.
   */
  async mirrorTo(target: BlockSource, options: MirrorOptions = {}): Promise<MirrorResult> {
    return this.exclusive('mirror', () => startMirror(this.host(), absoluteSource(target), options));
  }

  /** The block jobs QEMU knows, with the recorded mirror each belongs to. */
  async queryJobs(): Promise<MirrorJobInfo[]> {
    return queryMirrorJobs(this.qmpClient, this.state.mirror);
  }

  /**
   * Drives a mirror started by an earlier process to its pivot (waits for READY, `job-complete`,
   * checks, releases the old node), or finishes one whose pivot already happened. Errors and abort
   * before the pivot roll back as in {@link mirrorTo}.
   */
  async completeMirror(jobId: string, options: Omit<MirrorOptions, 'jobId'> = {}): Promise<MirrorResult> {
    return this.exclusive('mirror', () => completeMirrorJob(this.host(), jobId, options));
  }

  /**
   * Cancels mirror `jobId` (e.g. one left by a crashed process): `job-cancel`, wait until it ends,
   * remove the target node. If the pivot had already happened it is finished instead
   * (`cancelled: false`): the export serves the target and the source is released.
   */
  async cancelMirror(jobId: string): Promise<CancelMirrorResult> {
    return this.exclusive('cancel', () => cancelMirrorJob(this.host(), jobId));
  }

  /**
   * Stops the daemon: `block-export-del` (waits for BLOCK_EXPORT_DELETED), `quit`, waits for the
   * process to exit (SIGTERM, then SIGKILL, if it does not within 10 s), removes its sockets,
   * pidfile, state and log. See {@link StopOptions.force} for consumers still connected.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const force = options.force === true;
    if (this.qmpClient.closed) {
      // After disconnect(): talk to it again if it answers, else it gets SIGTERM at once.
      const again = await QmpClient.connect(this.state.qmpSocket, { timeoutMs: 2000 }).catch(() => null);
      if (again) this.qmpClient = again;
    }
    const qmp = this.qmpClient;
    let quitSent = false;
    if (!qmp.closed) {
      if (!force) {
        const jobs = await qmp.execute<unknown[]>('query-jobs');
        if (this.busy === 'mirror' || jobs.length > 0) {
          throw new AppError('INVALID_VOLUME', `storage daemon ${this.state.name} is mirroring; cancel or complete the mirror first`, {
            details: { name: this.state.name },
          });
        }
      }
      const exportPresent = (await this.exportNode()) !== undefined;
      if (exportPresent) {
        const mark = qmp.eventSeq;
        try {
          await qmp.execute('block-export-del', { id: EXPORT_ID, mode: force ? 'hard' : 'safe' });
        } catch (e) {
          if (!force) {
            throw new AppError('INVALID_VOLUME', `storage daemon ${this.state.name} still has consumers connected: ${(e as Error).message}`, {
              cause: e,
              details: { name: this.state.name },
            });
          }
        }
        await qmp
          .waitForEvent('BLOCK_EXPORT_DELETED', (e) => e.data['id'] === EXPORT_ID, { since: mark, timeoutMs: STOP_TIMEOUT_MS })
          .catch((e: unknown) => {
            if (!force) throw e;
          });
      }
      await qmp.execute('nbd-server-stop').catch(() => undefined);
      await qmp.execute('quit').catch(() => undefined); // the reply may lose the race with the close
      qmp.close();
      quitSent = true;
    }
    await killAndWait(this.state.pid, this.child, quitSent ? STOP_TIMEOUT_MS : 0);
    await removeFiles(this.state);
  }

  /**
   * Closes the QMP connection and leaves the daemon running (what a restart of Ballast does); use
   * {@link StorageDaemon.find} to connect again. Any call in progress fails with DRIVER_ERROR.
   */
  disconnect(): void {
    this.qmpClient.close();
    this.child?.unref();
    this.child = null;
  }

  /** Export `exp0`'s node, or undefined when there is no such export. */
  private async exportNode(): Promise<string | undefined> {
    const exports = await this.qmpClient.execute<Array<{ id: string; 'node-name': string }>>('query-block-exports');
    return exports.find((x) => x.id === EXPORT_ID)?.['node-name'];
  }

  /** Aligns the recorded state with QEMU after a reconnect: drops records of nodes that are gone. */
  private async reconcile(): Promise<void> {
    const names = new Set(await this.nodeNames());
    const nodes = Object.fromEntries(Object.entries(this.state.nodes).filter(([n]) => names.has(n)));
    const exported = await this.exportNode();
    const activeNode = exported !== undefined && names.has(exported) && exported in nodes ? exported : this.state.activeNode;
    await this.save({ nodes, activeNode });
  }

  private async save(patch: Partial<Pick<StorageDaemonState, 'activeNode' | 'nodes' | 'mirror'>>): Promise<void> {
    this.state = { ...this.state, ...patch };
    await writeState(this.state);
  }

  private host(): MirrorHost {
    return {
      qmp: this.qmpClient,
      exportId: EXPORT_ID,
      current: () => this.state,
      save: (patch) => this.save(patch),
      newNodeName: () => {
        const gens = Object.keys(this.state.nodes)
          .concat(this.state.mirror ? [this.state.mirror.targetNode] : [])
          .map(generationOf)
          .filter((g): g is number => g !== undefined);
        return nodeName(Math.max(-1, ...gens) + 1);
      },
    };
  }

  private async exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy) {
      throw new AppError('INVALID_VOLUME', `storage daemon ${this.state.name} is busy (${this.busy} in progress)`, {
        details: { name: this.state.name },
      });
    }
    this.busy = what;
    try {
      return await fn();
    } finally {
      this.busy = null;
    }
  }
}

async function writeState(state: StorageDaemonState): Promise<void> {
  const tmp = `${state.stateFile}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, state.stateFile);
}

async function removeFiles(paths: { qmpSocket: string; nbdSocket: string; pidFile: string; stateFile: string; logFile: string }): Promise<void> {
  await Promise.all(
    [paths.qmpSocket, paths.nbdSocket, paths.pidFile, paths.stateFile, `${paths.stateFile}.tmp`, paths.logFile].map((p) => rm(p, { force: true })),
  );
}

/** Spawns QSD detached, stdio to the log file; rejects DRIVER_ERROR when it cannot be executed. */
async function spawnDaemon(binary: string, paths: ReturnType<typeof pathsOf>): Promise<ChildProcess> {
  const args = [
    '--chardev',
    `socket,id=qmp0,path=${qemuOptValue(paths.qmpSocket)},server=on,wait=off`,
    '--monitor',
    'chardev=qmp0',
    '--pidfile',
    paths.pidFile,
  ];
  const log = openSync(paths.logFile, 'a');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
    await new Promise<void>((resolveSpawn, reject) => {
      child.once('spawn', () => resolveSpawn());
      child.once('error', (e: NodeJS.ErrnoException) => {
        reject(
          new AppError(
            'DRIVER_ERROR',
            e.code === 'ENOENT'
              ? `${binary} not found on PATH (Debian: apt-get install qemu-system-common qemu-utils)`
              : `cannot run ${binary}: ${e.message}`,
            { cause: e },
          ),
        );
      });
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/**
 * Waits for `pid` to exit; after `graceMs` sends SIGTERM, then SIGKILL. With `child` (our own child
 * process) it also waits until Node has reaped it.
 */
async function killAndWait(pid: number, child: ChildProcess | null, graceMs = 0): Promise<void> {
  if (pid <= 0) return;
  const gone = (): true | undefined => (isProcessAlive(pid) ? undefined : true);
  const steps: Array<[NodeJS.Signals | null, number]> = [
    [null, graceMs],
    ['SIGTERM', 5000],
    ['SIGKILL', 5000],
  ];
  for (const [sig, ms] of steps) {
    if (sig) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
    try {
      await pollUntil(gone, { timeoutMs: ms, intervalMs: 20, what: `process ${pid} to exit` });
      break;
    } catch {
      /* next step */
    }
  }
  if (child && child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) res();
      else child.once('exit', () => res());
    });
  }
  if (isProcessAlive(pid)) throw new AppError('DRIVER_ERROR', `process ${pid} did not exit after SIGKILL`);
}
