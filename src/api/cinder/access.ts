/**
 * What every Cinder route shares: its dependencies, the project check of `/v3/{project_id}/…`,
 * Cinder's admin-only policies (403), and per-project visibility (other projects' volumes and
 * migration targets are "not found" to members).
 *
 * @module
 */
import type { BlockService } from '../../blockstore/index.js';
import { isMigrationTarget, type Volume } from '../../model/index.js';
import { AppError } from '../../shared/index.js';
import type { BackgroundMoves } from '../background-moves.js';
import type { Identity, RequestContext } from '../http/types.js';
import { requestedMicroversion, type Microversion } from './microversion.js';

/** What the Cinder routes work on. */
export interface CinderDeps {
  readonly service: BlockService;
  /** Runs accepted migrations after the 202. */
  readonly moves: BackgroundMoves;
  /** Types defined in ballast.yaml: the file owns them (the API does not change their extra specs). */
  readonly configTypeNames: ReadonlySet<string>;
  /**
   * May members change their own project's volumes (create, delete, extend, in-place retype), as
   * Cinder's owner policies allow? Off by default: only admins change state.
   */
  readonly memberWrites: boolean;
}

/** The caller of a route that requires authentication. */
export function caller(ctx: RequestContext): Identity {
  if (!ctx.identity) throw new AppError('API_UNAUTHORIZED', 'The request you have made requires authentication.');
  return ctx.identity;
}

/**
 * The caller, after checking that the URL's project (if the URL has one) is the caller's (Cinder:
 * "Malformed request url" otherwise, admins included).
 */
export function projectCaller(ctx: RequestContext): Identity {
  const who = caller(ctx);
  const project = ctx.params['project_id'];
  if (project !== undefined && project !== who.projectId) {
    throw new AppError('INVALID_INPUT', `Malformed request url: the URL's project_id '${ctx.params['project_id'] ?? ''}' does not match the token's project '${who.projectId}'`);
  }
  return who;
}

/** Cinder's PolicyNotAuthorized (403) unless the caller is an admin. */
export function requireAdmin(who: Identity, policy: string): void {
  if (who.role !== 'admin') throw new AppError('API_FORBIDDEN', `Policy doesn't allow ${policy} to be performed.`, { details: { policy } });
}

/** A state change on the caller's own volumes: admins always; members only with `memberWrites`. */
export function requireWriter(deps: CinderDeps, who: Identity, policy: string): void {
  if (who.role === 'admin' || deps.memberWrites) return;
  throw new AppError('API_FORBIDDEN', `Policy doesn't allow ${policy} to be performed. (members are read-only unless api.memberWrites is true)`, { details: { policy } });
}

/** The request's microversion. */
export function microversion(ctx: RequestContext): Microversion {
  return requestedMicroversion(ctx.headers['openstack-api-version']);
}

/** Can `who` see volume `v`? Admins see all; members their project's, never migration targets. */
export function canSee(who: Identity, v: Volume): boolean {
  if (who.role === 'admin') return true;
  return v.projectId === who.projectId && !isMigrationTarget(v.migrationStatus);
}

/** A volume the caller may see, else Cinder's 404 (the same answer whether it exists or not). */
export function visibleVolume(deps: CinderDeps, who: Identity, id: string): Volume {
  const v = deps.service.getVolume(id); // VOLUME_NOT_FOUND: "Volume <id> could not be found."
  if (!canSee(who, v)) throw new AppError('VOLUME_NOT_FOUND', `Volume ${id} could not be found.`);
  return v;
}

/** The object under `key` of a JSON body, or a clear 400. */
export function bodyObject(body: unknown, key: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('INVALID_INPUT', `Invalid input received: the body must be a JSON object with '${key}'`);
  const inner = (body as Record<string, unknown>)[key];
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw new AppError('INVALID_INPUT', `Invalid input received: '${key}' is a required object in the body`);
  return inner as Record<string, unknown>;
}

/** Refuses keys outside `allowed` (Cinder's schemas have additionalProperties: false). */
export function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new AppError('INVALID_INPUT', `Invalid input for field/attribute ${where}. Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
}

/** Cinder's strict boolean (`bool_from_string(strict=True)`): true/false, 'true'/'false', '1'/'0', 'yes'/'no', 'on'/'off'. */
export function strictBool(v: unknown, field: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['true', '1', 'yes', 'y', 'on', 't'].includes(s)) return true;
    if (['false', '0', 'no', 'n', 'off', 'f'].includes(s)) return false;
  }
  throw new AppError('INVALID_INPUT', `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'boolean', 'string'`);
}
