/**
 * Live block copy of an attached volume and the pivot, the sequence proven in live-copy.md:
 *
 * 1. record the mirror (job id, source and target nodes) in the daemon's state, so a process that
 *    restarts can find and finish it;
 * 2. `blockdev-add` the target node; `blockdev-mirror` `sync: full`, `copy-mode: background` (see MIRROR_COPY_MODE)
 *    (consumer writes go to both sides synchronously, so the job converges and the pivot is short),
 *    optional `speed` (caps the bulk copy only), `auto-dismiss: false` (a failed job stays visible with
 *    its error instead of vanishing, Nova's "job gone = success" weakness);
 * 3. poll `query-block-jobs` every 200 ms for progress until BLOCK_JOB_READY;
 * 4. `job-complete`, wait BLOCK_JOB_COMPLETED, which must carry no `error`;
 * 5. `query-block-exports` must show the target node; record "target live", then `blockdev-del` the
 *    old source node.
 *
 * Before step 4 an error, BLOCK_JOB_ERROR or abort ends in `job-cancel`, a wait for the job's end, and
 * `blockdev-del` of the target: the export still serves the source. Whatever happens, the export
 * decides: the node `query-block-exports` shows is the live one, and only the other one is removed.
 */
import { AppError, isAppError, type ErrorCode } from '../shared/index.js';
import { blockdevOptions, checkName, generationOf } from './block-nodes.js';
import { delay, pollUntil } from './process.js';
import type { QmpClient, QmpEvent } from './qmp-client.js';
import type {
  BlockSource,
  CancelMirrorResult,
  MirrorJobInfo,
  MirrorOptions,
  MirrorRecord,
  MirrorResult,
  StorageDaemonState,
} from './types.js';

/** What the mirror needs of its daemon (implemented by StorageDaemon). */
export interface MirrorHost {
  readonly qmp: QmpClient;
  /** Id of the block export consumers use. */
  readonly exportId: string;
  current(): StorageDaemonState;
  /** Updates and persists the recorded state. */
  save(patch: Partial<Pick<StorageDaemonState, 'activeNode' | 'nodes' | 'mirror'>>): Promise<void>;
  /** A node name not used before by this daemon. */
  newNodeName(): string;
}

const PROGRESS_INTERVAL_MS = 200;
const CANCEL_TIMEOUT_MS = 30_000;
const TERMINAL = new Set(['concluded', 'null']);
const FINISHING = new Set(['waiting', 'pending', 'aborting']);

interface Timings {
  /** The job's latest known `len`. */
  len: number;
  readyAtMs: number;
  pivotStartedAtMs: number;
  pivotedAtMs: number;
}

interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly cause?: unknown;
}

interface JobRow {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly 'current-progress': number;
  readonly 'total-progress': number;
  readonly error?: string;
}

interface BlockJobRow {
  readonly device: string;
  readonly type: string;
  readonly len: number;
  readonly offset: number;
  readonly ready: boolean;
  readonly status: string;
}

function isJobEvent(jobId: string, names: readonly string[]): (e: QmpEvent) => boolean {
  return (e) => names.includes(e.event) && (e.data['device'] === jobId || e.data['id'] === jobId);
}

async function jobOf(qmp: QmpClient, jobId: string): Promise<JobRow | undefined> {
  const jobs = await qmp.execute<JobRow[]>('query-jobs');
  return jobs.find((j) => j.id === jobId);
}

async function blockJobOf(qmp: QmpClient, jobId: string): Promise<BlockJobRow | undefined> {
  const jobs = await qmp.execute<BlockJobRow[]>('query-block-jobs');
  return jobs.find((j) => j.device === jobId);
}

async function exportNodeOf(host: MirrorHost): Promise<string | undefined> {
  const exports = await host.qmp.execute<Array<{ id: string; 'node-name': string }>>('query-block-exports');
  return exports.find((x) => x.id === host.exportId)?.['node-name'];
}

async function nodeExists(qmp: QmpClient, node: string): Promise<boolean> {
  const nodes = await qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', { flat: true });
  return nodes.some((n) => n['node-name'] === node);
}

function withoutNode(nodes: Readonly<Record<string, BlockSource>>, node: string): Record<string, BlockSource> {
  const out = { ...nodes };
  delete out[node];
  return out;
}

function details(rec: MirrorRecord): Record<string, unknown> {
  return { jobId: rec.jobId, sourceNode: rec.sourceNode, targetNode: rec.targetNode };
}

