// Where the Cinder connection comes from: ballast.yaml's controlPlane section, clouds.yaml (and
// secure.yaml), OS_* variables; secrets only from the environment or files, never from
// ballast.yaml, and never in messages. Real files in a temp directory.
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { defaultSettingsIo, resolveCinderConnection, type CinderSettingsInput, type SettingsIo } from '../../src/controlplane/index.js';
import { isAppError } from '../../src/shared/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ballast-cinder-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const home = join(dir, 'home');
mkdirSync(join(home, '.config', 'openstack'), { recursive: true });
writeFileSync(
  join(home, '.config', 'openstack', 'clouds.yaml'),
  [
    'clouds:',
    '  prod:',
    '    auth:',
    '      auth_url: https://keystone.example.com:5000/v3',
    '      username: ballast',
    '      project_name: admin',
    '      user_domain_name: Users',
    '      project_domain_name: Default',
    '    region_name: RegionTwo',
    '    interface: internal',
    '    block_storage_api_version: "3.50"',
    '  appcred:',
    '    auth_type: v3applicationcredential',
    '    auth:',
    '      auth_url: https://keystone.example.com/v3',
    '      application_credential_id: ac-9',
    '      application_credential_secret: cloud-secret',
    '',
  ].join('\n'),
);
writeFileSync(join(home, '.config', 'openstack', 'secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: from-secure-yaml\n');
writeFileSync(join(dir, 'pw.txt'), 'from-file\n');
const io: SettingsIo = { ...defaultSettingsIo, homeDir: home, cwd: dir };
const resolve = (input: CinderSettingsInput, env: NodeJS.ProcessEnv = {}) => resolveCinderConnection(input, env, io);

const OS_ENV = {
  OS_AUTH_URL: 'http://keystone:5000',
  OS_USERNAME: 'admin',
  OS_PASSWORD: 'from-env',
  OS_PROJECT_NAME: 'admin',
  OS_USER_DOMAIN_NAME: 'Default',
  OS_PROJECT_DOMAIN_ID: 'default',
  OS_REGION_NAME: 'RegionOne',
  OS_INTERFACE: 'internalURL',
};

describe('resolveCinderConnection', () => {
  test('OS_* variables, as openrc files set them', () => {
    expect(resolve({}, OS_ENV)).toMatchObject({
      auth: {
        type: 'keystone',
        authUrl: 'http://keystone:5000',
        identity: { method: 'password', user: { name: 'admin', domainName: 'Default' }, password: 'from-env', project: { name: 'admin', domainId: 'default' } },
      },
      region: 'RegionOne',
      interface: 'internal',
      maxMicroversion: null,
      sources: ['OS_* environment variables'],
    });
  });

  test('application credential from OS_* variables', () => {
    const c = resolve({}, { OS_AUTH_TYPE: 'v3applicationcredential', OS_AUTH_URL: 'http://k/v3', OS_APPLICATION_CREDENTIAL_ID: 'ac-1', OS_APPLICATION_CREDENTIAL_SECRET: 's' });
    expect(c.auth).toEqual({ type: 'keystone', authUrl: 'http://k/v3', identity: { method: 'application_credential', id: 'ac-1', secret: 's' } });
  });

  test('noauth, as cinderclient is set up for the lab', () => {
    const c = resolve({}, { OS_AUTH_TYPE: 'noauth', CINDER_ENDPOINT: 'http://127.0.0.1:8776/v3', OS_PROJECT_ID: 'abc123', OS_USER_ID: 'admin', OS_VOLUME_API_VERSION: '3.59' });
    expect([c.auth, c.maxMicroversion]).toEqual([{ type: 'noauth', endpoint: 'http://127.0.0.1:8776/v3', projectId: 'abc123', userId: 'admin' }, { major: 3, minor: 59 }]);
  });

  test('a clouds.yaml entry, with the password from secure.yaml; ballast.yaml settings win', () => {
    const c = resolve({ cloud: 'prod', region: 'RegionOne' }, { OS_USERNAME: 'ignored-when-a-cloud-is-chosen' });
    expect(c).toMatchObject({
      auth: { type: 'keystone', authUrl: 'https://keystone.example.com:5000/v3', identity: { user: { name: 'ballast', domainName: 'Users' }, password: 'from-secure-yaml' } },
      region: 'RegionOne',
      interface: 'internal',
      maxMicroversion: { major: 3, minor: 50 },
    });
    expect(c.sources[0]).toMatch(/^cloud 'prod' from .*clouds\.yaml \(\+ .*secure\.yaml\)$/);
  });

  test('secrets: the file named in the settings, then the environment, then the cloud', () => {
    const pw = (input: CinderSettingsInput, env: NodeJS.ProcessEnv) => {
      const a = resolve(input, env).auth;
      return a.type === 'keystone' && a.identity.method === 'password' ? a.identity.password : null;
    };
    expect(pw({ cloud: 'prod', passwordFile: join(dir, 'pw.txt') }, { OS_PASSWORD: 'from-env' })).toBe('from-file');
    expect(pw({ cloud: 'prod' }, { OS_PASSWORD: 'from-env' })).toBe('from-env');
    expect(pw({}, { OS_CLOUD: 'prod' })).toBe('from-secure-yaml');
    const ac = resolve({}, { OS_CLOUD: 'appcred' }).auth;
    expect(ac).toMatchObject({ identity: { method: 'application_credential', id: 'ac-9', secret: 'cloud-secret' } });
  });

  test.each([
    ['no password anywhere', {}, { OS_AUTH_URL: 'http://k', OS_USERNAME: 'u', OS_PROJECT_NAME: 'p' }, 'CINDER_AUTH_FAILED', /no password: set OS_PASSWORD/],
    ['a missing password file', { passwordFile: join(dir, 'nope.txt') }, { OS_AUTH_URL: 'http://k', OS_USERNAME: 'u', OS_PROJECT_NAME: 'p', OS_PASSWORD: 'x' }, 'CINDER_AUTH_FAILED', /password file .*nope\.txt does not exist/],
    ['no auth URL', {}, { OS_USERNAME: 'u', OS_PASSWORD: 'x' }, 'CONFIG_INVALID', /needs authUrl .*OS_AUTH_URL/],
    ['no project to scope to', {}, { OS_AUTH_URL: 'http://k', OS_USERNAME: 'u', OS_PASSWORD: 'top-secret' }, 'CONFIG_INVALID', /projectName \(OS_PROJECT_NAME\)/],
    ['noauth without endpoint', { authType: 'noauth' as const }, { OS_PROJECT_ID: 'p' }, 'CONFIG_INVALID', /needs endpoint .*CINDER_ENDPOINT/],
    ['an unknown cloud', { cloud: 'nope' }, {}, 'CONFIG_INVALID', /no cloud 'nope' in clouds\.yaml \(looked in .*clouds\.yaml/],
    ['an unknown auth type', {}, { OS_AUTH_TYPE: 'v3oidcpassword' }, 'CONFIG_INVALID', /unsupported auth type 'v3oidcpassword'/],
    ['a bad interface', {}, { ...OS_ENV, OS_INTERFACE: 'private' }, 'CONFIG_INVALID', /unsupported endpoint interface 'private'/],
  ])('%s → %s', (_n, input, env, code, msg) => {
    let err: unknown = null;
    try {
      resolve(input, env);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe(code);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toMatch(/top-secret|from-env/);
  });
});

describe('controlPlane in ballast.yaml', () => {
  const file = join(dir, 'ballast.yaml');
  const cfg = (lines: readonly string[]) => parseConfig(file, ['apiVersion: ballast/v1', ...lines, ''].join('\n'));
  const problems = (lines: readonly string[]): string => {
    try {
      cfg(lines);
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };

  test('embedded by default', () => {
    expect(cfg(['backends:', '  - { name: b1, driver: raw, pools: [{ name: p1, size: 1 }] }']).controlPlane).toEqual({ type: 'embedded' });
  });

  test('`controlPlane: cinder` needs no back-ends and takes the defaults', () => {
    expect(cfg(['controlPlane: cinder']).controlPlane).toEqual({ type: 'cinder', requestTimeoutMs: 30_000, retries: 3, startGraceMs: 60_000, settleMs: 60_000 });
  });

  test('a mapping, with the secret file made absolute against the file', () => {
    const c = cfg(['controlPlane:', '  type: cinder', '  cloud: prod', '  passwordFile: secrets/pw', '  interface: internal', '  maxMicroversion: "3.59"']).controlPlane;
    expect(c).toMatchObject({ type: 'cinder', cloud: 'prod', passwordFile: join(dir, 'secrets', 'pw'), interface: 'internal', maxMicroversion: '3.59' });
  });

  test.each([
    ['a password in the file', ['controlPlane:', '  type: cinder', '  password: hunter2'], /4:13: controlPlane\.password: a password was found here, but secrets are never read from ballast\.yaml: set OS_PASSWORD/],
    ['an application credential secret', ['controlPlane:', '  type: cinder', '  applicationCredentialSecret: s'], /secrets are never read from ballast\.yaml: set OS_APPLICATION_CREDENTIAL_SECRET/],
    ['embedded without back-ends', ['controlPlane: embedded'], /backends: at least one back-end is needed \(a configuration with controlPlane: cinder needs none\)/],
    ['an unknown control plane', ['controlPlane: ceph'], /controlPlane\.type: expected controlPlane 'embedded' or 'cinder' \(or a mapping with that type\), found 'ceph'/],
    ['a mapping without type', ['controlPlane: { cloud: prod }'], /found no type/],
    ['an auth URL that is not a URL', ['controlPlane:', '  type: cinder', '  authUrl: keystone'], /4:12: controlPlane\.authUrl: authUrl must be an http:\/\/ or https:\/\/ URL/],
    ['a bad interface', ['controlPlane:', '  type: cinder', '  interface: pubic'], /controlPlane\.interface: expected one of 'public', 'internal', 'admin'.*did you mean 'public'/],
    ['a misspelt key', ['controlPlane:', '  type: cinder', '  authurl: http://k'], /unknown key 'authurl'/],
  ])('%s is refused', (_n, lines, msg) => {
    const m = problems(lines);
    expect(m).toMatch(msg);
    expect(m).not.toMatch(/hunter2/);
  });
});
