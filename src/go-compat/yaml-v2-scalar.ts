/**
 * How gopkg.in/yaml.v2 (v2.4, libyaml's emitter ported to Go) writes one string scalar: which style it picks
 * (plain, single-quoted, double-quoted, literal) and the exact characters, including folding at column 80.
 * Ported behaviour, not code: `encode.go: stringv`, `resolve.go: resolve`, `emitterc.go: analyze_scalar,
 * select_scalar_style, write_*_scalar`.
 */

export const BEST_WIDTH = 80;

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal';

/** Would yaml.v2 read this plain text back as something other than a string (so it must be quoted)? */
export function resolvesToNonString(s: string): boolean {
  if (s === '' || s === '~' || /^(?:null|Null|NULL)$/.test(s)) return true;
  if (/^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/.test(s)) return true;
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/.test(s)) return true;
  if (s === '<<') return true;
  if (!/^[-+0-9.]/.test(s)) return false;
  if (
    /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?$/.test(
      s,
    )
  )
    return true; // timestamp
  const plain = s.replace(/_/g, '');
  if (/^[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o?[0-7]+|[0-9]+)$/.test(plain)) return true; // ParseInt(…, 0)
  if (/^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(plain)) return true; // ParseFloat
  if (/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s)) return true; // base 60 float
  return false;
}

function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    c === 0x85 ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}
const isBreak = (ch: string | undefined): boolean =>
  ch === '\n' || ch === '\r' || ch === '\u0085' || ch === '\u2028' || ch === '\u2029';
const isSpace = (ch: string | undefined): boolean => ch === ' ';
const isBlankz = (ch: string | undefined): boolean => ch === undefined || ch === ' ' || ch === '\t' || isBreak(ch);