/** Turns a lost QMP connection into an error that says the job may still run and how to recover. */
function lostConnection(host: MirrorHost, rec: MirrorRecord, e: unknown): unknown {
  if (!host.qmp.closed || (isAppError(e) && e.code !== 'DRIVER_ERROR')) return e;
  return new AppError(
    'DRIVER_ERROR',
    `QMP connection lost during mirror ${rec.jobId}: the job may still run in the storage daemon; find the daemon again, then completeMirror or cancelMirror`,
    { cause: e, details: details(rec) },
  );
}

/**
 * `background`, not `write-blocking`: with Debian's QEMU 7.2, cancelling a write-blocking mirror
 * while the consumer writes crashed qemu-storage-daemon with heap corruption ("malloc(): unsorted
 * double linked list corrupted") in 1 of 3 to 1 of 5 runs here, killing the consumer's disk; with
 * background mode 0 of 12 runs crashed. Every acknowledged write still reaches the destination
 * (dirty blocks are copied again, and the pivot drains I/O); the cost is a pivot that waits until
 * the copy catches up with the writes.
 */
export const MIRROR_COPY_MODE = 'background';
export const MIRROR_GRANULARITY_BYTES = 4096;
/** See `MirrorOptions.convergeTimeoutMs`. */
export const DEFAULT_CONVERGE_TIMEOUT_MS = 120_000;

/** Starts a live mirror of the active node to `target` and drives it to the pivot. */
export async function startMirror(host: MirrorHost, target: BlockSource, options: MirrorOptions): Promise<MirrorResult> {
  const { qmp } = host;
  const state = host.current();
  if (state.mirror) {
    throw new AppError('INVALID_VOLUME', `mirror ${state.mirror.jobId} is recorded for ${state.name}; complete or cancel it first`, {
      details: details(state.mirror),
    });
  }
  const speed = options.speedBytesPerSec;
  checkSpeed(speed);
  const sourceNode = state.activeNode;
  const exported = await exportNodeOf(host);
  if (exported !== sourceNode) {
    throw new AppError('INVALID_VOLUME', `export ${host.exportId} serves ${exported ?? 'nothing'}, not ${sourceNode}: another job is running?`, {
      details: { exported, sourceNode },
    });
  }
  const targetNode = host.newNodeName();
  const jobId = options.jobId ?? `mirror-${generationOf(targetNode) ?? targetNode}`;
  checkName('job id', jobId);
  if (options.signal?.aborted) throw new AppError('CANCELLED', `mirror of ${state.name} was cancelled before it started`);

  const rec: MirrorRecord = { jobId, sourceNode, targetNode, target, startedAtMs: Date.now() };
  await host.save({ mirror: rec });
  try {
    await qmp.execute('blockdev-add', blockdevOptions(targetNode, target));
  } catch (e) {
    if (qmp.closed) throw lostConnection(host, rec, e);
    await host.save({ mirror: null });
    throw new AppError('MIGRATION_FAILED', `cannot open the mirror target: ${(e as Error).message}`, { cause: e, details: details(rec) });
  }
  await host.save({ nodes: { ...host.current().nodes, [targetNode]: target } });
  const mark = qmp.eventSeq;
  try {
    await qmp.execute('blockdev-mirror', {
      'job-id': jobId,
      device: sourceNode,
      target: targetNode,
      sync: 'full',
      'copy-mode': MIRROR_COPY_MODE,
      // Dirty tracking per 4 KiB (the default is 64 KiB): a consumer's small writes re-copy only
      // what they changed, so the background copy catches up with a busy writer.
      granularity: MIRROR_GRANULARITY_BYTES,
      'auto-dismiss': false,
      ...(speed ? { speed } : {}),
    });
  } catch (e) {
    if (qmp.closed) throw lostConnection(host, rec, e);
    await dropTarget(host, rec);
    throw new AppError('MIGRATION_FAILED', `blockdev-mirror refused: ${(e as Error).message}`, { cause: e, details: details(rec) });
  }
  try {
    return await drive(host, rec, options, mark);
  } catch (e) {
    throw lostConnection(host, rec, e);
  }
}

