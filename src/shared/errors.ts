/**
 * One registry of stable error codes. A code never changes meaning once released; scripts and the
 * executor decide on `code` and `retryable`, never on message text.
 */
export const ERROR_CODES = {
  // input and configuration
  INVALID_INPUT: { retryable: false, exit: 2, summary: 'a command argument or request body is invalid' },
  CONFIG_INVALID: { retryable: false, exit: 2, summary: 'the configuration file is invalid' },
  CONFIG_NOT_FOUND: { retryable: false, exit: 2, summary: 'no configuration file was found' },
  INVALID_HOST: { retryable: false, exit: 2, summary: 'a host string is malformed or names no available back-end/pool' },
  // lookups
  VOLUME_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such volume' },
  SNAPSHOT_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such snapshot' },
  VOLUME_TYPE_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such volume type' },
  POOL_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such pool' },
  BACKEND_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such back-end' },
  // state conflicts (Cinder's InvalidVolume / NoValidBackend family)
  INVALID_VOLUME: { retryable: false, exit: 4, summary: 'the volume is not in a state that allows this operation' },
  NO_VALID_BACKEND: { retryable: false, exit: 4, summary: 'no pool passes the scheduler filters' },
  MIGRATION_FAILED: { retryable: true, exit: 5, summary: 'a migration failed; the volume is back on its source' },
  RETYPE_NOT_ALLOWED: { retryable: false, exit: 4, summary: 'retype requires migration but the policy is never' },
  IN_USE_NOT_SUPPORTED: { retryable: false, exit: 4, summary: 'moving attached (in-use) volumes is not available' },
  DATA_TOO_LARGE: { retryable: false, exit: 4, summary: 'data does not fit in the volume' },
  VERIFY_MISMATCH: { retryable: true, exit: 5, summary: 'the destination differs from the source after copy' },
  // drivers and storage
  DRIVER_ERROR: { retryable: true, exit: 5, summary: 'a volume driver operation failed' },
  DRIVER_NOT_FOUND: { retryable: false, exit: 2, summary: 'no such volume driver' },
  IO_ERROR: { retryable: true, exit: 5, summary: 'an I/O operation on volume data failed' },
  CANCELLED: { retryable: false, exit: 6, summary: 'the operation was cancelled' },
  STATE_LOCKED: { retryable: true, exit: 5, summary: 'the state database is busy or locked by another process' },
  INTERNAL: { retryable: false, exit: 70, summary: 'an internal error (a bug): please report it' },
} as const satisfies Record<string, { retryable: boolean; exit: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where in a file a problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

export interface AppErrorOptions {
  readonly cause?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly location?: SourceLocation;
  /** Overrides the code's default retry decision (rare: a driver that knows better). */
  readonly retryable?: boolean;
}

/** The one error type that crosses module boundaries: stable code, clear message, retry bit. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;
  readonly location: SourceLocation | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(options.location ? `${formatLocation(options.location)}: ${message}` : message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details ?? {};
    this.location = options.location;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.location ? { location: formatLocation(this.location) } : {}),
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
    };
  }
}

/** One located problem of a file (config, policy, scenario); many are reported at once. */
export interface FileProblem {
  readonly location: SourceLocation;
  /** Dotted path in the document, e.g. `backends[0].pools[1].size`. */
  readonly path: string;
  readonly message: string;
}

/** A file that failed validation: every problem at once, each with its place. */
export class FileValidationError extends AppError {
  readonly problems: readonly FileProblem[];

  constructor(code: ErrorCode, file: string, problems: readonly FileProblem[]) {
    const first = problems[0];
    const lines = problems.map((p) => `${formatLocation(p.location)}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(code, `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`, {
      ...(first ? { details: { problems: problems.map((p) => ({ ...p, location: formatLocation(p.location) })) } } : {}),
    });
    this.problems = problems;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(e: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (e instanceof AppError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AppError(fallback, message, { cause: e });
}
