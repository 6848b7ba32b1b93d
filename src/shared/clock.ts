/** Time comes from a Clock, so the simulator and tests can run the same code on their own time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** ISO-8601 UTC text of a clock reading, as Cinder prints timestamps. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
