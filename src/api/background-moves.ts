/**
 * Accepted migrations (from `os-migrate_volume` and `os-retype`) run in the server process after
 * the 202, as Cinder's volume service runs them after its API answers. On close they get a grace
 * period to finish, then are cancelled: each rolls back (the volume stays on its source with its
 * previous status) and the journal records it, so nothing is left half-done.
 *
 * @module
 */
import type { BlockService } from '../blockstore/index.js';
import { toAppError } from '../shared/index.js';
import type { LogSink } from './http/server.js';

/** The migrations this server runs. */
export class BackgroundMoves {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopping = false;

  constructor(
    private readonly service: BlockService,
    private readonly log: LogSink,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Number of migrations running now. */
  get active(): number {
    return this.running.size;
  }

  /** Runs an accepted migration in the background; its outcome goes to the log and the journal. */
  start(migrationId: string): void {
    const controller = new AbortController();
    if (this.stopping) controller.abort();
    const done = this.service
      .runMigration(migrationId, { signal: controller.signal })
      .then((m) => {
        this.log({ ts: this.iso(), level: 'info', msg: 'migration finished', migration_id: m.id, volume_id: m.volumeId, outcome: m.outcome, path: m.path, destination: m.destHost });
      })
      .catch((e: unknown) => {
        const err = toAppError(e);
        this.log({ ts: this.iso(), level: 'warn', msg: 'migration failed', migration_id: migrationId, error_code: err.code, error: err.message });
      })
      .finally(() => {
        this.running.delete(migrationId);
      });
    this.running.set(migrationId, { controller, done });
  }

  /** Waits until every running migration has ended (for tests and graceful close). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Lets running migrations finish for `graceMs`, then cancels the rest and waits for their rollback. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const r of this.running.values()) r.controller.abort();
    await this.settled();
  }

  private iso(): string {
    return new Date(this.nowMs()).toISOString();
  }
}
