/**
 * Reading plan files back (for `ballast apply`, reviews, the API): the text is checked with ajv
 * against the JSON Schema emitted from {@link PlanSchema} (the contract other tools see), and every
 * problem is reported at once with its `file:line:col` and its path in the document. Pure: the
 * caller reads the file and passes its text.
 *
 * @module
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Plan } from '../model/index.js';
import { FileValidationError, formatPath, parseYamlSource, type FileProblem } from '../shared/index.js';
import { planJsonSchema } from './schema.js';

let validator: ValidateFunction | null = null;

function validate(): ValidateFunction {
  validator ??= new Ajv2020({ strict: true, allErrors: true }).compile(planJsonSchema());
  return validator;
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function describeError(e: ErrorObject): { extraKey: string | null; message: string } {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      return { extraKey: key, message: `unknown key '${key}'` };
    }
    case 'required':
      return { extraKey: null, message: `required: '${(e.params as { missingProperty: string }).missingProperty}' is missing` };
    case 'enum':
      return { extraKey: null, message: `expected one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => `'${String(v)}'`).join(', ')}` };
    case 'const':
      return { extraKey: null, message: `expected '${String((e.params as { allowedValue: unknown }).allowedValue)}'` };
    default:
      return { extraKey: null, message: e.message ?? e.keyword };
  }
}

/**
 * Parses and validates a plan file's text. Returns the plan; throws a `FileValidationError` with
 * code `PLAN_INVALID` listing every problem (syntax, unknown keys, wrong types, bad ids, dangling
 * `dependsOn`) with its place in the file. Nothing else is checked here: expiry is {@link isExpired}.
 */
export function readPlanFile(file: string, text: string): Plan {
  const source = parseYamlSource(file, text);
  if (source.syntaxProblems.length > 0) throw new FileValidationError('PLAN_INVALID', file, source.syntaxProblems);
  const check = validate();
  if (!check(source.value)) {
    const problems: FileProblem[] = (check.errors ?? []).map((e) => {
      const path = pathOf(e.instancePath);
      const { extraKey, message } = describeError(e);
      const full = extraKey === null ? path : [...path, extraKey];
      return { location: extraKey === null ? source.locate(path) : source.locate(full, 'key'), path: formatPath(full), message };
    });
    throw new FileValidationError('PLAN_INVALID', file, sortProblems(problems));
  }
  const plan = source.value as Plan;
  const problems = referenceProblems(plan, source.locate);
  if (problems.length > 0) throw new FileValidationError('PLAN_INVALID', file, problems);
  return plan;
}

/** Move ids unique, and every `dependsOn` names an earlier move (the executor relies on both). */
function referenceProblems(plan: Plan, locate: (path: (string | number)[]) => FileProblem['location']): FileProblem[] {
  const problems: FileProblem[] = [];
  const seen = new Set<string>();
  plan.moves.forEach((m, i) => {
    if (seen.has(m.id)) problems.push({ location: locate(['moves', i, 'id']), path: formatPath(['moves', i, 'id']), message: `duplicate move id '${m.id}'` });
    m.dependsOn.forEach((d, j) => {
      if (!seen.has(d)) {
        const path = ['moves', i, 'dependsOn', j];
        problems.push({ location: locate(path), path: formatPath(path), message: `'${d}' is not an earlier move of this plan` });
      }
    });
    seen.add(m.id);
  });
  return problems;
}

function sortProblems(problems: FileProblem[]): FileProblem[] {
  const key = (p: FileProblem) => `${String(p.location.line).padStart(9, '0')}:${String(p.location.col).padStart(9, '0')}:${p.path}:${p.message}`;
  const unique = new Map(problems.map((p) => [key(p), p]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
}

/** True when the plan may no longer be run at `nowMs` (its `expiresAtMs` has passed). */
export function isExpired(plan: Pick<Plan, 'expiresAtMs'>, nowMs: number): boolean {
  return nowMs >= plan.expiresAtMs;
}
