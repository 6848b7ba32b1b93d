/**
 * Server-sent events of a run's progress: a `snapshot` event with the run as it is, then every
 * executor event (`transition`, `progress`, `run`) as it happens, `: keep-alive` comments while
 * quiet, and an `end` event once the run has ended (or at once when it had already ended).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ExecutorEvent } from '../../executor/index.js';
import type { BallastBackend } from './backend.js';

const ENDED = new Set(['finished', 'cancelled', 'paused']);

/** Options of {@link streamRunEvents}. */
export interface SseOptions {
  /** Interval of keep-alive comments (default 15 s). */
  readonly keepAliveMs?: number;
  /** Least interval between two `progress` events (default 250 ms); transitions are never dropped. */
  readonly progressEveryMs?: number;
}

/**
 * Streams the events of run `runId` to `res` until the run ends, the client goes or `signal`
 * aborts. The run must exist (the caller checked it with `getRun`).
 */
export async function streamRunEvents(b: BallastBackend, runId: string, res: ServerResponse, signal: AbortSignal, opts: SseOptions = {}): Promise<void> {
  let seq = 0;
  const send = (event: string, data: unknown) => {
    if (!res.writableEnded) res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const snapshot = b.getRun(runId);
  send('snapshot', snapshot);
  if (!snapshot.run.live && ENDED.has(snapshot.run.state)) {
    send('end', { runId, state: snapshot.run.state });
    return;
  }
  await new Promise<void>((resolve) => {
    let lastProgress = 0;
    const every = opts.progressEveryMs ?? 250;
    const finish = () => {
      clearInterval(keepAlive);
      unsubscribe();
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const onEvent = (e: ExecutorEvent) => {
      if (e.kind === 'progress') {
        if (e.atMs - lastProgress < every) return;
        lastProgress = e.atMs;
        send('progress', e.progress);
      } else if (e.kind === 'transition') send('transition', e);
      else {
        send('run', e);
        if (ENDED.has(e.state)) {
          send('end', { runId, state: e.state });
          finish();
        }
      }
    };
    const unsubscribe = b.subscribe(runId, onEvent);
    const keepAlive = setInterval(() => {
      if (!res.writableEnded) res.write(': keep-alive\n\n');
    }, opts.keepAliveMs ?? 15_000);
    signal.addEventListener('abort', finish);
    if (signal.aborted) finish();
    // A run that is not executed here (another process, or interrupted) sends nothing more.
    if (!snapshot.run.live) {
      send('end', { runId, state: snapshot.run.state, note: 'this daemon does not execute the run: no live events' });
      finish();
    }
  });
}
