/**
 * One spec file → `{ spec, issues }` (docs/architecture.md#spec-issues): YAML syntax, the JSON schema, then LinuxKit's
 * rules. Never throws on bad input and never prints; every problem is an issue with file, line, column and path.
 */
import { crossIssues, type SpecUnit } from './cross-rules.ts';
import type { Issue } from './issues.ts';
import { localIssues } from './rules.ts';
import { schemaErrors } from './schema.ts';
import { schemaIssues } from './schema-issues.ts';
import { parseSource } from './source.ts';
import type { MobySpec } from './types.ts';

export interface ParsedSpec {
  /** The file's value as a spec; trustworthy only when `issues` has no errors. `{}` for an empty file. */
  spec: MobySpec;
  issues: Issue[];
}

/** Parses one file and runs the checks that need only that file (not the cross-file ones). */
export function parseUnit(text: string, fileName: string): { unit: SpecUnit; issues: Issue[] } {
  const src = parseSource(text, fileName);
  const value = src.value ?? {};
  const unit: SpecUnit = { src, value };
  if (src.fatal) return { unit: { src, value: {} }, issues: src.syntaxIssues };
  const issues = [...src.syntaxIssues, ...schemaIssues(src, schemaErrors(value), value), ...localIssues(src, value)];
  return { unit, issues };
}

/** Parses and checks one self-contained spec file (cross-entry rules included). */
export function parseSpec(text: string, fileName: string): ParsedSpec {
  const { unit, issues } = parseUnit(text, fileName);
  return { spec: unit.value as MobySpec, issues: [...issues, ...crossIssues([unit])] };
}
