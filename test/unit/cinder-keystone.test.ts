// Keystone v3 authentication of the Cinder adapter. There is no Keystone on this machine: a small
// local HTTP server answers POST /v3/auth/tokens with the documented Keystone v3 bodies (201,
// X-Subject-Token, {"token": {"expires_at", "project", "catalog"}}) and serves a volume endpoint
// that accepts only tokens it issued. Covers the token body, the catalog choice (region,
// interface), renewal before expiry, one renewal on 401, and refusals without secrets in messages.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { openCinderControlPlane, selectVolumeEndpoint, parseTokenBody, type CinderConnection, type KeystoneIdentity } from '../../src/controlplane/index.js';
import { isAppError } from '../../src/shared/index.js';

const PASSWORD = 'pa55-w0rd-never-shown';
const APP_SECRET = 'app-secret-never-shown';
const EXPIRES = '2030-01-01T12:00:00.000000Z';

let server: Server;
let base: string;
let issued: string[] = [];
const valid = new Set<string>();
let tokenBodies: unknown[] = [];
let volumeHits: { path: string; token: string | undefined; version: string | undefined }[] = [];
/** When false, the volume endpoint refuses every token (a broken Keystone/Cinder pairing). */
let acceptTokens = true;

async function body(req: IncomingMessage): Promise<unknown> {
  let s = '';
  for await (const c of req) s += String(c);
  return s ? JSON.parse(s) : null;
}

/** A catalog as Keystone's token API documents it, pointing the volume service at this server. */
function catalog(): unknown[] {
  return [
    {
      type: 'identity', name: 'keystone', id: 'svc-id',
      endpoints: [{ id: 'e0', interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${base}/identity/v3` }],
    },
    {
      type: 'volumev3', name: 'cinderv3', id: 'svc-vol',
      endpoints: [
        { id: 'e1', interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${base}/public/v3/p1` },
        { id: 'e2', interface: 'internal', region: 'RegionOne', region_id: 'RegionOne', url: `${base}/internal/v3/p1` },
        { id: 'e3', interface: 'public', region: 'RegionTwo', region_id: 'RegionTwo', url: `${base}/two/v3/p1` },
      ],
    },
  ];
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '';
      if (req.method === 'POST' && url === '/identity/v3/auth/tokens') {
        const b = (await body(req)) as { auth: { identity: Record<string, Record<string, unknown>> } };
        tokenBodies.push(b);
        const id = b.auth.identity;
        const pw = id['password'] as { user: { name?: string; password?: string; domain?: { name?: string } } } | undefined;
        const ac = id['application_credential'] as { id?: string; secret?: string } | undefined;
        const ok = (pw && pw.user.name === 'ballast' && pw.user.password === PASSWORD && pw.user.domain?.name === 'Default') || (ac && ac.id === 'ac-1' && ac.secret === APP_SECRET);
        if (!ok) {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } }));
          return;
        }
        const token = `gAAAA-${issued.length + 1}`;
        issued.push(token);
        valid.add(token);
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': token }).end(
          JSON.stringify({
            token: {
              methods: [pw ? 'password' : 'application_credential'],
              user: { domain: { id: 'default', name: 'Default' }, id: 'u1', name: 'ballast', password_expires_at: null },
              audit_ids: ['a1'], expires_at: EXPIRES, issued_at: '2030-01-01T11:00:00.000000Z',
              project: { domain: { id: 'default', name: 'Default' }, id: 'p1', name: 'admin' },
              is_domain: false, roles: [{ id: 'r1', name: 'admin' }], catalog: catalog(),
            },
          }),
        );
        return;
      }
      const m = /^\/(public|internal|two)\/(v3\/p1\/.*)?$/.exec(url);
      if (m && req.method === 'GET' && m[2] === undefined) {
        res.writeHead(300, { 'Content-Type': 'application/json' }).end(JSON.stringify({ versions: [{ id: 'v3.0', status: 'CURRENT', version: '3.70', min_version: '3.0' }] }));
        return;
      }
      if (m && req.method === 'GET') {
        const token = req.headers['x-auth-token'] as string | undefined;
        volumeHits.push({ path: url, token, version: req.headers['openstack-api-version'] as string | undefined });
        if (!token || !valid.has(token) || !acceptTokens) {
          res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 401, message: 'The request you have made requires authentication.' } }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ volume_types: [{ id: `t-${m[1]}`, name: `from-${m[1]}`, extra_specs: {} }] }));
        return;
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  issued = [];
  valid.clear();
  tokenBodies = [];
  volumeHits = [];
  acceptTokens = true;
});