interface Analysis {
  multiline: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

/** libyaml `yaml_emitter_analyze_scalar`, for block context. */
function analyze(s: string): Analysis {
  const chars = [...s];
  if (chars.length === 0) return { multiline: false, blockPlain: false, singleQuoted: true, block: false };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false,
    leadingBreak = false,
    trailingSpace = false,
    trailingBreak = false;
  let breakSpace = false,
    spaceBreak = false,
    prevSpace = false,
    prevBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWs = true;
  chars.forEach((ch, i) => {
    const first = i === 0;
    const last = i === chars.length - 1;
    const followedByWs = isBlankz(chars[i + 1]);
    if (first) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':' || ch === '-') && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    const c = ch.codePointAt(0) ?? 0;
    if (!isPrintable(c) || c === 0xfeff) special = true;
    if (isBreak(ch)) lineBreaks = true;
    if (isSpace(ch)) {
      if (first) leadingSpace = true;
      if (last) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak(ch)) {
      if (first) leadingBreak = true;
      if (last) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevBreak = true;
      prevSpace = false;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = isBlankz(ch);
  });
  const a: Analysis = { multiline: lineBreaks, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) {
    a.blockPlain = false;
    a.singleQuoted = false;
  }
  if (spaceBreak || special) {
    a.blockPlain = false;
    a.singleQuoted = false;
    a.block = false;
  }
  if (lineBreaks) a.blockPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

/** yaml.v2 `stringv` + libyaml `select_scalar_style` for a string in block context. */
export function selectStyle(s: string, simpleKey: boolean): ScalarStyle {
  const a = analyze(s);
  let style: ScalarStyle;
  if (s.includes('\n')) style = 'literal';
  else if (!resolvesToNonString(s)) style = 'plain';
  else style = 'double';
  if (style === 'plain' && (!a.blockPlain || (s === '' && simpleKey))) style = 'single';
  if (style === 'single' && !a.singleQuoted) style = 'double';
  if (style === 'literal' && (!a.block || simpleKey)) style = 'double';
  return style;
}

/** A writer that tracks the column as libyaml does, for folding. */
export class LineWriter {
  out = '';
  column = 0;
  /** The last block scalar kept its trailing breaks (`|+`): yaml.v2 then ends the stream with `...`. */
  openEnded = false;
  write(ch: string): void {
    this.out += ch;
    this.column += 1;
  }
  breakLine(): void {
    this.out += '\n';
    this.column = 0;
  }
  pad(indent: number): void {
    this.out += ' '.repeat(indent);
    this.column += indent;
  }
  newline(indent: number): void {
    this.breakLine();
    this.pad(indent);
  }
}

function writePlain(w: LineWriter, s: string, allowBreaks: boolean, indent: number): void {
  const chars = [...s];
  let spaces = false;
  chars.forEach((ch, i) => {
    if (isSpace(ch)) {
      if (allowBreaks && !spaces && w.column > BEST_WIDTH && !isSpace(chars[i + 1])) w.newline(indent);
      else w.write(ch);
      spaces = true;
    } else {
      w.write(ch);
      spaces = false;
    }
  });
}

function writeSingle(w: LineWriter, s: string, allowBreaks: boolean, indent: number): void {
  const chars = [...s];
  w.write("'");
  let spaces = false;
  chars.forEach((ch, i) => {
    if (isSpace(ch)) {
      const inner = i !== 0 && i !== chars.length - 1;
      if (allowBreaks && !spaces && w.column > BEST_WIDTH && inner && !isSpace(chars[i + 1])) w.newline(indent);
      else w.write(ch);
      spaces = true;
    } else {
      if (ch === "'") w.write("'");
      w.write(ch);
      spaces = false;
    }
  });
  w.write("'");
}

const SHORT_ESCAPES: Record<number, string> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

function escapeChar(c: number): string {
  const short = SHORT_ESCAPES[c];
  if (short !== undefined) return '\\' + short;
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (c <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

function writeDouble(w: LineWriter, s: string, allowBreaks: boolean, indent: number): void {
  const chars = [...s];
  w.write('"');
  let spaces = false;
  chars.forEach((ch, i) => {
    const c = ch.codePointAt(0) ?? 0;
    if (!isPrintable(c) || c === 0xfeff || isBreak(ch) || ch === '"' || ch === '\\') {
      for (const e of escapeChar(c)) w.write(e);
      spaces = false;
    } else if (isSpace(ch)) {
      if (allowBreaks && !spaces && w.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
        w.newline(indent);
        if (isSpace(chars[i + 1])) w.write('\\');
      } else {
        w.write(ch);
      }
      spaces = true;
    } else {
      w.write(ch);
      spaces = false;
    }
  });
  w.write('"');
}

function blockHints(s: string): string {
  const chars = [...s];
  let hint = isSpace(chars[0]) || isBreak(chars[0]) ? '2' : '';
  const last = chars[chars.length - 1];
  if (chars.length === 0 || !isBreak(last)) hint += '-';
  else if (chars.length === 1 || isBreak(chars[chars.length - 2])) hint += '+';
  return hint;
}

function writeLiteral(w: LineWriter, s: string, indent: number): void {
  w.write('|');
  const hints = blockHints(s);
  for (const h of hints) w.write(h);
  w.openEnded = hints.endsWith('+');
  w.breakLine();
  for (const ch of s) {
    if (isBreak(ch)) {
      w.breakLine();
    } else {
      if (w.column === 0) w.pad(indent);
      w.write(ch);
    }
  }
}

/**
 * Writes `s` at the writer's current column as yaml.v2 would. `indent` is where folded or literal
 * continuation lines start. `simpleKey` is true for mapping keys (no folding, no block style).
 */
export function writeStringScalar(w: LineWriter, s: string, opts: { indent: number; simpleKey: boolean }): void {
  const style = selectStyle(s, opts.simpleKey);
  const allowBreaks = !opts.simpleKey;
  if (style === 'plain') writePlain(w, s, allowBreaks, opts.indent);
  else if (style === 'single') writeSingle(w, s, allowBreaks, opts.indent);
  else if (style === 'double') writeDouble(w, s, allowBreaks, opts.indent);
  else writeLiteral(w, s, opts.indent);
}
