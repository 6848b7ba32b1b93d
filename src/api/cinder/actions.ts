/**
 * `POST /v3/{project_id}/volumes/{id}/action`: `os-migrate_volume` (admin, 202, the move runs
 * in the background), `os-retype` (202; a member's retype may not need a migration),
 * `os-reset_status` (admin, 202), `os-migrate_volume_completion` (admin, 200) and `os-extend`.
 * Each body is validated in full before anything changes.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';
import type { Identity, RequestContext, Route, RouteResponse } from '../http/types.js';
import { atLeast } from './microversion.js';
import { microversion, onlyKeys, projectCaller, requireAdmin, requireWriter, strictBool, visibleVolume, type CinderDeps } from './access.js';

type Action = (deps: CinderDeps, ctx: RequestContext, who: Identity, volumeId: string, args: Record<string, unknown>) => Promise<RouteResponse> | RouteResponse;

function args(v: unknown, action: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AppError('INVALID_INPUT', `Invalid input for field/attribute ${action}. Expected an object.`);
  return v as Record<string, unknown>;
}

const migrate: Action = (deps, ctx, who, id, a) => {
  onlyKeys(a, ['host', 'cluster', 'force_host_copy', 'lock_volume'], 'os-migrate_volume');
  const mv = microversion(ctx);
  const host = a['host'];
  const cluster = a['cluster'];
  if (cluster !== undefined && cluster !== null) {
    if (!atLeast(mv, '3.16')) throw new AppError('INVALID_INPUT', "Invalid input for field/attribute os-migrate_volume. Additional properties are not allowed ('cluster' was unexpected)");
    if (host !== undefined && host !== null) throw new AppError('INVALID_INPUT', 'Invalid input received: One and only one of cluster and host must be set.');
    throw new AppError('INVALID_INPUT', "Invalid input received: Ballast's embedded block service has no clusters; give a host (host@backend#pool)");
  }
  if (host === undefined || host === null) {
    throw new AppError('INVALID_INPUT', atLeast(mv, '3.16') ? 'Invalid input received: One and only one of cluster and host must be set.' : 'Invalid input received: Host field is missing.');
  }
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) throw new AppError('INVALID_INPUT', 'Invalid input for field/attribute host. Expected a string of 1-255 characters.');
  const forceHostCopy = strictBool(a['force_host_copy'], 'force_host_copy', false);
  const lockVolume = strictBool(a['lock_volume'], 'lock_volume', false);
  requireAdmin(who, 'volume_extension:volume_admin_actions:migrate_volume');
  return deps.service.acceptMigration(id, host, { forceHostCopy, lockVolume }).then((m) => {
    deps.moves.start(m.id);
    return { status: 202 };
  });
};

const retype: Action = async (deps, _ctx, who, id, a) => {
  onlyKeys(a, ['new_type', 'migration_policy'], 'os-retype');
  const newType = a['new_type'];
  if (typeof newType !== 'string' || newType.length === 0 || newType.length > 255) throw new AppError('INVALID_INPUT', "Invalid input for field/attribute new_type. 'new_type' is a required string.");
  const policy = a['migration_policy'] ?? 'never';
  if (policy !== 'never' && policy !== 'on-demand') throw new AppError('INVALID_INPUT', `Invalid input for field/attribute migration_policy. Value: ${JSON.stringify(policy)}. It is not one of ['on-demand', 'never'].`);
  requireWriter(deps, who, 'volume:retype');
  if (who.role !== 'admin' && policy === 'on-demand') {
    // A member may retype in place; a retype that must move data is an admin's migration.
    try {
      await deps.service.retype(id, newType, 'never');
      return { status: 202 };
    } catch (e) {
      if (e instanceof AppError && e.code === 'RETYPE_NOT_ALLOWED') {
        throw new AppError('API_FORBIDDEN', `Policy doesn't allow volume:retype with migration to be performed. (${e.message})`);
      }
      throw e;
    }
  }
  const r = await deps.service.retype(id, newType, policy);
  if (r.kind === 'migration') deps.moves.start(r.migration.id);
  return { status: 202 };
};

const resetStatus: Action = (deps, _ctx, who, id, a) => {
  onlyKeys(a, ['status', 'attach_status', 'migration_status'], 'os-reset_status');
  for (const k of ['status', 'attach_status', 'migration_status']) {
    if (a[k] !== undefined && a[k] !== null && typeof a[k] !== 'string') throw new AppError('INVALID_INPUT', `Invalid input for field/attribute ${k}. Expected a string or null.`);
  }
  requireAdmin(who, 'volume_extension:volume_admin_actions:reset_status');
  deps.service.resetStatus(id, { status: a['status'] as string | undefined, attachStatus: a['attach_status'] as string | undefined, migrationStatus: a['migration_status'] as string | undefined });
  return { status: 202 };
};

const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

const completion: Action = (deps, _ctx, who, id, a) => {
  onlyKeys(a, ['new_volume', 'error'], 'os-migrate_volume_completion');
  const newId = a['new_volume'];
  if (typeof newId !== 'string' || !UUID_RE.test(newId)) throw new AppError('INVALID_INPUT', "Invalid input for field/attribute new_volume. 'new_volume' is a required uuid.");
  const error = a['error'];
  if (error !== undefined && error !== null && typeof error !== 'boolean' && typeof error !== 'string') throw new AppError('INVALID_INPUT', 'Invalid input for field/attribute error. Expected a string, boolean or null.');
  const isError = error === true || (typeof error === 'string' && strictBool(error, 'error', false));
  requireAdmin(who, 'volume_extension:volume_admin_actions:migrate_volume_completion');
  visibleVolume(deps, who, newId);
  const r = deps.service.completeMigration(id, newId, isError);
  return { status: 200, body: { save_volume_id: r.saveVolumeId } };
};

const extend: Action = async (deps, _ctx, who, id, a) => {
  onlyKeys(a, ['new_size'], 'os-extend');
  requireWriter(deps, who, 'volume:extend');
  await deps.service.extendVolume(id, a['new_size']);
  return { status: 202 };
};

const ACTIONS: Readonly<Record<string, Action>> = {
  'os-migrate_volume': migrate,
  'os-retype': retype,
  'os-reset_status': resetStatus,
  'os-migrate_volume_completion': completion,
  'os-extend': extend,
};

/** The action route. */
export function actionRoutes(deps: CinderDeps): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/v3/:project_id/volumes/:id/action',
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const v = visibleVolume(deps, who, ctx.params['id']!);
        const body = ctx.json();
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('INVALID_INPUT', 'Malformed request body: expected a JSON object with one action.');
        const keys = Object.keys(body);
        if (keys.length !== 1) throw new AppError('INVALID_INPUT', `Malformed request body: expected exactly one action, got ${keys.length}.`);
        const name = keys[0]!;
        const action = ACTIONS[name];
        if (!action) throw new AppError('INVALID_INPUT', `There is no such action: ${name}`);
        return action(deps, ctx, who, v.id, args((body as Record<string, unknown>)[name], name));
      },
    },
  ];
}
