/**
 * DNS rebinding defence: a page on another site can point its own name at 127.0.0.1 and then
 * read this server from the visitor's browser, but it cannot make the browser send a `Host`
 * header other than its own name. So requests are served only when `Host` names this server:
 * the configured HTTP_ADDR (with the port it listens on), `localhost`, `127.0.0.1` or `[::1]`
 * with any port (SSH tunnels and port forwards change the port), or an HTTP_ALLOWED_HOSTS entry
 * (`host` for any port, `host:port` for that one) for a reverse proxy. Anything else is a 421.
 */
import { quoteInput } from '../core/quote.ts';
import { HttpError } from './respond.ts';

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** True for addresses only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** `host` in `Host` header form: IPv6 literals in brackets, lowercase. */
function headerForm(host: string): string {
  return host.includes(':') ? `[${host.toLowerCase()}]` : host.toLowerCase();
}

/** Splits `name[:port]` (IPv6 in brackets); null when the header is not of that shape. */
function splitHost(header: string): { name: string; port: number | null } | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::([0-9]{1,5}))?$/.exec(header.toLowerCase());
  if (!match) return null;
  return { name: match[1] as string, port: match[2] === undefined ? null : Number(match[2]) };
}

export interface HostCheckOptions {
  /** HTTP_ADDR's host and the port actually bound. */
  readonly host: string;
  readonly port: number;
  /** HTTP_ALLOWED_HOSTS entries, lowercase `name` or `name:port`. */
  readonly allowed: readonly string[];
}

/** A check that throws 421 for a request whose `Host` header does not name this server. */
export function createHostCheck(options: HostCheckOptions): (header: string | undefined) => void {
  const own = headerForm(options.host);
  const expected = `${own}:${options.port}`;
  return (header) => {
    const parsed = header === undefined ? null : splitHost(header.trim());
    if (parsed) {
      const { name, port } = parsed;
      const effectivePort = port ?? 80;
      if (LOOPBACK_NAMES.has(name)) return;
      if (name === own && effectivePort === options.port) return;
      for (const entry of options.allowed) {
        if (entry === name || entry === `${name}:${effectivePort}`) return;
      }
    }
    throw new HttpError(
      421,
      `${header === undefined ? 'no Host header' : `host ${quoteInput(header)}`} is not served here (expected ${expected}, localhost or 127.0.0.1, or a name listed in HTTP_ALLOWED_HOSTS)`,
    );
  };
}
