/**
 * Executor events on the terminal: a block of progress bars redrawn in place on a TTY (stderr),
 * plain lines otherwise (each transition, and the run's total every `plainEveryMs`). Used by
 * `ballast apply`/`run resume` and the demo.
 *
 * @module
 */
import { renderProgressLines, type ExecutorEvent } from '../executor/index.js';
import type { CliIo } from './io.js';

const ENDED = new Set(['done', 'skipped', 'failed', 'cancelled']);

export interface RunProgressOptions {
  /** Where the plain lines go (the bars always go to stderr). */
  readonly write: (line: string) => void;
  /** Put before each plain line (the demo indents its output). */
  readonly prefix?: string;
  /** How often the run's total is printed when not on a terminal. */
  readonly plainEveryMs: number;
}

export interface RunProgressPrinter {
  onEvent(e: ExecutorEvent): void;
  /** Clears the bars (before the summary is printed). */
  finish(): void;
}

export function runProgressPrinter(io: CliIo, opts: RunProgressOptions): RunProgressPrinter {
  const prefix = opts.prefix ?? '';
  let drawn = 0;
  let lastDraw = 0;
  let lastLine = 0;
  const clear = () => {
    if (drawn > 0) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const line = (s: string) => {
    if (io.isTTY) clear();
    opts.write(`${prefix}${s}`);
  };
  return {
    onEvent(e) {
      const now = Date.now();
      if (e.kind === 'transition' && (!io.isTTY || ENDED.has(e.to))) {
        line(`${e.moveId}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`);
      } else if (e.kind === 'run' && e.note) {
        line(`run ${e.state}: ${e.note}`);
      } else if (e.kind === 'progress') {
        if (io.isTTY && now - lastDraw >= 200) {
          lastDraw = now;
          clear();
          const lines = renderProgressLines(e.progress, { bars: true });
          process.stderr.write(`${lines.join('\n')}\n`);
          drawn = lines.length;
        } else if (!io.isTTY && now - lastLine >= opts.plainEveryMs) {
          lastLine = now;
          opts.write(`${prefix}${renderProgressLines(e.progress, { bars: false }).at(-1)!}`);
        }
      }
    },
    finish: () => {
      if (io.isTTY) clear();
    },
  };
}
