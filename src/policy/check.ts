/**
 * `checkPolicies`: everything a reviewer needs about a set of policy files in one call: syntax,
 * schema, composition conflicts and, when an inventory is given, references to pools, back-ends,
 * volume types and availability zones that do not exist. Never throws on bad input.
 *
 * @module
 */
import { formatPath, suggest, type FileProblem } from '../shared/index.js';
import { compilePolicies } from './compile.js';
import { isGlob, matchesGlob } from './globs.js';
import { loadPolicies, sortProblems, type LoadedPolicy, type PolicySourceFile } from './load.js';
import type { CompiledPolicy } from './types.js';

/** The names in the current inventory that policies may refer to. */
export interface PolicyInventory {
  /** Pools as `host@backend#pool`. */
  readonly pools: readonly string[];
  /** Back-ends, as `backend` or `host@backend` (back-ends of `pools` are added automatically). */
  readonly backends: readonly string[];
  readonly volumeTypes: readonly string[];
  readonly availabilityZones: readonly string[];
}

/** Options of {@link checkPolicies}. */
export interface CheckOptions {
  /** When given, references to unknown pools, back-ends, types and zones are problems. */
  readonly inventory?: PolicyInventory;
}

/** Outcome of {@link checkPolicies}. */
export interface CheckResult {
  /** True when there are no problems. */
  readonly ok: boolean;
  /** Every problem, sorted by file, line and column. */
  readonly problems: readonly FileProblem[];
  /** The composed policy when there are no problems. */
  readonly policy: CompiledPolicy | null;
  /** The files checked, in lexical order. */
  readonly files: readonly string[];
}

type Kind = 'pool' | 'backend' | 'volumeType' | 'availabilityZone';

/** Every place a file refers to an inventory name: path in the document, kind, value. */
function references(p: LoadedPolicy): { path: (string | number)[]; kind: Kind; value: string }[] {
  const d = p.document;
  const out: { path: (string | number)[]; kind: Kind; value: string }[] = [];
  const add = (base: (string | number)[], kind: Kind, values: readonly string[] | undefined) =>
    (values ?? []).forEach((value, i) => out.push({ path: [...base, i], kind, value }));
  add(['scope', 'volumeTypes'], 'volumeType', d.scope?.volumeTypes);
  add(['scope', 'pools'], 'pool', d.scope?.pools);
  add(['scope', 'backends'], 'backend', d.scope?.backends);
  add(['scope', 'availabilityZones'], 'availabilityZone', d.scope?.availabilityZones);
  add(['constraints', 'drainPools'], 'pool', d.constraints?.drainPools);
  add(['constraints', 'excludeDestinations'], 'pool', d.constraints?.excludeDestinations);
  (d.objectives?.cost.pricing ?? []).forEach((price, i) =>
    out.push({ path: ['objectives', 'cost', 'pricing', i, 'pools'], kind: 'pool', value: price.pools }),
  );
  return out;
}

/** Pools plus the patterns people write for them (`host@backend#*`, `*#pool`), for suggestions. */
function poolPatternCandidates(pools: readonly string[]): string[] {
  const out = new Set<string>(pools);
  for (const p of pools) {
    const hash = p.indexOf('#');
    if (hash < 0) continue;
    out.add(`${p.slice(0, hash)}#*`);
    out.add(`*${p.slice(hash)}`);
  }
  return [...out];
}

const LABEL: Record<Kind, string> = { pool: 'pool', backend: 'back-end', volumeType: 'volume type', availabilityZone: 'availability zone' };

/** Problems for references to names the inventory does not have. */
export function inventoryProblems(policies: readonly LoadedPolicy[], inventory: PolicyInventory): FileProblem[] {
  const backendFull = new Set<string>();
  const backendShort = new Set<string>();
  const addBackend = (b: string) => {
    const hash = b.indexOf('#');
    const hb = hash < 0 ? b : b.slice(0, hash);
    const at = hb.indexOf('@');
    if (at >= 0) {
      backendFull.add(hb);
      backendShort.add(hb.slice(at + 1));
    } else backendShort.add(hb);
  };
  inventory.backends.forEach(addBackend);
  inventory.pools.forEach(addBackend);
  const known = (kind: Kind, value: string): readonly string[] => {
    switch (kind) {
      case 'pool':
        return inventory.pools;
      case 'backend':
        return value.includes('@') ? [...backendFull] : [...backendShort];
      case 'volumeType':
        return inventory.volumeTypes;
      case 'availabilityZone':
        return inventory.availabilityZones;
    }
  };
  const problems: FileProblem[] = [];
  for (const p of policies) {
    for (const ref of references(p)) {
      const names = known(ref.kind, ref.value);
      const globbing = (ref.kind === 'pool' || ref.kind === 'backend') && isGlob(ref.value);
      const found = globbing ? names.some((n) => matchesGlob(ref.value, n)) : names.includes(ref.value);
      if (found) continue;
      const hint = suggest(ref.value, globbing && ref.kind === 'pool' ? poolPatternCandidates(names) : names);
      const what = globbing ? `${LABEL[ref.kind]} pattern '${ref.value}' matches no ${LABEL[ref.kind]}` : `unknown ${LABEL[ref.kind]} '${ref.value}'`;
      const listed = names.length === 0 ? 'the inventory has none' : names.length <= 8 ? `known: ${[...names].sort().join(', ')}` : `${names.length} known`;
      problems.push({
        location: p.source.locate(ref.path),
        path: formatPath(ref.path),
        message: `${what} in the inventory${hint ? ` (did you mean '${hint}'?)` : ` (${listed})`}`,
      });
    }
  }
  return problems;
}

/**
 * Checks policy files together: all problems at once, each with `file:line:col`, the path in the
 * document, what was expected and what was found. With `opts.inventory`, unknown pools, back-ends,
 * volume types and zones are problems too. Files compose (see `compose.ts`); the composed policy
 * is returned when there is no problem.
 */
export function checkPolicies(files: readonly PolicySourceFile[], opts: CheckOptions = {}): CheckResult {
  const loaded = loadPolicies(files);
  const problems: FileProblem[] = [...loaded.problems];
  let policy: CompiledPolicy | null = null;
  try {
    const compiled = compilePolicies(loaded.policies);
    problems.push(...compiled.problems);
    policy = compiled.policy;
    if (opts.inventory) problems.push(...inventoryProblems(loaded.policies, opts.inventory));
  } catch (e) {
    const file = files[0]?.file ?? '<policies>';
    problems.push({
      location: { file, line: 1, col: 1 },
      path: '',
      message: `internal error while composing policies (please report): ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  const sorted = sortProblems(problems);
  return {
    ok: sorted.length === 0,
    problems: sorted,
    policy: sorted.length === 0 ? policy : null,
    files: [...new Set(files.map((f) => f.file))].sort(),
  };
}
