/**
 * Quantities as people write them in policy files (`2TiB`, `85%`, `15m`, `200MiB/s`, `01:30`),
 * their parsers, and the hints shown when a value is almost right (`2TB` → `2TiB`).
 *
 * Each quantity has one regular expression (used by the zod schema, hence by the generated JSON
 * Schema as `pattern`) and one parser that turns a valid string into a number whose unit is in
 * the name of the compiled field (`…Bytes`, `…Pct`, `…Ms`, `…BytesPerSec`, `…Minute`).
 *
 * @module
 */

/** Result of parsing a quantity: a number, or a message saying what was expected and found. */
export type QuantityResult = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly message: string };

const ok = (value: number): QuantityResult => ({ ok: true, value });
const fail = (message: string): QuantityResult => ({ ok: false, message });

/** `'2TB'`, `85`, `[…]` as shown inside a message. */
export function showFound(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const NUM = '(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?';

// ---------------------------------------------------------------------------------------------
// sizes

/** Binary size units and their multipliers in bytes. */
export const SIZE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, PiB: 1024 ** 5 } as const;
type SizeUnit = keyof typeof SIZE_UNITS;

/** A binary size: `500GiB`, `2TiB`, `1.5 TiB`. */
export const SIZE_PATTERN = `^(${NUM}) ?(B|KiB|MiB|GiB|TiB|PiB)$`;
const SIZE_RE = new RegExp(SIZE_PATTERN);

/** Lower-cased unit spellings people use, mapped to the binary unit Ballast wants. */
const SIZE_UNIT_ALIASES: Readonly<Record<string, SizeUnit>> = {
  b: 'B', byte: 'B', bytes: 'B',
  k: 'KiB', kb: 'KiB', ki: 'KiB', kib: 'KiB',
  m: 'MiB', mb: 'MiB', mi: 'MiB', mib: 'MiB',
  g: 'GiB', gb: 'GiB', gi: 'GiB', gib: 'GiB',
  t: 'TiB', tb: 'TiB', ti: 'TiB', tib: 'TiB',
  p: 'PiB', pb: 'PiB', pi: 'PiB', pib: 'PiB',
};

/** Why a size string is not valid, with a corrected spelling when one is obvious. */
function sizeHint(s: string): string {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$/.exec(s);
  if (m) {
    const [, num = '', unit = ''] = m;
    const fixed = SIZE_UNIT_ALIASES[unit.toLowerCase()];
    if (fixed) {
      const decimal = /^[kmgtp]b$/i.test(unit);
      const fixedNum = String(Number(num));
      return decimal
        ? `: '${unit}' is a decimal unit; Ballast sizes are binary, did you mean '${fixedNum}${fixed}'?`
        : `: did you mean '${fixedNum}${fixed}'?`;
    }
  }
  return '';
}

/** Parses a binary size (`2TiB`) into bytes (an integer, at most 2^53 − 1). */
export function parseSize(v: unknown): QuantityResult {
  const expected = "expected a binary size such as '500GiB' or '2TiB'";
  if (typeof v === 'number') return fail(`${expected}, found ${showFound(v)} (add a unit: '${v}GiB'?)`);
  if (typeof v !== 'string') return fail(`${expected}, found ${showFound(v)}`);
  const m = SIZE_RE.exec(v);
  if (!m) return fail(`${expected}, found ${showFound(v)}${sizeHint(v)}`);
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[m[2] as SizeUnit]);
  if (!Number.isSafeInteger(bytes)) return fail(`size ${showFound(v)} is too large (at most 8PiB)`);
  return ok(bytes);
}

// ---------------------------------------------------------------------------------------------
// percentages

/** A percentage: `85%`, `12.5%`. */
export const PERCENT_PATTERN = `^(${NUM}) ?%$`;
const PERCENT_RE = new RegExp(PERCENT_PATTERN);

/** Parses `85%` into 85 (0 to 100 inclusive). */
export function parsePercent(v: unknown): QuantityResult {
  const expected = "expected a percentage such as '85%'";
  if (typeof v === 'number') {
    const asPct = v > 0 && v <= 1 ? Math.round(v * 10000) / 100 : v;
    return fail(`${expected}, found ${showFound(v)} (write '${asPct}%')`);
  }
  if (typeof v !== 'string') return fail(`${expected}, found ${showFound(v)}`);
  const m = PERCENT_RE.exec(v);
  if (!m) {
    const bare = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:pct|percent)?\s*$/i.exec(v);
    return fail(`${expected}, found ${showFound(v)}${bare ? ` (did you mean '${Number(bare[1])}%'?)` : ''}`);
  }
  const pct = Number(m[1]);
  if (pct > 100) return fail(`expected a percentage from 0% to 100%, found ${showFound(v)}`);
  return ok(pct);
}

// ---------------------------------------------------------------------------------------------
// durations

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration: `500ms`, `15m`, `2h`, `1h30m`, `7d`. */
export const DURATION_PATTERN = `^(?:${NUM}(?:ms|s|m|h|d))+$`;
const DURATION_RE = new RegExp(DURATION_PATTERN);
const DURATION_PART_RE = new RegExp(`(${NUM})(ms|s|m|h|d)`, 'g');

