/**
 * The daemon's own state: plans (waiting for approval, approved, decided, applied) and the history
 * of its rebalancing cycles, in `<dataDir>/daemon.db` (SQLite, WAL). The CLI's `ballast plan
 * approve|reject` writes here too; the daemon picks decisions up on its next tick.
 *
 * @module
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PlanRecord, PlanStatus } from '../api/index.js';
import type { Plan } from '../model/index.js';
import { AppError } from '../shared/index.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS plans (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  origin TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  moves_key TEXT NOT NULL,
  inventory_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  moves INTEGER NOT NULL,
  bytes REAL NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  note TEXT,
  run_id TEXT
);
CREATE INDEX IF NOT EXISTS plans_status ON plans(status, created_at);
CREATE TABLE IF NOT EXISTS cycles (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT,
  inventory_id TEXT,
  plan_id TEXT,
  solve_ms REAL,
  improvement_left REAL,
  moves INTEGER
);
`;

interface PlanRow {
  id: string;
  status: string;
  origin: string;
  plan_json: string;
  moves_key: string;
  inventory_id: string;
  created_at: number;
  expires_at: number;
  moves: number;
  bytes: number;
  decided_by: string | null;
  decided_at: number | null;
  note: string | null;
  run_id: string | null;
}

/** One rebalancing cycle as recorded. */
export interface CycleRecord {
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly trigger: 'schedule' | 'api' | 'start';
  /** planned, unchanged, nothing-to-do, skipped, infeasible, failed. */
  readonly outcome: string;
  readonly detail: string | null;
  readonly inventoryId: string | null;
  readonly planId: string | null;
  readonly solveMs: number | null;
  readonly improvementLeft: number | null;
  readonly moves: number | null;
}

/** What adding a plan did. */
export type AddPlanResult = { readonly kind: 'added'; readonly record: PlanRecord; readonly superseded: readonly string[] } | { readonly kind: 'unchanged'; readonly record: PlanRecord };

function recordOf(r: PlanRow): PlanRecord {
  return {
    id: r.id,
    status: r.status as PlanStatus,
    origin: r.origin as PlanRecord['origin'],
    createdAtMs: r.created_at,
    expiresAtMs: r.expires_at,
    inventoryId: r.inventory_id,
    moves: r.moves,
    bytes: r.bytes,
    decidedBy: r.decided_by,
    decidedAtMs: r.decided_at,
    note: r.note,
    runId: r.run_id,
  };
}

/** What the moves of a plan do, independent of ids and times (to tell a changed plan from the same one). */
export function movesKey(plan: Plan): string {
  return JSON.stringify(plan.moves.map((m) => [m.volumeId, m.from, m.to, m.newVolumeType]).sort());
}

/** The daemon's state database; see the module comment. */
export class DaemonStore {
  private constructor(private readonly db: Database.Database, readonly file: string) {}

