/**
 * Test harness for the Codeship client: the simulator on 127.0.0.1 sharing a ManualClock with the
 * client, pino output captured line by line, and the observer's events recorded.
 */
import { Writable } from 'node:stream';
import { createCodeshipClient } from '../../src/adapters/codeship-client.ts';
import type { ClientObserver } from '../../src/adapters/codeship-request.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import type { ApiConfig } from '../../src/config.ts';
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/index.ts';
import { ManualClock, settle } from '../helpers/manual-clock.ts';

export const START = '2025-03-01T12:00:00.000Z';

export interface HarnessOptions {
  sim?: SimulatorOptions;
  /** Server time minus client time, for clock-skew tests. */
  simSkewMs?: number;
  api?: Partial<ApiConfig>;
  requestTimeoutMs?: number;
  retryLimit?: number;
}

/** Starts a simulator and a client on one ManualClock; call `close()` in `afterEach`. */
export async function harness(options: HarnessOptions = {}) {
  const clock = new ManualClock(START);
  const sim: Simulator = await startSimulator({
    port: 0,
    now: () => clock.now().getTime() + (options.simSkewMs ?? 0),
    ...options.sim,
  });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const events: { kind: string; [key: string]: unknown }[] = [];
  const observer: ClientObserver = {
    request: (e) => events.push({ kind: 'request', ...e }),
    rateLimited: (e) => events.push({ kind: 'rateLimited', ...e }),
  };
  const api: ApiConfig = {
    baseUrl: sim.url,
    username: DEMO_USERNAME,
    password: DEMO_PASSWORD,
    organization: null,
    rateLimitPerMinute: 60,
    ...options.api,
  };
  const client = createCodeshipClient({
    api,
    clock,
    logger,
    observer,
    requestTimeoutMs: options.requestTimeoutMs,
    retryLimit: options.retryLimit,
  });
  /** `METHOD /path STATUS` of every request the simulator received. */
  const seen = () =>
    sim
      .requests()
      .map(
        (r) => `${r.method} ${r.path.replace(/\/v2\/organizations\/[^/]+/, '/v2/org')} ${r.status}`,
      );
  return { clock, sim, client, lines, events, api, seen, close: () => sim.close() };
}

/** Awaits `condition`, letting I/O and timers of the code under test run; fails after 5 s. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(1);
  }
}

/** The rejection of `promise` (which must reject). */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}