/** Drives the recorded mirror `jobId` (started by an earlier process) to its pivot. */
export async function completeMirrorJob(host: MirrorHost, jobId: string, options: MirrorOptions): Promise<MirrorResult> {
  const rec = host.current().mirror;
  if (!rec || rec.jobId !== jobId) {
    throw new AppError('INVALID_INPUT', `no recorded mirror ${jobId} on storage daemon ${host.current().name}`, {
      details: { jobId, recorded: rec?.jobId ?? null },
    });
  }
  const speed = options.speedBytesPerSec;
  checkSpeed(speed);
  try {
    const mark = host.qmp.eventSeq;
    if (speed !== undefined) {
      // The job may have ended meanwhile; drive() then settles it.
      await host.qmp.execute('block-job-set-speed', { device: jobId, speed }).catch((e: unknown) => {
        if (host.qmp.closed) throw e;
      });
    }
    return await drive(host, rec, options, mark);
  } catch (e) {
    throw lostConnection(host, rec, e);
  }
}

function checkSpeed(speed: number | undefined): void {
  if (speed !== undefined && (!Number.isSafeInteger(speed) || speed < 0)) {
    throw new AppError('INVALID_INPUT', `speedBytesPerSec must be an integer >= 0 (0: no cap), got ${speed}`);
  }
}

/** Cancels mirror `jobId` (recorded or not); finishes the pivot instead if it already happened. */
export async function cancelMirrorJob(host: MirrorHost, jobId: string): Promise<CancelMirrorResult> {
  const { qmp } = host;
  const rec = host.current().mirror;
  if (!rec || rec.jobId !== jobId) {
    const job = await jobOf(qmp, jobId);
    if (!job) throw new AppError('INVALID_INPUT', `no mirror job ${jobId} on storage daemon ${host.current().name}`);
    await stopJob(qmp, jobId);
    return { cancelled: true, activeNode: (await exportNodeOf(host)) ?? host.current().activeNode };
  }
  const outcome = await rollBack(host, rec, { len: 0, readyAtMs: 0, pivotStartedAtMs: 0, pivotedAtMs: 0 });
  return outcome === 'rolled-back' ? { cancelled: true, activeNode: rec.sourceNode } : { cancelled: false, activeNode: outcome.node };
}

/** Block jobs QEMU knows (`query-jobs` joined with `query-block-jobs` for offset/len). */
export async function queryMirrorJobs(qmp: QmpClient, recorded: MirrorRecord | null): Promise<MirrorJobInfo[]> {
  const [jobs, blockJobs] = await Promise.all([qmp.execute<JobRow[]>('query-jobs'), qmp.execute<BlockJobRow[]>('query-block-jobs')]);
  return jobs.map((j) => {
    const b = blockJobs.find((x) => x.device === j.id);
    return {
      jobId: j.id,
      type: j.type,
      status: j.status,
      ready: b?.ready ?? j.status === 'ready',
      offset: b?.offset ?? j['current-progress'],
      len: b?.len ?? j['total-progress'],
      error: j.error,
      mirror: recorded?.jobId === j.id ? recorded : undefined,
    };
  });
}

