/**
 * `rlimits: ["name,soft,hard"]` (docs/linuxkit-behaviour.md#rlimits): the name is upper-cased and `RLIMIT_`-prefixed,
 * each value is a decimal uint64 or `unlimited` (2^64-1, kept exact as a bigint).
 */
import type { Rlimit } from './types.ts';

export const RLIMIT_NAMES: readonly string[] = [
  'RLIMIT_CPU',
  'RLIMIT_FSIZE',
  'RLIMIT_DATA',
  'RLIMIT_STACK',
  'RLIMIT_CORE',
  'RLIMIT_RSS',
  'RLIMIT_NPROC',
  'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK',
  'RLIMIT_AS',
  'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
];
export const UNLIMITED = 18446744073709551615n;

function parseValue(text: string, report: (detail: string) => Error): number | bigint {
  const s = text.trim();
  if (s.toLowerCase() === 'unlimited') return UNLIMITED;
  if (!/^[0-9]+$/.test(s) || BigInt(s) > UNLIMITED)
    throw report(`cannot parse "${s}" as an unsigned 64-bit number or "unlimited"`);
  const n = BigInt(s);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** One rlimit string; `report` turns a detail into the caller's error. */
export function parseRlimit(text: string, report: (detail: string) => Error): Rlimit {
  const first = text.indexOf(',');
  const second = first < 0 ? -1 : text.indexOf(',', first + 1);
  if (second < 0) throw report(`cannot parse rlimit "${text}": expected "name,soft,hard"`);
  let type = text.slice(0, first).trim().toUpperCase();
  if (!type.startsWith('RLIMIT_')) type = `RLIMIT_${type}`;
  const soft = parseValue(text.slice(first + 1, second), report);
  const hard = parseValue(text.slice(second + 1), report);
  if (!RLIMIT_NAMES.includes(type))
    throw report(
      `unknown rlimit "${text.slice(0, first).trim()}" (known: ${RLIMIT_NAMES.map((r) => r.slice(7).toLowerCase()).join(', ')})`,
    );
  return { type, hard, soft };
}
