/**
 * Log lines an operator greps for: client lines carry their component once, and error lines
 * carry the error's message, stable code and stack (pino's err serializer), with the project a
 * failed reconciliation was about. Real simulator, real pino, lines read as JSON text.
 */
import { Writable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import { loadConfig } from '../../src/config.ts';
import { reconcileOnce } from '../../src/daemon/reconcile.ts';
import { createApi, createRuntime } from '../../src/deps.ts';
import { bearer, type HttpHarness, startHarness } from '../http/harness.ts';

const TOKEN = 'correct-horse-battery-staple';
let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

it('logs a failed reconciliation with the project and the error, and the component once', async () => {
  harness = await startHarness({ token: TOKEN });
  const triggered = await harness.request('/api/schedules/nightly-api/trigger', {
    method: 'POST',
    headers: bearer(TOKEN),
    body: '{}',
  });
  expect(triggered.status).toBe(202);
  harness.simulator.setFaults({ errorRate: 1, only: ['GET /builds'] });

  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      text.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const config = loadConfig({
    CODESHIP_API_URL: harness.simulator.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    CODESHIP_ORGANIZATION: 'acme',
  });
  const rt = createRuntime({
    config,
    ledger: harness.ledger,
    api: createApi(config, logger, harness.clock),
    clock: harness.clock,
    logger: logger.child({ component: 'daemon' }),
    schedule: (name) => harness?.schedules.get(name),
  });
  await harness.drive(reconcileOnce(rt));

  const clientLines = text.filter((line) => line.includes('"component":"codeship"'));
  expect(clientLines.length).toBeGreaterThan(0);
  for (const line of clientLines) expect(line.split('"component":').length - 1).toBe(1);

  const failed = text
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.msg === 'reconciliation of a project failed');
  expect(failed).toMatchObject({
    level: 'warn',
    component: 'daemon',
    project: 'acme/api',
    projectUuid: expect.any(String),
    err: {
      type: 'CodeshipError',
      code: 'ERR_CODESHIP_UNAVAILABLE',
      message: expect.stringMatching(
        /^GET \/organizations\/:org\/projects\/:project\/builds: Codeship answered HTTP 5\d\d after 4 attempts$/,
      ),
      stack: expect.stringMatching(/^CodeshipError: GET .*\n\s+at /),
    },
  });
});

it('serializes every error with message, code and stack, and says what a non-error was', () => {
  const text: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        text.push(String(chunk));
        done();
      },
    }),
  });
  logger.error({ err: new Error('plain') }, 'failed');
  logger.error({ err: { message: 'not an error' } }, 'failed');
  const [plain, object] = text.map((line) => JSON.parse(line).err);
  expect(plain).toMatchObject({ type: 'Error', message: 'plain', code: null });
  expect(plain.stack).toMatch(/^Error: plain\n\s+at /);
  expect(object).toEqual({ type: 'object', message: 'not an error', code: null, stack: null });
});
