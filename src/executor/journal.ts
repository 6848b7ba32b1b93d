/**
 * The runs journal: one SQLite file (`<dataDir>/runs.db`, WAL) holding every run, every move's
 * state and every transition, written BEFORE the transition takes effect. A run interrupted by a
 * crash is resumed from it; `ballast run list|show|cancel` read and write it from other processes.
 *
 * @module
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MoveHandle, Plan } from '../model/index.js';
import { AppError } from '../shared/index.js';
import { assertTransition, type MoveState } from './transitions.js';
import type { MoveRecord, RunRecord, RunSettings, RunState } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  plan_id TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  settings_json TEXT NOT NULL,
  state TEXT NOT NULL,
  owner_pid INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  note TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS moves (
  run_id TEXT NOT NULL REFERENCES runs(id),
  move_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  volume_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  handle_json TEXT,
  reason TEXT,
  error_code TEXT,
  bytes_done INTEGER NOT NULL DEFAULT 0,
  bytes_total INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (run_id, move_id)
);
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  move_id TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT,
  error_code TEXT
);
CREATE INDEX IF NOT EXISTS transitions_run ON transitions(run_id, move_id);
`;

interface MoveRow {
  run_id: string;
  move_id: string;
  state: string;
  attempts: number;
  handle_json: string | null;
  reason: string | null;
  error_code: string | null;
  bytes_done: number;
  bytes_total: number;
  not_before: number;
  started_at: number | null;
  finished_at: number | null;
}

interface RunRow {
  id: string;
  plan_id: string;
  plan_json: string;
  settings_json: string;
  state: string;
  owner_pid: number | null;
  cancel_requested: number;
  note: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** One journaled transition. */
export interface TransitionRow {
  readonly seq: number;
  readonly moveId: string;
  readonly from: MoveState;
  readonly to: MoveState;
  readonly attempt: number;
  readonly atMs: number;
  readonly reason: string | null;
  readonly errorCode: string | null;
}

/** What a transition changes besides the state. */
export interface TransitionPatch {
  readonly reason?: string | null;
  readonly errorCode?: string | null;
  readonly attempts?: number;
  readonly handle?: MoveHandle | null;
  readonly notBeforeMs?: number;
  readonly startedAtMs?: number | null;
  readonly finishedAtMs?: number | null;
}

/** A run as loaded from the journal. */
export interface LoadedRun {
  readonly run: RunRecord;
  readonly plan: Plan;
  readonly settings: RunSettings;
  readonly moves: MoveRecord[];
}

function runOf(r: RunRow): RunRecord {
  return {
    id: r.id,
    planId: r.plan_id,
    createdAtMs: r.created_at,
    state: r.state as RunState,
    ownerPid: r.owner_pid,
    cancelRequested: r.cancel_requested === 1,
    updatedAtMs: r.updated_at,
    finishedAtMs: r.finished_at,
    note: r.note,
  };
}

export class RunJournal {
  private constructor(readonly db: Database.Database, readonly file: string) {}

