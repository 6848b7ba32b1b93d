/**
 * Collectors and how they run: each has a name, reads the fleet through the `FleetReader` port and
 * returns samples; {@link runCollectors} runs several, writes what they return, and reports each
 * one's outcome by name. A collector that throws is reported and the others still run.
 *
 * @module
 */
import type { FleetReader } from '../model/index.js';
import { toAppError, type AppError, type Clock } from '../shared/index.js';
import type { Point, TelemetryStore } from './store.js';

/** What a collector gets for one run. */
export interface CollectContext {
  readonly reader: FleetReader;
  /** The collector's clock reading for this run. */
  readonly nowMs: number;
}

/** What one run of a collector produced. */
export interface CollectOutput {
  readonly points: readonly Point[];
  /** Things the user should know (a sample rejected, a counter restart), each one line. */
  readonly notes: readonly string[];
}

/** A named source of samples. */
export interface Collector {
  /** Kebab-case name, used in schedules, reports and logs. */
  readonly name: string;
  /** Reads the fleet and returns samples; throws a typed error when it cannot. */
  collect(ctx: CollectContext): Promise<CollectOutput>;
}

/** The outcome of one collector in a run. */
export type CollectorOutcome =
  | { readonly name: string; readonly ok: true; readonly points: number; readonly notes: readonly string[]; readonly durationMs: number }
  | { readonly name: string; readonly ok: false; readonly error: AppError; readonly durationMs: number };

/** The outcome of a run, collectors in the order given. */
export interface CollectReport {
  readonly atMs: number;
  readonly outcomes: readonly CollectorOutcome[];
}

/**
 * Runs `collectors` one after the other and writes each one's samples to `store`. A collector that
 * throws, or whose samples the store refuses, is reported with its name; the others still run.
 */
export async function runCollectors(collectors: readonly Collector[], reader: FleetReader, store: TelemetryStore, clock: Clock): Promise<CollectReport> {
  const atMs = clock.nowMs();
  const outcomes: CollectorOutcome[] = [];
  for (const c of collectors) {
    const started = clock.nowMs();
    try {
      const out = await c.collect({ reader, nowMs: clock.nowMs() });
      await store.write(out.points);
      outcomes.push({ name: c.name, ok: true, points: out.points.length, notes: out.notes, durationMs: clock.nowMs() - started });
    } catch (e) {
      const error = toAppError(e, 'COLLECTOR_FAILED');
      outcomes.push({ name: c.name, ok: false, error, durationMs: clock.nowMs() - started });
    }
  }
  return { atMs, outcomes };
}

/** One line per collector: `capacity: 24 samples`, `performance: FAILED [CODE] message`. */
export function formatCollectReport(r: CollectReport): string[] {
  return r.outcomes.flatMap((o) =>
    o.ok
      ? [`${o.name}: ${o.points} sample${o.points === 1 ? '' : 's'}`, ...o.notes.map((n) => `  ${o.name}: ${n}`)]
      : [`${o.name}: FAILED [${o.error.code}] ${o.error.message}`],
  );
}
