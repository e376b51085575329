/**
 * The `org.mobyproject.config` image label (docs/linuxkit-behaviour.md#precedence): YAML or JSON holding an image
 * entry's settings, validated as a `services` entry would be, without `name` and `image`.
 */
import { MobyError } from '../util/errors.ts';
import { renderIssue, type Issue } from './issues.ts';
import { checkImageConfig, type Emit } from './rules.ts';
import { imageEntryErrors } from './schema.ts';
import { describeValue, schemaIssues } from './schema-issues.ts';
import { parseSource } from './source.ts';
import type { ImageConfigSpec } from './types.ts';
import { isObj } from './values.ts';

function labelError(imageRef: string, detail: string): MobyError {
  return new MobyError(`Invalid org.mobyproject.config label in image "${imageRef}": ${detail}`, {
    code: 'IMAGE_CONFIG',
    hint: "the image's build.yml config: section is wrong; fix and rebuild the package, or override the field in the spec",
  });
}

function describe(issue: Issue): string {
  const text = renderIssue({ ...issue, file: '', line: 0, hint: undefined });
  return text.replace(/^: /, '');
}

/**
 * Parses and validates a label; returns its settings. Throws a MobyError (code IMAGE_CONFIG) naming the image
 * and the first bad field (all of them when several) when the text is not YAML/JSON, not a mapping, sets
 * `name` or `image`, or breaks the schema or the capability/rlimit/device rules. An empty label gives `{}`.
 */
export function parseMobyLabel(text: string, imageRef: string): ImageConfigSpec {
  if (text.trim() === '') return {};
  const src = parseSource(text, 'label');
  if (src.fatal || src.syntaxIssues.length > 0) throw labelError(imageRef, src.syntaxIssues.map(describe).join('; '));
  const value = src.value;
  if (!isObj(value)) throw labelError(imageRef, `it must be a mapping of settings, got ${describeValue(value)}`);
  for (const key of ['name', 'image']) {
    if (key in value) throw labelError(imageRef, `${key}: "${key}" cannot be set in a label`);
  }
  const withDummy = { ...value, name: 'label', image: 'label' };
  const issues = schemaIssues(src, imageEntryErrors(withDummy), withDummy);
  const emit: Emit = (path, message, opts) => {
    if (opts?.severity !== 'warning') issues.push(src.issue(path, message, opts));
  };
  checkImageConfig(emit, value, []);
  if (issues.length > 0) throw labelError(imageRef, issues.map(describe).join('; '));
  return value;
}
