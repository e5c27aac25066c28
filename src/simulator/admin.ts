/**
 * The unauthenticated endpoints under /_simulator/ that tests, the demo and benchmarks use to
 * inspect and steer a simulator: recorded requests, builds, faults, pushes by others, a push
 * now, and notification webhooks. They are never recorded, rate limited or faulted.
 */
import { coerceError, SimulatorError } from './errors.ts';
import { type FaultInjector, validateFaults } from './faults.ts';
import type { ApiResponse } from './http-types.ts';
import { type PushPlanner, validatePushes } from './pushes.ts';
import type { World } from './state.ts';
import type { RequestRecord, SimBuild } from './types.ts';
import { validateWebhooks } from './webhook-settings.ts';
import type { WebhookNotifier } from './webhooks.ts';

/** What the admin endpoints reach into. */
interface AdminTarget {
  world: World;
  faults: FaultInjector;
  pushes: PushPlanner;
  webhooks: WebhookNotifier;
  requests(): RequestRecord[];
  resetRequests(): void;
}

const PUSH_KEYS = ['project', 'branch', 'username'];
const PUSH_EXAMPLE = '{"project": "acme/api", "branch": "main"}';

/** Why a push could not be made: 400 for a bad request, 404 for an unknown project. */
type PushProblem = { status: 400 | 404; errors: string[] };

/**
 * Someone else pushes now: `request` is `{project: name or UUID, branch, username?}`. Returns the
 * snapshot of the pushed build, or the problems with the request.
 */
function pushNow(
  target: Pick<AdminTarget, 'world' | 'pushes'>,
  request: unknown,
): SimBuild | PushProblem {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return { status: 400, errors: [`invalid push: must be a JSON object like ${PUSH_EXAMPLE}`] };
  }
  const fields = request as Record<string, unknown>;
  const issues: string[] = [];
  for (const key of Object.keys(fields)) {
    if (!PUSH_KEYS.includes(key))
      issues.push(`${key}: unknown key (expected one of ${PUSH_KEYS.join(', ')})`);
  }
  const { project, branch, username } = fields;
  const nonEmpty = (value: unknown) => typeof value === 'string' && value.trim() !== '';
  if (!nonEmpty(project))
    issues.push(
      `project: must be a project name or UUID (got ${JSON.stringify(project) ?? 'nothing'})`,
    );
  if (!nonEmpty(branch))
    issues.push(`branch: must be a branch name (got ${JSON.stringify(branch) ?? 'nothing'})`);
  if (username !== undefined && !nonEmpty(username))
    issues.push(`username: must be a non-empty string (got ${JSON.stringify(username)})`);
  if (issues.length > 0) return { status: 400, errors: issues };
  const { world, pushes } = target;
  const record = world.findProject(project as string);
  if (record === undefined) {
    return { status: 404, errors: [`no project "${project}" (expected a project name or UUID)`] };
  }
  const pusher = (username as string | undefined) ?? pushes.username;
  return world.snapshot(world.push(record, branch as string, world.now(), pusher));
}

/** `pushNow` for code: the snapshot, or a SimulatorError `ERR_SIMULATOR_PUSH`. */
export function pushOrThrow(
  target: Pick<AdminTarget, 'world' | 'pushes'>,
  request: { project: string; branch: string; username?: string },
): SimBuild {
  const result = pushNow(target, request);
  if ('errors' in result) {
    throw new SimulatorError('ERR_SIMULATOR_PUSH', `cannot push: ${result.errors.join('; ')}`);
  }
  return result;
}

/** Runs a setter on a JSON body: 200 with what it returns, or 400 with the error's message. */
function setFrom<T>(raw: string, what: string, apply: (body: unknown) => T): ApiResponse {
  try {
    const body = raw.trim() === '' ? null : parseJson(raw, what);
    return { status: 200, body: apply(body) };
  } catch (error) {
    return { status: 400, body: { errors: [coerceError(error).message] } };
  }
}

function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`invalid ${what}: the body is not valid JSON`);
  }
}

/**
 * The answer to `method path` under /_simulator/ with the request body `raw` ('' when none):
 * GET requests, builds, faults, pushes, webhooks; POST faults, pushes, push, webhooks,
 * reset-requests, reset-webhooks.
 */
export function answerAdmin(
  target: AdminTarget,
  method: string,
  path: string,
  raw: string,
): ApiResponse {
  const { world, faults, pushes, webhooks } = target;
  switch (`${method} ${path}`) {
    case 'GET /_simulator/requests':
      return { status: 200, body: target.requests() };
    case 'GET /_simulator/builds':
      return { status: 200, body: world.allBuilds().map((b) => world.snapshot(b)) };
    case 'GET /_simulator/faults':
      return { status: 200, body: faults.current };
    case 'GET /_simulator/pushes':
      return { status: 200, body: pushes.current };
    case 'GET /_simulator/webhooks':
      return { status: 200, body: webhooks.report() };
    case 'POST /_simulator/reset-requests':
      target.resetRequests();
      return { status: 204 };
    case 'POST /_simulator/reset-webhooks':
      webhooks.reset();
      return { status: 204 };
    case 'POST /_simulator/webhooks':
      return setFrom(raw, 'webhooks', (body) => {
        webhooks.set(validateWebhooks(body));
        return webhooks.report().settings;
      });
    case 'POST /_simulator/faults':
      return setFrom(raw, 'faults', (body) => {
        faults.set(validateFaults(body ?? {}));
        return faults.current;
      });
    case 'POST /_simulator/pushes':
      return setFrom(raw, 'pushes', (body) => {
        pushes.set(validatePushes(body));
        return pushes.current;
      });
    case 'POST /_simulator/push': {
      let body: unknown;
      try {
        body = raw.trim() === '' ? null : parseJson(raw, 'push');
      } catch (error) {
        return { status: 400, body: { errors: [coerceError(error).message] } };
      }
      const result = pushNow(target, body);
      return 'errors' in result
        ? { status: result.status, body: { errors: result.errors } }
        : { status: 201, body: result };
    }
    default:
      return { status: 404, body: { errors: ['route not found'] } };
  }
}
