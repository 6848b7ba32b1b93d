/**
 * The `api:` section of `ballast.yaml`: where `ballast serve` listens, who may call it (tokens with
 * a role and a project, or Cinder's noauth form for local use) and the request size limit.
 *
 * @module
 */
import { z } from 'zod';

/** Default listen address: loopback only, Cinder's port. */
export const DEFAULT_API_LISTEN = '127.0.0.1:8776';

/** Default request body limit, bytes (Cinder's osapi_max_request_body_size is 112 KiB). */
export const DEFAULT_API_MAX_BODY_BYTES = 112 * 1024;

const LISTEN_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const PROJECT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `host:port` (IPv6 in brackets); null when malformed. */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = LISTEN_RE.exec(s.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port > 65535) return null;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** One API token: a secret (inline or from an environment variable), a role and a project. */
export const apiTokenSchema = z
  .object({
    user: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, { error: 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -' })
      .describe('Name of the caller, shown in access logs (never the token).'),
    token: z
      .string()
      .min(16, { error: 'token must have at least 16 characters (use e.g. `openssl rand -hex 24`)' })
      .max(512)
      .optional()
      .describe('The secret sent as X-Auth-Token. Prefer tokenEnv so the secret stays out of this file.'),
    tokenEnv: z
      .string()
      .regex(ENV_RE, { error: 'tokenEnv must be an environment variable name' })
      .optional()
      .describe('Name of an environment variable holding the secret (read when the server starts).'),
    role: z.enum(['admin', 'member']).describe('admin: every call, including state changes of other projects and admin actions; member: its own project.'),
    projectId: z
      .string()
      .regex(PROJECT_RE, { error: 'projectId must be 1-64 characters of A-Z a-z 0-9 _ -' })
      .describe('Project the token acts in: the {project_id} of /v3/{project_id}/… URLs and the owner of volumes it creates.'),
  })
  .strict()
  .refine((t) => (t.token === undefined) !== (t.tokenEnv === undefined), { error: 'give exactly one of token and tokenEnv' })
  .describe('An API token.');

/** The `api:` section. */
export const apiSchema = z
  .object({
    listen: z
      .string()
      .refine((s) => parseListen(s) !== null, { error: 'listen must be host:port, e.g. 127.0.0.1:8776 or [::1]:8776' })
      .default(DEFAULT_API_LISTEN)
      .describe('Address of `ballast serve` (default 127.0.0.1:8776; --listen overrides).'),
    maxBodyBytes: z
      .number()
      .refine((n) => Number.isInteger(n) && n >= 1024 && n <= 16 * 1024 * 1024, { error: 'maxBodyBytes must be a whole number from 1024 to 16777216' })
      .default(DEFAULT_API_MAX_BODY_BYTES)
      .describe('Largest request body accepted, in bytes (default 114688); larger requests get 413.'),
    noauth: z
      .boolean()
      .default(false)
      .describe("Accept Cinder's noauth tokens (X-Auth-Token: user:project) without a secret. Local use only: refused on non-loopback addresses."),
    noauthAdmins: z
      .array(z.string().min(1))
      .default(['admin'])
      .describe('With noauth, the user ids that get the admin role (default [admin]); other users are members.'),
    memberWrites: z
      .boolean()
      .default(false)
      .describe("Let members change their own project's volumes (create, delete, extend, in-place retype) as Cinder's owner policies do. Default false: every state change needs an admin."),
    tokens: z.array(apiTokenSchema).default([]).describe('Tokens accepted in X-Auth-Token, each with a role and a project.'),
  })
  .strict()
  .describe('The HTTP API served by `ballast serve`.');

/** The parsed `api:` section (defaults applied). */
export type ApiConfig = z.output<typeof apiSchema>;
/** One parsed API token. */
export type ApiTokenConfig = z.output<typeof apiTokenSchema>;
