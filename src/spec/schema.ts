/**
 * The spec contract, `schema/moby.schema.json`, validated with ajv's validators compiled ahead of time
 * (`generated/schema-validators.ts`, kept fresh by a test): every error, no coercion. Validation returns ajv's
 * raw errors; `schema-issues.ts` turns them into positioned, readable issues.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import * as generated from './generated/schema-validators.ts';

export type SchemaError = ErrorObject;

interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const validators = generated as unknown as { spec: Validator; image: Validator };

/** The parsed schema document (read from the package's `schema/` directory). */
export const mobySchema: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../schema/moby.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

function run(v: Validator, value: unknown): SchemaError[] {
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** Schema errors for a whole spec value; `[]` when it conforms. */
export function schemaErrors(value: unknown): SchemaError[] {
  return run(validators.spec, value);
}

/** Schema errors for one image entry (onboot/onshutdown/services item, or a label with dummy name/image). */
export function imageEntryErrors(value: unknown): SchemaError[] {
  return run(validators.image, value);
}

/** The property names the schema allows for a definition (`definitions/<name>/properties`), or for the root. */
export function schemaProperties(definition?: string): string[] {
  const defs = mobySchema['definitions'] as Record<string, { properties?: Record<string, unknown> }>;
  const node = definition === undefined ? (mobySchema as { properties?: Record<string, unknown> }) : defs[definition];
  return Object.keys(node?.properties ?? {});
}
