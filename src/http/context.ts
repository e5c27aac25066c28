/**
 * What every route handler receives, and the route table's shape. Kept apart from the server so
 * handlers can be read (and tested through HTTP) without the listening code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../adapters/logger.ts';
import type { Runtime } from '../daemon/runtime.ts';
import type { ScheduleSet } from '../daemon/schedule-set.ts';
import type { Metrics } from '../metrics.ts';
import type { DashboardAuth } from './auth.ts';
import type { TriggerGuard } from './trigger-guard.ts';

export interface HttpDeps {
  readonly rt: Runtime;
  readonly schedules: ScheduleSet;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly auth: DashboardAuth;
  readonly guard: TriggerGuard;
  /** Aborted when the server closes: in-flight triggers stop waiting for the pacer. */
  readonly signal: AbortSignal;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** `:name` segments of the route template, URI-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly deps: HttpDeps;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** A path template such as `/api/schedules/:name/trigger`. */
  readonly path: string;
  handle(context: RequestContext): void | Promise<void>;
}
