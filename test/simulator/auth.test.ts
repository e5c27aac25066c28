import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorSeed } from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import {
  basicAuth,
  call,
  login,
  startTestSimulator,
  type TestSimulator,
} from '../helpers/simulator.ts';

const START = '2025-03-01T12:00:00.000Z';
let simulator: TestSimulator | null = null;
afterEach(async () => {
  await simulator?.close();
  simulator = null;
});

const auth = (sim: TestSimulator, authorization: string | null) =>
  call(sim, 'POST', '/auth', { authorization });

describe('POST /auth', () => {
  it('exchanges Basic credentials for a token, expiry and the organizations with scopes', async () => {
    const clock = new ManualClock(START);
    simulator = await startTestSimulator({ now: () => clock.now().getTime() });
    const answer = await auth(simulator, basicAuth('demo@example.com', 'demo-password'));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const body = answer.json as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      expires_at: Date.parse(START) / 1000 + 3600,
      organizations: [
        {
          uuid: expect.any(String),
          name: 'acme',
          scopes: ['project.read', 'project.write', 'build.read', 'build.write'],
        },
      ],
    });
  });

  it('accepts any body, JSON or form or none', async () => {
    simulator = await startTestSimulator();
    for (const body of ['{}', 'grant=1', '']) {
      const response = await fetch(`${simulator.url}/auth`, {
        method: 'POST',
        headers: {
          Authorization: basicAuth('demo@example.com', 'demo-password'),
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body,
      });
      expect(response.status).toBe(200);
    }
  });

  it('answers 401 {"error":"Unauthorized"} to a wrong password, an unknown user and no credentials', async () => {
    simulator = await startTestSimulator();
    for (const header of [
      basicAuth('demo@example.com', 'nope'),
      basicAuth('who@example.com', 'x'),
      null,
      'Bearer abc',
    ]) {
      const answer = await auth(simulator, header);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: 'Unauthorized' });
    }
  });

  it('answers a two-factor user with the error body on a 200, as the real API did', async () => {
    simulator = await startTestSimulator();
    const answer = await auth(simulator, basicAuth('twofactor@example.com', 'demo-password'));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      error:
        'Your account has two-factor authentication enabled, which is not possible to support with the API.',
    });
  });

  it('never records the credentials, only their kind', async () => {
    simulator = await startTestSimulator();
    await fetch(`${simulator.url}/auth`, {
      method: 'POST',
      headers: { Authorization: basicAuth('demo@example.com', 'demo-password') },
      body: JSON.stringify({ username: 'demo@example.com', password: 'demo-password' }),
    });
    const [record] = simulator.requests();
    expect(record).toMatchObject({
      method: 'POST',
      path: '/v2/auth',
      status: 200,
      authorization: 'basic',
    });
    expect(JSON.stringify(simulator.requests())).not.toContain('demo-password');
    expect(record?.body).toEqual({ username: 'demo@example.com', password: '[redacted]' });
  });
});

