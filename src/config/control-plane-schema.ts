/**
 * The `controlPlane:` section of `ballast.yaml`: which control plane Ballast drives, the embedded
 * block service (default) or an OpenStack Cinder. Written as `controlPlane: cinder` (everything from
 * `clouds.yaml` / `OS_*` variables) or as a mapping. Secrets are never accepted here: a password or
 * an application credential secret comes from the environment or from a file named here.
 *
 * @module
 */
import { resolve } from 'node:path';
import { z } from 'zod';

// The message says "found" so that the located-problem formatter does not echo the value (a secret).
const SECRET_RULE = (what: string, envName: string, fileKey: string) =>
  z
    .unknown()
    .refine((v) => v === undefined, {
      error: `${what} was found here, but secrets are never read from ballast.yaml: set ${envName} in the environment, or ${fileKey} to a file that holds it`,
    })
    .optional()
    .describe(`Refused: secrets come from ${envName} or ${fileKey}.`);

const setting = (what: string) =>
  z.string().refine((s) => s.trim().length > 0 && s.length <= 1024, { error: `${what} must be a non-empty string` }).optional();

const url = (what: string) =>
  z
    .string()
    .refine((s) => /^https?:\/\/[^\s/]+/.test(s), { error: `${what} must be an http:// or https:// URL` })
    .optional();

const ms = (what: string, min: number, dflt: number) =>
  z
    .number()
    .refine((n) => Number.isInteger(n) && n >= min && n <= 86_400_000, { error: `${what} must be a whole number of milliseconds from ${min} to 86400000` })
    .default(dflt);

/** Settings of the Cinder control plane. Each unset setting may come from `clouds.yaml` or `OS_*`. */
export const cinderControlPlaneSchema = z
  .object({
    type: z.literal('cinder'),
    cloud: setting('cloud').describe('Name of a clouds.yaml entry (else OS_CLOUD; else the OS_* variables).'),
    authType: z.enum(['password', 'applicationCredential', 'noauth']).optional().describe('Keystone v3 password, Keystone v3 application credential, or Cinder noauth (labs).'),
    authUrl: url('authUrl').describe('Keystone URL, e.g. https://keystone.example.com:5000/v3 (OS_AUTH_URL).'),
    username: setting('username').describe('OS_USERNAME'),
    userId: setting('userId').describe('OS_USER_ID (also the user of a noauth token).'),
    userDomainName: setting('userDomainName').describe('OS_USER_DOMAIN_NAME (default Default).'),
    userDomainId: setting('userDomainId').describe('OS_USER_DOMAIN_ID'),
    projectName: setting('projectName').describe('OS_PROJECT_NAME: the (admin) project to scope the token to.'),
    projectId: setting('projectId').describe('OS_PROJECT_ID (noauth: the hex project id in the URL).'),
    projectDomainName: setting('projectDomainName').describe('OS_PROJECT_DOMAIN_NAME (default Default).'),
    projectDomainId: setting('projectDomainId').describe('OS_PROJECT_DOMAIN_ID'),
    applicationCredentialId: setting('applicationCredentialId').describe('OS_APPLICATION_CREDENTIAL_ID'),
    applicationCredentialName: setting('applicationCredentialName').describe('OS_APPLICATION_CREDENTIAL_NAME (with username or userId).'),
    passwordFile: setting('passwordFile').describe("File holding the password (relative to this file's directory); else OS_PASSWORD."),
    applicationCredentialSecretFile: setting('applicationCredentialSecretFile').describe('File holding the application credential secret; else OS_APPLICATION_CREDENTIAL_SECRET.'),
    password: SECRET_RULE('a password', 'OS_PASSWORD', 'passwordFile'),
    applicationCredentialSecret: SECRET_RULE('an application credential secret', 'OS_APPLICATION_CREDENTIAL_SECRET', 'applicationCredentialSecretFile'),
    endpoint: url('endpoint').describe('Volume endpoint: required for noauth (e.g. http://127.0.0.1:8776/v3, CINDER_ENDPOINT); overrides the service catalog otherwise.'),
    region: setting('region').describe('Region of the catalog endpoint (OS_REGION_NAME).'),
    interface: z.enum(['public', 'internal', 'admin']).optional().describe('Catalog endpoint interface (OS_INTERFACE, default public).'),
    maxMicroversion: z
      .string()
      .refine((s) => /^3\.\d+$/.test(s), { error: 'maxMicroversion must look like 3.59' })
      .optional()
      .describe('Cap on the negotiated microversion (OS_VOLUME_API_VERSION); default: the newest both sides know, at most 3.65.'),
    requestTimeoutMs: ms('requestTimeoutMs', 100, 30_000).describe('Timeout of each HTTP request (default 30000).'),
    retries: z
      .number()
      .refine((n) => Number.isInteger(n) && n >= 0 && n <= 10, { error: 'retries must be a whole number from 0 to 10' })
      .default(3)
      .describe('Retries of a GET after a connection error or a 5xx (never of an action). Default 3.'),
    startGraceMs: ms('startGraceMs', 1_000, 60_000).describe('How long an accepted move may show no sign of starting before it fails (default 60000).'),
    settleMs: ms('settleMs', 0, 60_000).describe('How long a moved volume may stay without migration_status success before it counts as done (default 60000).'),
  })
  .strict()
  .describe('OpenStack Cinder through its REST API.');

/** The embedded block service of this deployment. */
export const embeddedControlPlaneSchema = z.object({ type: z.literal('embedded') }).strict().describe("Ballast's own block service (the back-ends below).");

/** `controlPlane:` — `embedded` (default), `cinder`, or a mapping with `type`. */
export const controlPlaneSchema = z
  .preprocess((v) => (typeof v === 'string' ? { type: v } : v), z.discriminatedUnion('type', [embeddedControlPlaneSchema, cinderControlPlaneSchema], {
      error: (iss) => {
        const t = (iss.input as { type?: unknown } | null | undefined)?.type;
        return `expected controlPlane 'embedded' or 'cinder' (or a mapping with that type), found ${t === undefined ? 'no type' : `'${String(t)}'`}`;
      },
    }))
  .describe('The control plane Ballast reads and moves through: embedded (default) or cinder.');

export type ControlPlaneSettings = z.output<typeof controlPlaneSchema>;
export type CinderControlPlaneSettings = z.output<typeof cinderControlPlaneSchema>;

/**
 * The document-level rule: the embedded control plane needs back-ends; a Cinder one has its own.
 * Apply with `.superRefine` on the whole configuration.
 */
export function requireBackendsForEmbedded(doc: { controlPlane: ControlPlaneSettings; backends: readonly unknown[] }, ctx: z.RefinementCtx): void {
  if (doc.controlPlane.type === 'embedded' && doc.backends.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['backends'], message: 'at least one back-end is needed (a configuration with controlPlane: cinder needs none)' });
  }
}

/** The settings with their file paths (`passwordFile`, `applicationCredentialSecretFile`) made absolute against `configDir`. */
export function resolveControlPlaneFiles(cp: ControlPlaneSettings, configDir: string): ControlPlaneSettings {
  if (cp.type !== 'cinder') return cp;
  return {
    ...cp,
    ...(cp.passwordFile !== undefined ? { passwordFile: resolve(configDir, cp.passwordFile) } : {}),
    ...(cp.applicationCredentialSecretFile !== undefined ? { applicationCredentialSecretFile: resolve(configDir, cp.applicationCredentialSecretFile) } : {}),
  };
}
