import { describe, expect, it } from 'vitest';
import { type Env, loadConfig, requireApi } from '../src/config.ts';
import { ConfigError } from '../src/core/errors.ts';

const API_ENV: Env = { CODESHIP_USERNAME: 'bot@example.com', CODESHIP_PASSWORD: 'hunter2' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(API_ENV);
    expect(config).toMatchObject({
      schedulesDir: './schedules',
      databasePath: './data/codeship-cron.sqlite',
      defaultTimezone: 'UTC',
      logLevel: 'info',
      discoveryWindowMs: 120_000,
      http: null,
      dashboardToken: null,
    });
    expect(requireApi(config)).toEqual({
      baseUrl: 'https://api.codeship.com/v2',
      username: 'bot@example.com',
      password: 'hunter2',
      organization: null,
      rateLimitPerMinute: 60,
    });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        DEFAULT_TIMEZONE: 'Mars/Base',
        LOG_LEVEL: 'loud',
        DISCOVERY_WINDOW: '2 minutes',
        HTTP_ADDR: 'nowhere',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      'DEFAULT_TIMEZONE must be an IANA time zone such as Europe/Berlin (got "Mars/Base")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'DISCOVERY_WINDOW must be a duration from 10s to 1h such as 120s or 5m (got "2 minutes")',
      'HTTP_ADDR must be host:port such as 127.0.0.1:8080 (got "nowhere")',
    ]);
  });

  it('asks for credentials only when a command needs the API', () => {
    const config = loadConfig({});
    expect(() => requireApi(config)).toThrowError(
      /CODESHIP_USERNAME is required[\s\S]*CODESHIP_PASSWORD is required/,
    );
  });

  it('reads the password from a file or a systemd credential, never echoing it', () => {
    const files: Record<string, string> = { '/creds/codeship-password': 's3cret\n' };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    };
    const fromCredential = loadConfig(
      { CODESHIP_USERNAME: 'u', CREDENTIALS_DIRECTORY: '/creds' },
      read,
    );
    expect(requireApi(fromCredential).password).toBe('s3cret');
    const broken = loadConfig({ CODESHIP_USERNAME: 'u', CODESHIP_PASSWORD_FILE: '/nope' }, read);
    expect(() => requireApi(broken)).toThrowError(
      'CODESHIP_PASSWORD_FILE: cannot read /nope (ENOENT)',
    );
    // Both set: either could be the stale one, so neither wins.
    const both = loadConfig(
      { CODESHIP_USERNAME: 'u', CODESHIP_PASSWORD: 'env', CODESHIP_PASSWORD_FILE: '/run/pw' },
      read,
    );
    expect(both.apiIssues).toEqual([
      'CODESHIP_PASSWORD and CODESHIP_PASSWORD_FILE are both set (expected only one: unset the other)',
    ]);
  });

  it('parses HTTP_ADDR with IPv4 and IPv6 hosts', () => {
    expect(loadConfig({ HTTP_ADDR: '127.0.0.1:8080' }).http).toEqual({
      host: '127.0.0.1',
      port: 8080,
    });
    expect(loadConfig({ HTTP_ADDR: '[::1]:9000' }).http).toEqual({ host: '::1', port: 9000 });
  });

  it('lists API problems with the others for commands that call the API', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud' }, () => '', { requireApi: true })).toThrowError(
      /LOG_LEVEL must be one of[\s\S]*CODESHIP_USERNAME is required[\s\S]*CODESHIP_PASSWORD is required/,
    );
  });

  it('takes decimal integers only, within sane bounds', () => {
    const problems = (env: Env) => {
      try {
        loadConfig({ ...API_ENV, ...env }, () => '', { requireApi: true });
        return [];
      } catch (error) {
        return (error as ConfigError).issues;
      }
    };
    for (const rate of ['0x3c', '1e2', ' 60', '60 ', '6.0', '+60', '-1', '0', '10001']) {
      expect(problems({ CODESHIP_RATE_LIMIT: rate })).toEqual([
        `CODESHIP_RATE_LIMIT must be an integer between 1 and 10000 (got "${rate}")`,
      ]);
    }
    expect(requireApi(loadConfig({ ...API_ENV, CODESHIP_RATE_LIMIT: '10000' }))).toMatchObject({
      rateLimitPerMinute: 10_000,
    });
    for (const window of ['9999999999d', '2h', '61m', '9s', ' 120s', '1e3s']) {
      expect(problems({ DISCOVERY_WINDOW: window })).toEqual([
        `DISCOVERY_WINDOW must be a duration from 10s to 1h such as 120s or 5m (got "${window}")`,
      ]);
    }
    expect(loadConfig({ DISCOVERY_WINDOW: '1h' }).discoveryWindowMs).toBe(3_600_000);
    for (const poll of ['5s', '2d', 'often', ' 2m', '00']) {
      expect(problems({ UPSTREAM_POLL: poll })).toEqual([
        `UPSTREAM_POLL must be a duration from 10s to 1d such as 2m, or 0 to poll never (got "${poll}")`,
      ]);
    }
    expect(loadConfig({}).upstreamPollMs).toBe(120_000);
    expect(loadConfig({ UPSTREAM_POLL: '0' }).upstreamPollMs).toBe(0);
    expect(loadConfig({ UPSTREAM_POLL: '30s' }).upstreamPollMs).toBe(30_000);
    expect(problems({ HTTP_ADDR: '127.0.0.1:0x50' })).toEqual([
      'HTTP_ADDR must be host:port such as 127.0.0.1:8080 (got "127.0.0.1:0x50")',
    ]);
  });

  it('refuses a DASHBOARD_TOKEN or WEBHOOK_SECRET under 16 characters, never echoing it', () => {
    let error: unknown;
    try {
      loadConfig({ DASHBOARD_TOKEN: 'a', WEBHOOK_SECRET: 'fifteen-chars15' });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).issues).toEqual([
      'DASHBOARD_TOKEN must be at least 16 characters long (got 1; generate one with: openssl rand -hex 24)',
      'WEBHOOK_SECRET must be at least 16 characters long (got 15; generate one with: openssl rand -hex 24)',
    ]);
    expect((error as ConfigError).message).not.toContain('fifteen-chars15');
    const config = loadConfig({
      DASHBOARD_TOKEN: 'sixteen-chars-16',
      WEBHOOK_SECRET: 'x'.repeat(40),
    });
    expect(config).toMatchObject({
      dashboardToken: 'sixteen-chars-16',
      webhookSecret: 'x'.repeat(40),
    });
  });

  it('refuses a WEBHOOK_SECRET that is no plain URL path segment, never echoing it', () => {
    for (const secret of [
      'abcdefghijklmnop/qrstuv',
      'abcdefghijklmnop?x=1',
      'abc%2Fdefghijklmnop',
      'base64+secret=====',
    ]) {
      let error: unknown;
      try {
        loadConfig({ WEBHOOK_SECRET: secret });
      } catch (caught) {
        error = caught;
      }
      expect((error as ConfigError).issues).toEqual([
        'WEBHOOK_SECRET must be letters, digits, "-", "_", "." or "~" only: it is a URL path segment (generate one with: openssl rand -hex 24)',
      ]);
      expect((error as ConfigError).message).not.toContain(secret);
    }
  });

  it('reads HTTP_ALLOWED_HOSTS as host or host:port entries', () => {
    expect(
      loadConfig({ HTTP_ALLOWED_HOSTS: 'Status.Example.com, proxy.internal:8443,[::1]:9000' })
        .httpAllowedHosts,
    ).toEqual(['status.example.com', 'proxy.internal:8443', '[::1]:9000']);
    expect(loadConfig({}).httpAllowedHosts).toEqual([]);
    expect(() => loadConfig({ HTTP_ALLOWED_HOSTS: 'http://status.example.com/' })).toThrowError(
      'HTTP_ALLOWED_HOSTS must be a comma-separated list of host or host:port such as status.example.com,proxy.internal:8443 (got "http://status.example.com/")',
    );
  });

  it('quotes at most 80 characters of a bad value, with control characters escaped', () => {
    expect(() =>
      loadConfig({ DEFAULT_TIMEZONE: `\u001b[2J\u202e${'x'.repeat(500)}` }),
    ).toThrowError(
      `DEFAULT_TIMEZONE must be an IANA time zone such as Europe/Berlin (got "\\u001b[2J\\u202e${'x'.repeat(75)}"…)`,
    );
  });
});
