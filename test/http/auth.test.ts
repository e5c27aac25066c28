import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { runDaemon } from '../../src/daemon/daemon.ts';
import { bearer, type HttpHarness, SCHEDULES_YAML, startHarness } from './harness.ts';

const TOKEN = 'correct-horse-battery-staple';
const TRIGGER = '/api/schedules/nightly-api/trigger';
const json = { 'content-type': 'application/json' };
const form = { 'content-type': 'application/x-www-form-urlencoded' };

let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const creates = (h: HttpHarness) =>
  h.simulator.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));

/** Logs in through the form; returns the cookie pair and the CSRF token the page then carries. */
async function logIn(h: HttpHarness): Promise<{ cookie: string; csrf: string }> {
  const login = await h.request('/login', {
    method: 'POST',
    headers: form,
    body: `token=${TOKEN}`,
  });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe('/');
  const setCookie = login.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(
    /^codeship_cron_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
  );
  expect(setCookie).not.toContain(TOKEN);
  const cookie = setCookie.split(';')[0] as string;
  const page = await h.request('/', { headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
  expect(csrf).toBeDefined();
  return { cookie, csrf: csrf as string };
}

describe('with DASHBOARD_TOKEN: bearer', () => {
  it('refuses a trigger without credentials or with a wrong token', async () => {
    harness = await startHarness({ token: TOKEN });
    const none = await harness.request(TRIGGER, { method: 'POST', headers: json, body: '{}' });
    expect(none).toMatchObject({
      status: 401,
      json: {
        error:
          'authentication required: send Authorization: Bearer <DASHBOARD_TOKEN> or log in on the page',
      },
    });
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer('guess'),
      body: '{}',
    });
    expect(wrong).toMatchObject({ status: 401, json: { error: 'wrong dashboard token' } });
    expect(creates(harness)).toEqual([]);
  });

  it('triggers through the manual path with the right token and answers 202 with the new slots', async () => {
    harness = await startHarness({ token: TOKEN });
    const answer = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{}',
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({
      slots: [
        expect.objectContaining({
          schedule: 'nightly-api',
          branch: 'main',
          state: 'triggered',
          manual: true,
          reason: 'manual',
          attempts: 1,
        }),
      ],
    });
    expect(creates(harness)).toHaveLength(1);
    expect(harness.ledger.listSlots({ schedule: 'nightly-api', limit: 5 })).toHaveLength(1);
  });

  it("the daemon's reconciler follows the triggered slot until its build finishes", async () => {
    harness = await startHarness({ token: TOKEN, simulator: { buildDurationMs: 20_000 } });
    // The page only sends; discovery and outcomes are the daemon's one reconciliation loop.
    const stop = new AbortController();
    const h = harness;
    const daemon = runDaemon(h.rt, {
      signal: stop.signal,
      schedules: h.schedules,
      loadSchedules: () => ({ files: [], issues: [] }),
    });
    onTestFinished(async () => {
      stop.abort();
      await daemon;
    });
    await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{"branch":"main"}',
    });
    const [slot] = harness.ledger.listSlots({ schedule: 'nightly-api', limit: 1 });
    expect(slot).toMatchObject({ branch: 'main', state: 'triggered' });
    for (let i = 0; i < 40 && harness.ledger.get(slot!.id)?.state !== 'finished'; i += 1) {
      await harness.clock.advance(5000);
      await new Promise((resolve) => setTimeout(resolve, 20)); // loopback I/O of the pass
    }
    expect(harness.ledger.get(slot!.id)).toMatchObject({
      state: 'finished',
      buildStatus: 'success',
    });
  });

  it('answers unknown schedules, bad JSON and bad branches with 4xx JSON', async () => {
    harness = await startHarness({ token: TOKEN });
    const unknown = await harness.request('/api/schedules/nope/trigger', {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{}',
    });
    expect(unknown).toMatchObject({ status: 404, json: { error: 'no schedule named "nope"' } });
    const badJson = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{"branch":',
    });
    expect(badJson).toMatchObject({
      status: 400,
      json: { error: 'request body is not valid JSON' },
    });
    const notObject = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '["main"]',
    });
    expect(notObject).toMatchObject({
      status: 400,
      json: { error: 'request body must be a JSON object such as {"branch": "main"}' },
    });
    const badBranch = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{"branch":"a..b"}',
    });
    expect(badBranch).toMatchObject({
      status: 400,
      json: { error: '"a..b" is not a valid branch name: it contains ".."' },
    });
    // One validator for branches everywhere: what a schedule file refuses, the button refuses.
    for (const branch of ['heads/x', 'a//b', 'rel*']) {
      const refused = await harness.request(TRIGGER, {
        method: 'POST',
        headers: bearer(TOKEN),
        body: JSON.stringify({ branch }),
      });
      expect(refused.status, branch).toBe(400);
    }
    const text = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: 'main',
    });
    expect(text).toMatchObject({ status: 415 });
    const huge = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: JSON.stringify({ branch: 'x'.repeat(20_000) }),
    });
    expect(huge).toMatchObject({
      status: 413,
      json: { error: 'request body too large (at most 16384 bytes)' },
    });
    expect(creates(harness)).toEqual([]);
  });

  it('caps triggers at 10 a minute', async () => {
    // Ten branches the schedule names (by glob), so each press records its own slot.
    harness = await startHarness({
      token: TOKEN,
      schedulesYaml: SCHEDULES_YAML.replace('    branch: main\n', '    branches: [main, "b*"]\n'),
    });
    for (let i = 0; i < 10; i += 1) {
      const ok = await harness.request(TRIGGER, {
        method: 'POST',
        headers: bearer(TOKEN),
        body: `{"branch":"b${i}"}`,
      });
      expect(ok.status).toBe(202);
    }
    const capped = await harness.request(TRIGGER, {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{}',
    });
    expect(capped).toMatchObject({
      status: 429,
      json: { error: 'too many triggers: at most 10 per minute, try again in 60 s' },
    });
    expect(capped.headers.get('retry-after')).toBe('60');
    await harness.clock.advance(60_000);
    expect(
      (await harness.request(TRIGGER, { method: 'POST', headers: bearer(TOKEN), body: '{}' }))
        .status,
    ).toBe(202);
  });
});

