/**
 * Keeps the server clock estimate sharp (README, "Build identity"). A daemon's calls fall on the
 * same sub-second phase (fires on whole seconds, walks seconds after them), and answers on one
 * phase never narrow the estimate below the `Date` header's 1 s: so while it is wider than a few
 * round trips, this loop sends a cheap call (the project list, lowest priority) at the phase that
 * halves it, at most PROBES_PER_HOUR times an hour. A fresh daemon knows Codeship's clock to a
 * few milliseconds within seconds of starting, before its first fire.
 */
import { coerceError } from '../core/errors.ts';
import { probeDelayMs, widthOf } from '../core/server-clock.ts';
import { HOUR, MINUTE, SECOND } from '../core/time.ts';
import type { Runtime } from './runtime.ts';

/** Wide enough to be worth a call: several loopback round trips. */
const PROBE_ABOVE_WIDTH_MS = 25;
/** At most this many probe calls an hour (the API allows 3,600). */
const PROBES_PER_HOUR = 12;
/** How often to look again once the estimate is sharp (or the hour's probes are spent). */
const CHECK_EVERY_MS = 10 * MINUTE;

/** Runs until `signal` aborts; never throws (a failed probe is logged at debug and retried later). */
export async function probeServerClock(rt: Runtime, signal: AbortSignal): Promise<void> {
  let spent: number[] = [];
  while (!signal.aborted) {
    const nowMs = rt.clock.now().getTime();
    spent = spent.filter((atMs) => nowMs - atMs < HOUR);
    const estimate = rt.api.clockEstimate();
    const wide = estimate === null || widthOf(estimate) > PROBE_ABOVE_WIDTH_MS;
    try {
      if (!wide || spent.length >= PROBES_PER_HOUR) {
        await rt.clock.sleep(CHECK_EVERY_MS, signal);
        continue;
      }
      await rt.clock.sleep(probeDelayMs(nowMs, estimate), signal);
      spent.push(rt.clock.now().getTime());
      await rt.api.listProjects({ priority: 'reconcile', signal });
      await rt.clock.sleep(SECOND, signal);
    } catch (raw) {
      if (signal.aborted) return;
      rt.logger.debug({ err: coerceError(raw) }, 'server clock probe failed');
      await rt.clock.sleep(MINUTE, signal).catch(() => undefined);
    }
  }
}
