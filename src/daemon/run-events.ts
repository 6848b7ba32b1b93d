/**
 * Fan-out of a run's executor events to listeners (the API's server-sent event streams). A
 * listener that throws (a closed stream) is dropped from that event, never stops the run.
 *
 * @module
 */
import type { ExecutorEvent } from '../executor/index.js';

/** Listeners per run id. */
export class RunEvents {
  private readonly listeners = new Map<string, Set<(e: ExecutorEvent) => void>>();

  /** Subscribes to the events of a run; returns the unsubscribe function. */
  subscribe(runId: string, listener: (e: ExecutorEvent) => void): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  /** Delivers an event to the listeners of `runId`. */
  emit(runId: string, e: ExecutorEvent): void {
    for (const l of this.listeners.get(runId) ?? []) {
      try {
        l(e);
      } catch {
        // a listener that throws (a closed stream) must not stop the run
      }
    }
  }
}
