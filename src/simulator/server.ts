/**
 * The HTTP shell: reads requests, records them, applies faults and latency, asks the API for an
 * answer and writes it; also the unauthenticated inspection endpoints under /_simulator/.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { coerceError } from '../core/errors.ts';
import { Api, routeTemplate } from './api.ts';
import { RateLimiter, readCredential, Tokens } from './auth.ts';
import { defaultSeed } from './default-seed.ts';
import { type FaultDecision, FaultInjector, validateFaults } from './faults.ts';
import type { ApiResponse } from './http-types.ts';
import { validateSeed } from './seed.ts';
import { World } from './state.ts';
import type { RequestRecord, Simulator, SimulatorOptions } from './types.ts';

const MAX_BODY_BYTES = 1_000_000;
const SECRET_KEY = /pass(word)?|token|secret/i;

/** A copy of a request body with anything that looks like a credential masked. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v)]),
  );
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): { body: unknown; invalid: boolean } {
  if (raw.trim() === '') return { body: null, invalid: false };
  try {
    return { body: JSON.parse(raw), invalid: false };
  } catch {
    return { body: raw, invalid: true };
  }
}

function send(response: ServerResponse, answer: ApiResponse): void {
  const headers: Record<string, string> = { ...answer.headers };
  let payload = '';
  if (answer.text !== undefined) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    payload = answer.text;
  } else if (answer.body !== undefined) {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    payload = JSON.stringify(answer.body);
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  response.writeHead(answer.status, headers).end(payload);
}

/** What an error fault answers: JSON from the app for 500, a proxy's HTML page for 502/503. */
function errorAnswer(status: 500 | 502 | 503): ApiResponse {
  if (status === 500) return { status, body: { errors: ['Internal Server Error'] } };
  const title = status === 502 ? '502 Bad Gateway' : '503 Service Temporarily Unavailable';
  return {
    status,
    text: `<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center></body></html>\n`,
    headers: { 'Content-Type': 'text/html' },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a simulator on `host` (default 127.0.0.1) and `port` (default 0: any free port).
 * Throws a SeedError for an invalid seed and a CodeshipCronError for invalid faults.
 */
export async function startSimulator(
  options: SimulatorOptions & { port?: number; host?: string } = {},
): Promise<Simulator> {
  const now = options.now ?? Date.now;
  const seed = validateSeed(options.seed ?? defaultSeed(now()), 'options.seed');
  const world = new World(seed, {
    now,
    buildDurationMs: options.buildDurationMs ?? 60_000,
    outcome: options.outcome ?? (({ branch }) => (branch.includes('fail') ? 'error' : 'success')),
  });
  const limiter = new RateLimiter(
    options.rateLimit === undefined ? { requests: 60, windowMs: 60_000 } : options.rateLimit,
  );
  const faults = new FaultInjector(options.faults ?? {});
  const api = new Api(world, new Tokens(options.tokenTtlSeconds ?? 3600), limiter, now);
  let records: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  const host = options.host ?? '127.0.0.1';
  let baseUrl = '';
  let closing: Promise<void> | null = null;

  async function inspect(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
  ): Promise<void> {
    const route = `${request.method} ${path}`;
    if (route === 'GET /_simulator/requests') return send(response, { status: 200, body: records });
    if (route === 'GET /_simulator/builds') {
      return send(response, { status: 200, body: world.allBuilds().map((b) => world.snapshot(b)) });
    }
    if (route === 'GET /_simulator/faults')
      return send(response, { status: 200, body: faults.current });
    if (route === 'POST /_simulator/reset-requests') {
      records = [];
      return send(response, { status: 204 });
    }
    if (route === 'POST /_simulator/faults') {
      const { body, invalid } = parseBody(await readBody(request));
      try {
        if (invalid) throw new Error('invalid faults: the body is not valid JSON');
        faults.set(validateFaults(body ?? {}));
      } catch (error) {
        return send(response, { status: 400, body: { errors: [coerceError(error).message] } });
      }
      return send(response, { status: 200, body: faults.current });
    }
    send(response, { status: 404, body: { errors: ['route not found'] } });
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator');
    const path = url.pathname;
    if (path.startsWith('/_simulator/')) return inspect(request, response, path);
    const method = request.method ?? 'GET';
    const { body, invalid } = parseBody(await readBody(request));
    const credential = readCredential(request.headers.authorization);
    const record: RequestRecord = {
      at: new Date(now()).toISOString(),
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      body: redact(body),
      fault: null,
      authorization: credential.kind,
    };
    records.push(record);
    const template = routeTemplate(path) ?? path;
    const act = async (fault: FaultDecision, prefix: string, answer: () => ApiResponse) => {
      if (fault.kind !== 'none') record.fault = `${prefix}${fault.kind}`;
      // Held: the socket stays open until the client gives up or close() destroys it.
      if (fault.kind === 'timeout') return;
      if (fault.kind === 'reset') return void request.socket.destroy();
      const result = fault.kind === 'error' ? errorAnswer(fault.status) : answer();
      record.status = result.status;
      send(response, result);
    };
    const fault = faults.decide(method, template, path);
    const latencyMs = faults.latencyMs(method, template, path);
    if (latencyMs > 0) await sleep(latencyMs);
    if (fault.kind !== 'none') return act(fault, '', () => ({ status: 500 }));
    const answer = api.handle({
      method,
      path,
      query: record.query,
      body,
      bodyInvalid: invalid,
      credential,
      baseUrl,
    });
    if (answer.created !== undefined) {
      const ghost = faults.decideGhost(method, template, path);
      if (ghost.kind !== 'none') answer.created.ghost = true;
      return act(ghost, 'ghost-', () => answer);
    }
    return act({ kind: 'none' }, '', () => answer);
  }

  const server = createServer((request, response) => {
    // Every answer carries the simulated server clock (HTTP-date), never the real one.
    response.setHeader('Date', new Date(now()).toUTCString());
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        send(response, { status: 500, body: { errors: [coerceError(error).message] } });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/v2`;

  return {
    url: baseUrl,
    port,
    requests: () => records.map((r) => ({ ...r, query: { ...r.query } })),
    resetRequests: () => {
      records = [];
    },
    builds: () => world.allBuilds().map((b) => world.snapshot(b)),
    setFaults: (next) => faults.set(next),
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Held (timeout-fault) and keep-alive sockets would otherwise keep close() waiting.
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
