/**
 * Formatting shared by the reports.
 *
 * @module
 */
const DAY = 86_400_000;

/** `30d`, or `30d 04:00:12` for an offset from the start. */
export function fmtOffset(ms: number): string {
  const d = Math.floor(ms / DAY);
  const rest = ms - d * DAY;
  if (rest === 0) return `${d}d`;
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  return `${d}d ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}
