/**
 * Follows the slots the page's "Trigger now" started until they settle, so the page shows their
 * builds' outcomes promptly. The daemon's reconciliation paces itself for API economy (a project
 * is walked when its builds are expected to have finished), and the HTTP server may also run
 * without a daemon (tests); this follower runs passes at the quicker cadence of
 * `nextReconcileDelayMs` while any followed slot is open. A pass reconciles every open slot, and the ledger's claims are transactional, so
 * a pass overlapping the daemon's is safe (it costs a few API calls, only after manual triggers).
 */
import type { Logger } from '../adapters/logger.ts';
import { nextReconcileDelayMs } from '../core/discovery.ts';
import { coerceError } from '../core/errors.ts';
import { HOUR } from '../core/time.ts';
import { reconcileOnce } from '../daemon/reconcile.ts';
import type { Runtime } from '../daemon/runtime.ts';

/** A followed slot still open after this long is left to the daemon's own loop. */
const FOLLOW_LIMIT_MS = HOUR;
const OPEN: ReadonlySet<string> = new Set(['pending', 'triggered', 'running']);

export interface SlotFollower {
  /** Starts (or extends) following these slot ids. */
  follow(ids: readonly number[]): void;
  /** Resolves when no pass is running (after `signal` aborts: once the last pass has ended). */
  idle(): Promise<void>;
}

/** A follower that stops when `signal` aborts. */
export function createSlotFollower(rt: Runtime, signal: AbortSignal, logger: Logger): SlotFollower {
  const followed = new Map<number, number>(); // slot id -> follow start (ms)
  let running = false;
  let current: Promise<void> = Promise.resolve();
  let wake: AbortController | null = null;
  let replan = false;

  const openSlots = () => {
    const now = rt.clock.now().getTime();
    const open = [];
    for (const [id, since] of followed) {
      const slot = rt.ledger.get(id);
      if (!slot || !OPEN.has(slot.state) || now - since > FOLLOW_LIMIT_MS) followed.delete(id);
      else open.push(slot);
    }
    return open;
  };

  const loop = async () => {
    try {
      for (let open = openSlots(); open.length > 0 && !signal.aborted; open = openSlots()) {
        const intents = open.map((s) => (s.intentAt ?? s.fireAt).getTime());
        const undiscovered = open
          .filter((s) => s.buildUuid === null)
          .map((s) => (s.intentAt ?? s.fireAt).getTime());
        const delayMs =
          nextReconcileDelayMs({
            now: rt.clock.now(),
            youngestIntentAt: new Date(Math.max(...intents)),
            oldestPendingAt: undiscovered.length ? new Date(Math.min(...undiscovered)) : null,
            pendingCount: open.length,
          }) ?? 0;
        wake = new AbortController();
        const stop = () => wake?.abort();
        signal.addEventListener('abort', stop, { once: true });
        await rt.clock.sleep(delayMs, wake.signal).catch(() => {});
        wake = null;
        signal.removeEventListener('abort', stop);
        if (signal.aborted) break;
        if (replan) {
          replan = false;
          continue;
        }
        try {
          await reconcileOnce(rt, signal);
        } catch (raw) {
          logger.warn({ err: coerceError(raw) }, 'follow-up reconciliation failed; retrying');
        }
      }
    } catch (raw) {
      // Never an unhandled rejection: the daemon's own loop still reconciles these slots.
      logger.error({ err: coerceError(raw) }, 'following manual slots stopped');
    } finally {
      running = false;
      wake = null;
    }
  };

  return {
    follow(ids) {
      const now = rt.clock.now().getTime();
      for (const id of ids) followed.set(id, now);
      if (running) {
        if (wake) {
          replan = true; // asleep: the new, younger slots want an earlier pass
          wake.abort();
        }
      } else {
        running = true;
        current = loop();
      }
    },
    idle: () => current,
  };
}
