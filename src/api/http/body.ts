/**
 * Request bodies: read with a hard size limit (checked on Content-Length first, then while
 * streaming), only JSON accepted, parse errors as clear 400s.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../shared/index.js';

function tooLarge(limit: number, got: string): AppError {
  return new AppError('API_BODY_TOO_LARGE', `Request is too large: the body is ${got}, the limit is ${limit} bytes.`, { details: { limit } });
}

/**
 * Reads the whole body of a request, refusing (API_BODY_TOO_LARGE) beyond `limit` bytes without
 * buffering more than the limit. Returns an empty buffer for requests without a body.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (!/^\d+$/.test(declared)) throw new AppError('INVALID_INPUT', `Malformed Content-Length header: '${declared}'`);
    if (Number(declared) > limit) throw tooLarge(limit, `${declared} bytes`);
  }
  // Events rather than for-await: leaving an async iterator early destroys the socket, and the
  // client must still get its 413.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge(limit, `more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** Checks the media type of a non-empty body: JSON, or no Content-Type at all. */
export function checkJsonMediaType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return;
  throw new AppError('API_UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Type '${type}': send application/json.`);
}

/** Parses a JSON body; INVALID_INPUT with the parser's reason when it is empty or malformed. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new AppError('INVALID_INPUT', 'Malformed request body: the body is empty, expected a JSON object.');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw new AppError('INVALID_INPUT', `Malformed request body: ${(e as Error).message}`, { cause: e });
  }
}