  /** Opens (creating) the state file. */
  static open(file: string): DaemonStore {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new DaemonStore(db, file);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Adds a plan that waits (`recommended`) or is approved at once (auto mode). A recommended plan
   * with the same moves is kept instead (`unchanged`); other recommended plans are superseded.
   */
  addPlan(plan: Plan, origin: PlanRecord['origin'], auto: { readonly by: string; readonly atMs: number } | null): AddPlanResult {
    return this.db.transaction((): AddPlanResult => {
      const key = movesKey(plan);
      const same = this.db.prepare("SELECT * FROM plans WHERE status = 'recommended' AND moves_key = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 1").get(key, plan.createdAtMs) as PlanRow | undefined;
      if (same && !auto) return { kind: 'unchanged', record: recordOf(same) };
      const waiting = (this.db.prepare("SELECT id FROM plans WHERE status = 'recommended'").all() as { id: string }[]).map((r) => r.id);
      this.db.prepare("UPDATE plans SET status = 'superseded', note = COALESCE(note, ?) WHERE status = 'recommended'").run(`superseded by ${plan.id} (inventory ${plan.inventoryId})`);
      this.db
        .prepare('INSERT INTO plans (id, status, origin, plan_json, moves_key, inventory_id, created_at, expires_at, moves, bytes, decided_by, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)')
        .run(plan.id, auto ? 'approved' : 'recommended', origin, JSON.stringify(plan), key, plan.inventoryId, plan.createdAtMs, plan.expiresAtMs, plan.moves.length, plan.totals.bytes, auto?.by ?? null, auto?.atMs ?? null);
      return { kind: 'added', record: this.get(plan.id).record, superseded: waiting };
    })();
  }

  /** A plan and its record; PLAN_NOT_FOUND. */
  get(id: string): { readonly record: PlanRecord; readonly plan: Plan } {
    const r = this.db.prepare('SELECT * FROM plans WHERE id = ?').get(id) as PlanRow | undefined;
    if (!r) throw new AppError('PLAN_NOT_FOUND', `no plan '${id.slice(0, 200)}' in ${this.file}`);
    return { record: recordOf(r), plan: JSON.parse(r.plan_json) as Plan };
  }

  /** Plans, newest first. */
  list(limit = 50): PlanRecord[] {
    return (this.db.prepare('SELECT * FROM plans ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as PlanRow[]).map(recordOf);
  }

  /**
   * Approves or rejects a plan that waits for a decision (`recommended`). PLAN_NOT_FOUND, or
   * PLAN_NOT_WAITING saying what became of it. An expired plan is marked so and refused.
   */
  decide(id: string, to: 'approved' | 'rejected', by: string, note: string | null, nowMs: number): PlanRecord {
    return this.db.transaction(() => {
      const { record } = this.get(id);
      if (record.status === 'recommended' && record.expiresAtMs <= nowMs) {
        this.db.prepare("UPDATE plans SET status = 'expired' WHERE id = ?").run(id);
        throw new AppError('PLAN_NOT_WAITING', `plan ${id} expired at ${new Date(record.expiresAtMs).toISOString()}; a newer plan comes with the next scheduled run (or POST /api/v1/plans)`);
      }
      if (record.status !== 'recommended') {
        throw new AppError('PLAN_NOT_WAITING', `plan ${id} is ${record.status}${record.decidedBy ? ` (by ${record.decidedBy})` : ''}: only a recommended plan can be ${to}`);
      }
      this.db.prepare('UPDATE plans SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?').run(to, by, nowMs, note, id);
      return this.get(id).record;
    })();
  }

  /** Supersedes every plan waiting for approval; returns their ids. */
  supersedeWaiting(note: string): string[] {
    const ids = (this.db.prepare("SELECT id FROM plans WHERE status = 'recommended'").all() as { id: string }[]).map((r) => r.id);
    if (ids.length > 0) this.db.prepare("UPDATE plans SET status = 'superseded', note = COALESCE(note, ?) WHERE status = 'recommended'").run(note);
    return ids;
  }

  /** Marks a plan applied by a run (from recommended or approved). */
  markApplied(id: string, runId: string, by: string, nowMs: number): PlanRecord {
    this.db.prepare("UPDATE plans SET status = 'applied', run_id = ?, decided_by = COALESCE(decided_by, ?), decided_at = COALESCE(decided_at, ?) WHERE id = ?").run(runId, by, nowMs, id);
    return this.get(id).record;
  }

  /** Marks an approved plan that cannot start (its pools are gone, it is malformed) as failed, with why. */
  markFailed(id: string, note: string): void {
    this.db.prepare("UPDATE plans SET status = 'failed', note = ? WHERE id = ? AND status IN ('recommended', 'approved')").run(note, id);
  }

  /** Marks waiting and approved plans past their expiry as expired; returns their ids. */
  expire(nowMs: number): string[] {
    const ids = (this.db.prepare("SELECT id FROM plans WHERE status IN ('recommended', 'approved') AND expires_at <= ?").all(nowMs) as { id: string }[]).map((r) => r.id);
    if (ids.length > 0) this.db.prepare("UPDATE plans SET status = 'expired' WHERE status IN ('recommended', 'approved') AND expires_at <= ?").run(nowMs);
    return ids;
  }

  /** The oldest approved plan not yet applied, or null. */
  nextApproved(): { readonly record: PlanRecord; readonly plan: Plan } | null {
    const r = this.db.prepare("SELECT id FROM plans WHERE status = 'approved' ORDER BY decided_at, created_at LIMIT 1").get() as { id: string } | undefined;
    return r ? this.get(r.id) : null;
  }

  /** The plan a run was started from, or null. */
  planOfRun(runId: string): PlanRecord | null {
    const r = this.db.prepare('SELECT * FROM plans WHERE run_id = ?').get(runId) as PlanRow | undefined;
    return r ? recordOf(r) : null;
  }

  recordCycle(c: CycleRecord): void {
    this.db
      .prepare('INSERT INTO cycles (started_at, finished_at, trigger, outcome, detail, inventory_id, plan_id, solve_ms, improvement_left, moves) VALUES (?,?,?,?,?,?,?,?,?,?)')
      .run(c.startedAtMs, c.finishedAtMs, c.trigger, c.outcome, c.detail, c.inventoryId, c.planId, c.solveMs, c.improvementLeft, c.moves);
  }

  /** Cycles, newest first. */
  cycles(limit = 50): CycleRecord[] {
    const rows = this.db.prepare('SELECT * FROM cycles ORDER BY seq DESC LIMIT ?').all(limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      startedAtMs: r['started_at'] as number,
      finishedAtMs: r['finished_at'] as number,
      trigger: r['trigger'] as CycleRecord['trigger'],
      outcome: r['outcome'] as string,
      detail: r['detail'] as string | null,
      inventoryId: r['inventory_id'] as string | null,
      planId: r['plan_id'] as string | null,
      solveMs: r['solve_ms'] as number | null,
      improvementLeft: r['improvement_left'] as number | null,
      moves: r['moves'] as number | null,
    }));
  }

  /** Count of plans by status (for metrics). */
  statusCounts(): Record<string, number> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM plans GROUP BY status ORDER BY status').all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Count of cycles by outcome (for metrics). */
  cycleCounts(): Record<string, number> {
    const rows = this.db.prepare('SELECT outcome, COUNT(*) AS n FROM cycles GROUP BY outcome ORDER BY outcome').all() as { outcome: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  }
}