const DURATION_UNIT_ALIASES: Readonly<Record<string, string>> = {
  msec: 'ms', millis: 'ms', milliseconds: 'ms', millisecond: 'ms',
  sec: 's', secs: 's', second: 's', seconds: 's',
  min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  day: 'd', days: 'd',
};

/** Parses `1h30m` into milliseconds (an integer). */
export function parseDuration(v: unknown): QuantityResult {
  const expected = "expected a duration such as '15m', '2h' or '1h30m'";
  if (typeof v === 'number') return fail(`${expected}, found ${showFound(v)} (add a unit: '${v}m'?)`);
  if (typeof v !== 'string') return fail(`${expected}, found ${showFound(v)}`);
  if (!DURATION_RE.test(v)) {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$/.exec(v);
    const unit = m ? DURATION_UNIT_ALIASES[m[2]!.toLowerCase()] : undefined;
    return fail(`${expected}, found ${showFound(v)}${unit ? ` (did you mean '${Number(m![1])}${unit}'?)` : ''}`);
  }
  let ms = 0;
  for (const part of v.matchAll(DURATION_PART_RE)) {
    ms += Number(part[1]) * DURATION_UNITS[part[2] as keyof typeof DURATION_UNITS];
  }
  ms = Math.round(ms);
  if (!Number.isSafeInteger(ms)) return fail(`duration ${showFound(v)} is too long`);
  return ok(ms);
}

// ---------------------------------------------------------------------------------------------
// rates

/** A transfer rate in binary units per second: `200MiB/s`, `1GiB/s`. */
export const RATE_PATTERN = `^(${NUM}) ?(KiB|MiB|GiB)/s$`;
const RATE_RE = new RegExp(RATE_PATTERN);

/** Parses `200MiB/s` into bytes per second (an integer). */
export function parseRate(v: unknown): QuantityResult {
  const expected = "expected a rate such as '200MiB/s'";
  if (typeof v === 'number') return fail(`${expected}, found ${showFound(v)} (add a unit: '${v}MiB/s'?)`);
  if (typeof v !== 'string') return fail(`${expected}, found ${showFound(v)}`);
  const m = RATE_RE.exec(v);
  if (!m) {
    let hint = '';
    const near = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*(?:\/\s*(?:s|sec|second))?\s*$/.exec(v);
    if (near) {
      const unit = near[2]!;
      const fixed = SIZE_UNIT_ALIASES[unit.toLowerCase()];
      if (/(?:bps|bit)$/.test(unit) || /^[kmgtKMGT]b$/.test(unit)) {
        hint = " (rates are in bytes per second, not bits: write e.g. '100MiB/s')";
      } else if (fixed === 'KiB' || fixed === 'MiB' || fixed === 'GiB') {
        hint = ` (did you mean '${Number(near[1])}${fixed}/s'?)`;
      }
    }
    return fail(`${expected}, found ${showFound(v)}${hint}`);
  }
  const bps = Math.round(Number(m[1]) * SIZE_UNITS[m[2] as SizeUnit]);
  if (!Number.isSafeInteger(bps)) return fail(`rate ${showFound(v)} is too large`);
  return ok(bps);
}

// ---------------------------------------------------------------------------------------------
// times of day

/** A time of day `HH:MM`, 24-hour, `00:00` to `24:00`. */
export const CLOCK_PATTERN = '^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
const CLOCK_RE = new RegExp(CLOCK_PATTERN);

/** Parses `01:30` into minutes after midnight (90); `24:00` is 1440 (end of day). */
export function parseClock(v: unknown): QuantityResult {
  const expected = "expected a time of day 'HH:MM' such as '01:30'";
  if (typeof v !== 'string') return fail(`${expected}, found ${showFound(v)}${typeof v === 'number' ? " (quote it: '01:30')" : ''}`);
  if (!CLOCK_RE.test(v)) {
    const m = /^\s*([0-9]{1,2})(?::([0-9]{2}))?\s*$/.exec(v);
    const h = m ? Number(m[1]) : NaN;
    const min = m?.[2] !== undefined ? Number(m[2]) : 0;
    const hint = m && h <= 23 && min <= 59 ? ` (did you mean '${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}'?)` : '';
    return fail(`${expected}, found ${showFound(v)}${hint}`);
  }
  const [h = '0', m = '0'] = v.split(':');
  return ok(Number(h) * 60 + Number(m));
}

// ---------------------------------------------------------------------------------------------
// formatting (for `policy explain`)

/** `2199023255552` → `2TiB` (exact binary units when possible, else two decimals). */
export function formatSize(bytes: number): string {
  const units: SizeUnit[] = ['PiB', 'TiB', 'GiB', 'MiB', 'KiB'];
  for (const u of units) {
    const n = bytes / SIZE_UNITS[u];
    if (n >= 1) return `${Number.isInteger(n) ? n : Number(n.toFixed(2))}${u}`;
  }
  return `${bytes}B`;
}

/** `5400000` → `1h30m`. */
export function formatDurationMs(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [u, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${u}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** `90` → `01:30`. */
export function formatClock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
