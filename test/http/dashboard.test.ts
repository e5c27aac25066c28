import { afterEach, describe, expect, it } from 'vitest';
import { createTriggerGuard } from '../../src/http/trigger-guard.ts';
import { type HttpHarness, startHarness } from './harness.ts';

let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const json = { 'content-type': 'application/json' };

describe('the status page without DASHBOARD_TOKEN (read-only)', () => {
  it('lists every schedule with its plain English, zone and next fire, and no button', async () => {
    harness = await startHarness();
    const page = await harness.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text).toContain('<h2>nightly-api</h2>');
    expect(page.text).toContain('<code>0 2 * * *</code> At 02:00');
    expect(page.text).toContain('<dd>Europe/Berlin</dd>');
    // 2026-03-01 12:00 UTC: the next 02:00 in Berlin (UTC+1) is 01:00 UTC the next day, 13 h away.
    // Every time in UTC, the schedule's wall time on hover.
    expect(page.text).toContain(
      'data-next-fire="2026-03-02T01:00:00.000Z"><time datetime="2026-03-02T01:00:00.000Z" title="2026-03-02 02:00:00 GMT+1 (Europe/Berlin)">2026-03-02 01:00:00 UTC</time>',
    );
    expect(page.text).toContain('(in 13 h 0 min)');
    expect(page.text).toContain('<h2>web-develop</h2>');
    expect(page.text).toContain('read-only: set DASHBOARD_TOKEN to enable "Trigger now"');
    expect(page.text).not.toContain('<summary>Trigger now');
    expect(page.text).not.toContain('action="/login"');
    expect(page.text).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>');
  });

  it('escapes reasons and errors that come from the API or the ledger', async () => {
    harness = await startHarness();
    const { ledger, clock } = harness;
    const [slot] = ledger.recordSlots(
      [
        {
          schedule: 'nightly-api',
          slotAt: clock.now(),
          branch: 'main',
          project: 'acme/api',
          fireAt: clock.now(),
          state: 'pending',
        },
      ],
      new Map(),
      clock.now(),
    );
    ledger.closeSlot(
      slot!.id,
      'failed',
      `POST /builds: <img src=x onerror="alert('x')"> & more`,
      clock.now(),
    );
    const page = await harness.request('/');
    expect(page.text).toContain(
      'POST /builds: &lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; more',
    );
    expect(page.text).not.toContain('<img');
    expect(page.text).toContain('<span class="chip bad">failed</span>');
  });

  it('serves the JSON API: schedules, one schedule, slots', async () => {
    harness = await startHarness();
    const list = await harness.request('/api/schedules');
    expect(list.status).toBe(200);
    const schedules = (list.json as { schedules: { name: string }[] }).schedules;
    // Neither needs attention: soonest next fire first.
    expect(schedules.map((s) => s.name)).toEqual(['web-develop', 'nightly-api']);
    expect(schedules[1]).toEqual({
      name: 'nightly-api',
      cron: '0 2 * * *',
      description: 'At 02:00',
      after: null,
      downstreams: [],
      timezone: 'Europe/Berlin',
      project: 'acme/api',
      projectName: null,
      branches: ['main'],
      enabled: true,
      overlap: 'allow',
      unchanged: 'build',
      nextFireAt: '2026-03-02T01:00:00.000Z',
      nextFireLocal: '2026-03-02 02:00:00 GMT+1',
      attention: 'ok',
      recent: [],
      successRate: { outcomes: 0, succeeded: 0, percent: null },
    });
    const one = await harness.request('/api/schedules/web-develop');
    expect(one.json).toMatchObject({ name: 'web-develop', nextFireAt: '2026-03-01T12:15:00.000Z' });
    const slots = await harness.request('/api/slots?schedule=nightly-api&limit=10');
    expect(slots.json).toEqual({ slots: [] });
  });

  it('answers bad requests with clear 4xx JSON errors', async () => {
    harness = await startHarness();
    expect(await harness.request('/api/schedules/nope')).toMatchObject({
      status: 404,
      json: { error: 'no schedule named "nope"' },
    });
    expect(await harness.request('/nowhere')).toMatchObject({
      status: 404,
      json: { error: 'not found: /nowhere' },
    });
    expect(await harness.request('/api/slots?limit=0')).toMatchObject({
      status: 400,
      json: { error: 'limit must be an integer from 1 to 1000 (got "0")' },
    });
    expect(await harness.request('/api/slots?schedule=%3Cscript%3E')).toMatchObject({
      status: 400,
      json: { error: 'schedule must be a schedule name ([A-Za-z0-9._-]+)' },
    });
    const wrongMethod = await harness.request('/api/schedules/nightly-api/trigger');
    expect(wrongMethod).toMatchObject({
      status: 405,
      json: {
        error: 'method GET not allowed on /api/schedules/nightly-api/trigger (allowed: POST)',
      },
    });
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    const deleteMetrics = await harness.request('/metrics', { method: 'DELETE' });
    expect(deleteMetrics.status).toBe(405);
    expect(deleteMetrics.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses triggers and logins as read-only', async () => {
    harness = await startHarness();
    const trigger = await harness.request('/api/schedules/nightly-api/trigger', {
      method: 'POST',
      headers: json,
      body: '{}',
    });
    expect(trigger).toMatchObject({
      status: 403,
      json: { error: 'read-only: set DASHBOARD_TOKEN to enable triggers' },
    });
    const login = await harness.request('/login', {
      method: 'POST',
      headers: json,
      body: '{"token":"x"}',
    });
    expect(login.status).toBe(403);
    expect(harness.simulator.requests().filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('trigger limits', () => {
  it('admits one trigger per schedule at a time', () => {
    const guard = createTriggerGuard(() => 0);
    const release = guard.admit('nightly-api');
    expect(() => guard.admit('nightly-api')).toThrow(
      'a trigger of nightly-api is already in progress',
    );
    expect(() => guard.admit('web-develop')).not.toThrow();
    release();
    expect(() => guard.admit('nightly-api')).not.toThrow();
  });
});