  /** Opens (creating) the journal file, in WAL mode with full syncs. */
  static open(file: string): RunJournal {
    mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
    } catch (e) {
      throw new AppError('STATE_LOCKED', `cannot open the runs journal ${file}: ${(e as Error).message}`, { cause: e });
    }
    return new RunJournal(db, file);
  }

  close(): void {
    this.db.close();
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Records a new run and its moves (all pending), owned by `ownerPid`. */
  createRun(id: string, plan: Plan, settings: RunSettings, nowMs: number, ownerPid: number): LoadedRun {
    this.tx(() => {
      this.db
        .prepare('INSERT INTO runs (id, plan_id, plan_json, settings_json, state, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, plan.id, JSON.stringify(plan), JSON.stringify(settings), 'running', ownerPid, nowMs, nowMs);
      const ins = this.db.prepare("INSERT INTO moves (run_id, move_id, seq, volume_id, state, bytes_total) VALUES (?, ?, ?, ?, 'pending', ?)");
      plan.moves.forEach((m, i) => ins.run(id, m.id, i, m.volumeId, Math.round(m.sizeGiB * 1024 ** 3)));
    });
    return this.load(id);
  }

  /** A run with its plan, settings and moves (in plan order). Throws RUN_NOT_FOUND. */
  load(id: string): LoadedRun {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!r) throw new AppError('RUN_NOT_FOUND', `no run '${id}' in ${this.file} (see 'ballast run list')`);
    const plan = JSON.parse(r.plan_json) as Plan;
    const byId = new Map(plan.moves.map((m) => [m.id, m]));
    const rows = this.db.prepare('SELECT * FROM moves WHERE run_id = ? ORDER BY seq').all(id) as MoveRow[];
    const moves = rows.map((row): MoveRecord => ({
      runId: id,
      move: byId.get(row.move_id)!,
      state: row.state as MoveState,
      attempts: row.attempts,
      handle: row.handle_json ? (JSON.parse(row.handle_json) as MoveHandle) : null,
      reason: row.reason,
      errorCode: row.error_code,
      bytesDone: row.bytes_done,
      bytesTotal: row.bytes_total,
      notBeforeMs: row.not_before,
      startedAtMs: row.started_at,
      finishedAtMs: row.finished_at,
    }));
    return { run: runOf(r), plan, settings: JSON.parse(r.settings_json) as RunSettings, moves };
  }

  /** Runs, newest first. */
  listRuns(limit = 50): (RunRecord & { readonly moves: number; readonly counts: Readonly<Record<string, number>> })[] {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as RunRow[];
    const count = this.db.prepare('SELECT state, COUNT(*) AS n FROM moves WHERE run_id = ? GROUP BY state');
    return rows.map((r) => {
      const counts: Record<string, number> = {};
      let total = 0;
      for (const c of count.all(r.id) as { state: string; n: number }[]) {
        counts[c.state] = c.n;
        total += c.n;
      }
      return { ...runOf(r), moves: total, counts };
    });
  }

  /**
   * The one way a move changes state: checks the table, writes the move row and the transition
   * row in one transaction, and only then updates the in-memory record.
   */
  transition(rec: MoveRecord, to: MoveState, patch: TransitionPatch, nowMs: number): void {
    assertTransition(rec.move.id, rec.state, to);
    const next = {
      attempts: patch.attempts ?? rec.attempts,
      handle: patch.handle !== undefined ? patch.handle : rec.handle,
      reason: patch.reason !== undefined ? patch.reason : rec.reason,
      errorCode: patch.errorCode !== undefined ? patch.errorCode : rec.errorCode,
      notBeforeMs: patch.notBeforeMs ?? rec.notBeforeMs,
      startedAtMs: patch.startedAtMs !== undefined ? patch.startedAtMs : rec.startedAtMs,
      finishedAtMs: patch.finishedAtMs !== undefined ? patch.finishedAtMs : rec.finishedAtMs,
    };
    this.tx(() => {
      const changed = this.db
        .prepare(
          `UPDATE moves SET state = ?, attempts = ?, handle_json = ?, reason = ?, error_code = ?, not_before = ?, started_at = ?, finished_at = ?,
             bytes_done = ?, bytes_total = ? WHERE run_id = ? AND move_id = ? AND state = ?`,
        )
        .run(
          to,
          next.attempts,
          next.handle ? JSON.stringify(next.handle) : null,
          next.reason,
          next.errorCode,
          next.notBeforeMs,
          next.startedAtMs,
          next.finishedAtMs,
          rec.bytesDone,
          rec.bytesTotal,
          rec.runId,
          rec.move.id,
          rec.state,
        ).changes;
      if (changed !== 1) throw new AppError('RUN_BUSY', `move ${rec.move.id} of run ${rec.runId} is no longer ${rec.state} in the journal: another process changed it`);
      this.db
        .prepare('INSERT INTO transitions (run_id, move_id, from_state, to_state, attempt, at, reason, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(rec.runId, rec.move.id, rec.state, to, next.attempts, nowMs, next.reason, next.errorCode);
      this.db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?').run(nowMs, rec.runId);
    });
    rec.state = to;
    Object.assign(rec, next);
  }

  /** Records the control plane's handle of a started move (not a state change). */
  setHandle(rec: MoveRecord, handle: MoveHandle): void {
    this.db.prepare('UPDATE moves SET handle_json = ? WHERE run_id = ? AND move_id = ?').run(JSON.stringify(handle), rec.runId, rec.move.id);
    rec.handle = handle;
  }

  /** Saves bytes done/total of a running move (progress only; no state change). */
  saveBytes(rec: MoveRecord): void {
    this.db.prepare('UPDATE moves SET bytes_done = ?, bytes_total = ? WHERE run_id = ? AND move_id = ?').run(rec.bytesDone, rec.bytesTotal, rec.runId, rec.move.id);
  }

  setRunState(id: string, state: RunState, note: string | null, nowMs: number, ownerPid: number | null): void {
    const finished = state === 'finished' || state === 'cancelled';
    this.db
      .prepare('UPDATE runs SET state = ?, note = ?, updated_at = ?, owner_pid = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?')
      .run(state, note, nowMs, ownerPid, finished ? 1 : 0, nowMs, id);
  }

  /**
   * Takes ownership of a run for this process: refused (RUN_BUSY) while another live process owns
   * it, or once it has ended. `alive` says whether a pid is a running process.
   */
  claim(id: string, pid: number, nowMs: number, alive: (pid: number) => boolean): void {
    this.tx(() => {
      const { run } = this.load(id);
      if (run.state === 'finished' || run.state === 'cancelled') throw new AppError('RUN_BUSY', `run ${id} has already ${run.state === 'finished' ? 'finished' : 'been cancelled'}`);
      if (run.ownerPid !== null && run.ownerPid !== pid && alive(run.ownerPid)) {
        throw new AppError('RUN_BUSY', `run ${id} is being executed by process ${run.ownerPid}; use 'ballast run cancel ${id}' to stop it`);
      }
      this.db.prepare("UPDATE runs SET owner_pid = ?, state = 'running', updated_at = ? WHERE id = ?").run(pid, nowMs, id);
    });
  }

  /** Runs left running by a process that is gone (what the daemon resumes on start). */
  interruptedRuns(alive: (pid: number) => boolean): string[] {
    const rows = this.db.prepare("SELECT id, owner_pid FROM runs WHERE state IN ('running', 'cancelling') ORDER BY created_at").all() as { id: string; owner_pid: number | null }[];
    return rows.filter((r) => r.owner_pid === null || !alive(r.owner_pid)).map((r) => r.id);
  }

  requestCancel(id: string, nowMs: number): void {
    const changed = this.db.prepare('UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE id = ?').run(nowMs, id).changes;
    if (changed !== 1) throw new AppError('RUN_NOT_FOUND', `no run '${id}' in ${this.file}`);
  }

  cancelRequested(id: string): boolean {
    const r = this.db.prepare('SELECT cancel_requested FROM runs WHERE id = ?').get(id) as { cancel_requested: number } | undefined;
    return r?.cancel_requested === 1;
  }

  /** Every journaled transition of a run, in order. */
  transitions(id: string): TransitionRow[] {
    const rows = this.db.prepare('SELECT * FROM transitions WHERE run_id = ? ORDER BY seq').all(id) as {
      seq: number;
      move_id: string;
      from_state: string;
      to_state: string;
      attempt: number;
      at: number;
      reason: string | null;
      error_code: string | null;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      moveId: r.move_id,
      from: r.from_state as MoveState,
      to: r.to_state as MoveState,
      attempt: r.attempt,
      atMs: r.at,
      reason: r.reason,
      errorCode: r.error_code,
    }));
  }
}
