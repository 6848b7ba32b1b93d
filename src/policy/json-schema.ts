/**
 * The JSON Schema of policy files, generated from the zod schema (the single source) for editors
 * (`# yaml-language-server: $schema=./policy.schema.json`) and other tools. The committed copy is
 * `policies/policy.schema.json`; a test fails when it differs from {@link policyJsonSchemaText}.
 *
 * Regenerate it with `ballast policy schema > policies/policy.schema.json` (or run the schema
 * test with `BALLAST_UPDATE_SCHEMA=1`).
 *
 * @module
 */
import { z } from 'zod';
import { PolicySchema } from './schema.js';

/** Where the schema is published; editors use it as the schema's identity. */
export const POLICY_SCHEMA_ID = 'https://ballast.io/schemas/policy.schema.json';

/** The JSON Schema (draft 2020-12) of the input form of a policy file. */
export function policyJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(PolicySchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: POLICY_SCHEMA_ID, title: 'Ballast PlacementPolicy', ...rest };
}

/** The JSON Schema as the text of `policies/policy.schema.json` (2-space indent, final newline). */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
