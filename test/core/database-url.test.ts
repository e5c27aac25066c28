import { describe, expect, it } from 'vitest';
import { maskDatabaseUrl, scrubPassword, urlPassword } from '../../src/core/database-url.ts';

describe('maskDatabaseUrl', () => {
  it.each([
    ['postgres://cc:s3cret@db:5432/cc', 'postgres://cc:***@db:5432/cc'],
    // An unencoded @ in the password: URL parsers take the userinfo to the last @.
    ['postgres://cc:pgPassw0rd@Secret@127.0.0.1:55432/cc', 'postgres://cc:***@127.0.0.1:55432/cc'],
    ['postgresql://cc:a%40b@db/cc?sslmode=require', 'postgresql://cc:***@db/cc?sslmode=require'],
    ['postgres://db/cc?user=cc&password=s3cret', 'postgres://db/cc?user=cc&password=***'],
    ['postgres://cc@db/cc', 'postgres://cc@db/cc'],
    ['postgres://db/cc?application_name=a@b', 'postgres://db/cc?application_name=a@b'],
  ])('%s -> %s', (url, masked) => {
    expect(maskDatabaseUrl(url)).toBe(masked);
  });
});

describe('urlPassword and scrubPassword', () => {
  it('find the whole password, @ included, and scrub it from any text', () => {
    const url = 'postgres://cc:pgPassw0rd@Secret@127.0.0.1:55432/cc';
    expect(urlPassword(url)).toBe('pgPassw0rd@Secret');
    const text = `cannot open ${url}: auth failed for pgPassw0rd@Secret`;
    const scrubbed = scrubPassword(text, url);
    expect(scrubbed).not.toContain('Secret');
    expect(scrubbed).toBe('cannot open postgres://cc:***@127.0.0.1:55432/cc: auth failed for ***');
  });
});
