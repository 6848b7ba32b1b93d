/**
 * The shared executor: runs plans through the ControlPlane port under limits, windows and gates,
 * one journaled state machine per move, resumable after a crash, cancellable, with progress.
 *
 * @module
 */
export { Executor, type ExecutorDeps } from './executor.js';
export { RunJournal, type LoadedRun, type TransitionRow, type TransitionPatch } from './journal.js';
export { TRANSITIONS, TERMINAL, IN_FLIGHT, MOVE_STATES, canTransition, assertTransition, type MoveState } from './transitions.js';
export { SlotBook, headroomBlocker, backendOf } from './admission.js';
export { precheck, verifyMoved, inPlace, moveRequest, type PrecheckVerdict, type VerifyVerdict } from './checks.js';
export { windowOpen, insideWindow, nextOpening, nextClosing, localTime } from './windows.js';
export { realTimers, Waker, type Timers, type ExecutorTime } from './timers.js';
export { Breaker } from './breaker.js';
export { ProgressTracker } from './progress.js';
export { summarize } from './summary.js';
export { guardPlan, settingsFromPolicy } from './plan-guard.js';
export { renderProgressLines, renderSummary } from './render.js';
export { newRunId, pidAlive } from './run-ids.js';
export {
  DEFAULT_SETTINGS,
  limitsFromPolicy,
  type ExecutorEvent,
  type ExecutorLimits,
  type MoveProgressView,
  type MoveRecord,
  type RunProgress,
  type RunRecord,
  type RunSettings,
  type RunState,
  type RunSummary,
} from './types.js';
export { outcomeOf, type Outcome, type StopReason } from './outcome.js';
