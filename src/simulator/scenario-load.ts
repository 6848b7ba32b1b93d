/**
 * Reading a scenario file: YAML with positions, then the zod schema, every problem located
 * (`file:line:col`, path, expected vs found, did-you-mean). Pure: takes the text, does no I/O,
 * never throws on bad input.
 *
 * @module
 */
import type { z } from 'zod';
import { parseYamlSource, zodIssuesToProblems, type FileProblem, type YamlSource } from '../shared/index.js';
import { SCENARIO_API_VERSION, SCENARIO_KIND, ScenarioSchema, type ScenarioDocument } from './scenario-schema.js';

/** A scenario file that passed the schema. */
export interface LoadedScenario {
  readonly file: string;
  readonly source: YamlSource;
  readonly document: ScenarioDocument;
}

/** The document, or the problems (never both). */
export interface ScenarioLoadResult {
  readonly scenario: LoadedScenario | null;
  readonly problems: readonly FileProblem[];
}

/** Keeps the schema's own messages (zod's generic "Invalid input" is replaced by the shared converter). */
function keepMessages(root: unknown, issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const present = (path: readonly PropertyKey[]): boolean => {
    let cur = root;
    for (const k of path) {
      if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
      cur = (cur as Record<PropertyKey, unknown>)[k];
    }
    return cur !== undefined;
  };
  return issues.map((i) => {
    if (i.code === 'invalid_type' && !i.message.startsWith('Invalid input')) return { ...i, code: 'custom', message: i.message } as z.core.$ZodIssue;
    if (i.code === 'invalid_value' && !present(i.path)) {
      return { code: 'custom', path: i.path, message: `required: expected ${i.values.map((v) => `'${String(v)}'`).join(' or ')}, found nothing`, input: undefined } as z.core.$ZodIssue;
    }
    return i;
  });
}

/** Orders problems by line, column, then message. */
export function sortScenarioProblems(problems: readonly FileProblem[]): FileProblem[] {
  return [...problems].sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/** Parses and shape-checks one scenario file. */
export function loadScenarioText(file: string, text: string): ScenarioLoadResult {
  const at1 = { file, line: 1, col: 1 };
  try {
    const source = parseYamlSource(file, text);
    if (source.syntaxProblems.length > 0) return { scenario: null, problems: sortScenarioProblems(source.syntaxProblems) };
    if (source.value === undefined || source.value === null) {
      return {
        scenario: null,
        problems: [{ location: at1, path: '', message: `the file is empty: expected a scenario starting with 'apiVersion: ${SCENARIO_API_VERSION}' and 'kind: ${SCENARIO_KIND}'` }],
      };
    }
    const parsed = ScenarioSchema.safeParse(source.value);
    if (!parsed.success) {
      return { scenario: null, problems: sortScenarioProblems(zodIssuesToProblems(source, keepMessages(source.value, parsed.error.issues), ScenarioSchema)) };
    }
    return { scenario: { file, source, document: parsed.data }, problems: [] };
  } catch (e) {
    return { scenario: null, problems: [{ location: at1, path: '', message: `internal error while checking this file (please report): ${e instanceof Error ? e.message : String(e)}` }] };
  }
}
