/**
 * Where the Cinder connection comes from, as OpenStack users expect: the `controlPlane` section of
 * `ballast.yaml`, a `clouds.yaml` entry (`cloud: name` or `OS_CLOUD`), or the `OS_*` environment
 * variables. Secrets come only from the environment (`OS_PASSWORD`,
 * `OS_APPLICATION_CREDENTIAL_SECRET`), from a file named in the settings (`passwordFile`,
 * `applicationCredentialSecretFile`), or from `clouds.yaml`/`secure.yaml` — never from
 * `ballast.yaml` or the command line. Nothing here prints a secret.
 *
 * Precedence: `ballast.yaml` settings, then the selected cloud (when one is selected), else the
 * `OS_*` variables. Secrets: the file named in the settings, then the environment, then the cloud.
 *
 * @module
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../shared/index.js';
import type { KeystoneIdentity } from './auth.js';
import type { EndpointInterface } from './catalog.js';
import { parseMicroversion, type Microversion } from './microversion.js';

/** The `controlPlane` settings for Cinder, as the configuration holds them (no secrets). */
export interface CinderSettingsInput {
  readonly cloud?: string | null;
  readonly authType?: 'password' | 'applicationCredential' | 'noauth' | null;
  readonly authUrl?: string | null;
  readonly username?: string | null;
  readonly userId?: string | null;
  readonly userDomainName?: string | null;
  readonly userDomainId?: string | null;
  readonly projectName?: string | null;
  readonly projectId?: string | null;
  readonly projectDomainName?: string | null;
  readonly projectDomainId?: string | null;
  readonly applicationCredentialId?: string | null;
  readonly applicationCredentialName?: string | null;
  /** Absolute paths (the config loader resolves them). */
  readonly passwordFile?: string | null;
  readonly applicationCredentialSecretFile?: string | null;
  /** The volume endpoint: required for noauth, an override of the catalog otherwise. */
  readonly endpoint?: string | null;
  readonly region?: string | null;
  readonly interface?: EndpointInterface | null;
  /** Cap on the microversion, `3.X`. */
  readonly maxMicroversion?: string | null;
}

/** A connection ready to open. */
export interface CinderConnection {
  readonly auth:
    | { readonly type: 'noauth'; readonly endpoint: string; readonly projectId: string; readonly userId: string }
    | { readonly type: 'keystone'; readonly authUrl: string; readonly identity: KeystoneIdentity };
  readonly endpointOverride: string | null;
  readonly region: string | null;
  readonly interface: EndpointInterface;
  readonly maxMicroversion: Microversion | null;
  /** Where each setting came from, for `--verbose` and errors (no values of secrets). */
  readonly sources: readonly string[];
}

/** File access, injectable for tests. */
export interface SettingsIo {
  /** The text of a file, or null when it does not exist. */
  readText(path: string): string | null;
  readonly homeDir: string;
  readonly cwd: string;
}

export const defaultSettingsIo: SettingsIo = {
  readText: (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  },
  homeDir: homedir(),
  cwd: process.cwd(),
};

type Layer = Readonly<Record<string, string | undefined>>;
const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);

/** The places `clouds.yaml` (and `secure.yaml`) are looked for, in order, as openstacksdk does. */
export function cloudsYamlPaths(env: NodeJS.ProcessEnv, io: SettingsIo, file: 'clouds.yaml' | 'secure.yaml'): string[] {
  const own = file === 'clouds.yaml' ? env['OS_CLIENT_CONFIG_FILE'] : env['OS_CLIENT_SECURE_FILE'];
  return [...(own ? [resolve(io.cwd, own)] : []), join(io.cwd, file), join(io.homeDir, '.config', 'openstack', file), join('/etc/openstack', file)];
}