/** Phases 3-5: wait for READY (with progress), pivot, check, release the source. */
async function drive(host: MirrorHost, rec: MirrorRecord, options: MirrorOptions, mark: number): Promise<MirrorResult> {
  const { qmp } = host;
  const { jobId } = rec;
  const { signal } = options;
  const t: Timings = { len: 0, readyAtMs: 0, pivotStartedAtMs: 0, pivotedAtMs: 0 };
  const cancelled = (): Failure => ({ code: 'CANCELLED', message: `mirror ${jobId} was cancelled; the volume stays on ${rec.sourceNode}` });

  // Phase 3: until READY. Events after `mark` are considered, so none is missed; each tick also
  // polls the job, which covers a READY that came before a recovering process connected.
  const stopWaiting = new AbortController();
  const events = qmp
    .waitForEvent('*', isJobEvent(jobId, ['BLOCK_JOB_READY', 'BLOCK_JOB_ERROR', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED']), {
      since: mark,
      signal: stopWaiting.signal,
    })
    .catch((e: unknown) => (stopWaiting.signal.aborted ? null : Promise.reject(e)));
  events.catch(() => undefined); // a rejection between two races is not "unhandled"; the next race sees it
  let firstLen = 0;
  let firstPassDone = false;
  let firstPassAt = 0;
  const convergeTimeoutMs = options.convergeTimeoutMs ?? DEFAULT_CONVERGE_TIMEOUT_MS;
  try {
    for (;;) {
      if (signal?.aborted) return await failBeforePivot(host, rec, t, cancelled());
      const job = await blockJobOf(qmp, jobId);
      // The speed cap is for the first pass over the volume; once it is done, the catch-up with the
      // consumer's writes runs uncapped, or a busy writer could keep the job from ever being READY.
      if (job && firstLen === 0) firstLen = job.len;
      if (job && !firstPassDone && firstLen > 0 && job.offset >= firstLen) {
        firstPassDone = true;
        firstPassAt = Date.now();
        if (options.liftCapAfterFirstPass !== false) await qmp.execute('block-job-set-speed', { device: jobId, speed: 0 }).catch(() => undefined);
      }
      if (firstPassDone && job?.status !== 'ready' && Date.now() - firstPassAt > convergeTimeoutMs) {
        return await failBeforePivot(host, rec, t, {
          code: 'MIGRATION_FAILED',
          message: `mirror ${jobId} did not converge within ${Math.round(convergeTimeoutMs / 1000)} s after its first pass: the consumer rewrites data faster than it can be copied; the volume stays on ${rec.sourceNode}`,
        });
      }
      const status = job?.status ?? (await jobOf(qmp, jobId))?.status;
      if (status === undefined || TERMINAL.has(status)) return await settle(host, rec, t, undefined);
      if (FINISHING.has(status)) return await settle(host, rec, t, await waitJobEnd(qmp, jobId));
      if (job) {
        t.len = job.len;
        options.onProgress?.({ offset: job.offset, len: job.len });
      }
      if (status === 'ready') break;
      const tick = new AbortController();
      const r = await Promise.race([events, delay(PROGRESS_INTERVAL_MS, tick.signal).then(() => 'tick' as const)]);
      tick.abort();
      if (r === 'tick' || r === null) continue;
      if (r.event === 'BLOCK_JOB_READY') {
        t.readyAtMs = r.receivedAtMs;
        if (typeof r.data['len'] === 'number') t.len = r.data['len'];
        break;
      }
      if (r.event === 'BLOCK_JOB_ERROR') {
        return await failBeforePivot(host, rec, t, {
          code: 'MIGRATION_FAILED',
          message: `mirror ${jobId} hit an I/O error (${String(r.data['operation'])}, action ${String(r.data['action'])})`,
        });
      }
      // COMPLETED or CANCELLED before we asked: the job ended on its own (an error, or another client).
      return await settle(host, rec, t, typeof r.data['error'] === 'string' ? r.data['error'] : undefined);
    }
  } finally {
    stopWaiting.abort();
  }
  if (t.readyAtMs === 0) t.readyAtMs = Date.now();
  const ready = await blockJobOf(qmp, jobId);
  if (ready) {
    t.len = ready.len;
    options.onProgress?.({ offset: ready.offset, len: ready.len });
  }

  // Phase 4: the pivot. An abort after this point is too late: the job completes.
  if (signal?.aborted) return await failBeforePivot(host, rec, t, cancelled());
  const mark2 = qmp.eventSeq;
  t.pivotStartedAtMs = Date.now();
  try {
    // The cap is for the bulk copy; the catch-up before the pivot (background mode) runs uncapped so
    // it converges even while the consumer keeps writing.
    await qmp.execute('block-job-set-speed', { device: jobId, speed: 0 }).catch(() => undefined);
    await qmp.execute('job-complete', { id: jobId });
  } catch (e) {
    if (qmp.closed) throw e;
    return await failBeforePivot(host, rec, t, { code: 'MIGRATION_FAILED', message: `job-complete refused: ${(e as Error).message}`, cause: e });
  }
  const done = await qmp.waitForEvent('*', isJobEvent(jobId, ['BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED']), { since: mark2 });
  t.pivotedAtMs = done.receivedAtMs;
  if (typeof done.data['len'] === 'number') t.len = done.data['len'];
  const error = done.event === 'BLOCK_JOB_CANCELLED' ? 'the job was cancelled' : done.data['error'];
  return await settle(host, rec, t, typeof error === 'string' ? error : undefined);
}

/** Cancels the job and removes the target; throws `failure`, unless the pivot happened after all. */
async function failBeforePivot(host: MirrorHost, rec: MirrorRecord, t: Timings, failure: Failure): Promise<MirrorResult> {
  const outcome = await rollBack(host, rec, t);
  if (outcome !== 'rolled-back') return outcome;
  throw new AppError(failure.code, failure.message, {
    ...(failure.cause === undefined ? {} : { cause: failure.cause }),
    details: details(rec),
  });
}

/** `job-cancel` (if the job still runs), wait for its end, then settle on whatever the export serves. */
async function rollBack(host: MirrorHost, rec: MirrorRecord, t: Timings): Promise<MirrorResult | 'rolled-back'> {
  const error = await stopJob(host.qmp, rec.jobId);
  try {
    return await settle(host, rec, t, error ?? 'cancelled');
  } catch (e) {
    if (isAppError(e) && e.code === 'MIGRATION_FAILED' && e.details['rolledBack'] === true) return 'rolled-back';
    throw e;
  }
}

/** Cancels a job that has not ended, waits for its end, dismisses it. Resolves with its error, if any. */
async function stopJob(qmp: QmpClient, jobId: string): Promise<string | undefined> {
  const job = await jobOf(qmp, jobId);
  if (!job) return undefined;
  if (!TERMINAL.has(job.status)) {
    await qmp.execute('job-cancel', { id: jobId }).catch(() => undefined); // it may have ended meanwhile
  }
  return waitJobEnd(qmp, jobId);
}

/** Waits (bounded) until `jobId` is concluded or gone; dismisses it; resolves with its error, if any. */
async function waitJobEnd(qmp: QmpClient, jobId: string): Promise<string | undefined> {
  const ended = await pollUntil(
    async () => {
      const j = await jobOf(qmp, jobId);
      return !j || TERMINAL.has(j.status) ? { job: j } : undefined;
    },
    { timeoutMs: CANCEL_TIMEOUT_MS, intervalMs: 20, what: `mirror job ${jobId} to end` },
  );
  if (ended.job?.status === 'concluded') await qmp.execute('job-dismiss', { id: jobId }).catch(() => undefined);
  return ended.job?.error;
}

/**
 * The job has ended (or never ran). Dismisses it, then trusts the export: on the target → finish
 * the pivot; on the source → remove the target and throw MIGRATION_FAILED (`details.rolledBack`);
 * anything else → DRIVER_ERROR, nothing removed.
 */
async function settle(host: MirrorHost, rec: MirrorRecord, t: Timings, eventError: string | undefined): Promise<MirrorResult> {
  const { qmp } = host;
  // The job concludes in the same step that emits its final event; waiting covers any other order.
  const error = eventError ?? (await waitJobEnd(qmp, rec.jobId));
  const node = await exportNodeOf(host);
  if (node === rec.targetNode) return finishPivot(host, rec, t);
  if (node === rec.sourceNode) {
    await dropTarget(host, rec);
    throw new AppError('MIGRATION_FAILED', `mirror ${rec.jobId} ended without a pivot: ${error ?? 'the job is gone'}; the volume stays on ${rec.sourceNode}`, {
      details: { ...details(rec), rolledBack: true, ...(error === undefined ? {} : { jobError: error }) },
    });
  }
  throw new AppError('DRIVER_ERROR', `after mirror ${rec.jobId} export ${host.exportId} serves ${node ?? 'nothing'}, neither source nor target`, {
    details: { ...details(rec), exported: node, ...(error === undefined ? {} : { jobError: error }) },
  });
}

/** Records the target as live, then removes the old source node. */
async function finishPivot(host: MirrorHost, rec: MirrorRecord, t: Timings): Promise<MirrorResult> {
  const { qmp } = host;
  if (t.pivotedAtMs === 0) t.pivotedAtMs = Date.now();
  await host.save({ activeNode: rec.targetNode, mirror: null });
  let sourceReleased = true;
  try {
    if (await nodeExists(qmp, rec.sourceNode)) await qmp.execute('blockdev-del', { 'node-name': rec.sourceNode });
    await host.save({ nodes: withoutNode(host.current().nodes, rec.sourceNode) });
  } catch (e) {
    if (qmp.closed) throw e;
    sourceReleased = false;
  }
  return {
    node: rec.targetNode,
    sourceNode: rec.sourceNode,
    jobId: rec.jobId,
    len: t.len,
    readyAtMs: t.readyAtMs,
    pivotStartedAtMs: t.pivotStartedAtMs,
    pivotedAtMs: t.pivotedAtMs,
    pivotMs: t.pivotStartedAtMs > 0 ? t.pivotedAtMs - t.pivotStartedAtMs : 0,
    sourceReleased,
  };
}

/** Removes the target node (if QEMU still has it) and the mirror record. */
async function dropTarget(host: MirrorHost, rec: MirrorRecord): Promise<void> {
  const { qmp } = host;
  if (await nodeExists(qmp, rec.targetNode)) {
    try {
      await qmp.execute('blockdev-del', { 'node-name': rec.targetNode });
    } catch (e) {
      throw new AppError('DRIVER_ERROR', `cannot remove mirror target ${rec.targetNode}: ${(e as Error).message}`, {
        cause: e,
        details: details(rec),
      });
    }
  }
  await host.save({ nodes: withoutNode(host.current().nodes, rec.targetNode), mirror: null });
}
