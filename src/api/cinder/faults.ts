/**
 * Errors in Cinder's shape: `{"badRequest": {"code": 400, "message": "…"}}`, the fault name
 * following the status as Cinder's `wsgi.Fault` does. The stable Ballast code travels in the
 * `x-ballast-error-code` header, so scripts need not parse messages.
 *
 * @module
 */
import { ERROR_CODES, type AppError, type ErrorCode } from '../../shared/index.js';
import type { RouteResponse } from '../http/types.js';

/** Cinder's `Fault._fault_names`; any other status is a `computeFault`. */
const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** HTTP status per error code where the exit-code family is not enough. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  API_UNAUTHORIZED: 401,
  API_FORBIDDEN: 403,
  API_NOT_FOUND: 404,
  API_METHOD_NOT_ALLOWED: 405,
  API_VERSION_NOT_SUPPORTED: 406,
  API_BODY_TOO_LARGE: 413,
  API_UNSUPPORTED_MEDIA_TYPE: 415,
  TYPE_EXISTS: 409,
  STATE_LOCKED: 409,
  CANCELLED: 409,
};

/** The HTTP status of an error: the table above, else by family (input/refusal 400, lookup 404, failure 500). */
export function statusOf(code: ErrorCode): number {
  const explicit = STATUS[code];
  if (explicit !== undefined) return explicit;
  switch (ERROR_CODES[code].exit) {
    case 2:
    case 4:
      return 400;
    case 3:
      return 404;
    default:
      return 500;
  }
}

/** Cinder's message for errors it does not explain (500s): details stay in the server log. */
const INTERNAL_MESSAGE = 'The server has either erred or is incapable of performing the requested operation.';

/** An error as Cinder renders it. */
export function renderCinderError(err: AppError): RouteResponse {
  const status = statusOf(err.code);
  const name = FAULT_NAMES[status] ?? 'computeFault';
  const message = err.code === 'INTERNAL' ? INTERNAL_MESSAGE : err.message;
  const headers: Record<string, string> = { 'x-ballast-error-code': err.code };
  const allow = err.details['allow'];
  if (status === 405 && Array.isArray(allow)) headers['allow'] = allow.join(', ');
  return { status, body: { [name]: { code: status, message } }, headers };
}
