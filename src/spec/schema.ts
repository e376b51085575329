/**
 * The spec contract, `schema/moby.schema.json`, compiled once with ajv (all errors, no coercion). Validation
 * returns ajv's raw errors; `schema-issues.ts` turns them into positioned, readable issues.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type SchemaError = ErrorObject;

/** The parsed schema document (read from the package's `schema/` directory). */
export const mobySchema: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../schema/moby.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

let compiled: { spec: ValidateFunction; image: ValidateFunction } | undefined;

function validators(): { spec: ValidateFunction; image: ValidateFunction } {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    ajv.addSchema(mobySchema, 'moby');
    compiled = {
      spec: ajv.getSchema('moby') ?? ajv.compile(mobySchema),
      image: ajv.compile({ $ref: 'moby#/definitions/image' }),
    };
  }
  return compiled;
}

/** Schema errors for a whole spec value; `[]` when it conforms. */
export function schemaErrors(value: unknown): SchemaError[] {
  const v = validators().spec;
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** Schema errors for one image entry (onboot/onshutdown/services item, or a label with dummy name/image). */
export function imageEntryErrors(value: unknown): SchemaError[] {
  const v = validators().image;
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** The property names the schema allows for a definition (`definitions/<name>/properties`), or for the root. */
export function schemaProperties(definition?: string): string[] {
  const defs = mobySchema['definitions'] as Record<string, { properties?: Record<string, unknown> }>;
  const node = definition === undefined ? (mobySchema as { properties?: Record<string, unknown> }) : defs[definition];
  return Object.keys(node?.properties ?? {});
}
