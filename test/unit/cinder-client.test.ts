// The Cinder API client's list walking against a local server that pages like Cinder: `limit`
// capped by the server (osapi_max_limit), `marker`, and a `<key>_links` next link on full pages.
// (The real Cinder test walks real markers with a page size of 2.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CinderClient, HttpClient, NoAuthAuthenticator } from '../../src/controlplane/index.js';

const IDS = ['a1', 'b2', 'c3', 'd4', 'e5'];
let server: Server;
let base: string;
let maxLimit = 2;
/** Rows the server holds now; `vanish`: a marker that answers 404 (the row was deleted between pages) `times` times. */
let current = [...IDS];
let vanish: { marker: string; times: number; remove: boolean } | null = null;
const queries: string[] = [];
const headers: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/') return void res.writeHead(300, { 'Content-Type': 'application/json' }).end('{"versions": [{"id": "v3.0", "version": "3.70", "min_version": "3.0"}]}');
    if (u.pathname !== '/v3/p1/volumes/detail') return void res.writeHead(404).end();
    queries.push(u.search);
    headers.push(`${String(req.headers['x-auth-token'])} | ${String(req.headers['openstack-api-version'])}`);
    const limit = Math.min(Number(u.searchParams.get('limit') ?? 1000), maxLimit);
    const marker = u.searchParams.get('marker');
    if (marker !== null && vanish?.marker === marker && vanish.times > 0) {
      vanish.times--;
      if (vanish.remove) current = current.filter((id) => id !== marker);
      return void res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ itemNotFound: { code: 404, message: `Volume ${marker} could not be found.` } }));
    }
    const start = marker === null ? 0 : current.indexOf(marker) + 1;
    const page = current.slice(start, start + limit).map((id) => ({ id }));
    const full = page.length === limit && start + limit <= current.length;
    const links = full ? [{ rel: 'next', href: `${base}/v3/p1/volumes/detail?marker=${page[page.length - 1]!.id}` }] : [];
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ volumes: page, ...(links.length ? { volumes_links: links } : {}) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (pageSize: number) => new CinderClient(new HttpClient({ retries: 0 }), new NoAuthAuthenticator(`${base}/v3`, 'p1', 'admin'), { pageSize });

describe('CinderClient.listAll', () => {
  test.each([
    ['server caps the page below ours (short pages with a next link)', 1000, 2, 3],
    ['our page size, full pages, the last one short', 2, 10, 3],
    ['page size dividing the list: one empty page ends it', 5, 10, 2],
    ['one row per page', 1, 10, 6],
  ])('%s', async (_n, pageSize, cap, requests) => {
    maxLimit = cap;
    queries.length = 0;
    const rows = await client(pageSize).listAll('volumes/detail', 'volumes', { all_tenants: '1' });
    expect(rows.map((r) => r['id'])).toEqual(IDS);
    expect(queries.length).toBe(requests);
    expect(queries[0]).toBe(`?all_tenants=1&limit=${pageSize}&sort=id%3Aasc`);
    expect(queries.slice(1).every((q) => q.includes('&marker='))).toBe(true);
  });

  test('a marker row deleted between two pages: the listing starts over and gives the fleet as it is now', async () => {
    maxLimit = 2;
    current = [...IDS];
    vanish = { marker: 'b2', times: 1, remove: true };
    try {
      const rows = await client(2).listAll('volumes/detail', 'volumes');
      expect(rows.map((r) => r['id'])).toEqual(['a1', 'c3', 'd4', 'e5']);
    } finally {
      vanish = null;
      current = [...IDS];
    }
  });

  test('rows that keep vanishing under the markers: a clear, retryable error after three tries', async () => {
    maxLimit = 2;
    vanish = { marker: 'b2', times: 1000, remove: false }; // b2 is listed, then not found as a marker, every time
    current = [...IDS];
    try {
      await expect(client(2).listAll('volumes/detail', 'volumes')).rejects.toMatchObject({ code: 'CINDER_REQUEST_FAILED', retryable: true, message: expect.stringMatching(/kept disappearing under the page markers \(3 tries\)/) });
    } finally {
      vanish = null;
      current = [...IDS];
    }
  });

  test('noauth token and negotiated microversion on every request', async () => {
    const c = client(1000);
    expect(await c.microversion()).toEqual({ major: 3, minor: 65 });
    expect(await c.endpoint()).toBe(`${base}/v3/p1`);
    expect(c.auth.description).toBe(`noauth ${base}/v3/p1`);
    maxLimit = 2;
    headers.length = 0;
    await c.listAll('volumes/detail', 'volumes');
    expect(headers).toEqual(Array(3).fill('admin:p1 | volume 3.65'));
    expect(c.lastEndpoint).toBe(`${base}/v3/p1`);
  });
});
