/**
 * The circuit breaker of the health gate: when too many different moves have failed within a
 * window (a systemic problem, not one bad volume retried), no new move starts until a cool-down
 * has passed (running moves go on). A success closes it early.
 *
 * @module
 */
export class Breaker {
  /** Move id → when it last failed. */
  private failures = new Map<string, number>();
  private trippedUntil: number | null = null;

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly cooldownMs: number,
  ) {}

  failure(atMs: number, moveId: string): void {
    for (const [id, t] of this.failures) if (atMs - t >= this.windowMs) this.failures.delete(id);
    this.failures.set(moveId, atMs);
    if (this.threshold > 0 && this.failures.size >= this.threshold) this.trippedUntil = atMs + this.cooldownMs;
  }

  success(): void {
    this.failures.clear();
    this.trippedUntil = null;
  }

  /** When the breaker closes again, or null when it is closed now. */
  openUntil(atMs: number): number | null {
    if (this.trippedUntil === null || atMs >= this.trippedUntil) {
      if (this.trippedUntil !== null) this.failures.clear();
      this.trippedUntil = null;
      return null;
    }
    return this.trippedUntil;
  }

  describe(atMs: number): string {
    const until = this.openUntil(atMs);
    return until === null ? 'closed' : `${this.failures.size} moves failed within ${Math.round(this.windowMs / 1000)} s; dispatch resumes in ${Math.ceil((until - atMs) / 1000)} s`;
  }
}
