/**
 * The daemon's telemetry: each collector on its own node-cron schedule, plus store maintenance
 * (retention, downsampling). A run never overlaps the previous run of the same collector; a
 * collector that throws, or a store that refuses samples, is reported by name and the schedule
 * goes on: nothing here can crash the daemon.
 *
 * @module
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { FleetReader } from '../model/index.js';
import { AppError, systemClock, toAppError, type Clock } from '../shared/index.js';
import type { TelemetryConfig } from '../config/index.js';
import {
  configuredCollectors,
  runCollectors,
  type Collector,
  type CollectReport,
  type MaintenanceReport,
  type PriceCatalogue,
  type TelemetryStore,
} from '../telemetry/index.js';

/** Name of the maintenance job in {@link TelemetryScheduleOptions.schedules}. */
export const MAINTENANCE_JOB = 'maintenance';

/** Options of {@link TelemetrySchedule}. */
export interface TelemetryScheduleOptions {
  readonly reader: FleetReader;
  readonly store: TelemetryStore;
  readonly collectors: readonly Collector[];
  /** Cron expression (5 or 6 fields) per collector name, and for `maintenance` (optional). */
  readonly schedules: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  /** Time zone of the schedules (default: the process's). */
  readonly timezone?: string;
  /** After each collector run (its outcome says whether it failed, and why). */
  readonly onReport?: (report: CollectReport) => void;
  /** After each maintenance pass. */
  readonly onMaintenance?: (report: MaintenanceReport) => void;
  /** When a job fails as a whole (maintenance error, a reporting callback that throws). */
  readonly onError?: (job: string, error: AppError) => void;
}

/** Runs collectors and maintenance on cron schedules (see the module comment). */
export class TelemetrySchedule {
  private readonly tasks: ScheduledTask[] = [];
  private readonly clock: Clock;
  private readonly busy = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * Checks every schedule; throws `CONFIG_INVALID` naming the job for a bad or missing one.
   * Nothing runs until {@link start}.
   */
  constructor(private readonly opts: TelemetryScheduleOptions) {
    this.clock = opts.clock ?? systemClock;
    const jobs = [...opts.collectors.map((c) => c.name), ...(opts.schedules[MAINTENANCE_JOB] !== undefined ? [MAINTENANCE_JOB] : [])];
    for (const job of jobs) {
      const expr = opts.schedules[job];
      if (expr === undefined) throw new AppError('CONFIG_INVALID', `telemetry.schedules.${job}: no schedule for the ${job} collector`);
      const v = cron.validateDetailed(expr);
      if (!v.valid) throw new AppError('CONFIG_INVALID', `telemetry.schedules.${job}: '${expr}' is not a valid cron schedule: ${v.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    }
  }

  /** Starts every schedule. */
  start(): void {
    if (this.tasks.length > 0) return;
    for (const c of this.opts.collectors) this.schedule(c.name, () => this.runCollector(c));
    if (this.opts.schedules[MAINTENANCE_JOB] !== undefined) this.schedule(MAINTENANCE_JOB, () => this.runMaintenance());
  }

  /** Stops every schedule and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const t of this.tasks.splice(0)) await t.destroy();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Runs one collector now (as its schedule would). */
  async runCollector(c: Collector): Promise<CollectReport | null> {
    return this.exclusive(c.name, async () => {
      const report = await runCollectors([c], this.opts.reader, this.opts.store, this.clock);
      this.opts.onReport?.(report);
      return report;
    });
  }

  /** Applies retention and downsampling now. */
  async runMaintenance(): Promise<MaintenanceReport | null> {
    return this.exclusive(MAINTENANCE_JOB, async () => {
      const r = await this.opts.store.maintain(this.clock.nowMs());
      this.opts.onMaintenance?.(r);
      return r;
    });
  }

  private schedule(job: string, run: () => Promise<unknown>): void {
    const task = cron.createTask(this.opts.schedules[job]!, () => {
      const p = run().then(
        () => undefined,
        () => undefined,
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
      return p;
    }, { name: `telemetry-${job}`, noOverlap: true, ...(this.opts.timezone ? { timezone: this.opts.timezone } : {}) });
    void task.start();
    this.tasks.push(task);
  }

  /** Runs `fn` unless the same job is running (then null); reports a failure instead of throwing. */
  private async exclusive<T>(job: string, fn: () => Promise<T>): Promise<T | null> {
    if (this.busy.has(job)) return null;
    this.busy.add(job);
    try {
      return await fn();
    } catch (e) {
      const err = toAppError(e);
      try {
        this.opts.onError?.(job, err);
      } catch {
        // The error callback itself failed: there is nobody left to tell; the schedule goes on.
      }
      return null;
    } finally {
      this.busy.delete(job);
    }
  }
}

/**
 * The schedule a configuration asks for: capacity and performance, cost when a catalogue is given,
 * external when mapped, and maintenance, each on its `telemetry.schedules` entry.
 */
export function telemetryScheduleFromConfig(
  t: TelemetryConfig,
  deps: Omit<TelemetryScheduleOptions, 'collectors' | 'schedules'> & { readonly catalogue: PriceCatalogue | null },
): TelemetrySchedule {
  const { catalogue, ...rest } = deps;
  return new TelemetrySchedule({ ...rest, collectors: configuredCollectors({ catalogue, external: t.external }), schedules: t.schedules });
}
