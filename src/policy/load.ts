/**
 * Reading policy files: YAML with positions, then the zod schema, every problem located
 * (`file:line:col`, document path, expected vs found, did-you-mean). Pure: takes file texts,
 * does no I/O, never throws on bad input.
 *
 * @module
 */
import type { z } from 'zod';
import { parseYamlSource, zodIssuesToProblems, type FileProblem, type YamlSource } from '../shared/index.js';
import { API_VERSION, KIND, PolicySchema, type PolicyDocument } from './schema.js';

/** A policy file's name (as it should appear in messages) and its text. */
export interface PolicySourceFile {
  readonly file: string;
  readonly text: string;
}

/** A policy file that passed the schema, with its source for locating values. */
export interface LoadedPolicy {
  readonly file: string;
  readonly source: YamlSource;
  readonly document: PolicyDocument;
}

/** Outcome of loading one file: the policy, or the problems (never both empty). */
export interface LoadOneResult {
  readonly policy: LoadedPolicy | null;
  readonly problems: readonly FileProblem[];
}

/** Outcome of loading several files. `policies` holds only the files without problems. */
export interface LoadResult {
  readonly policies: readonly LoadedPolicy[];
  readonly problems: readonly FileProblem[];
}

const at1 = (file: string) => ({ file, line: 1, col: 1 });

/**
 * zod keeps a custom message on `invalid_type` issues (the quantity fields say "expected a
 * binary size such as '500GiB'…"), but the shared converter rewrites every `invalid_type` as
 * "expected string, found …". Custom messages are passed on as custom issues instead.
 */
function keepCustomMessages(root: unknown, issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const present = (path: readonly PropertyKey[]): boolean => {
    let cur = root;
    for (const k of path) {
      if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
      cur = (cur as Record<PropertyKey, unknown>)[k];
    }
    return cur !== undefined;
  };
  const custom = (i: z.core.$ZodIssue, message: string) => ({ code: 'custom', path: i.path, message, input: i.input }) as z.core.$ZodIssue;
  return issues.map((i) => {
    if (i.code === 'invalid_type' && !i.message.startsWith('Invalid input')) return custom(i, i.message);
    // A missing `apiVersion` / `kind` / enum: say it is required rather than "found nothing".
    if (i.code === 'invalid_value' && !present(i.path)) {
      return custom(i, `required: expected ${i.values.map((v) => `'${String(v)}'`).join(' or ')}, found nothing`);
    }
    return i;
  });
}

/** Orders problems by file, line, column, then message, so output is stable. */
export function sortProblems(problems: readonly FileProblem[]): FileProblem[] {
  return [...problems].sort(
    (a, b) =>
      (a.location.file < b.location.file ? -1 : a.location.file > b.location.file ? 1 : 0) ||
      a.location.line - b.location.line ||
      a.location.col - b.location.col ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/**
 * Loads one policy file from its text. Every problem of the file is reported at once; syntax
 * problems stop before schema validation (the document has no reliable shape then).
 */
export function loadPolicy(file: string, text: string): LoadOneResult {
  try {
    const source = parseYamlSource(file, text);
    if (source.syntaxProblems.length > 0) return { policy: null, problems: sortProblems(source.syntaxProblems) };
    if (source.value === undefined || source.value === null) {
      return {
        policy: null,
        problems: [
          {
            location: at1(file),
            path: '',
            message: `the file is empty: expected a policy document starting with 'apiVersion: ${API_VERSION}' and 'kind: ${KIND}'`,
          },
        ],
      };
    }
    const parsed = PolicySchema.safeParse(source.value);
    if (!parsed.success) {
      const problems = zodIssuesToProblems(source, keepCustomMessages(source.value, parsed.error.issues), PolicySchema);
      return { policy: null, problems: sortProblems(problems) };
    }
    return { policy: { file, source, document: parsed.data }, problems: [] };
  } catch (e) {
    // A bug, not bad input: still a located problem rather than a crash.
    return {
      policy: null,
      problems: [{ location: at1(file), path: '', message: `internal error while checking this file (please report): ${e instanceof Error ? e.message : String(e)}` }],
    };
  }
}

/** Loads several policy files; files are taken in lexical order of their names. */
export function loadPolicies(files: readonly PolicySourceFile[]): LoadResult {
  const ordered = [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const policies: LoadedPolicy[] = [];
  const problems: FileProblem[] = [];
  for (const f of ordered) {
    const r = loadPolicy(f.file, f.text);
    if (r.policy) policies.push(r.policy);
    problems.push(...r.problems);
  }
  return { policies, problems };
}
