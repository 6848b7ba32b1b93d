/**
 * The per-move state machine: one transition table, one guard. Every state change of a move goes
 * through {@link assertTransition} and is journaled before it takes effect.
 *
 * @module
 */
import { AppError } from '../shared/index.js';

/** The states of one move of a run. */
export type MoveState = 'pending' | 'prechecking' | 'running' | 'verifying' | 'done' | 'skipped' | 'failed' | 'cancelled';

export const MOVE_STATES: readonly MoveState[] = ['pending', 'prechecking', 'running', 'verifying', 'done', 'skipped', 'failed', 'cancelled'];

/**
 * Allowed transitions. `running → pending` is a retry after a retryable failure or a move the
 * control plane rolled back after a crash; `prechecking → pending` is a move that must wait (its
 * destination has no room yet, or a gate closed while it was being checked).
 */
export const TRANSITIONS: Readonly<Record<MoveState, readonly MoveState[]>> = {
  pending: ['prechecking', 'skipped', 'cancelled'],
  prechecking: ['running', 'pending', 'skipped', 'failed', 'cancelled'],
  running: ['verifying', 'pending', 'failed', 'cancelled'],
  verifying: ['done', 'failed'],
  done: [],
  skipped: [],
  failed: [],
  cancelled: [],
};

/** States a move ends in. */
export const TERMINAL: ReadonlySet<MoveState> = new Set(['done', 'skipped', 'failed', 'cancelled']);

/** States that hold an admission slot. */
export const IN_FLIGHT: ReadonlySet<MoveState> = new Set(['prechecking', 'running', 'verifying']);

export function canTransition(from: MoveState, to: MoveState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws INTERNAL for a transition the table does not allow (a bug in the executor). */
export function assertTransition(moveId: string, from: MoveState, to: MoveState): void {
  if (!canTransition(from, to)) throw new AppError('INTERNAL', `move ${moveId}: transition ${from} → ${to} is not allowed`);
}
