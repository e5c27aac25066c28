/**
 * The HTTP shell: reads requests, records them, applies faults and latency, asks the API for an
 * answer and writes it with the server clock's `Date`; /_simulator/ goes to the admin endpoints.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { answerAdmin, pushOrThrow } from './admin.ts';
import { Api, routeTemplate } from './api.ts';
import { RateLimiter, readCredential, Tokens } from './auth.ts';
import { defaultSeed } from './default-seed.ts';
import { coerceError, SimulatorError } from './errors.ts';
import { type FaultDecision, FaultInjector } from './faults.ts';
import type { ApiResponse } from './http-types.ts';
import { PushPlanner } from './pushes.ts';
import { validateSeed } from './seed.ts';
import { World } from './state.ts';
import type { RequestRecord, Simulator, SimulatorOptions } from './types.ts';
import { WebhookNotifier } from './webhooks.ts';

const MAX_BODY_BYTES = 1_000_000;
/** How often (real time) the simulator looks for builds that started or finished. */
const WEBHOOK_SCAN_MS = 100;
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

/**
 * Writes an answer. `Date` comes from the server's clock (`serverMs`), in HTTP-date form with 1 s
 * resolution like any web server's, instead of the real time Node would add.
 */
function send(response: ServerResponse, answer: ApiResponse, serverMs: number): void {
  response.sendDate = false;
  const headers: Record<string, string> = {
    ...answer.headers,
    Date: new Date(serverMs).toUTCString(),
  };
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

function checkOptions(options: SimulatorOptions): void {
  const issues: string[] = [];
  const offset = options.clockOffsetMs;
  if (offset !== undefined && !Number.isFinite(offset)) {
    issues.push(`clockOffsetMs: must be a finite number of milliseconds (got ${offset})`);
  }
  const salt = options.idSalt;
  if (salt !== undefined && (typeof salt !== 'string' || salt === '')) {
    issues.push(`idSalt: must be a non-empty string (got ${JSON.stringify(salt)})`);
  }
  if (issues.length > 0) {
    throw new SimulatorError(
      'ERR_SIMULATOR_OPTIONS',
      `invalid simulator options:\n  ${issues.join('\n  ')}`,
    );
  }
}

/**
 * Starts a simulator on `host` (default 127.0.0.1) and `port` (default 0: any free port).
 * Throws a SeedError for an invalid seed and a SimulatorError for invalid faults, pushes
 * (`ERR_SIMULATOR_PUSHES`), webhooks (`ERR_SIMULATOR_WEBHOOKS`) or options (`ERR_SIMULATOR_OPTIONS`).
 */
export async function startSimulator(
  options: SimulatorOptions & { port?: number; host?: string } = {},
): Promise<Simulator> {
  checkOptions(options);
  const now = options.now ?? Date.now;
  let clockOffsetMs = options.clockOffsetMs ?? 0;
  // The server's clock: everything inside the simulator runs on it.
  const serverNow = () => now() + clockOffsetMs;
  const seed = validateSeed(options.seed ?? defaultSeed(serverNow()), 'options.seed');
  const faults = new FaultInjector(options.faults ?? {});
  const pushes = new PushPlanner(options.pushes ?? null);
  const world = new World(seed, {
    now: serverNow,
    buildDurationMs: options.buildDurationMs ?? 60_000,
    outcome: options.outcome ?? (({ branch }) => (branch.includes('fail') ? 'error' : 'success')),
    idSalt: options.idSalt ?? randomUUID(),
    pushes,
  });
  const webhooks = new WebhookNotifier(world, options.webhooks ?? null);
  const limiter = new RateLimiter(
    options.rateLimit === undefined ? { requests: 60, windowMs: 60_000 } : options.rateLimit,
  );
  const api = new Api(world, new Tokens(options.tokenTtlSeconds ?? 3600), limiter, serverNow);
  let records: RequestRecord[] = [];
  const admin = {
    world,
    faults,
    pushes,
    webhooks,
    requests: () => records.map((r) => ({ ...r, query: { ...r.query } })),
    resetRequests: () => {
      records = [];
    },
  };
  const sockets = new Set<Socket>();
  const host = options.host ?? '127.0.0.1';
  let baseUrl = '';
  let closing: Promise<void> | null = null;

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const raw = await readBody(request);
    // Builds change status as time passes; announce what changed before anyone looks.
    webhooks.scan();
    if (path.startsWith('/_simulator/')) {
      return send(response, answerAdmin(admin, method, path, raw), serverNow());
    }
    const { body, invalid } = parseBody(raw);
    const credential = readCredential(request.headers.authorization);
    const record: RequestRecord = {
      at: new Date(serverNow()).toISOString(),
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
      send(response, result, serverNow());
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
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        send(
          response,
          { status: 500, body: { errors: [coerceError(error).message] } },
          serverNow(),
        );
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
  const scanTimer = setInterval(() => webhooks.scan(), WEBHOOK_SCAN_MS).unref();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/v2`;

  return {
    url: baseUrl,
    port,
    requests: admin.requests,
    resetRequests: admin.resetRequests,
    builds: () => world.allBuilds().map((b) => world.snapshot(b)),
    setFaults: (next) => faults.set(next),
    setPushes: (next) => pushes.set(next),
    setWebhooks: (next) => webhooks.set(next),
    webhooks: () => webhooks.report(),
    flushWebhooks: () => webhooks.flush(),
    resetWebhooks: () => webhooks.reset(),
    setClockOffset: (next) => {
      checkOptions({ clockOffsetMs: next });
      clockOffsetMs = next;
    },
    push: (project, branch, username) =>
      pushOrThrow(admin, { project, branch, ...(username === undefined ? {} : { username }) }),
    close: () => {
      clearInterval(scanTimer);
      closing ??= Promise.all([
        webhooks.close(),
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // Held (timeout-fault) and keep-alive sockets would otherwise keep close() waiting.
          for (const socket of sockets) socket.destroy();
        }),
      ]).then(() => undefined);
      return closing;
    },
  };
}
