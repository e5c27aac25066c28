/**
 * What an attacker on the loopback finds: credential guessing throttled per client address,
 * `Host` headers of other names refused (DNS rebinding), a connection flood capped, the schedule
 * list served in bounded pages, and a warning when the page is bound beyond loopback.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import { ScheduleSet } from '../../src/daemon/schedule-set.ts';
import { MAX_HTTP_CONNECTIONS, startHttpServer } from '../../src/http/server.ts';
import { rawRequest } from './client.ts';
import { bearer, type HttpHarness, startHarness } from './harness.ts';

const TOKEN = 'correct-horse-battery-staple';
const TRIGGER = '/api/schedules/nightly-api/trigger';
const json = { 'content-type': 'application/json' };

let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const creates = (h: HttpHarness) =>
  h.simulator.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));

describe('failed credentials are throttled per client address', () => {
  it('answers 429 with Retry-After past 10 wrong tokens a minute, and lets other addresses in', async () => {
    harness = await startHarness({ token: TOKEN });
    const attempt = (token: string, localAddress: string) =>
      rawRequest(`${harness?.url}${TRIGGER}`, {
        method: 'POST',
        headers: bearer(token),
        body: '{}',
        localAddress,
      });
    for (let i = 0; i < 10; i += 1) {
      expect((await attempt(`guess-${i}`, '127.0.0.3')).status).toBe(401);
    }
    const limited = await attempt('guess-10', '127.0.0.3');
    expect(limited).toMatchObject({
      status: 429,
      json: { error: 'too many failed credentials from this address: try again in 60 s' },
    });
    expect(limited.headers['retry-after']).toBe('60');
    // Even the right token: the guesser's address learns nothing more this minute.
    expect((await attempt(TOKEN, '127.0.0.3')).status).toBe(429);
    expect(creates(harness)).toEqual([]);
    // Another address with the right token is not locked out.
    expect((await attempt(TOKEN, '127.0.0.4')).status).toBe(202);
    await harness.clock.advance(30_000);
    const later = await attempt(TOKEN, '127.0.0.3');
    expect(later.status).toBe(429);
    expect(later.headers['retry-after']).toBe('30');
    await harness.clock.advance(30_000);
    expect((await attempt(TOKEN, '127.0.0.3')).status).toBe(202);
  });

  it('counts wrong logins and wrong bearer tokens of one address together', async () => {
    harness = await startHarness({ token: TOKEN });
    for (let i = 0; i < 5; i += 1) {
      const login = await rawRequest(`${harness.url}/login`, {
        method: 'POST',
        headers: json,
        body: '{"token":"guess"}',
        localAddress: '127.0.0.5',
      });
      expect(login.status).toBe(401);
      const page = await rawRequest(`${harness.url}/`, {
        headers: { authorization: 'Bearer guess' },
        localAddress: '127.0.0.5',
      });
      expect(page.status).toBe(401);
    }
    const login = await rawRequest(`${harness.url}/login`, {
      method: 'POST',
      headers: json,
      body: `{"token":"${TOKEN}"}`,
      localAddress: '127.0.0.5',
    });
    expect(login.status).toBe(429);
  });

  it('limits failed logins per client, not for everyone', async () => {
    harness = await startHarness({ token: TOKEN });
    for (let i = 0; i < 11; i += 1) {
      await rawRequest(`${harness.url}/login`, {
        method: 'POST',
        headers: json,
        body: '{"token":"guess"}',
        localAddress: '127.0.0.6',
      });
    }
    const other = await rawRequest(`${harness.url}/login`, {
      method: 'POST',
      headers: json,
      body: `{"token":"${TOKEN}"}`,
      localAddress: '127.0.0.7',
    });
    expect(other.status).toBe(200);
    expect(other.json).toEqual({ status: 'logged in' });
  });
});

describe('the Host header', () => {
  it('refuses names other than its own with 421 (DNS rebinding)', async () => {
    harness = await startHarness();
    const port = harness.server.port;
    const as = (host: string) => rawRequest(`${harness?.url}/api/schedules`, { headers: { host } });
    const refused = await as(`rebind.attacker.example:${port}`);
    expect(refused).toMatchObject({
      status: 421,
      json: {
        error: `host "rebind.attacker.example:${port}" is not served here (expected 127.0.0.1:${port}, localhost or 127.0.0.1, or a name listed in HTTP_ALLOWED_HOSTS)`,
      },
    });
    expect((await as(`127.0.0.1:${port + 1}`)).status).toBe(200);
    expect((await as(`localhost:${port}`)).status).toBe(200);
    expect((await as('localhost:9999')).status).toBe(200);
    expect((await as('LOCALHOST')).status).toBe(200);
    expect((await as(`[::1]:${port}`)).status).toBe(200);
    expect((await as(`127.0.0.2:${port}`)).status).toBe(421);
    expect((await as(`status.example.com:${port}`)).status).toBe(421);
    // A long header is quoted in 80 characters at most.
    expect((await as(`${'a'.repeat(5000)}.example`)).json).toEqual({
      error: `host "${'a'.repeat(80)}"… is not served here (expected 127.0.0.1:${port}, localhost or 127.0.0.1, or a name listed in HTTP_ALLOWED_HOSTS)`,
    });
  });

  it('accepts the names in HTTP_ALLOWED_HOSTS, with or without a port', async () => {
    harness = await startHarness({
      env: { HTTP_ALLOWED_HOSTS: 'status.example.com, proxy.internal:8443' },
    });
    const as = (host: string) => rawRequest(`${harness?.url}/healthz`, { headers: { host } });
    expect((await as('status.example.com')).status).toBe(200);
    expect((await as('Status.Example.com:443')).status).toBe(200);
    expect((await as('proxy.internal:8443')).status).toBe(200);
    expect((await as('proxy.internal:8444')).status).toBe(421);
    expect((await as('example.com')).status).toBe(421);
  });
});

describe('connections', () => {
  it(`closes connections past ${MAX_HTTP_CONNECTIONS} at once and serves again when they go`, async () => {
    harness = await startHarness();
    const port = harness.server.port;
    const sockets: Socket[] = [];
    for (let i = 0; i < MAX_HTTP_CONNECTIONS; i += 1) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      sockets.push(socket);
    }
    await expect(rawRequest(`${harness.url}/healthz`)).rejects.toThrow();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await rawRequest(`${harness.url}/healthz`)).status).toBe(200);
  });
});

describe('GET /api/schedules in pages', () => {
  const fleet = (count: number) =>
    `schedules:\n${Array.from(
      { length: count },
      (_, i) =>
        `  - { name: s${String(i).padStart(3, '0')}, cron: "0 2 * * *", project: acme/${i % 2 ? 'web' : 'api'}, branch: main }`,
    ).join('\n')}\n`;
  type Page = { schedules: { name: string }[]; total: number; next_cursor: string | null };

  it('serves 50 by default, at most 100, with total and next_cursor until the last page', async () => {
    harness = await startHarness({ schedulesYaml: fleet(230) });
    const first = (await harness.request('/api/schedules')).json as Page;
    expect(first.schedules).toHaveLength(50);
    expect(first.total).toBe(230);
    expect(first.next_cursor).toEqual(expect.any(String));
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await harness.request(
        `/api/schedules?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = answer.json as Page;
      expect(page.total).toBe(230);
      names.push(...page.schedules.map((s) => s.name));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 230 }, (_, i) => `s${String(i).padStart(3, '0')}`));
    expect(await harness.request('/api/schedules?limit=101')).toMatchObject({
      status: 400,
      json: { error: 'limit must be an integer from 1 to 100 (got "101")' },
    });
    expect(await harness.request('/api/schedules?cursor=%1B%5B2J')).toMatchObject({
      status: 400,
      json: {
        error:
          'cursor "\\u001b[2J" is not one this server gave (expected the next_cursor of a previous page)',
      },
    });
    expect((await harness.request('/api/schedules?recent=21')).status).toBe(400);
  });

  it('filters by name or project (q) and by the newest slot state', async () => {
    harness = await startHarness({ schedulesYaml: fleet(230) });
    const q = (await harness.request('/api/schedules?q=S02')).json as Page;
    expect(q.schedules.map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `s02${i}`));
    expect(q).toMatchObject({ total: 10, next_cursor: null });
    expect(((await harness.request('/api/schedules?q=acme/web')).json as Page).total).toBe(115);
    const slotAt = new Date('2026-03-01T02:00:00Z');
    harness.ledger.recordSlots(
      ['s007', 's101'].map((schedule) => ({
        schedule,
        slotAt,
        branch: 'main',
        project: 'acme/api',
        fireAt: slotAt,
        state: 'skipped' as const,
        reason: 'missed',
      })),
      new Map([
        ['s007', slotAt],
        ['s101', slotAt],
      ]),
      new Date(),
    );
    const skipped = (await harness.request('/api/schedules?state=skipped')).json as Page;
    expect(skipped.schedules.map((s) => s.name)).toEqual(['s007', 's101']);
    expect(((await harness.request('/api/schedules?state=none&limit=1')).json as Page).total).toBe(
      228,
    );
    expect(await harness.request('/api/schedules?state=broken')).toMatchObject({
      status: 400,
      json: {
        error:
          'state must be one of failing, late, running, skipped, chains, disabled, pending, triggered, finished, failed, none (got "broken")',
      },
    });
    // The page pages too (50 cards), and keeps the filter in its next-page link.
    const page = await harness.request('/?q=acme');
    expect(page.text.match(/<section class="card"/g)).toHaveLength(50);
    expect(page.text).toContain('1–50 of 230 matching schedules (230 in all)');
    const next = /<a class="next-page" href="([^"]+)">/.exec(page.text)?.[1] ?? '';
    expect(next).toMatch(/^\/\?q=acme&amp;cursor=/);
    const second = await harness.request(next.replace(/&amp;/g, '&'));
    expect(second.text).toContain('51–100 of 230 matching schedules');
    expect(second.text).toContain('data-schedule="s050"');
    expect(second.text).not.toContain('data-schedule="s049"');
    expect(second.text).toContain('<a class="first-page" href="/?q=acme">first page</a>');
  });
});

describe('binding beyond loopback', () => {
  it('warns that the page is exposed', async () => {
    harness = await startHarness();
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const server = await startHttpServer({
      config: { http: { host: '0.0.0.0', port: 0 }, dashboardToken: null, httpAllowedHosts: [] },
      rt: harness.rt,
      schedules: new ScheduleSet(),
      metrics: harness.metrics,
      logger: createLogger({ level: 'info', destination }),
    });
    await server.close();
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        component: 'http',
        host: '0.0.0.0',
        msg: 'the status page is exposed beyond this machine: HTTP_ADDR is not a loopback address (bind 127.0.0.1 and put a TLS proxy in front)',
      }),
    );
    const quiet = lines.filter((line) => line.level === 'warn').length;
    expect(quiet).toBe(1);
  });
});
