/**
 * `ballast daemon`, the composition root of the long-running process: telemetry collectors on
 * their cron schedules, rebalancing on the policies' `when.schedule`, a dispatcher that starts
 * approved plans inside maintenance windows (and first resumes interrupted runs), and the HTTP
 * API: Ballast's own routes, plus Cinder's when the control plane is the embedded block service.
 *
 * @module
 */
import { join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { Authenticator, ballastModule, startApiServer, startHttpServer, type HttpServerHandle } from '../api/index.js';
import type { BlockService } from '../blockstore/index.js';
import { parseListen, type LoadedConfig } from '../config/index.js';
import { RunJournal, type ExecutorDeps } from '../executor/index.js';
import type { ControlPlane } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError, systemClock, type Clock, type Logger } from '../shared/index.js';
import { configuredCollectors, type PriceCatalogue, type TelemetryStore } from '../telemetry/index.js';
import { DaemonApiBackend } from './api-backend.js';
import { Rebalancer, type DaemonMode } from './rebalancer.js';
import { DaemonStore } from './state.js';
import { TelemetrySchedule } from './telemetry-schedule.js';

/** What the daemon is started with (opened by the CLI). */
export interface DaemonOptions {
  readonly config: LoadedConfig;
  readonly controlPlane: ControlPlane;
  /** The embedded block service when the control plane is embedded: Cinder's API is served too. */
  readonly service: BlockService | null;
  readonly telemetry: TelemetryStore;
  readonly catalogue: PriceCatalogue | null;
  readonly loadPolicy: () => CompiledPolicy;
  readonly mode: DaemonMode;
  readonly log: Logger;
  /** Overrides `api.listen`. */
  readonly listen?: string;
  /** Hard limit of a scheduled solve (default 30 s). */
  readonly solveTimeLimitMs?: number;
  /** How often approved plans and interrupted runs are looked for (default 1 s). */
  readonly dispatchEveryMs?: number;
  readonly clock?: Clock;
  readonly env?: NodeJS.ProcessEnv;
  readonly afterTransition?: ExecutorDeps['afterTransition'];
}

/** A running daemon. */
export interface DaemonHandle {
  readonly url: string;
  readonly rebalancer: Rebalancer;
  /**
   * Graceful stop: schedules and dispatch stop, no new move starts, running moves get `graceMs`
   * to finish; an unfinished run is left resumable. Closes the API, the journal and the state.
   */
  stop(graceMs: number): Promise<{ readonly unfinishedRun: string | null }>;
}

