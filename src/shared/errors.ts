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
  // executor
  PLAN_EXPIRED: { retryable: false, exit: 4, summary: 'the plan expired or its inventory is stale; make a new plan (or --force)' },
  PLAN_INVALID: { retryable: false, exit: 2, summary: 'a plan file is malformed or names pools that do not exist' },
  RUN_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such executor run' },
  RUN_BUSY: { retryable: false, exit: 4, summary: 'the run is being executed by another live process, or has already ended' },
  MOVE_TIMEOUT: { retryable: true, exit: 5, summary: 'a move ran longer than the policy allows and was stopped' },
  MOVE_VERIFY_FAILED: { retryable: false, exit: 5, summary: 'after a move the volume is not where and what the plan says' },
  // telemetry
  TELEMETRY_STALE: { retryable: true, exit: 4, summary: 'telemetry of one or more pools is older than the configured maximum age' },
  TELEMETRY_STORE_UNAVAILABLE: { retryable: true, exit: 5, summary: 'the telemetry store cannot be reached and its write buffer is full' },
  TELEMETRY_WRITE_REJECTED: { retryable: false, exit: 5, summary: 'the telemetry store refused samples (bad value, type conflict)' },
  TELEMETRY_NO_DATA: { retryable: false, exit: 3, summary: 'the telemetry store holds no samples for what was asked' },
  PRICE_CATALOGUE_INVALID: { retryable: false, exit: 2, summary: 'the price catalogue file is invalid' },
  COLLECTOR_FAILED: { retryable: true, exit: 5, summary: 'one or more telemetry collectors failed' },
  // controlplane/cinder
  CINDER_UNREACHABLE: { retryable: true, exit: 5, summary: 'Cinder or Keystone could not be reached or did not answer in time' },
  CINDER_AUTH_FAILED: { retryable: false, exit: 2, summary: 'Keystone refused the credentials, or they are missing' },
  CINDER_ENDPOINT_NOT_FOUND: { retryable: false, exit: 2, summary: 'the service catalog has no block-storage endpoint for the region and interface' },
  CINDER_REQUEST_FAILED: { retryable: false, exit: 5, summary: 'Cinder answered a request with an error (HTTP status and message given)' },
  CINDER_MICROVERSION_UNSUPPORTED: { retryable: false, exit: 2, summary: 'Cinder does not support a microversion Ballast can use' },
  CINDER_MOVE_NOT_STARTED: { retryable: true, exit: 5, summary: 'Cinder accepted a move (202) but the volume never started moving' },
  // api
  API_UNAUTHORIZED: { retryable: false, exit: 2, summary: 'the HTTP request has no valid token (X-Auth-Token)' },
  API_FORBIDDEN: { retryable: false, exit: 2, summary: 'the caller is authenticated but its role does not allow this' },
  API_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such HTTP resource (path)' },
  API_METHOD_NOT_ALLOWED: { retryable: false, exit: 2, summary: 'the HTTP method is not allowed on this resource' },
  API_BODY_TOO_LARGE: { retryable: false, exit: 2, summary: 'the HTTP request body exceeds the configured size limit' },
  API_UNSUPPORTED_MEDIA_TYPE: { retryable: false, exit: 2, summary: 'the HTTP request body is not JSON' },
  API_VERSION_NOT_SUPPORTED: { retryable: false, exit: 2, summary: 'the requested API microversion is outside the supported range' },
  TYPE_EXISTS: { retryable: false, exit: 4, summary: 'a volume type with this name already exists' },
  // planner
  PLAN_REFUSED: { retryable: false, exit: 4, summary: 'the placement breaks a hard constraint (verifier) or the policy cannot be met; no plan made' },
  INVENTORY_INVALID: { retryable: false, exit: 2, summary: 'an inventory file is malformed (schema, shape)' },
  POLICY_INVALID: { retryable: false, exit: 2, summary: 'the policy files have problems (see ballast policy check)' },
  // simulator
  SCENARIO_INVALID: { retryable: false, exit: 2, summary: 'a scenario file has problems (located: file:line:col)' },
  // daemon
  DAEMON_RUNNING: { retryable: false, exit: 4, summary: 'another ballast daemon holds the lock of this state directory' },
  DAEMON_STOPPING: { retryable: true, exit: 5, summary: 'the daemon is stopping: no new move starts; the run resumes at its next start' },
  PLAN_NOT_FOUND: { retryable: false, exit: 3, summary: 'no such plan in the daemon state' },
  PLAN_NOT_WAITING: { retryable: false, exit: 4, summary: 'the plan is not waiting for a decision (already approved, rejected, superseded, expired or applied)' },
  // demo
  DEMO_CHECK_FAILED: { retryable: false, exit: 5, summary: 'a check of ballast demo failed (data, placement, status or the live writer)' },
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
