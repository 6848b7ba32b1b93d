/**
 * Route matching: patterns with `:name` segments, matched segment by segment. A path that matches
 * some route but not with this method is a 405 (with the methods that would work).
 *
 * @module
 */
import { AppError } from '../../shared/index.js';
import type { HttpMethod, Route, RouteModule } from './types.js';

interface Compiled {
  readonly module: RouteModule;
  readonly route: Route;
  readonly segments: readonly string[];
}

/** A matched route and its decoded parameters. */
export interface RouteMatch {
  readonly module: RouteModule;
  readonly route: Route;
  readonly params: Record<string, string>;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** Strips the query and a trailing slash (`/v3/` → `/v3`, `/` stays). */
export function normalizePath(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** The routes of all modules, in registration order (first match wins). */
export class Router {
  private readonly compiled: Compiled[] = [];

  constructor(readonly modules: readonly RouteModule[]) {
    for (const module of modules) {
      for (const route of module.routes) this.compiled.push({ module, route, segments: split(route.pattern) });
    }
  }

  /**
   * The route for a method and path. Throws API_NOT_FOUND when no route has the path and
   * API_METHOD_NOT_ALLOWED when routes have it with other methods.
   */
  match(method: string, path: string): RouteMatch {
    const parts = split(path);
    const allowed = new Set<HttpMethod>();
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, parts);
      if (!params) continue;
      if (c.route.method === method) return { module: c.module, route: c.route, params };
      allowed.add(c.route.method);
    }
    if (allowed.size > 0) {
      throw new AppError('API_METHOD_NOT_ALLOWED', `The method ${method} is not allowed for ${path} (allowed: ${[...allowed].sort().join(', ')})`, {
        details: { allow: [...allowed].sort() },
      });
    }
    throw new AppError('API_NOT_FOUND', `The resource could not be found: ${path}`);
  }

  /** The module whose paths include `path` (for rendering errors before a route matched). */
  moduleFor(path: string): RouteModule | null {
    return this.modules.find((m) => m.owns(path)) ?? null;
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = parts[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(s);
      } catch (e) {
        if (e instanceof URIError) return null; // malformed percent-encoding: no route has it
        throw e;
      }
      params[p.slice(1)] = value;
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}
