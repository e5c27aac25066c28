import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/index.ts';

/** A simulator on 127.0.0.1 and a free port that `await using` (or `close()`) shuts down. */
export type TestSimulator = Simulator & AsyncDisposable;

/**
 * Starts a simulator for one test on loopback with the production defaults; pass
 * `now: () => clock.now().getTime()` to drive tokens, rate limits and builds with a ManualClock.
 */
export async function startTestSimulator(options: SimulatorOptions = {}): Promise<TestSimulator> {
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0, ...options });
  return Object.assign(simulator, { [Symbol.asyncDispose]: () => simulator.close() });
}

/** `Authorization: Basic …` for a username and password. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Authenticates as a user and returns the token and the first organization's UUID. */
export async function login(
  simulator: Simulator,
  username = 'demo@example.com',
  password = 'demo-password',
): Promise<{ token: string; orgUuid: string }> {
  const response = await fetch(`${simulator.url}/auth`, {
    method: 'POST',
    headers: { Authorization: basicAuth(username, password) },
  });
  if (response.status !== 200) throw new Error(`login failed with ${response.status}`);
  const body = (await response.json()) as {
    access_token: string;
    organizations: { uuid: string }[];
  };
  return { token: body.access_token, orgUuid: body.organizations[0]!.uuid };
}

/** An answer read whole: status, headers, raw text and the JSON it parses to (or null). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * One API call with `Authorization: Bearer <token>` (or `authorization` as given, `null` for
 * none); `path` is relative to the simulator's /v2 base.
 */
export async function call(
  simulator: Simulator,
  method: string,
  path: string,
  options: { token?: string; authorization?: string | null; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const authorization =
    options.authorization !== undefined
      ? options.authorization
      : options.token === undefined
        ? null
        : `Bearer ${options.token}`;
  if (authorization !== null) headers.Authorization = authorization;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${simulator.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, text, json };
}
