import type { z } from 'zod';
import type { FileProblem } from './errors.js';
import { formatPath, type YamlSource } from './yaml-source.js';

/** Levenshtein distance, for did-you-mean suggestions on near-miss names. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate within a small edit distance, or null. */
export function suggest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return best !== null && bestD <= limit ? best : null;
}

function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  return String(v);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/**
 * Turns zod issues into located problems: the place in the file, the path, what was expected and
 * what was found, and a did-you-mean for unknown keys (`knownKeys` lists the keys allowed there).
 */
export function zodIssuesToProblems(source: YamlSource, issues: readonly z.core.$ZodIssue[], schema?: z.ZodType): FileProblem[] {
  const out: FileProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
    if (issue.code === 'unrecognized_keys') {
      const allowed = schema ? objectKeysAt(schema, path) : [];
      for (const key of issue.keys) {
        const hint = suggest(key, allowed);
        out.push({
          location: source.locate([...path, key], 'key'),
          path: formatPath([...path, key]),
          message: `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
        });
      }
      continue;
    }
    const found = valueAt(source.value, path);
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      message = `expected ${issue.expected}, found ${describeFound(found)}`;
      if (found === undefined) message = `required: expected ${issue.expected}`;
    } else if (issue.code === 'invalid_value' && 'values' in issue) {
      const values = issue.values.map((v) => String(v));
      const hint = typeof found === 'string' ? suggest(found, values) : null;
      message = `expected one of ${values.map((v) => `'${v}'`).join(', ')}, found ${describeFound(found)}${hint ? ` (did you mean '${hint}'?)` : ''}`;
    } else if (!message.includes('found')) {
      message = `${message} (found ${describeFound(found)})`;
    }
    out.push({ location: source.locate(path), path: formatPath(path), message });
  }
  return out.sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}

type AnyDef = {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  in?: unknown;
  valueType?: unknown;
  options?: unknown[];
  getter?: () => unknown;
};

function defOf(schema: unknown): AnyDef | null {
  const d = (schema as { _zod?: { def?: AnyDef } } | null)?._zod?.def;
  return d ?? null;
}

/** Keys of the object schema found at `path` (through optional, default, array, record, union). */
export function objectKeysAt(schema: unknown, path: readonly (string | number)[]): string[] {
  const keys = new Set<string>();
  const walk = (s: unknown, i: number, guard: number): void => {
    const d = defOf(s);
    if (!d || guard > 200) return;
    switch (d.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        walk(d.innerType, i, guard + 1);
        return;
      case 'pipe':
        walk(d.in, i, guard + 1);
        return;
      case 'lazy':
        if (d.getter) walk(d.getter(), i, guard + 1);
        return;
      case 'union':
        for (const o of d.options ?? []) walk(o, i, guard + 1);
        return;
      case 'array':
        if (i < path.length) walk(d.element, i + 1, guard + 1);
        return;
      case 'record':
        if (i < path.length) walk(d.valueType, i + 1, guard + 1);
        return;
      case 'object': {
        const shape = d.shape ?? {};
        if (i === path.length) {
          for (const k of Object.keys(shape)) keys.add(k);
          return;
        }
        const seg = path[i];
        if (typeof seg === 'string' && seg in shape) walk(shape[seg], i + 1, guard + 1);
        return;
      }
      default:
        return;
    }
  };
  walk(schema, 0, 0);
  return [...keys];
}