function findCloud(name: string, env: NodeJS.ProcessEnv, io: SettingsIo, file: 'clouds.yaml' | 'secure.yaml'): { path: string; entry: Record<string, unknown> } | null {
  for (const p of cloudsYamlPaths(env, io, file)) {
    const text = io.readText(p);
    if (text === null) continue;
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new AppError('CONFIG_INVALID', `${p} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    const entry = (doc as { clouds?: Record<string, unknown> } | null)?.clouds?.[name];
    if (entry !== null && typeof entry === 'object') return { path: p, entry: entry as Record<string, unknown> };
  }
  return null;
}

/** A cloud entry flattened to the same keys as the OS_* layer. */
function cloudLayer(entry: Record<string, unknown>): Layer {
  const auth = (entry['auth'] ?? {}) as Record<string, unknown>;
  const a = (k: string) => nonEmpty(auth[k]);
  return {
    authType: nonEmpty(entry['auth_type']),
    authUrl: a('auth_url'),
    username: a('username'),
    userId: a('user_id'),
    userDomainName: a('user_domain_name') ?? a('domain_name'),
    userDomainId: a('user_domain_id') ?? a('domain_id'),
    projectName: a('project_name') ?? a('tenant_name'),
    projectId: a('project_id') ?? a('tenant_id'),
    projectDomainName: a('project_domain_name') ?? a('domain_name'),
    projectDomainId: a('project_domain_id') ?? a('domain_id'),
    applicationCredentialId: a('application_credential_id'),
    applicationCredentialName: a('application_credential_name'),
    password: a('password'),
    applicationCredentialSecret: a('application_credential_secret'),
    endpoint: nonEmpty(entry['block_storage_endpoint_override']) ?? nonEmpty(entry['volume_endpoint_override']) ?? a('endpoint'),
    region: nonEmpty(entry['region_name']),
    interface: nonEmpty(entry['interface']) ?? nonEmpty(entry['endpoint_type']),
    maxMicroversion: nonEmpty(entry['block_storage_api_version']) ?? nonEmpty(entry['volume_api_version']),
  };
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const e = (k: string) => nonEmpty(env[k]);
  return {
    authType: e('OS_AUTH_TYPE'),
    authUrl: e('OS_AUTH_URL'),
    username: e('OS_USERNAME'),
    userId: e('OS_USER_ID'),
    userDomainName: e('OS_USER_DOMAIN_NAME') ?? e('OS_DOMAIN_NAME'),
    userDomainId: e('OS_USER_DOMAIN_ID') ?? e('OS_DOMAIN_ID'),
    projectName: e('OS_PROJECT_NAME') ?? e('OS_TENANT_NAME'),
    projectId: e('OS_PROJECT_ID') ?? e('OS_TENANT_ID'),
    projectDomainName: e('OS_PROJECT_DOMAIN_NAME') ?? e('OS_DOMAIN_NAME'),
    projectDomainId: e('OS_PROJECT_DOMAIN_ID') ?? e('OS_DOMAIN_ID'),
    applicationCredentialId: e('OS_APPLICATION_CREDENTIAL_ID'),
    applicationCredentialName: e('OS_APPLICATION_CREDENTIAL_NAME'),
    endpoint: e('CINDER_ENDPOINT') ?? e('OS_VOLUME_ENDPOINT'),
    region: e('OS_REGION_NAME'),
    interface: e('OS_INTERFACE') ?? e('OS_ENDPOINT_TYPE'),
    maxMicroversion: e('OS_VOLUME_API_VERSION'),
  };
}

function normalizeAuthType(t: string | undefined): 'password' | 'applicationCredential' | 'noauth' | undefined {
  if (t === undefined) return undefined;
  const k = t.toLowerCase().replace(/[^a-z]/g, '');
  if (k === 'password' || k === 'vpassword') return 'password';
  if (k === 'applicationcredential' || k === 'vapplicationcredential') return 'applicationCredential';
  if (k === 'noauth' || k === 'none') return 'noauth';
  throw new AppError('CONFIG_INVALID', `unsupported auth type '${t}': Ballast supports password, v3applicationcredential and noauth`);
}

function normalizeInterface(v: string | undefined): EndpointInterface {
  if (v === undefined) return 'public';
  const k = v.toLowerCase().replace(/url$/, '');
  if (k === 'public' || k === 'internal' || k === 'admin') return k;
  throw new AppError('CONFIG_INVALID', `unsupported endpoint interface '${v}': expected public, internal or admin`);
}

function readSecretFile(path: string, what: string, io: SettingsIo): string {
  let text: string | null;
  try {
    text = io.readText(path);
  } catch (e) {
    throw new AppError('CINDER_AUTH_FAILED', `cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (text === null) throw new AppError('CINDER_AUTH_FAILED', `${what} file ${path} does not exist`);
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new AppError('CINDER_AUTH_FAILED', `${what} file ${path} is empty`);
  return secret;
}

/**
 * Resolves the connection: merges the layers, reads secrets, checks that what the auth type needs
 * is there.
 *
 * @throws AppError `CONFIG_INVALID` for a missing or malformed setting (naming the key and the
 *   environment variable that can give it), `CINDER_AUTH_FAILED` for a missing or unreadable secret.
 */
export function resolveCinderConnection(input: CinderSettingsInput, env: NodeJS.ProcessEnv = process.env, io: SettingsIo = defaultSettingsIo): CinderConnection {
  const sources: string[] = [];
  const cloudName = nonEmpty(input.cloud) ?? nonEmpty(env['OS_CLOUD']);
  let base: Layer;
  if (cloudName !== undefined) {
    const found = findCloud(cloudName, env, io, 'clouds.yaml');
    if (found === null) {
      throw new AppError('CONFIG_INVALID', `no cloud '${cloudName}' in clouds.yaml (looked in ${cloudsYamlPaths(env, io, 'clouds.yaml').join(', ')})`);
    }
    const secure = findCloud(cloudName, env, io, 'secure.yaml');
    const c = cloudLayer(found.entry);
    const s = secure ? cloudLayer(secure.entry) : {};
    base = Object.fromEntries(Object.keys(c).map((k) => [k, s[k] ?? c[k]]));
    sources.push(`cloud '${cloudName}' from ${found.path}${secure ? ` (+ ${secure.path})` : ''}`);
  } else {
    base = envLayer(env);
    sources.push('OS_* environment variables');
  }
  const pick = (k: keyof CinderSettingsInput & string): string | undefined => nonEmpty(input[k]) ?? base[k];
  const authType =
    normalizeAuthType(nonEmpty(input.authType) ?? base['authType']) ??
    (pick('applicationCredentialId') !== undefined || pick('applicationCredentialName') !== undefined ? 'applicationCredential' : 'password');
  const maxRaw = pick('maxMicroversion');
  const maxMicroversion = maxRaw === undefined ? null : parseMicroversion(maxRaw);
  if (maxRaw !== undefined && maxMicroversion === null) throw new AppError('CONFIG_INVALID', `maxMicroversion '${maxRaw}' is not a version such as 3.59`);
  const common = { endpointOverride: pick('endpoint') ?? null, region: pick('region') ?? null, interface: normalizeInterface(pick('interface')), maxMicroversion, sources };
  const need = (k: keyof CinderSettingsInput & string, envName: string, why: string): string => {
    const v = pick(k);
    if (v === undefined) throw new AppError('CONFIG_INVALID', `the Cinder control plane needs ${k} (${why}): set controlPlane.${k} in ballast.yaml, ${envName}, or a clouds.yaml entry`);
    return v;
  };

  if (authType === 'noauth') {
    const endpoint = need('endpoint', 'CINDER_ENDPOINT', 'the volume endpoint, e.g. http://127.0.0.1:8776/v3');
    const projectId = need('projectId', 'OS_PROJECT_ID', 'the project id in the URL and the token');
    return { ...common, auth: { type: 'noauth', endpoint, projectId, userId: pick('userId') ?? 'ballast' } };
  }
  const authUrl = need('authUrl', 'OS_AUTH_URL', 'the Keystone v3 URL');
  const secret = (file: string | null | undefined, envName: string, cloudKey: string, what: string): string => {
    if (nonEmpty(file) !== undefined) return readSecretFile(file!, what, io);
    const fromEnv = nonEmpty(env[envName]);
    if (fromEnv !== undefined) return fromEnv;
    const fromCloud = cloudName !== undefined ? base[cloudKey] : undefined;
    if (fromCloud !== undefined) return fromCloud;
    throw new AppError('CINDER_AUTH_FAILED', `no ${what}: set ${envName} in the environment, or name a file holding it in ballast.yaml (never the secret itself)`);
  };
  const user = { id: pick('userId'), name: pick('username'), domainName: pick('userDomainName'), domainId: pick('userDomainId') };
  if (authType === 'applicationCredential') {
    const id = pick('applicationCredentialId');
    const name = pick('applicationCredentialName');
    if (id === undefined && (name === undefined || (user.id === undefined && user.name === undefined))) {
      throw new AppError('CONFIG_INVALID', 'an application credential needs applicationCredentialId (OS_APPLICATION_CREDENTIAL_ID), or applicationCredentialName with username or userId');
    }
    const appSecret = secret(input.applicationCredentialSecretFile, 'OS_APPLICATION_CREDENTIAL_SECRET', 'applicationCredentialSecret', 'application credential secret');
    const identity: KeystoneIdentity =
      id !== undefined ? { method: 'application_credential', id, secret: appSecret } : { method: 'application_credential', name: name!, user: strip(user), secret: appSecret };
    return { ...common, auth: { type: 'keystone', authUrl, identity } };
  }
  if (user.id === undefined && user.name === undefined) throw new AppError('CONFIG_INVALID', 'password authentication needs username (OS_USERNAME) or userId (OS_USER_ID)');
  const project = { id: pick('projectId'), name: pick('projectName'), domainName: pick('projectDomainName'), domainId: pick('projectDomainId') };
  if (project.id === undefined && project.name === undefined) {
    throw new AppError('CONFIG_INVALID', 'password authentication needs projectName (OS_PROJECT_NAME) or projectId (OS_PROJECT_ID): Ballast needs a project-scoped (admin) token');
  }
  const password = secret(input.passwordFile, 'OS_PASSWORD', 'password', 'password');
  return { ...common, auth: { type: 'keystone', authUrl, identity: { method: 'password', user: strip(user), password, project: strip(project) } } };
}

function strip<T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}
