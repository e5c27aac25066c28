/**
 * The operator's probes: `/healthz` (liveness: is the loop still turning?), `/readyz` (can it do
 * its job: schedules loaded, a ledger write commits, Codeship answering?) and `/metrics` (Prometheus text).
 * Liveness never looks at dependencies, so a Codeship outage makes us unready, not restarted.
 */
import { coerceError } from '../core/errors.ts';
import { SECOND } from '../core/time.ts';
import { MAX_SLEEP_MS } from '../daemon/daemon.ts';
import type { HttpDeps, Route } from './context.ts';
import { sendJson, sendText } from './respond.ts';

/** The loop re-reads the clock every 30 s at most: two missed turns plus a margin means stuck. */
export const STALL_AFTER_MS = 2 * MAX_SLEEP_MS + 10 * SECOND;

export type CheckResult = 'ok' | string;

/** Each readiness check as `ok` or what is wrong (never a secret: messages name routes only). */
export async function readinessChecks(
  deps: HttpDeps,
): Promise<Record<'schedules' | 'ledger' | 'api', CheckResult>> {
  const { rt, schedules, metrics } = deps;
  let ledger: CheckResult = 'ok';
  try {
    // A write that commits, not a read: a locked, full or read-only ledger fails every tick.
    await rt.ledger.probeWrite(rt.clock.now());
  } catch (error) {
    ledger = `ledger ${rt.ledger.location} cannot commit a write: ${coerceError(error).message}`;
  }
  const last = metrics.lastApiCall();
  return {
    schedules:
      schedules.size > 0
        ? 'ok'
        : 'no schedules loaded (check the schedule folder: codeship-cron validate)',
    ledger,
    api:
      last === null || last.ok
        ? 'ok'
        : `last API call failed at ${last.at.toISOString()}: ${last.message}`,
  };
}

/**
 * `role` (leader or standby), this instance and the leader as last seen (README, "Several
 * instances on PostgreSQL"); on SQLite the one daemon always leads. A standby is ready: it serves
 * the page, /metrics and status, and takes over when the leader goes.
 */
export function leadershipOf(deps: HttpDeps): {
  role: 'leader' | 'standby';
  instance: string;
  leader: string | null;
} {
  const { leadership } = deps.rt;
  return {
    role: leadership.isLeader() ? 'leader' : 'standby',
    instance: leadership.instance,
    leader: leadership.leader()?.holder ?? null,
  };
}

export const probeRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/healthz',
    handle({ res, deps }) {
      // A standby runs no loop to stall: alive is all it can be asked.
      if (!deps.rt.leadership.isLeader()) {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      const lastTickAt = deps.metrics.lastTickAt();
      const sinceMs = lastTickAt ? deps.rt.clock.now().getTime() - lastTickAt.getTime() : 0;
      if (sinceMs > STALL_AFTER_MS) {
        sendJson(res, 503, {
          status: 'stalled',
          lastTickAt: lastTickAt?.toISOString() ?? null,
          stalledForMs: sinceMs,
        });
        return;
      }
      sendJson(res, 200, { status: 'ok' });
    },
  },
  {
    method: 'GET',
    path: '/readyz',
    async handle({ res, deps }) {
      const checks = await readinessChecks(deps);
      const ready = Object.values(checks).every((check) => check === 'ok');
      sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ready' : 'not ready',
        checks,
        ...leadershipOf(deps),
      });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    async handle({ res, deps }) {
      const { contentType, body } = await deps.metrics.render();
      sendText(res, 200, contentType, body);
    },
  },
];
