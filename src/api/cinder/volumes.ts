/**
 * Cinder's volume collection: list (summary and detail, `all_tenants` for admins), show, create
 * (202) and delete (202), with per-project visibility.
 *
 * @module
 */
import type { Volume } from '../../model/index.js';
import { AppError } from '../../shared/index.js';
import type { Identity, RequestContext, Route } from '../http/types.js';
import { bodyObject, canSee, microversion, onlyKeys, projectCaller, requireWriter, strictBool, visibleVolume, type CinderDeps } from './access.js';
import { volumeDetail, volumeSummary, type ViewOptions } from './views.js';

const P = '/v3/:project_id';

/** Keys of Cinder's create schema; those naming a source Ballast cannot create from must be null. */
const CREATE_KEYS = ['size', 'name', 'description', 'volume_type', 'availability_zone', 'metadata', 'multiattach', 'display_name', 'display_description'];
const UNSUPPORTED_SOURCES = ['snapshot_id', 'source_volid', 'imageRef', 'backup_id', 'consistencygroup_id', 'group_id', 'source_replica'];

function viewOptions(ctx: RequestContext, who: Identity): ViewOptions {
  return { who, mv: microversion(ctx), baseUrl: ctx.baseUrl };
}

/** Volumes of a list request: own project (or all for admins with all_tenants), filtered, newest first (Cinder's default sort). */
function listed(deps: CinderDeps, ctx: RequestContext, who: Identity): Volume[] {
  const q = ctx.query;
  const allTenants = q.has('all_tenants') && strictBool(q.get('all_tenants') || 'true', 'all_tenants', false);
  const all = allTenants && who.role === 'admin';
  const name = q.get('name');
  const status = q.get('status');
  return deps.service
    .listVolumes(who.role === 'admin')
    .filter((v) => canSee(who, v) && (all || v.projectId === who.projectId))
    .filter((v) => (name === null || v.name === name) && (status === null || v.status === status))
    .reverse();
}

function optionalString(obj: Record<string, unknown>, key: string, max = 255): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new AppError('INVALID_INPUT', `Invalid input for field/attribute ${key}. Expected a string of at most ${max} characters.`);
  return v;
}

function metadataOf(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AppError('INVALID_INPUT', 'Invalid input for field/attribute metadata. Expected an object of strings.');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k.length === 0 || k.length > 255 || typeof val !== 'string' || val.length > 255) {
      throw new AppError('INVALID_INPUT', `Invalid input for field/attribute metadata. Keys and values must be strings of 1-255 characters (key '${k}').`);
    }
    out[k] = val;
  }
  return out;
}

async function create(deps: CinderDeps, ctx: RequestContext) {
  const who = projectCaller(ctx);
  const body = ctx.json();
  const vol = bodyObject(body, 'volume');
  onlyKeys(body as Record<string, unknown>, ['volume', 'OS-SCH-HNT:scheduler_hints'], 'body');
  onlyKeys(vol, [...CREATE_KEYS, ...UNSUPPORTED_SOURCES], 'volume');
  for (const k of UNSUPPORTED_SOURCES) {
    if (vol[k] !== undefined && vol[k] !== null) throw new AppError('INVALID_INPUT', `Invalid input received: ${k} is not supported by Ballast's embedded block service (only new, empty volumes)`);
  }
  if (vol['multiattach'] === true) throw new AppError('INVALID_INPUT', "Invalid input received: multiattach volumes are not supported by Ballast's embedded block service");
  requireWriter(deps, who, 'volume:create');
  const v = await deps.service.createVolume({
    sizeGiB: vol['size'],
    name: optionalString(vol, 'name') ?? optionalString(vol, 'display_name'),
    description: optionalString(vol, 'description') ?? optionalString(vol, 'display_description'),
    type: optionalString(vol, 'volume_type'),
    availabilityZone: optionalString(vol, 'availability_zone'),
    metadata: metadataOf(vol['metadata']),
    projectId: who.projectId,
  });
  return { status: 202, body: { volume: volumeDetail(deps.service, v, viewOptions(ctx, who)) } };
}

/** The volume routes. */
export function volumeRoutes(deps: CinderDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: `${P}/volumes`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const o = viewOptions(ctx, who);
        return { status: 200, body: { volumes: listed(deps, ctx, who).map((v) => volumeSummary(v, o)) } };
      },
    },
    {
      method: 'GET',
      pattern: `${P}/volumes/detail`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const o = viewOptions(ctx, who);
        return { status: 200, body: { volumes: listed(deps, ctx, who).map((v) => volumeDetail(deps.service, v, o)) } };
      },
    },
    { method: 'POST', pattern: `${P}/volumes`, auth: 'required', handle: (ctx) => create(deps, ctx) },
    {
      method: 'GET',
      pattern: `${P}/volumes/:id`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const v = visibleVolume(deps, who, ctx.params['id']!);
        return { status: 200, body: { volume: volumeDetail(deps.service, v, viewOptions(ctx, who)) } };
      },
    },
    {
      method: 'DELETE',
      pattern: `${P}/volumes/:id`,
      auth: 'required',
      handle: async (ctx) => {
        const who = projectCaller(ctx);
        const v = visibleVolume(deps, who, ctx.params['id']!);
        requireWriter(deps, who, 'volume:delete');
        await deps.service.deleteVolume(v.id);
        return { status: 202 };
      },
    },
  ];
}
