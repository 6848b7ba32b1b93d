/**
 * ajv at the HTTP boundary: one validator per API schema, compiled once from the JSON Schema
 * that zod generates. Requests that fail are 400 with every problem named by its JSON path;
 * responses that fail are a bug (500), never sent half-right.
 *
 * @module
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { AppError } from '../../shared/index.js';
import { API_SCHEMAS, type SchemaName } from './schemas.js';

/** The JSON Schema (draft 2020-12, without `$schema`) of an API schema. */
export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const generated = z.toJSONSchema(API_SCHEMAS[name], { io: 'output', target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema: _drop, ...rest } = generated;
  return rest;
}

let ajv: Ajv2020 | null = null;
const compiled = new Map<SchemaName, ValidateFunction>();

function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    ajv ??= new Ajv2020({ strict: false, allErrors: true });
    v = ajv.compile(jsonSchemaOf(name));
    compiled.set(name, v);
  }
  return v;
}

function problems(v: ValidateFunction): string {
  return (v.errors ?? [])
    .slice(0, 10)
    .map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` ('${String((e.params as { additionalProperty?: string }).additionalProperty)}')` : ''}`)
    .join('; ');
}

/** Checks a request body; INVALID_INPUT naming every problem. */
export function checkRequest<T>(name: SchemaName, body: unknown): T {
  const v = validator(name);
  if (!v(body)) throw new AppError('INVALID_INPUT', `Invalid request body (${name}): ${problems(v)}`);
  return body as T;
}

/** Checks a response body; INTERNAL when the server would answer outside its own schema. */
export function checkResponse(name: SchemaName, body: unknown): void {
  const v = validator(name);
  if (!v(body)) throw new AppError('INTERNAL', `response does not match its schema ${name}: ${problems(v)}`);
}
