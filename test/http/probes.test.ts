import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import { ScheduleSet } from '../../src/daemon/schedule-set.ts';
import { sendSlot } from '../../src/daemon/trigger.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { type HttpHarness, PASSWORD, startHarness } from './harness.ts';

let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('GET /healthz', () => {
  it('is ok while the loop ticks and 503 once it has not ticked for 70 s', async () => {
    harness = await startHarness();
    const ok = await harness.request('/healthz');
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 'ok' });

    await harness.clock.advance(71_000);
    const stalled = await harness.request('/healthz');
    expect(stalled.status).toBe(503);
    expect(stalled.json).toMatchObject({
      status: 'stalled',
      lastTickAt: '2026-03-01T12:00:00.000Z',
      stalledForMs: 71_000,
    });

    harness.rt.events.emit('tick', { at: harness.clock.now(), recorded: 0, wakeAt: null });
    expect((await harness.request('/healthz')).status).toBe(200);
  });

  it('answers HEAD without a body', async () => {
    harness = await startHarness();
    const head = await harness.request('/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });
});

describe('GET /readyz', () => {
  it('is ready before any API call and after a successful one, as codeship_cron_api_up says', async () => {
    harness = await startHarness();
    expect(await harness.request('/readyz')).toMatchObject({
      status: 200,
      json: { status: 'ready', checks: { schedules: 'ok', ledger: 'ok', api: 'ok' } },
    });
    // On SQLite the one daemon always leads.
    expect((await harness.request('/readyz')).json).toMatchObject({ role: 'leader' });
    expect((await harness.request('/metrics')).text).toMatch(
      /^codeship_cron_leader\{instance="[^"]+"\} 1$/m,
    );
    expect((await harness.request('/metrics')).text).toMatch(/^codeship_cron_api_up 1$/m);
    await harness.rt.api.listProjects();
    expect((await harness.request('/readyz')).status).toBe(200);
  });

  it('flips to 503 on an API server error, naming the route, and back when the API answers', async () => {
    harness = await startHarness();
    await harness.rt.api.organizationUuid(); // authenticate first, so the fault hits the list
    harness.simulator.setFaults({ errorRate: 1, only: ['GET /projects'] });
    await expect(harness.drive(harness.rt.api.listProjects())).rejects.toThrow();
    const down = await harness.request('/readyz');
    expect(down.status).toBe(503);
    const checks = (down.json as { checks: Record<string, string> }).checks;
    expect(down.json).toMatchObject({
      status: 'not ready',
      checks: { schedules: 'ok', ledger: 'ok' },
    });
    expect(checks.api).toMatch(
      /^last API call failed at 2026-03-01T12:\d\d:\d\d\.\d{3}Z: GET \/organizations\/:org\/projects answered 50\d$/,
    );
    expect((await harness.request('/metrics')).text).toMatch(/^codeship_cron_api_up 0$/m);

    harness.simulator.setFaults({});
    await harness.rt.api.listProjects();
    expect((await harness.request('/readyz')).status).toBe(200);
  });

  it('names refused credentials without the password', async () => {
    harness = await startHarness({ password: 'not-the-password' });
    await expect(harness.rt.api.listProjects()).rejects.toThrow();
    const down = await harness.request('/readyz');
    expect(down.status).toBe(503);
    expect((down.json as { checks: { api: string } }).checks.api).toMatch(
      /: POST \/auth answered 401$/,
    );
    expect(down.text).not.toContain('not-the-password');
    expect(down.text).not.toContain(PASSWORD);
  });

  it('is not ready without schedules or with a closed ledger', async () => {
    harness = await startHarness({ schedulesYaml: 'schedules: []\n' });
    const empty = await harness.request('/readyz');
    expect(empty.status).toBe(503);
    expect(empty.json).toMatchObject({
      checks: {
        schedules: 'no schedules loaded (check the schedule folder: codeship-cron validate)',
      },
    });
    harness.ledger.close();
    const closed = await harness.request('/readyz');
    expect((closed.json as { checks: { ledger: string } }).checks.ledger).toMatch(
      /^ledger .*ledger\.sqlite cannot commit a write: /,
    );
  });
});

describe('GET /metrics', () => {
  it('exposes the named metrics in the Prometheus text format', async () => {
    harness = await startHarness({ simulator: { buildDurationMs: 60_000 } });
    const { rt, ledger, clock } = harness;
    // A scheduled slot due 2 s ago, sent now: 2 s of lateness; then its build runs to success.
    const slotAt = new Date(clock.now().getTime() - 2000);
    const [slot] = ledger.recordSlots(
      [
        {
          schedule: 'nightly-api',
          slotAt,
          branch: 'main',
          project: 'acme/api',
          fireAt: slotAt,
          state: 'pending',
        },
      ],
      new Map(),
      clock.now(),
    );
    await sendSlot(rt, slot!);
    await clock.advance(120_000);
    const { reconcileOnce } = await import('../../src/daemon/reconcile.ts');
    await reconcileOnce(rt);
    expect(ledger.get(slot!.id)).toMatchObject({ state: 'finished', buildStatus: 'success' });
    ledger.closeSlot(
      ledger.recordSlots(
        [
          {
            schedule: 'web-develop',
            slotAt: clock.now(),
            branch: 'develop',
            project: 'acme/web',
            fireAt: clock.now(),
            state: 'pending',
          },
        ],
        new Map(),
        clock.now(),
      )[0]!.id,
      'failed',
      'POST /builds: rejected',
      clock.now(),
    );

    const answer = await harness.request('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = answer.text;
    const finishedAt = ledger.get(slot!.id)!.finishedAt!.getTime() / 1000;
    expect(text).toContain('codeship_cron_slots{schedule="nightly-api",state="finished"} 1');
    expect(text).toContain('codeship_cron_slots{schedule="web-develop",state="failed"} 1');
    expect(text).toContain(
      `codeship_cron_last_success_timestamp_seconds{schedule="nightly-api"} ${finishedAt}`,
    );
    expect(text).toContain(
      `codeship_cron_last_failure_timestamp_seconds{schedule="web-develop"} ${clock.now().getTime() / 1000}`,
    );
    expect(text).not.toContain(
      'codeship_cron_last_failure_timestamp_seconds{schedule="nightly-api"}',
    );
    expect(text).toContain('codeship_cron_pending_builds 0');
    expect(text).toContain('codeship_cron_trigger_lateness_seconds_bucket{le="1"} 0');
    expect(text).toContain('codeship_cron_trigger_lateness_seconds_bucket{le="2.5"} 1');
    expect(text).toContain('codeship_cron_trigger_lateness_seconds_count 1');
    expect(text).toContain(
      'codeship_cron_api_requests_total{endpoint="POST /auth",status="200"} 1',
    );
    expect(text).toMatch(
      /codeship_cron_api_requests_total\{endpoint="POST \/organizations\/:org\/projects\/:project\/builds",status="202"\} 1/,
    );
    expect(text).toContain('codeship_cron_rate_limit_pauses_total 0');
    expect(text).toContain('codeship_cron_api_up 1');
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    // Bounded labels: no UUID ever appears in an endpoint label.
    expect(text).not.toMatch(/endpoint="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('counts rate-limit pauses and the 403 that caused them', async () => {
    harness = await startHarness({ simulator: { rateLimit: { requests: 2, windowMs: 60_000 } } });
    await harness.drive(harness.rt.api.listProjects());
    await harness.drive(harness.rt.api.listProjects());
    const text = (await harness.request('/metrics')).text;
    expect(text).toContain('codeship_cron_rate_limit_pauses_total 1');
    expect(text).toContain(
      'codeship_cron_api_requests_total{endpoint="GET /organizations/:org/projects",status="403"} 1',
    );
  });
});

describe('server lifecycle', () => {
  it('fails start-up with a clear message when the port is taken', async () => {
    harness = await startHarness();
    const { rt, metrics } = harness;
    await expect(
      startHttpServer({
        config: {
          http: { host: '127.0.0.1', port: harness.server.port },
          dashboardToken: null,
          httpAllowedHosts: [],
        },
        rt,
        schedules: new ScheduleSet(),
        metrics,
        logger: createLogger({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({
      code: 'ERR_HTTP_LISTEN',
      message: `cannot serve HTTP on 127.0.0.1:${harness.server.port}: EADDRINUSE (another process uses that port; free it or change HTTP_ADDR)`,
    });
  });

  it('answers a failing handler with a 500 and keeps serving', async () => {
    harness = await startHarness();
    harness.ledger.close();
    const broken = await harness.request('/api/slots');
    expect(broken.status).toBe(500);
    expect(broken.json).toEqual({ error: 'internal error (see the daemon log)' });
    expect((await harness.request('/healthz')).status).toBe(200);
  });
});