describe('with DASHBOARD_TOKEN: login form, session cookie and CSRF', () => {
  it('shows a login form and no button until logged in', async () => {
    harness = await startHarness({ token: TOKEN });
    const page = await harness.request('/');
    expect(page.text).toContain('<form method="post" action="/login">');
    expect(page.text).not.toContain('<summary>Trigger now');
    const wrong = await harness.request('/login', {
      method: 'POST',
      headers: form,
      body: 'token=nope',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('<div class="notice error">wrong dashboard token</div>');
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('after login the page has a button per schedule and cookie POSTs need the CSRF token', async () => {
    harness = await startHarness({ token: TOKEN });
    const { cookie, csrf } = await logIn(harness);
    const page = await harness.request('/', { headers: { cookie } });
    expect(page.text.match(/<summary>Trigger now<\/summary>/g)).toHaveLength(2);
    expect(page.text).toContain(
      `action="/api/schedules/nightly-api/trigger" data-schedule="nightly-api"`,
    );

    const noCsrf = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie },
      body: '{}',
    });
    expect(noCsrf).toMatchObject({
      status: 403,
      json: { error: 'missing or invalid CSRF token: reload the page and try again' },
    });
    const badCsrf = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie, 'x-csrf-token': `${csrf}x` },
      body: '{}',
    });
    expect(badCsrf.status).toBe(403);
    const foreign = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' },
      body: '{}',
    });
    expect(foreign).toMatchObject({ status: 403, json: { error: 'cross-origin request refused' } });
    expect(creates(harness)).toEqual([]);

    const ok = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie, 'x-csrf-token': csrf, origin: harness.url },
      body: '{}',
    });
    expect(ok.status).toBe(202);
    const viaForm = await harness.request('/api/schedules/web-develop/trigger', {
      method: 'POST',
      headers: { ...form, cookie },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(viaForm.status).toBe(303);
    expect(viaForm.headers.get('location')).toBe('/');
    expect(creates(harness)).toHaveLength(2);
  });

  it('logout ends the session', async () => {
    harness = await startHarness({ token: TOKEN });
    const { cookie, csrf } = await logIn(harness);
    const logout = await harness.request('/logout', {
      method: 'POST',
      headers: { ...form, cookie },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('set-cookie')).toBe(
      'codeship_cron_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0',
    );
    const after = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie, 'x-csrf-token': csrf },
      body: '{}',
    });
    expect(after.status).toBe(401);
  });

  it('sessions expire after 12 hours', async () => {
    harness = await startHarness({ token: TOKEN });
    const { cookie, csrf } = await logIn(harness);
    await harness.clock.advance(12 * 3_600_000);
    const expired = await harness.request(TRIGGER, {
      method: 'POST',
      headers: { ...json, cookie, 'x-csrf-token': csrf },
      body: '{}',
    });
    expect(expired.status).toBe(401);
  });

  it('throttles repeated failed logins', async () => {
    harness = await startHarness({ token: TOKEN });
    for (let i = 0; i < 10; i += 1) {
      expect(
        (
          await harness.request('/login', {
            method: 'POST',
            headers: json,
            body: '{"token":"guess"}',
          })
        ).status,
      ).toBe(401);
    }
    const throttled = await harness.request('/login', {
      method: 'POST',
      headers: json,
      body: `{"token":"${TOKEN}"}`,
    });
    expect(throttled).toMatchObject({
      status: 429,
      json: { error: 'too many failed credentials from this address: try again in 60 s' },
    });
  });
});