/** Starts the daemon (the caller holds the daemon lock and has opened the control plane). */
export async function startDaemon(opts: DaemonOptions): Promise<DaemonHandle> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log;
  const policy = opts.loadPolicy();
  const startedAtMs = clock.nowMs();
  const journal = RunJournal.open(join(opts.config.dataDir, 'runs.db'));
  const store = DaemonStore.open(join(opts.config.dataDir, 'daemon.db'));
  const closers: (() => Promise<void> | void)[] = [() => store.close(), () => journal.close()];
  try {
    const rebalancer = new Rebalancer({
      controlPlane: opts.controlPlane,
      journal,
      store,
      telemetry: opts.telemetry,
      telemetryConfig: opts.config.telemetry,
      catalogue: opts.catalogue,
      loadPolicy: opts.loadPolicy,
      mode: opts.mode,
      clock,
      log: log.child({ component: 'rebalancer' }),
      pid: process.pid,
      solveTimeLimitMs: opts.solveTimeLimitMs ?? 30_000,
      ...(opts.afterTransition ? { afterTransition: opts.afterTransition } : {}),
    });

    const tlog = log.child({ component: 'telemetry' });
    const collectors = configuredCollectors({ catalogue: opts.catalogue, external: opts.config.telemetry.external });
    const telemetry = new TelemetrySchedule({
      reader: opts.controlPlane,
      store: opts.telemetry,
      collectors,
      schedules: opts.config.telemetry.schedules,
      clock,
      onReport: (r) => tlog.debug('collected', { report: r as unknown as Record<string, unknown> }),
      onError: (job, err) => tlog.warn('telemetry job failed', { job, code: err.code, error: err.message }),
    });
    // One collection at start, so an inventory can be built before the first schedule fires.
    await Promise.all(collectors.map((c) => telemetry.runCollector(c)));
    telemetry.start();
    closers.unshift(() => telemetry.stop());

    const backend = new DaemonApiBackend({
      rebalancer,
      store,
      journal,
      controlPlane: opts.controlPlane,
      telemetry: opts.telemetry,
      maxAgeMs: opts.config.telemetry.maxAgeMs,
      mode: opts.mode,
      pid: process.pid,
      startedAtMs,
      nowMs: () => clock.nowMs(),
    });
    const httpLog = (e: Readonly<Record<string, unknown>>) => log.record({ ...e, component: 'api' });
    const module = ballastModule(backend);
    let url: string;
    let closeHttp: () => Promise<void>;
    if (opts.service) {
      const api = await startApiServer({
        service: opts.service,
        api: opts.config.api,
        configTypeNames: opts.config.volumeTypes.map((t) => t.name),
        ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
        log: httpLog,
        extraModules: [module],
        ...(opts.env ? { env: opts.env } : {}),
      });
      url = api.url;
      closeHttp = () => api.close({ requestTimeoutMs: 5_000, moveGraceMs: 5_000 });
    } else {
      const text = opts.listen ?? opts.config.api.listen;
      const listen = parseListen(text);
      if (!listen) throw new AppError('INVALID_INPUT', `invalid listen address '${text}': expected host:port, e.g. 127.0.0.1:8776`);
      const auth = Authenticator.fromConfig(opts.config.api, listen.host, opts.env ?? process.env);
      const http: HttpServerHandle = await startHttpServer({ host: listen.host, port: listen.port, modules: [module], authenticate: (req) => auth.authenticateRequest(req), maxBodyBytes: opts.config.api.maxBodyBytes, log: httpLog });
      url = http.url;
      closeHttp = () => http.close(5_000);
    }
    closers.unshift(closeHttp);

    let task: ScheduledTask | null = null;
    const schedule = policy.when.schedule;
    if (schedule === null) log.info('no when.schedule in the policies: plans are made on request only (POST /api/v1/plans)');
    else {
      task = cron.createTask(schedule, () => rebalancer.cycle('schedule').then(() => undefined), { name: 'rebalance', noOverlap: true, timezone: policy.when.timeZone });
      void task.start();
    }
    const ticker = setInterval(() => void rebalancer.dispatch(), opts.dispatchEveryMs ?? 1_000);
    await rebalancer.dispatch(); // resumes an interrupted run at once
    log.info('daemon started', { url, mode: opts.mode, schedule, time_zone: policy.when.timeZone, windows: policy.when.maintenanceWindows.length, control_plane: `${opts.controlPlane.kind} ${opts.controlPlane.name}`, pid: process.pid });

    let stopped: Promise<{ unfinishedRun: string | null }> | null = null;
    return {
      url,
      rebalancer,
      stop(graceMs) {
        stopped ??= (async () => {
          log.info('stopping: no new run or move starts', { grace_ms: graceMs, run: rebalancer.activeRun?.runId ?? null });
          if (task) await task.destroy();
          clearInterval(ticker);
          const unfinishedRun = await rebalancer.drain(graceMs);
          for (const close of closers.splice(0, closers.length - 2)) await close();
          rebalancer.abandon('the daemon stopped; the run resumes at its next start');
          for (const close of closers.splice(0)) await close();
          log.info('stopped', { unfinished_run: unfinishedRun });
          return { unfinishedRun };
        })();
        return stopped;
      },
    };
  } catch (e) {
    for (const close of closers) {
      try {
        await close();
      } catch {
        // already failing: the first error is the one reported
      }
    }
    throw e;
  }
}
