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
      'DISCOVERY_WINDOW must be a duration of at least 10s such as 120s or 5m (got "2 minutes")',
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
});
