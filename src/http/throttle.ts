/**
 * Failed credentials per client address (a wrong bearer token or a wrong login alike): past
 * MAX_FAILURES_PER_MINUTE in any 60 s window of the runtime's clock, that address gets 429 with
 * `Retry-After` for every credential it presents, right or wrong, until the window frees up.
 * Other addresses are not affected, so a guesser on one address locks out nobody else.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.ts';

/** Failed credentials allowed per address in any 60 s; the next attempt gets 429. */
export const MAX_FAILURES_PER_MINUTE = 10;
/** Addresses remembered at most (oldest forgotten first), so a spray of sources cannot grow memory. */
const MAX_CLIENTS = 10_000;
const WINDOW_MS = 60_000;

export interface FailureThrottle {
  /** Throws 429 (with `retry-after`) while `client` is over its failures; else returns. */
  check(client: string): void;
  /** Records one failed credential of `client`. */
  fail(client: string): void;
}

/** The client's address as the socket sees it (IPv4-mapped IPv6 written as IPv4). */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** A throttle on the clock `nowMs`. */
export function createFailureThrottle(
  nowMs: () => number,
  perMinute = MAX_FAILURES_PER_MINUTE,
): FailureThrottle {
  const failures = new Map<string, number[]>();
  const recent = (client: string, now: number): number[] => {
    const list = (failures.get(client) ?? []).filter((at) => now - at < WINDOW_MS);
    if (list.length === 0) failures.delete(client);
    else failures.set(client, list);
    return list;
  };
  return {
    check(client) {
      const now = nowMs();
      const list = recent(client, now);
      if (list.length < perMinute) return;
      const retryAfterS = Math.max(
        1,
        Math.ceil((WINDOW_MS - (now - (list[list.length - perMinute] as number))) / 1000),
      );
      throw new HttpError(
        429,
        `too many failed credentials from this address: try again in ${retryAfterS} s`,
        { 'retry-after': String(retryAfterS) },
      );
    },
    fail(client) {
      const now = nowMs();
      const list = recent(client, now);
      list.push(now);
      failures.delete(client); // re-insert: the map's order is the order of last failure
      failures.set(client, list.slice(-perMinute));
      while (failures.size > MAX_CLIENTS) failures.delete(failures.keys().next().value as string);
    },
  };
}
