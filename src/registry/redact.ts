/**
 * Secret hygiene for everything the registry client prints: URLs lose user-info and query values
 * (CDN redirects carry signatures there), headers lose credentials. Errors and logs only ever see these forms.
 */

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-registry-auth']);

/** `url` without user-info and with every query value replaced by `REDACTED`; never throws. */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return '<unparseable URL>';
  }
  u.username = '';
  u.password = '';
  const keys = [...u.searchParams.keys()];
  if (keys.length > 0) u.search = keys.map((k) => `${encodeURIComponent(k)}=REDACTED`).join('&');
  return u.toString();
}

/** A copy of `headers` with credential headers replaced by `REDACTED`. */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? 'REDACTED' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Removes known secrets (passwords, tokens) from free text such as a registry's error body. */
export function redactText(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('REDACTED');
  return out.replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 REDACTED');
}

/**
 * Free text (an error message from below: undici, Node, a registry) with every URL in it redacted as
 * `redactUrl` does (those with user-info or a query; punctuation right after a URL is not part of it) and
 * Basic/Bearer credentials removed; for text whose secrets are not known by value.
 */
export function redactFreeText(text: string): string {
  return redactText(
    text.replace(/\bhttps?:\/\/[^\s'"<>]*[^\s'"<>:,.;)]/g, (u) => (/[@?]/.test(u) ? redactUrl(u) : u)),
    [],
  );
}
