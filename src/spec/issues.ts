/**
 * Spec problems as values (docs/architecture.md#spec-issues): every check returns issues, nothing throws or prints.
 * `renderIssues` is the one place that turns them into the text `mobyts validate` shows.
 */
export type Severity = 'error' | 'warning';

/** A path into the YAML value: keys and sequence indexes, e.g. `['onboot', 0, 'capabilities', 1]`. */
export type SpecPath = readonly (string | number)[];

export interface Issue {
  /** The file as the user named it (path, `-` shown as `<stdin>`, or URL). */
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. an empty file). */
  line: number;
  col: number;
  /** Rendered path, e.g. `onboot[0].capabilities[1]`; `''` for the document itself. */
  path: string;
  message: string;
  hint?: string;
  severity: Severity;
}

/** `['onboot', 0, 'capabilities', 1]` → `onboot[0].capabilities[1]`. */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Stable order: by file (in the order first seen), then line, then column. */
export function sortIssues(issues: readonly Issue[]): Issue[] {
  const fileOrder = new Map<string, number>();
  for (const i of issues) if (!fileOrder.has(i.file)) fileOrder.set(i.file, fileOrder.size);
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        (fileOrder.get(a.issue.file) ?? 0) - (fileOrder.get(b.issue.file) ?? 0) ||
        a.issue.line - b.issue.line ||
        a.issue.col - b.issue.col ||
        a.index - b.index,
    )
    .map((x) => x.issue);
}

/**
 * One issue as text: `FILE:LINE:COL: PATH: message`, then `  hint: …` on its own line when there is a hint.
 * Warnings say so after the path. No trailing newline.
 */
export function renderIssue(issue: Issue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  const path = issue.path === '' ? '' : `${issue.path}: `;
  const level = issue.severity === 'warning' ? 'warning: ' : '';
  const hint = issue.hint === undefined ? '' : `\n  hint: ${issue.hint}`;
  return `${where}: ${path}${level}${issue.message}${hint}`;
}

/** Every issue, sorted, one per line (plus hint lines), ending with a newline; `''` for none. */
export function renderIssues(issues: readonly Issue[]): string {
  return sortIssues(issues)
    .map((i) => `${renderIssue(i)}\n`)
    .join('');
}

/** `2 problems in a.yml, b.yml` (`2 problems, 1 warning in …` with warnings); `''` when there is nothing to say. */
export function summariseIssues(issues: readonly Issue[], files: readonly string[]): string {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  if (issues.length === 0) return '';
  const w = warnings === 0 ? '' : `, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  return `${errors} problem${errors === 1 ? '' : 's'}${w} in ${files.join(', ')}`;
}
