/**
 * What the `telemetry` and `inventory` commands share: the control plane, the configured store,
 * the price catalogue and collectors, opened together and closed together; a duration option
 * parser; and a small terminal chart.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDurationMs, type LoadedConfig } from '../../config/index.js';
import type { ControlPlane } from '../../model/index.js';
import { AppError } from '../../shared/index.js';
import {
  configuredCollectors,
  openTelemetryStore,
  parsePriceCatalogue,
  type Collector,
  type PriceCatalogue,
  type StoredSample,
  type TelemetryStore,
} from '../../telemetry/index.js';
import { openControlPlane } from '../control-plane-factory.js';
import { reportError, type CliIo } from '../io.js';
import { globals } from './common.js';

/** Everything a telemetry command works with. */
export interface TelemetryContext {
  readonly controlPlane: ControlPlane;
  readonly config: LoadedConfig;
  readonly store: TelemetryStore;
  readonly catalogue: PriceCatalogue | null;
  readonly json: boolean;
  collectors(): Collector[];
}

/** Reads the configured price catalogue (null when none is configured). */
export async function loadCatalogue(config: LoadedConfig): Promise<PriceCatalogue | null> {
  const file = config.telemetry.pricesFile;
  if (file === null) return null;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('PRICE_CATALOGUE_INVALID', `cannot read the price catalogue ${file} (telemetry.prices in ${config.configFile}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parsePriceCatalogue(file, text);
}

/** Runs a command body with the control plane and the store open; reports errors; always closes. */
export async function withTelemetry(io: CliIo, cmd: Command, body: (ctx: TelemetryContext) => Promise<void>): Promise<void> {
  const g = globals(cmd);
  const json = g.json === true;
  const closers: (() => Promise<void>)[] = [];
  try {
    const opened = await openControlPlane(io, g);
    closers.push(() => opened.close());
    const config = opened.config;
    const catalogue = await loadCatalogue(config);
    const store = await openTelemetryStore(config.telemetry.store);
    closers.unshift(() => store.close());
    const external = config.telemetry.external;
    await body({
      controlPlane: opened.controlPlane,
      config,
      store,
      catalogue,
      json,
      collectors: () => configuredCollectors({ catalogue, external }),
    });
  } catch (e) {
    reportError(io, e, json);
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch (e) {
        reportError(io, e, json);
      }
    }
  }
}

/** Parses a `--window`/`--max-age` option (`24h`, `7d`, `15m`). */
export function durationOption(value: string, what: string): number {
  const ms = parseDurationMs(value);
  if (ms === null) throw new AppError('INVALID_INPUT', `${what} '${value}' must be a duration such as 15m, 24h or 7d`);
  return ms;
}

const BLOCKS = ' ▁▂▃▄▅▆▇█';

/** Compact number: 3 significant digits, k/M/G suffixes. */
export function compact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const abs = Math.abs(n);
  for (const [div, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) if (abs >= div) return `${(n / div).toPrecision(3)}${suffix}`;
  return abs === 0 ? '0' : abs >= 1 ? String(Number(n.toPrecision(3))) : n.toPrecision(2);
}

/**
 * A small chart of samples over [fromMs, toMs]: `height` rows of block characters, one column per
 * time slice (mean of its samples, blank when it has none), the range on the left, times below.
 */
export function renderChart(title: string, samples: readonly StoredSample[], fromMs: number, toMs: number, opts: { width?: number; height?: number } = {}): string {
  const width = opts.width ?? 60;
  const height = opts.height ?? 6;
  if (samples.length === 0) return `${title}: no samples in the window`;
  const cols: (number | null)[] = Array.from({ length: width }, () => null);
  const sums = new Array<number>(width).fill(0);
  const counts = new Array<number>(width).fill(0);
  const span = Math.max(1, toMs - fromMs);
  for (const s of samples) {
    const i = Math.min(width - 1, Math.max(0, Math.floor(((s.atMs - fromMs) / span) * width)));
    sums[i]! += s.value;
    counts[i]! += 1;
  }
  for (let i = 0; i < width; i++) if (counts[i]! > 0) cols[i] = sums[i]! / counts[i]!;
  const present = cols.filter((c): c is number => c !== null);
  const lo = Math.min(0, ...present);
  const hi = Math.max(...present);
  const range = hi - lo || 1;
  const label = (v: number) => compact(v).padStart(7);
  const lines = [title];
  for (let row = height - 1; row >= 0; row--) {
    const cells = cols
      .map((c) => {
        if (c === null) return ' ';
        const level = ((c - lo) / range) * height - row; // how much of this row the column fills
        return level >= 1 ? BLOCKS[8] : level <= 0 ? (row === 0 ? BLOCKS[1] : ' ') : BLOCKS[Math.max(1, Math.round(level * 8))];
      })
      .join('');
    lines.push(`${row === height - 1 ? label(hi) : row === 0 ? label(lo) : ' '.repeat(7)} ┤${cells}`);
  }
  const start = new Date(fromMs).toISOString().slice(0, 16).replace('T', ' ');
  const end = new Date(toMs).toISOString().slice(0, 16).replace('T', ' ');
  lines.push(`${' '.repeat(8)}└${'─'.repeat(width)}`);
  lines.push(`${' '.repeat(9)}${start}${end.padStart(Math.max(end.length, width - start.length))}`);
  return lines.join('\n');
}
