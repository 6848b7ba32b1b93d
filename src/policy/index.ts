/**
 * Placement policies: the language (zod schema, the single source), loading with located
 * problems, composition of several files, compilation to a frozen {@link CompiledPolicy}, the
 * JSON Schema for editors, plain-language explanations, and rule resolution for the solver.
 *
 * Pure: no I/O, no clock. Callers read files and pass their texts.
 *
 * @module
 */
export { API_VERSION, KIND, PolicySchema, WEEKDAYS, type PolicyDocument, type PolicyInput, type Weekday } from './schema.js';
export type {
  CompiledAffinity,
  CompiledAntiAffinity,
  CompiledBudgets,
  CompiledConstraints,
  CompiledExecution,
  CompiledObjectives,
  CompiledPolicy,
  CompiledPrice,
  CompiledRule,
  CompiledScope,
  CompiledWhen,
  CompiledWindow,
  SettingOrigin,
} from './types.js';
export { loadPolicies, loadPolicy, type LoadedPolicy, type LoadOneResult, type LoadResult, type PolicySourceFile } from './load.js';
export { compilePolicies, compilePolicyFiles, SCOPED_DEFAULTS, type CompileResult } from './compile.js';
export { checkPolicies, type CheckOptions, type CheckResult, type PolicyInventory } from './check.js';
export { explainPolicy, type ExplainOptions } from './explain.js';
export { policyJsonSchema, policyJsonSchemaText, POLICY_SCHEMA_ID } from './json-schema.js';
export {
  resolvePool,
  resolveVolume,
  ruleCoversPool,
  ruleCoversVolume,
  type PoolFacts,
  type ResolvedPool,
  type ResolvedVolume,
  type VolumeFacts,
} from './resolve.js';
export { matchesGlob } from './globs.js';
export { parseClock, parseDuration, parsePercent, parseRate, parseSize, type QuantityResult } from './quantities.js';
