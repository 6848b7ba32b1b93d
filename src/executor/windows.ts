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
const SEARCH_LIMIT_MINUTES = 8 * 24 * 60;

/**
 * The first instant at or after `atMs` when the windows are open (minute-aligned after the first
 * step), or null when none opens within eight days (a window list with no days).
 */
export function nextOpening(atMs: number, windows: readonly CompiledWindow[]): number | null {
  if (windowOpen(atMs, windows)) return atMs;
  let t = Math.floor(atMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (let i = 0; i < SEARCH_LIMIT_MINUTES; i++, t += MINUTE_MS) if (windowOpen(t, windows)) return t;
  return null;
}

/** The first instant after `atMs` when the windows are closed, or null when they never close (none set). */
export function nextClosing(atMs: number, windows: readonly CompiledWindow[]): number | null {
  if (windows.length === 0) return null;
  if (!windowOpen(atMs, windows)) return atMs;
  let t = Math.floor(atMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (let i = 0; i < SEARCH_LIMIT_MINUTES; i++, t += MINUTE_MS) if (!windowOpen(t, windows)) return t;
  return null;
}
