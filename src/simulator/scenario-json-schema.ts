/**
 * The JSON Schema of scenario files, generated from the zod schema for editors
 * (`# yaml-language-server: $schema=./scenario.schema.json`). The committed copy is
 * `simulations/scenario.schema.json`; a test fails when it differs (regenerate it with
 * `ballast simulate --schema > simulations/scenario.schema.json`, or `UPDATE_GOLDENS=1`).
 *
 * @module
 */
import { z } from 'zod';
import { ScenarioSchema } from './scenario-schema.js';

/** Where the schema is published. */
export const SCENARIO_SCHEMA_ID = 'https://ballast.io/schemas/scenario.schema.json';

/** The JSON Schema (draft 2020-12) of the input form of a scenario file. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ScenarioSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: SCENARIO_SCHEMA_ID, title: 'Ballast Scenario', ...rest };
}

/** The text of `simulations/scenario.schema.json` (2-space indent, final newline). */
export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}
