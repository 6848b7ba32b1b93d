/**
 * What an ended move means, from the control plane's last word and what the executor knows: why
 * it asked the move to stop (if it did), and whether the move was re-attached after a restart.
 * Pure, so the table is tested on its own.
 *
 * @module
 */
import type { MoveProgress } from '../model/index.js';

/** Why the executor asked a running move to stop. */
export type StopReason = 'cancel' | 'requeue' | 'timeout';

export type Outcome =
  | { readonly kind: 'verify'; readonly note: string }
  | { readonly kind: 'attempt-failed'; readonly code: string; readonly message: string; readonly retryable: boolean }
  | { readonly kind: 'requeue'; readonly reason: string }
  | { readonly kind: 'cancelled'; readonly reason: string };

/** Decides what an ended move (`p.state` not `running`) becomes. */
export function outcomeOf(
  p: MoveProgress,
  ctx: { readonly why: StopReason | undefined; readonly reattached: boolean; readonly cancelling: boolean; readonly cancelNote: string | null; readonly moveTimeoutMs: number },
): Outcome {
  if (p.state === 'done') return { kind: 'verify', note: p.detail };
  if (p.state === 'cancelled' || (ctx.reattached && p.state === 'failed')) {
    if (ctx.why === 'timeout') return { kind: 'attempt-failed', code: 'MOVE_TIMEOUT', message: `ran longer than ${ctx.moveTimeoutMs} ms and was stopped (${p.detail})`, retryable: true };
    if (ctx.why === 'requeue') return { kind: 'requeue', reason: 'maintenance window closed; stopped and requeued' };
    if (ctx.why === 'cancel' || ctx.cancelling) return { kind: 'cancelled', reason: ctx.cancelNote ?? 'cancelled' };
    if (ctx.reattached) return { kind: 'requeue', reason: `interrupted by a restart; the control plane rolled it back (${p.detail})` };
    return { kind: 'cancelled', reason: `cancelled outside the executor (${p.detail})` };
  }
  const err = p.error ?? { code: 'MIGRATION_FAILED', message: p.detail, retryable: true };
  return { kind: 'attempt-failed', code: err.code, message: err.message, retryable: err.retryable };
}
