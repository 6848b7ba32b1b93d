/**
 * Maintenance windows: is a moment inside one, and when does the next one open. Time-zone math
 * goes through Intl (IANA zones, daylight saving included); windows are minute-granular.
 *
 * @module
 */
import type { CompiledWindow, Weekday } from '../policy/index.js';

const DAY_INDEX: Readonly<Record<string, number>> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const WEEKDAY_NAMES: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local weekday (0 = Monday) and minute of the day of an instant in a time zone. */
export function localTime(atMs: number, timeZone: string): { readonly day: number; readonly minute: number } {
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of formatter(timeZone).formatToParts(atMs)) {
    if (p.type === 'weekday') day = DAY_INDEX[p.value] ?? 0;
    else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** True when `atMs` is inside `w` (overnight windows belong to the day they start on). */
export function insideWindow(atMs: number, w: CompiledWindow): boolean {
  const { day, minute } = localTime(atMs, w.timeZone);
  const today = WEEKDAY_NAMES[day]!;
  const yesterday = WEEKDAY_NAMES[(day + 6) % 7]!;
  if (w.startMinute < w.endMinute) return w.days.includes(today) && minute >= w.startMinute && minute < w.endMinute;
  return (w.days.includes(today) && minute >= w.startMinute) || (w.days.includes(yesterday) && minute < w.endMinute);
}

/** True when moves may start at `atMs`: no windows at all, or inside one of them. */
export function windowOpen(atMs: number, windows: readonly CompiledWindow[]): boolean {
  return windows.length === 0 || windows.some((w) => insideWindow(atMs, w));
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
const SEARCH_LIMIT_MS = 8 * DAY_MINUTES * MINUTE_MS;
/** Jumps tried before falling back to a minute-by-minute scan (each jump advances at least a minute). */
const MAX_JUMPS = 64;
/** How far back a landing is re-checked minute by minute when a daylight-saving change was crossed. */
const DST_SLACK_MINUTES = 180;

/** Local minutes from now until the next start of `w` (strictly after this minute), or Infinity. */
function minutesToNextStart(atMs: number, w: CompiledWindow): number {
  const { day, minute } = localTime(atMs, w.timeZone);
  for (let d = 0; d <= 7; d++) {
    if (!w.days.includes(WEEKDAY_NAMES[(day + d) % 7]!)) continue;
    const delta = d * DAY_MINUTES + w.startMinute - minute;
    if (delta > 0) return delta;
  }
  return Number.POSITIVE_INFINITY;
}

/** Local minutes from now until the occurrence of `w` that is open now ends (0 when `w` is closed). */
function minutesToEnd(atMs: number, w: CompiledWindow): number {
  if (!insideWindow(atMs, w)) return 0;
  const { minute } = localTime(atMs, w.timeZone);
  if (w.startMinute < w.endMinute) return w.endMinute - minute;
  return minute >= w.startMinute ? DAY_MINUTES - minute + w.endMinute : w.endMinute - minute;
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** The first minute in [from, to] where `pred` holds (to is known to satisfy it). */
function firstMinute(from: number, to: number, pred: (t: number) => boolean): number {
  for (let t = from; t < to; t += MINUTE_MS) if (pred(t)) return t;
  return to;
}

/**
 * Finds the first minute after `atMs` where `pred` holds by jumping to the candidate minutes that
 * `nextDelta` names (window starts or ends, in local minutes), not by scanning every minute: a
 * simulation asks this every few seconds of simulated time. Local minute boundaries are UTC minute
 * boundaries (zone offsets are whole minutes); a landing that crossed a daylight-saving change is
 * re-checked minute by minute over the hours before it, so the answer stays the exact first minute.
 */
function search(atMs: number, pred: (t: number) => boolean, nextDelta: (t: number) => number): number | null {
  const limit = atMs + SEARCH_LIMIT_MS;
  let prev = floorMinute(atMs) + MINUTE_MS;
  if (pred(prev)) return prev;
  for (let i = 0; i < MAX_JUMPS; i++) {
    const delta = nextDelta(prev);
    if (!Number.isFinite(delta) || delta <= 0) return null;
    const t = prev + delta * MINUTE_MS;
    if (t > limit) return null;
    if (pred(t)) {
      // Normally the landing is the change itself; if the minute before already holds, a clock change moved it: find it.
      return pred(t - MINUTE_MS) ? firstMinute(Math.max(prev + MINUTE_MS, t - DST_SLACK_MINUTES * MINUTE_MS), t, pred) : t;
    }
    prev = t;
  }
  for (let t = prev + MINUTE_MS; t <= limit; t += MINUTE_MS) if (pred(t)) return t;
  return null;
}

/**
 * The first instant at or after `atMs` when the windows are open (minute-aligned after the first
 * step), or null when none opens within eight days (a window list with no days).
 */
export function nextOpening(atMs: number, windows: readonly CompiledWindow[]): number | null {
  if (windowOpen(atMs, windows)) return atMs;
  return search(
    atMs,
    (t) => windowOpen(t, windows),
    (t) => Math.min(...windows.map((w) => minutesToNextStart(t, w))),
  );
}

/** The first instant after `atMs` when the windows are closed, or null when they never close (none set). */
export function nextClosing(atMs: number, windows: readonly CompiledWindow[]): number | null {
  if (windows.length === 0) return null;
  if (!windowOpen(atMs, windows)) return atMs;
  return search(
    atMs,
    (t) => !windowOpen(t, windows),
    (t) => Math.max(1, Math.min(...windows.map((w) => minutesToEnd(t, w)).filter((m) => m > 0))),
  );
}
