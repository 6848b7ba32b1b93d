/**
 * The discrete-event clock: a {@link Clock} whose time moves only when the next event fires, so a
 * week of moves simulates in milliseconds. Timers are events in a queue ordered by time, then by
 * the order they were set: simultaneous events fire in a fixed, reproducible order.
 *
 * Code under simulation (the executor, the simulated control plane) is ordinary async code. Between
 * two events the clock lets every pending promise settle (one macrotask turn drains the microtask
 * queue), so "what happens at time t" is complete before time moves on.
 *
 * @module
 */
import { AppError, type Clock } from '../shared/index.js';

/** A handle of a timer set on a {@link SimClock}. */
export type TimerId = number;

/** Timers driven by a clock: what the executor and the simulated control plane wait with. */
export interface SimTimers {
  /** Calls `fn` after `delayMs` of clock time (0 or less: at the current time, after what is queued there). */
  setTimer(delayMs: number, fn: () => void): TimerId;
  clearTimer(id: TimerId): void;
  /** Resolves after `ms` of clock time, or early (without error) when `signal` aborts (the executor's `Timers`). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

interface QueuedEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly id: TimerId;
  readonly fn: () => void;
}

/** Lets every promise that can settle now settle (one turn of the event loop). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Options of {@link SimClock.runUntil}. */
export interface RunOptions {
  /** Stop with an error when this many events fired (a loop that never ends). Default 10 000 000. */
  readonly maxEvents?: number;
  /** Stop once the clock would pass this time (the promise may still be pending). */
  readonly untilMs?: number;
}

/**
 * A clock plus timers over an event queue (a binary heap ordered by time, then sequence).
 * `nowMs` never goes backwards.
 */
export class SimClock implements Clock, SimTimers {
  private now: number;
  private seq = 0;
  private nextId = 1;
  private readonly heap: QueuedEvent[] = [];
  private readonly cancelled = new Set<TimerId>();
  private readonly live = new Set<TimerId>();
  private fired = 0;

  constructor(startMs: number) {
    if (!Number.isFinite(startMs)) throw new AppError('INVALID_INPUT', `clock start ${startMs} is not a finite time`);
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** Events fired since the clock was made. */
  get eventsFired(): number {
    return this.fired;
  }

  /** Events waiting in the queue (cancelled ones excluded). */
  get pending(): number {
    return this.live.size;
  }

  /** Time of the next event, or null when the queue is empty. */
  nextEventAtMs(): number | null {
    this.dropCancelledHead();
    return this.heap[0]?.atMs ?? null;
  }

  setTimer(delayMs: number, fn: () => void): TimerId {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const id = this.nextId++;
    this.push({ atMs: this.now + delay, seq: this.seq++, id, fn });
    return id;
  }

  clearTimer(id: TimerId): void {
    if (this.live.delete(id)) this.cancelled.add(id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = (): void => {
        this.clearTimer(id);
        resolve();
      };
      const id = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fires the next event (advancing the clock to it); false when the queue is empty. */
  fireNext(): boolean {
    this.dropCancelledHead();
    const ev = this.pop();
    if (!ev) return false;
    this.live.delete(ev.id);
    this.now = Math.max(this.now, ev.atMs);
    this.fired++;
    ev.fn();
    return true;
  }

  /**
   * Fires every event up to `targetMs` (settling promises between events), then sets the clock to
   * `targetMs`.
   */
  async advanceTo(targetMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.nextEventAtMs();
      if (next === null || next > targetMs) break;
      this.fireNext();
      await settle();
    }
    this.now = Math.max(this.now, targetMs);
  }

  /**
   * Drives the clock until `work` settles and returns its value. Fails with INTERNAL when the queue
   * empties while `work` is still pending (nothing could ever wake it: a deadlock), or when
   * `maxEvents` events fired. With `untilMs`, stops before passing that time and returns null if
   * `work` is still pending then.
   */
  async runUntil<T>(work: Promise<T>, opts: RunOptions = {}): Promise<T | null> {
    const maxEvents = opts.maxEvents ?? 10_000_000;
    let done = false;
    let failed = false;
    let value: T | undefined;
    let error: unknown;
    work.then(
      (v) => {
        done = true;
        value = v;
      },
      (e: unknown) => {
        failed = true;
        error = e;
      },
    );
    let count = 0;
    for (;;) {
      await settle();
      if (failed) throw error;
      if (done) return value as T;
      const next = this.nextEventAtMs();
      if (next === null) throw new AppError('INTERNAL', `simulation deadlock at ${new Date(this.now).toISOString()}: work is pending and no event is queued`);
      if (opts.untilMs !== undefined && next > opts.untilMs) {
        this.now = Math.max(this.now, opts.untilMs);
        return null;
      }
      if (++count > maxEvents) throw new AppError('INTERNAL', `simulation did not finish within ${maxEvents} events`);
      this.fireNext();
    }
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.cancelled.has(this.heap[0]!.id)) {
      this.cancelled.delete(this.heap[0]!.id);
      this.pop();
    }
  }

  private less(a: QueuedEvent, b: QueuedEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(ev: QueuedEvent): void {
    const h = this.heap;
    this.live.add(ev.id);
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): QueuedEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
