import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { createCodeshipClient } from '../../src/adapters/codeship-client.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { rejectionOf, START } from './codeship-harness.ts';

const PASSWORD = 'hunter2-Sup3r-Secret';
const TOKEN = 'tok-e4f1c9b2a7d3-very-secret';
const USER = 'ops@example.com';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A hostile Codeship: issues a known token, then fails every call in a different way. */
async function startHostileServer(): Promise<string> {
  server = createServer((request, response) => {
    const route = `${request.method} ${request.url?.split('?')[0]}`;
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (route === 'POST /v2/auth') {
      const basic = request.headers.authorization?.replace(/^Basic /, '') ?? '';
      if (Buffer.from(basic, 'base64').toString() !== `${USER}:${PASSWORD}`) {
        return json(401, { error: 'Unauthorized' });
      }
      return json(200, {
        access_token: TOKEN,
        expires_at: Math.floor(Date.parse(START) / 1000) + 3600,
        organizations: [{ uuid: 'org-1', name: 'acme', scopes: [] }],
      });
    }
    if (route === 'GET /v2/organizations/org-1/projects')
      return json(401, { errors: ['Unauthorized'] });
    if (route === 'GET /v2/organizations/org-1/projects/p1/builds/b1')
      return json(503, { errors: ['down'] });
    if (route === 'POST /v2/organizations/org-1/projects/p1/builds')
      return request.socket.destroy();
    if (route === 'GET /v2/organizations/org-1/projects/p1/builds')
      return json(200, { builds: 'nope' });
    // Anything else (b2): never answer.
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v2`;
}

it('no password, token or Basic/Bearer header reaches a log line, an error message or its JSON', async () => {
  const baseUrl = await startHostileServer();
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  const clock = new ManualClock(START);
  const make = (password: string) =>
    createCodeshipClient({
      api: { baseUrl, username: USER, password, organization: null, rateLimitPerMinute: 60 },
      clock,
      logger,
      requestTimeoutMs: 1000,
      retryLimit: 0,
    });
  const client = make(PASSWORD);
  const errors = [
    await rejectionOf(make('not-the-password').listProjects()),
    await rejectionOf(client.listProjects()),
    await rejectionOf(client.getBuild('p1', 'b1')),
    await rejectionOf(client.createBuild('p1', { branch: 'main' })),
    await rejectionOf(client.getBuild('p1', 'b2')),
    await rejectionOf(client.listBuilds('p1')[Symbol.asyncIterator]().next()),
  ];
  expect(errors.map((e) => e.code)).toEqual([
    'ERR_CODESHIP_AUTH',
    'ERR_CODESHIP_AUTH',
    'ERR_CODESHIP_UNAVAILABLE',
    'ERR_CODESHIP_OUTCOME_UNKNOWN',
    'ERR_CODESHIP_UNAVAILABLE',
    'ERR_CODESHIP_BAD_RESPONSE',
  ]);
  expect(errors[0]?.message).toBe(
    'POST /auth: Codeship rejected the credentials of ops@example.com',
  );
  expect(errors[5]?.message).toBe(
    'GET /organizations/:org/projects/:project/builds: builds is not an array (got "nope")',
  );
  for (const error of errors) {
    expect(error.cause).toBeUndefined();
    logger.error({ err: error }, 'call failed');
  }
  const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const texts = [
    ...lines,
    ...errors.flatMap((e) => [
      e.message,
      String(e.stack),
      JSON.stringify(e),
      inspect(e, { depth: 8 }),
    ]),
  ];
  expect(lines.some((l) => l.includes('"msg":"codeship request"'))).toBe(true);
  for (const text of texts) {
    for (const secret of [PASSWORD, TOKEN, basic, 'Basic ', 'Bearer ', 'not-the-password']) {
      expect(text.includes(secret), `${secret} in ${text.slice(0, 200)}`).toBe(false);
    }
  }
});
