/**
 * Wall times as people read them, in one place: `next` prints them with the weekday and the UTC
 * offset, the status page with the zone's short name. Both come from the zone's offset at the
 * instant (cron-zone.ts), so they never disagree.
 */
import { zoneOffsetMs } from './cron-zone.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** `+02:00` for an offset in milliseconds. */
function offsetText(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMs) / 60_000;
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The wall clock of `timezone` at `at`: `{ date: 'YYYY-MM-DD', time: 'HH:mm:ss', ... }`. */
function wallOf(at: Date, timezone: string) {
  const offsetMs = zoneOffsetMs(timezone, at.getTime());
  const wall = new Date(at.getTime() + offsetMs);
  const text = wall.toISOString();
  return {
    date: text.slice(0, 10),
    time: text.slice(11, 19),
    weekday: WEEKDAYS[wall.getUTCDay()] as string,
    offset: offsetText(offsetMs),
  };
}

/** `Mon 2026-03-30 02:00:00 +02:00`: the wall time of `timezone` with weekday and UTC offset. */
export function formatWallTime(at: Date, timezone: string): string {
  const wall = wallOf(at, timezone);
  return `${wall.weekday} ${wall.date} ${wall.time} ${wall.offset}`;
}

const zoneNames = new Map<string, Intl.DateTimeFormat>();

/** `2026-03-30 02:00:00 CEST`: the wall time of `timezone` with the zone's short name. */
export function formatInZone(at: Date, timezone: string): string {
  let names = zoneNames.get(timezone);
  if (!names) {
    names = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'short' });
    zoneNames.set(timezone, names);
  }
  const name = names.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? '';
  const wall = wallOf(at, timezone);
  return `${wall.date} ${wall.time} ${name}`.trimEnd();
}

/** `YYYY-MM-DD HH:mm:ss UTC`: how the status page shows every instant (the zone's wall time on hover). */
export function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
