/**
 * Volume types and their extra specs: list and show for everyone (members see only the
 * user-visible specs), create and spec changes for admins. Types defined in ballast.yaml are
 * owned by the file (it is re-applied at every start), so the API does not change their specs.
 *
 * @module
 */
import type { VolumeType } from '../../model/index.js';
import { AppError } from '../../shared/index.js';
import type { RequestContext, Route } from '../http/types.js';
import { bodyObject, onlyKeys, projectCaller, requireAdmin, type CinderDeps } from './access.js';
import { typeDetail, visibleSpecs } from './views.js';

const T = '/v3/:project_id/types';

function findType(deps: CinderDeps, idOrName: string): VolumeType {
  const t = deps.service.listTypes().find((x) => x.id === idOrName || x.name === idOrName);
  if (!t) throw new AppError('VOLUME_TYPE_NOT_FOUND', `Volume type ${idOrName} could not be found.`);
  return t;
}

function editable(deps: CinderDeps, t: VolumeType): void {
  if (deps.configTypeNames.has(t.name)) {
    throw new AppError('INVALID_INPUT', `Invalid input received: volume type ${t.name} is defined in ballast.yaml; change its extra specs there (the file is re-applied at every start)`);
  }
}

function specsAdmin(ctx: RequestContext, deps: CinderDeps): VolumeType {
  const who = projectCaller(ctx);
  const t = findType(deps, ctx.params['id']!);
  requireAdmin(who, 'volume_extension:types_extra_specs:update');
  editable(deps, t);
  return t;
}

/** The type routes. */
export function typeRoutes(deps: CinderDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: T,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        return { status: 200, body: { volume_types: deps.service.listTypes().map((t) => typeDetail(t, who)) } };
      },
    },
    {
      method: 'POST',
      pattern: T,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const vt = bodyObject(ctx.json(), 'volume_type');
        onlyKeys(vt, ['name', 'description', 'extra_specs', 'os-volume-type-access:is_public', 'is_public'], 'volume_type');
        for (const k of ['os-volume-type-access:is_public', 'is_public']) {
          if (vt[k] === false || vt[k] === 'false' || vt[k] === 'False') throw new AppError('INVALID_INPUT', 'Invalid input received: private volume types are not supported by Ballast (every type is public)');
        }
        requireAdmin(who, 'volume_extension:types_manage');
        const t = deps.service.createType({ name: vt['name'], description: vt['description'], extraSpecs: vt['extra_specs'] });
        return { status: 200, body: { volume_type: typeDetail(t, who) } };
      },
    },
    {
      method: 'GET',
      pattern: `${T}/:id`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        return { status: 200, body: { volume_type: typeDetail(findType(deps, ctx.params['id']!), who) } };
      },
    },
    {
      method: 'GET',
      pattern: `${T}/:id/extra_specs`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        return { status: 200, body: { extra_specs: visibleSpecs(findType(deps, ctx.params['id']!), who) } };
      },
    },
    {
      method: 'POST',
      pattern: `${T}/:id/extra_specs`,
      auth: 'required',
      handle: (ctx) => {
        const specs = bodyObject(ctx.json(), 'extra_specs');
        const t = specsAdmin(ctx, deps);
        deps.service.updateTypeExtraSpecs(t.id, specs);
        return { status: 200, body: { extra_specs: specs } };
      },
    },
    {
      method: 'GET',
      pattern: `${T}/:id/extra_specs/:key`,
      auth: 'required',
      handle: (ctx) => {
        const who = projectCaller(ctx);
        const t = findType(deps, ctx.params['id']!);
        const key = ctx.params['key']!;
        const specs = visibleSpecs(t, who);
        if (!(key in specs)) throw new AppError('VOLUME_TYPE_NOT_FOUND', `Volume Type ${t.id} has no extra specs with key ${key}.`);
        return { status: 200, body: { [key]: specs[key] } };
      },
    },
    {
      method: 'PUT',
      pattern: `${T}/:id/extra_specs/:key`,
      auth: 'required',
      handle: (ctx) => {
        const body = ctx.json();
        const key = ctx.params['key']!;
        if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1 || !(key in body)) {
          throw new AppError('INVALID_INPUT', 'Invalid input received: Request body and URI mismatch');
        }
        const t = specsAdmin(ctx, deps);
        deps.service.updateTypeExtraSpecs(t.id, body);
        return { status: 200, body };
      },
    },
    {
      method: 'DELETE',
      pattern: `${T}/:id/extra_specs/:key`,
      auth: 'required',
      handle: (ctx) => {
        const t = specsAdmin(ctx, deps);
        deps.service.updateTypeExtraSpecs(t.id, {}, [ctx.params['key']!]);
        return { status: 202 };
      },
    },
  ];
}
