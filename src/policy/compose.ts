/**
 * Composition of several policy files.
 *
 * - Each file is a *rule*: its scope and hard constraints apply to what its scope selects, and
 *   rules accumulate (see `resolve.ts` for how rules covering the same volume or pool combine).
 * - The *run-wide* sections (`constraints.budgets`, `objectives`, `execution`, `when`) describe one
 *   run, so they merge setting by setting (a setting is a leaf: a number, string, boolean or a
 *   whole list). For each setting the file with the highest `priority` wins. Two files with the
 *   same priority that set it to different values are a conflict, reported naming both places.
 *   File order never decides, so renaming a file never changes behaviour.
 * - `metadata.name` must be unique across files.
 *
 * @module
 */
import { formatLocation, formatPath, type FileProblem, type SourceLocation } from '../shared/index.js';
import type { LoadedPolicy } from './load.js';
import { RUN_WIDE_SECTIONS } from './schema.js';

/** One run-wide setting as written in one file. */
export interface WrittenSetting {
  /** Path in the document, e.g. `['execution', 'maxConcurrent', 'perPool']`. */
  readonly path: readonly string[];
  readonly value: unknown;
  readonly priority: number;
  readonly policy: string;
  readonly location: SourceLocation;
}

/** The merged run-wide settings: a raw (input-shaped) tree per section, and where each leaf came from. */
export interface MergedSettings {
  /** Section path joined with '.' (`constraints.budgets`, `objectives`, …) → merged input object. */
  readonly sections: Readonly<Record<string, Record<string, unknown>>>;
  /** Leaf path joined with '.' → the winning setting. */
  readonly winners: ReadonlyMap<string, WrittenSetting>;
  readonly problems: readonly FileProblem[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function rawAt(root: unknown, path: readonly string[]): unknown {
  let cur = root;
  for (const p of path) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Stable JSON (sorted keys) for comparing written values. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** A value as shown in a conflict message. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : canonical(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** Every run-wide setting a file writes (leaves only; defaults are not settings). */
export function writtenSettings(p: LoadedPolicy): WrittenSetting[] {
  const out: WrittenSetting[] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (isPlainObject(v)) {
      for (const k of Object.keys(v)) walk(v[k], [...path, k]);
      return;
    }
    out.push({
      path,
      // The validated value (inner defaults applied, e.g. a window's days), so that equal
      // settings written differently do not conflict.
      value: rawAt(p.document, path) ?? v,
      priority: p.document.priority,
      policy: p.document.metadata.name,
      location: p.source.locate(path, 'value'),
    });
  };
  for (const section of RUN_WIDE_SECTIONS) {
    const raw = rawAt(p.source.value, section.path);
    if (raw !== undefined) walk(raw, [...section.path]);
  }
  return out;
}

function setIn(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (isPlainObject(next)) cur = next;
    else {
      const created: Record<string, unknown> = {};
      cur[k] = created;
      cur = created;
    }
  }
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}

/** Problems for `metadata.name` used by more than one file, naming both places. */
export function duplicateNameProblems(policies: readonly LoadedPolicy[]): FileProblem[] {
  const first = new Map<string, LoadedPolicy>();
  const problems: FileProblem[] = [];
  for (const p of policies) {
    const name = p.document.metadata.name;
    const prev = first.get(name);
    if (!prev) {
      first.set(name, p);
      continue;
    }
    const here = p.source.locate(['metadata', 'name']);
    problems.push({
      location: here,
      path: 'metadata.name',
      message: `policy name '${name}' is already used at ${formatLocation(prev.source.locate(['metadata', 'name']))}: names must be unique`,
    });
  }
  return problems;
}

/**
 * Merges the run-wide settings of all files by priority and reports conflicts (same setting,
 * same priority, different values), each message naming both places.
 */
export function mergeRunWideSettings(policies: readonly LoadedPolicy[]): MergedSettings {
  const byPath = new Map<string, WrittenSetting[]>();
  for (const p of policies) {
    for (const s of writtenSettings(p)) {
      const key = formatPath(s.path);
      const list = byPath.get(key);
      if (list) list.push(s);
      else byPath.set(key, [s]);
    }
  }
  const winners = new Map<string, WrittenSetting>();
  const problems: FileProblem[] = [];
  for (const [key, list] of [...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const top = Math.max(...list.map((s) => s.priority));
    const contenders = list.filter((s) => s.priority === top);
    const winner = contenders[0]!;
    winners.set(key, winner);
    for (const other of contenders.slice(1)) {
      if (canonical(other.value) === canonical(winner.value)) continue;
      problems.push({
        location: other.location,
        path: key,
        message:
          `conflict: '${key}' is ${show(other.value)} here (policy '${other.policy}') but ${show(winner.value)} at ` +
          `${formatLocation(winner.location)} (policy '${winner.policy}'), both at priority ${top}: ` +
          'make them agree, or give the file that should win a higher priority',
      });
    }
  }
  const sections: Record<string, Record<string, unknown>> = {};
  for (const section of RUN_WIDE_SECTIONS) sections[section.path.join('.')] = {};
  for (const w of winners.values()) {
    const section = RUN_WIDE_SECTIONS.find((s) => s.path.every((seg, i) => w.path[i] === seg));
    if (!section) continue;
    setIn(sections[section.path.join('.')]!, w.path.slice(section.path.length), w.value);
  }
  return { sections, winners, problems };
}