describe('tokens on resource routes', () => {
  it('accepts "Bearer <token>" and the bare token, and records which', async () => {
    simulator = await startTestSimulator();
    const { token, orgUuid } = await login(simulator);
    const path = `/organizations/${orgUuid}/projects`;
    expect((await call(simulator, 'GET', path, { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    expect((await call(simulator, 'GET', path, { authorization: token })).status).toBe(200);
    expect(simulator.requests().map((r) => r.authorization)).toEqual(['basic', 'bearer', 'raw']);
  });

  it('answers 401 {"errors":["Unauthorized"]} to a missing or unknown token', async () => {
    simulator = await startTestSimulator();
    const { orgUuid } = await login(simulator);
    const path = `/organizations/${orgUuid}/projects`;
    for (const authorization of [
      null,
      'Bearer not-a-token',
      basicAuth('demo@example.com', 'demo-password'),
    ]) {
      const answer = await call(simulator, 'GET', path, { authorization });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ errors: ['Unauthorized'] });
    }
  });

  it('expires a token at expires_at by the injected clock', async () => {
    const clock = new ManualClock(START);
    simulator = await startTestSimulator({
      now: () => clock.now().getTime(),
      tokenTtlSeconds: 600,
    });
    const { token, orgUuid } = await login(simulator);
    const path = `/organizations/${orgUuid}/projects`;
    await clock.advance(599_999);
    expect((await call(simulator, 'GET', path, { token })).status).toBe(200);
    await clock.advance(1);
    const expired = await call(simulator, 'GET', path, { token });
    expect(expired.status).toBe(401);
    expect(expired.json).toEqual({ errors: ['Unauthorized'] });
  });
});

describe('permissions', () => {
  const seed: SimulatorSeed = {
    users: [
      { username: 'reader@example.com', password: 'pw', organizations: ['readonly'] },
      { username: 'other@example.com', password: 'pw', organizations: ['other'] },
    ],
    organizations: [
      {
        name: 'readonly',
        scopes: ['project.read', 'build.read'],
        projects: [{ name: 'ro/app', type: 'basic' }],
      },
      { name: 'other', projects: [] },
    ],
  };

  it('answers 403 with a JSON errors body when the organization is not in the token', async () => {
    simulator = await startTestSimulator({ seed });
    const reader = await login(simulator, 'reader@example.com', 'pw');
    const other = await login(simulator, 'other@example.com', 'pw');
    const answer = await call(simulator, 'GET', `/organizations/${reader.orgUuid}/projects`, {
      token: other.token,
    });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json).toEqual({ errors: ['You are not allowed to access this organization'] });
  });

  it('answers 403 with a JSON errors body when a scope is missing', async () => {
    simulator = await startTestSimulator({ seed });
    const { token, orgUuid } = await login(simulator, 'reader@example.com', 'pw');
    const list = await call(simulator, 'GET', `/organizations/${orgUuid}/projects`, { token });
    const project = (list.json as { projects: { uuid: string }[] }).projects[0]!;
    const answer = await call(
      simulator,
      'POST',
      `/organizations/${orgUuid}/projects/${project.uuid}/builds`,
      {
        token,
        body: { ref: 'heads/main' },
      },
    );
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({
      errors: ['This token lacks the build.write scope for this organization'],
    });
    expect(simulator.builds()).toEqual([]);
  });
});

describe('rate limit', () => {
  it('answers 403 text/plain "Rate Limit Exceeded" past the limit, /auth included, until the window ends', async () => {
    const clock = new ManualClock(START);
    simulator = await startTestSimulator({
      now: () => clock.now().getTime(),
      rateLimit: { requests: 3, windowMs: 60_000 },
    });
    const { token, orgUuid } = await login(simulator); // 1: /auth counts
    const path = `/organizations/${orgUuid}/projects`;
    expect((await call(simulator, 'GET', path, { token })).status).toBe(200); // 2
    await clock.advance(30_000);
    expect((await call(simulator, 'GET', path, { token })).status).toBe(200); // 3
    const limited = await call(simulator, 'GET', path, { token });
    expect(limited.status).toBe(403);
    expect(limited.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(limited.text).toBe('Rate Limit Exceeded');
    const authLimited = await auth(simulator, basicAuth('demo@example.com', 'demo-password'));
    expect(authLimited.status).toBe(403);
    expect(authLimited.text).toBe('Rate Limit Exceeded');
    // The window opened at the first request, so it ends 60 s after it, not after the last one.
    await clock.advance(29_999);
    expect((await call(simulator, 'GET', path, { token })).status).toBe(403);
    await clock.advance(1);
    expect((await call(simulator, 'GET', path, { token })).status).toBe(200);
  });

  it('counts each user separately and can be turned off', async () => {
    simulator = await startTestSimulator({ rateLimit: { requests: 1, windowMs: 60_000 } });
    await login(simulator);
    expect((await auth(simulator, basicAuth('demo@example.com', 'demo-password'))).status).toBe(
      403,
    );
    expect(
      (await auth(simulator, basicAuth('twofactor@example.com', 'demo-password'))).status,
    ).toBe(200);
    await simulator.close();
    simulator = await startTestSimulator({ rateLimit: null });
    for (let i = 0; i < 80; i += 1) await login(simulator);
    expect(simulator.requests().every((r) => r.status === 200)).toBe(true);
  });
});
