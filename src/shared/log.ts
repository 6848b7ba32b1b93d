/**
 * A small structured logger: one record per event (time, level, message, fields), written as a
 * JSON line when the destination is not a terminal and as a short readable line when it is.
 * Fields whose names look like secrets (token, password, secret, authorization, credential) are
 * replaced by `[redacted]`, at any depth, so a careless field never leaks one.
 *
 * @module
 */

/** Severity of a record. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log record as written (before formatting). */
export type LogRecord = Readonly<Record<string, unknown>>;

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY_RE = /token|password|passwd|secret|authorization|credential|api[-_]?key/i;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Where formatted lines go (one call per record, without the trailing newline). */
  readonly write: (line: string) => void;
  /** JSON lines (machines, files, journald) or readable lines (a terminal). */
  readonly format: 'json' | 'text';
  /** Records below this level are dropped (default info). */
  readonly level?: LogLevel;
  /** Wall clock for timestamps (default Date.now). */
  readonly nowMs?: () => number;
  /** Fields added to every record (e.g. `component`). */
  readonly fields?: LogRecord;
}

/** Structured logger; see the module comment. */
export interface Logger {
  debug(msg: string, fields?: LogRecord): void;
  info(msg: string, fields?: LogRecord): void;
  warn(msg: string, fields?: LogRecord): void;
  error(msg: string, fields?: LogRecord): void;
  /** A logger adding `fields` to every record. */
  child(fields: LogRecord): Logger;
  /**
   * Writes a record that already has `ts`, `level` and `msg` (the HTTP server's access log):
   * redacted and formatted like the others.
   */
  record(entry: LogRecord): void;
}

/** Replaces secret-looking fields (at any depth) by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY_RE.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function textLine(e: LogRecord): string {
  const { ts, level, msg, ...rest } = e;
  const time = typeof ts === 'string' ? ts.slice(11, 19) : '';
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${fields ? ` ${fields}` : ''}`;
}

/** A logger writing to `opts.write` (see {@link LoggerOptions}). */
export function createLogger(opts: LoggerOptions): Logger {
  const min = LEVEL_RANK[opts.level ?? 'info'];
  const now = opts.nowMs ?? Date.now;
  const base = opts.fields ?? {};
  const emit = (entry: LogRecord) => {
    const level = (entry['level'] as LogLevel | undefined) ?? 'info';
    if ((LEVEL_RANK[level] ?? LEVEL_RANK.info) < min) return;
    const safe = redact(entry) as LogRecord;
    opts.write(opts.format === 'json' ? JSON.stringify(safe) : textLine(safe));
  };
  const make = (fields: LogRecord): Logger => {
    const log = (level: LogLevel) => (msg: string, extra: LogRecord = {}) => emit({ ts: new Date(now()).toISOString(), level, msg, ...fields, ...extra });
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more) => make({ ...fields, ...more }),
      record: (entry) => emit({ ...entry, ...fields }),
    };
  };
  return make(base);
}