const passwordIdentity = (password = PASSWORD): KeystoneIdentity => ({
  method: 'password',
  user: { name: 'ballast', domainName: 'Default' },
  password,
  project: { name: 'admin', domainName: 'Default' },
});

function conn(identity: KeystoneIdentity, extra: Partial<CinderConnection> = {}): CinderConnection {
  return { auth: { type: 'keystone', authUrl: `${base}/identity`, identity }, endpointOverride: null, region: 'RegionOne', interface: 'public', maxMicroversion: null, sources: [], ...extra };
}

/** A clock the test moves. */
function testClock(startMs: number): { nowMs: () => number; set: (ms: number) => void } {
  let now = startMs;
  return { nowMs: () => now, set: (ms) => void (now = ms) };
}

describe('Keystone v3 authentication (local server with documented Keystone bodies)', () => {
  test('password: the documented request body, the token on the catalog endpoint, one token for many calls', async () => {
    const cp = openCinderControlPlane(conn(passwordIdentity()), { retries: 0 });
    expect(await cp.connect()).toBe('3.65');
    expect((await cp.listVolumeTypes()).map((t) => t.name)).toEqual(['from-public']);
    await cp.listVolumeTypes();
    expect(tokenBodies).toEqual([
      {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'ballast', domain: { name: 'Default' }, password: PASSWORD } } },
          scope: { project: { name: 'admin', domain: { name: 'Default' } } },
        },
      },
    ]);
    expect(volumeHits.map((h) => [h.path, h.token, h.version])).toEqual([
      ['/public/v3/p1/types?is_public=None', 'gAAAA-1', 'volume 3.65'],
      ['/public/v3/p1/types?is_public=None', 'gAAAA-1', 'volume 3.65'],
    ]);
  });

  test.each([
    ['internal interface', (): Partial<CinderConnection> => ({ interface: 'internal' }), 'from-internal'],
    ['another region', (): Partial<CinderConnection> => ({ region: 'RegionTwo' }), 'from-two'],
    ['an endpoint override', (): Partial<CinderConnection> => ({ endpointOverride: `${base}/internal/v3/p1` }), 'from-internal'],
  ])('endpoint choice: %s', async (_n, extra, want) => {
    const cp = openCinderControlPlane(conn(passwordIdentity(), extra()), { retries: 0 });
    expect((await cp.listVolumeTypes()).map((t) => t.name)).toEqual([want]);
  });

  test('application credential: the documented body, no scope', async () => {
    const cp = openCinderControlPlane(conn({ method: 'application_credential', id: 'ac-1', secret: APP_SECRET }), { retries: 0 });
    await cp.listVolumeTypes();
    expect(tokenBodies).toEqual([{ auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-1', secret: APP_SECRET } } } }]);
  });

  test('the token is renewed shortly before it expires', async () => {
    const clock = testClock(Date.parse('2030-01-01T11:00:00Z'));
    const cp = openCinderControlPlane(conn(passwordIdentity()), { retries: 0, clock });
    await cp.listVolumeTypes();
    clock.set(Date.parse('2030-01-01T11:58:00Z')); // 2 min left: still used
    await cp.listVolumeTypes();
    clock.set(Date.parse('2030-01-01T11:59:30Z')); // inside the 60 s margin: renewed
    await cp.listVolumeTypes();
    expect(issued).toEqual(['gAAAA-1', 'gAAAA-2']);
    expect(volumeHits.map((h) => h.token)).toEqual(['gAAAA-1', 'gAAAA-1', 'gAAAA-2']);
  });

  test('a 401 from Cinder (token revoked) renews the token once and repeats the request', async () => {
    const cp = openCinderControlPlane(conn(passwordIdentity()), { retries: 0 });
    await cp.listVolumeTypes();
    valid.clear(); // Keystone revoked every token
    expect((await cp.listVolumeTypes()).map((t) => t.name)).toEqual(['from-public']);
    expect(volumeHits.map((h) => h.token)).toEqual(['gAAAA-1', 'gAAAA-1', 'gAAAA-2']);
  });

  test('a Cinder that keeps answering 401 gives CINDER_AUTH_FAILED after one renewal', async () => {
    const cp = openCinderControlPlane(conn(passwordIdentity()), { retries: 0 });
    await cp.connect();
    acceptTokens = false;
    const err = await cp.listVolumeTypes().catch((e: unknown) => e);
    expect(isAppError(err) && [err.code, err.details['httpStatus']]).toEqual(['CINDER_AUTH_FAILED', 401]);
    expect(volumeHits.map((h) => h.token)).toEqual(['gAAAA-1', 'gAAAA-2']);
  });

  test('wrong password: CINDER_AUTH_FAILED naming user and project, never the password', async () => {
    const cp = openCinderControlPlane(conn(passwordIdentity('wrong-password-xyz')), { retries: 0 });
    const err = await cp.connect().catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('CINDER_AUTH_FAILED');
    expect((err as Error).message).toMatch(/Keystone at http:\/\/127\.0\.0\.1:\d+\/identity\/v3 refused user ballast in project admin \(HTTP 401\): The request you have made requires authentication\./);
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toMatch(/wrong-password-xyz|pa55/);
  });

  test('no volume endpoint in the region: CINDER_ENDPOINT_NOT_FOUND listing what there is', async () => {
    const cp = openCinderControlPlane(conn(passwordIdentity(), { region: 'RegionThree' }), { retries: 0 });
    const err = await cp.connect().catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('CINDER_ENDPOINT_NOT_FOUND');
    expect((err as Error).message).toMatch(/no volumev3 or block-storage endpoint with interface public in region RegionThree \(it offers: volumev3\/internal\/RegionOne, volumev3\/public\/RegionOne, volumev3\/public\/RegionTwo\)/);
  });
});

describe('catalog parsing and endpoint choice (pure)', () => {
  const parsed = () => parseTokenBody({ token: { expires_at: EXPIRES, project: { id: 'p1' }, catalog: catalog() } });

  test('token body', () => {
    const t = parsed();
    expect([t.expiresAtMs, t.projectId, t.catalog.length]).toEqual([Date.parse(EXPIRES), 'p1', 4]);
    expect(() => parseTokenBody({ nope: 1 })).toThrow(/without a token body/);
  });

  test.each([
    ['RegionOne', 'public', '/public/v3/p1'],
    ['RegionOne', 'internal', '/internal/v3/p1'],
    ['RegionTwo', 'public', '/two/v3/p1'],
  ] as const)('%s/%s → %s', (region, iface, path) => {
    expect(selectVolumeEndpoint(parsed().catalog, region, iface)).toBe(`${base}${path}`);
  });

  test('no region given and two regions: refuse to guess', () => {
    expect(() => selectVolumeEndpoint(parsed().catalog, null, 'public')).toThrow(/several regions \(RegionOne, RegionTwo\): choose one/);
  });

  test('block-storage service type is accepted when volumev3 is absent', () => {
    expect(selectVolumeEndpoint([{ serviceType: 'block-storage', interface: 'public', region: null, url: 'https://c/v3/p/' }], null, 'public')).toBe('https://c/v3/p');
  });
});
