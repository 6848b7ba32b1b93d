/**
 * Opening a scenario from disk: the file, its base (an inventory file or a generated fleet), and
 * the texts of every policy file it names. All problems of the scenario are reported at once, each
 * located; nothing runs unless the whole scenario is valid (no partial report).
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Inventory } from '../model/index.js';
import { parseInventoryFile } from '../planner/index.js';
import { compilePolicyFiles } from '../policy/index.js';
import { AppError, FileValidationError, type FileProblem } from '../shared/index.js';
import { checkScenario } from './scenario-check.js';
import { loadScenarioText, sortScenarioProblems } from './scenario-load.js';
import type { Scenario } from './scenario-types.js';

/** Makes the fleet of a `base.generate` scenario. */
export type FleetGenerator = (spec: { readonly pools: number; readonly volumes: number; readonly seed: number }) => Inventory;

/** A scenario ready to run. */
export interface OpenedScenario {
  readonly scenario: Scenario;
  readonly base: Inventory;
  readonly policyTexts: ReadonlyMap<string, string>;
}

/** Options of {@link openScenario}. */
export interface OpenOptions {
  /** How the file is named in messages (default: the path as given). */
  readonly displayName?: string;
  /** The fleet generator for `base.generate`. */
  readonly generate?: FleetGenerator;
}

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/**
 * Reads and checks a scenario. Throws SCENARIO_INVALID (every located problem), INVENTORY_INVALID
 * (a bad base inventory file) or INVALID_INPUT (the scenario file cannot be read).
 */
export function openScenario(path: string, opts: OpenOptions = {}): OpenedScenario {
  const display = opts.displayName ?? path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AppError('INVALID_INPUT', `cannot read scenario ${display}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const loaded = loadScenarioText(display, text);
  if (!loaded.scenario) throw new FileValidationError('SCENARIO_INVALID', display, loaded.problems);
  const doc = loaded.scenario.document;
  const problems: FileProblem[] = [];
  let base: Inventory | null = null;
  if (doc.base.inventory !== undefined && doc.base.generate === undefined) {
    const invPath = resolve(dirname(path), doc.base.inventory);
    if (!isFile(invPath)) {
      problems.push({ location: loaded.scenario.source.locate(['base', 'inventory']), path: 'base.inventory', message: `no inventory file ${doc.base.inventory} (looked for ${invPath})` });
    } else {
      base = parseInventoryFile(invPath, readFileSync(invPath, 'utf8'));
    }
  } else if (doc.base.generate !== undefined && doc.base.inventory === undefined) {
    if (!opts.generate) {
      problems.push({ location: loaded.scenario.source.locate(['base', 'generate']), path: 'base.generate', message: 'generated bases need the fleet generator, which this build does not provide: use base.inventory' });
    } else {
      base = opts.generate({ pools: doc.base.generate.pools, volumes: doc.base.generate.volumes, seed: doc.base.generate.seed ?? doc.seed });
    }
  } else {
    problems.push({ location: loaded.scenario.source.locate(['base']), path: 'base', message: 'expected exactly one of inventory or generate' });
  }
  if (!base) throw new FileValidationError('SCENARIO_INVALID', display, sortScenarioProblems(problems));
  // Paths in the scenario are relative to the scenario file itself, not to how it is displayed.
  const checked = checkScenario({ ...loaded.scenario, file: path, source: { ...loaded.scenario.source, locate: (p, w) => ({ ...loaded.scenario!.source.locate(p, w), file: display }) } }, base, isFile);
  if (!checked.scenario) throw new FileValidationError('SCENARIO_INVALID', display, checked.problems);
  const policyTexts = new Map<string, string>();
  const sets = [checked.scenario.policies, ...checked.scenario.events.flatMap((e) => (e.action.kind === 'policies' ? [e.action.files] : []))];
  for (const f of sets.flat()) if (!policyTexts.has(f)) policyTexts.set(f, readFileSync(f, 'utf8'));
  // Every policy set the scenario puts in force must compile before anything runs.
  for (const set of sets) {
    const r = compilePolicyFiles(set.map((f) => ({ file: f, text: policyTexts.get(f)! })));
    if (!r.policy) throw new FileValidationError('POLICY_INVALID', set.join(', '), r.problems);
  }
  return { scenario: checked.scenario, base, policyTexts };
}
