import { formatBytes, formatDuration } from '../shared/index.js';
import type { CliIo } from './io.js';

/**
 * Progress of long work: on a terminal a bar with bytes, rate and ETA redrawn in place; otherwise
 * plain lines, at most one per `lineIntervalMs` (and at the end).
 */
export class ProgressReporter {
  private startMs = Date.now();
  private lastLineMs = 0;
  private lastLabel = '';
  private drawn = false;

  constructor(
    private readonly io: CliIo,
    private readonly lineIntervalMs = 5000,
  ) {}

  update(label: string, done: number, total: number): void {
    const now = Date.now();
    if (label !== this.lastLabel) {
      if (this.drawn) this.io.stderr('');
      this.startMs = now;
      this.lastLabel = label;
      this.lastLineMs = 0;
      this.drawn = false;
    }
    const elapsed = Math.max(1, now - this.startMs);
    const rate = (done / elapsed) * 1000;
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    const eta = rate > 0 && total > done ? ((total - done) / rate) * 1000 : 0;
    const text = `${label} ${pct.toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`;
    if (this.io.isTTY) {
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      this.drawn = true;
    } else if ((done > 0 && now - this.lastLineMs >= this.lineIntervalMs) || (done >= total && total > 0)) {
      this.lastLineMs = now;
      this.io.stderr(text);
    }
  }

  /** A phase without bytes (e.g. `verifying`). */
  phase(label: string): void {
    if (this.drawn) {
      process.stderr.write('\n');
      this.drawn = false;
    }
    this.lastLabel = label;
    this.io.stderr(label);
  }

  done(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}
