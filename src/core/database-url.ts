/**
 * DATABASE_URL as this program shows it: never with its password (README, "Several instances on
 * PostgreSQL"). Pure string work, so config, the store and every error message share it.
 */

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The password inside `url`, decoded, or null (none, or not a URL). */
export function urlPassword(url: string): string | null {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : null;
  } catch {
    const match = /^[a-z]+:\/\/[^:/@]*:([^/?#]*)@/i.exec(url);
    return match?.[1] ? match[1] : null;
  }
}

/**
 * `url` with its password replaced by `***` (and a query's `password=` too). The password runs to
 * the last `@` before the host, as URL parsers read it: `p@ss` unencoded is masked whole.
 */
export function maskDatabaseUrl(url: string): string {
  return url
    .replace(/^([a-z]+:\/\/[^:/@]*):[^/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&]*/gi, '$1***');
}

/** `text` with every occurrence of `url`'s password (raw and encoded) replaced by `***`. */
export function scrubPassword(text: string, url: string): string {
  const password = urlPassword(url);
  let out = text.split(url).join(maskDatabaseUrl(url));
  if (password && password.length > 0) {
    out = out.split(password).join('***');
    const encoded = encodeURIComponent(password);
    if (encoded !== password) out = out.split(encoded).join('***');
  }
  return out;
}
