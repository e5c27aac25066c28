/**
 * A server that answers with an endless or huge body cannot fill our memory: the request core
 * stops reading past 8 MB and fails the call with a clear, typed error. A real HTTP server on
 * 127.0.0.1 plays the broken API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTransport,
  MAX_RESPONSE_BYTES,
  type RequestSpec,
} from '../../src/adapters/codeship-request.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import { createPacer } from '../../src/adapters/pacer.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server that streams `bytes` of JSON-ish filler, declaring the length or not. */
async function hugeBody(
  bytes: number,
  declare: boolean,
): Promise<{ url: string; sent: () => number; requests: () => number }> {
  let sent = 0;
  let requests = 0;
  server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(declare ? { 'content-length': String(bytes) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (sent < bytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`,
    sent: () => sent,
    requests: () => requests,
  };
}

const spec = (idempotent: boolean): RequestSpec => ({
  method: idempotent ? 'GET' : 'POST',
  route: idempotent
    ? '/organizations/:org/projects'
    : '/organizations/:org/projects/:project/builds',
  path: '/organizations/o/projects',
  authorization: 'Bearer t',
  idempotent,
  outcomeHint: 'the build may have been created',
  priority: 'normal',
});

/** The call's error, or its answer without the body (a failing test must not print megabytes). */
function outcome(promise: Promise<{ status: number; body: string }>): Promise<unknown> {
  return promise.then(
    (answer) => ({ status: answer.status, bytes: answer.body.length }),
    (error: unknown) => error,
  );
}

function transport(baseUrl: string) {
  return createTransport({
    baseUrl,
    pacer: createPacer({ ratePerMinute: 600, clock: systemClock }),
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    requestTimeoutMs: 30_000,
    retryLimit: 3,
  });
}

describe('response bodies over 8 MB', { timeout: 30_000 }, () => {
  it('fail a read with ERR_CODESHIP_RESPONSE_TOO_LARGE, unread past the cap and not retried', async () => {
    const api = await hugeBody(64 * 1024 * 1024, false);
    expect(await outcome(transport(api.url).exchange(spec(true)))).toMatchObject({
      code: 'ERR_CODESHIP_RESPONSE_TOO_LARGE',
      message: `GET /organizations/:org/projects: response body larger than ${MAX_RESPONSE_BYTES} bytes, not read further (expected at most 8 MB)`,
    });
    expect(api.sent()).toBeLessThan(32 * 1024 * 1024);
    expect(api.requests()).toBe(1);
  });

  it('are refused from the declared length alone', async () => {
    const api = await hugeBody(MAX_RESPONSE_BYTES + 1, true);
    expect(await outcome(transport(api.url).exchange(spec(true)))).toMatchObject({
      code: 'ERR_CODESHIP_RESPONSE_TOO_LARGE',
    });
  });

  it('leave a create with an unknown outcome, never re-sent', async () => {
    const api = await hugeBody(MAX_RESPONSE_BYTES * 2, false);
    expect(await outcome(transport(api.url).exchange(spec(false)))).toMatchObject({
      code: 'ERR_CODESHIP_OUTCOME_UNKNOWN',
      message: `POST /organizations/:org/projects/:project/builds: outcome unknown (response body larger than ${MAX_RESPONSE_BYTES} bytes, not read further): the build may have been created`,
    });
  });

  it('leave bodies up to the cap alone', async () => {
    const api = await hugeBody(MAX_RESPONSE_BYTES, false);
    expect(await outcome(transport(api.url).exchange(spec(true)))).toEqual({
      status: 200,
      bytes: MAX_RESPONSE_BYTES,
    });
  });
});
