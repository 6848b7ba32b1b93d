// The HTTP client under the Cinder adapter, against a real local server: retries with backoff on
// 5xx and connection errors for GET only, a timeout on every request, Cinder's error text.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HttpClient, openstackErrorMessage } from '../../src/controlplane/index.js';
import { isAppError } from '../../src/shared/index.js';

let server: Server;
let base: string;
/** A port nothing listens on (a server opened and closed). */
let closedPort: number;
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (hits.get(key) ?? 0) + 1;
    hits.set(key, n);
    if (req.url === '/flaky') {
      if (n <= 2) {
        res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"overLimit": {"code": 503, "message": "busy"}}');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok": true}');
      }
      return;
    }
    if (req.url === '/always503') return void res.writeHead(503).end('Service Unavailable');
    if (req.url === '/bad') return void res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"badRequest": {"code": 400, "message": "Invalid volume: nope"}}');
    if (req.url?.startsWith('/slow')) return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise((r) => tmp.close(r));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function client(opts: { retries?: number; timeoutMs?: number } = {}): { http: HttpClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const http = new HttpClient({ retries: opts.retries ?? 3, backoffMs: 10, timeoutMs: opts.timeoutMs ?? 2_000, sleep: async (ms) => void sleeps.push(ms) });
  return { http, sleeps };
}

describe('HttpClient', () => {
  test('GET retries a 5xx with doubling backoff, then succeeds', async () => {
    hits.clear();
    const { http, sleeps } = client();
    const res = await http.send({ method: 'GET', url: `${base}/flaky` });
    expect([res.status, res.json]).toEqual([200, { ok: true }]);
    expect(hits.get('GET /flaky')).toBe(3);
    expect(sleeps).toEqual([10, 20]);
  });

  test('POST is sent once: a 5xx comes back as it is (an action is never repeated)', async () => {
    hits.clear();
    const { http, sleeps } = client();
    const res = await http.send({ method: 'POST', url: `${base}/flaky`, body: { x: 1 } });
    expect(res.status).toBe(503);
    expect(openstackErrorMessage(res)).toBe('busy');
    expect([hits.get('POST /flaky'), sleeps.length]).toEqual([1, 0]);
  });

  test('GET gives up after its retries and returns the last 5xx', async () => {
    hits.clear();
    const { http } = client({ retries: 2 });
    const res = await http.send({ method: 'GET', url: `${base}/always503` });
    expect([res.status, hits.get('GET /always503'), openstackErrorMessage(res)]).toEqual([503, 3, 'Service Unavailable']);
  });

  test('a 4xx is not retried', async () => {
    hits.clear();
    const res = await client().http.send({ method: 'GET', url: `${base}/bad` });
    expect([res.status, hits.get('GET /bad'), openstackErrorMessage(res)]).toEqual([400, 1, 'Invalid volume: nope']);
  });

  test.each([
    ['a request with no answer times out', () => `${base}/slow?token=secret`, 1, /did not answer GET http:\/\/127\.0\.0\.1:\d+\/slow after 2 attempts: no answer within 150 ms/],
    ['a refused connection', () => `http://127.0.0.1:${closedPort}/x`, 1, /ECONNREFUSED/],
  ])('%s → CINDER_UNREACHABLE', async (_n, url, retries, msg) => {
    const { http } = client({ retries, timeoutMs: 150 });
    const err = await http.send({ method: 'GET', url: url(), headers: { 'X-Auth-Token': 'tok-secret' } }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('CINDER_UNREACHABLE');
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toMatch(/secret/);
  });

  test.each([
    [{ json: { itemNotFound: { code: 404, message: 'Volume x could not be found.' } }, text: '' }, 'Volume x could not be found.'],
    [{ json: { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } }, text: '' }, 'The request you have made requires authentication.'],
    [{ json: null, text: '<html>502 Bad Gateway</html>' }, '<html>502 Bad Gateway</html>'],
    [{ json: null, text: '' }, '(empty body)'],
  ])('error text of %j', (res, want) => {
    expect(openstackErrorMessage(res)).toBe(want);
  });
});
