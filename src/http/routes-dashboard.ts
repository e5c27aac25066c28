/**
 * The status page and its JSON API: `GET /`, `GET /api/schedules[/:name]`, `GET /api/slots`,
 * `POST /api/schedules/:name/trigger` (the CLI's manual trigger path), `POST /login`, `POST /logout`.
 * Reading is open (bind to loopback); writing needs DASHBOARD_TOKEN, see `auth.ts`.
 */
import { CodeshipCronError, CodeshipError, coerceError } from '../core/errors.ts';
import { triggerManually } from '../daemon/manual.ts';
import { toStatusRow } from '../daemon/status-view.ts';
import type { HttpDeps, RequestContext, Route } from './context.ts';
import { OTHER_BRANCH, type PageAccess, renderPage } from './page.ts';
import { HttpError, isFormPost, readFields, redirect, sendHtml, sendJson } from './respond.ts';
import { parseScheduleQuery, selectSchedules } from './schedule-query.ts';
import { clientAddress } from './throttle.ts';
import { cardViews, scheduleViews } from './view.ts';

/** The page shows this many schedules at a time. */
export const PAGE_SCHEDULES = 50;
/** Recent slots per schedule the JSON API returns at most (a page stays well under a megabyte). */
const MAX_RECENT = 20;
/** Slots shown per schedule in the page's table (the strip shows the last 30). */
const PAGE_RECENT = 8;
const NAME = /^[A-Za-z0-9._-]+$/;

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new HttpError(400, `${name} must be an integer from 1 to ${max} (got "${text}")`);
  }
  return value;
}

function scheduleOf({ deps, params }: RequestContext) {
  const name = params.name as string;
  const schedule = deps.schedules.get(name);
  if (!schedule) throw new HttpError(404, `no schedule named "${name}"`);
  return schedule;
}

/** The name of a project a schedule gives by UUID, from the daemon's last project list. */
function projectNames(context: RequestContext): (project: string) => string | null {
  const byUuid = new Map(context.deps.rt.projects.known().map((p) => [p.uuid, p.name]));
  return (project) => byUuid.get(project) ?? null;
}

async function renderFor(context: RequestContext, access: PageAccess, status = 200) {
  const { deps, res, url } = context;
  const query = parseScheduleQuery(url, PAGE_SCHEDULES);
  const now = deps.rt.clock.now();
  const projectName = projectNames(context);
  const page = await selectSchedules(deps.rt.ledger, deps.schedules, query, now, projectName);
  const cards = await cardViews(deps.rt.ledger, page.schedules, now, {
    recent: PAGE_RECENT,
    projectName,
    summaries: page.summaries,
    downstreams: (name) => deps.schedules.downstreams(name),
  });
  sendHtml(
    res,
    status,
    renderPage({
      cards,
      total: deps.schedules.size,
      matched: page.total,
      offset: page.offset,
      filter: { q: url.searchParams.get('q')?.trim() ?? '', state: query.state ?? '' },
      nextCursor: page.nextCursor,
      now,
      access,
      backlog: await deps.rt.ledger.sendBacklog(),
      leadership: deps.rt.ledger.lease
        ? {
            instance: deps.rt.leadership.instance,
            leading: deps.rt.leadership.isLeader(),
            leader: deps.rt.leadership.leader()?.holder ?? null,
          }
        : undefined,
    }),
  );
}

/**
 * Computes the first page once, in the background, right after the server starts listening:
 * the next fires of every schedule, the compiled expressions, the zones' formatters and the
 * renderer are then warm, so the first visitor of a 10,000-schedule fleet waits for the ledger only. A failure
 * (the ledger closed meanwhile) is left to the first real request to report.
 */
export async function warmDashboard(deps: HttpDeps): Promise<void> {
  const now = deps.rt.clock.now();
  const page = await selectSchedules(
    deps.rt.ledger,
    deps.schedules,
    parseScheduleQuery(new URL('http://localhost/'), PAGE_SCHEDULES),
    now,
  );
  const cards = await cardViews(deps.rt.ledger, page.schedules, now, {
    recent: PAGE_RECENT,
    summaries: page.summaries,
  });
  renderPage({ cards, total: deps.schedules.size, now, access: { kind: 'read-only' } });
}

function accessOf(context: RequestContext): PageAccess {
  const { auth } = context.deps;
  if (!auth.enabled) return { kind: 'read-only' };
  const principal = auth.identify(context.req);
  if (principal.kind === 'session') return { kind: 'writer', csrf: principal.session.csrf };
  if (principal.kind === 'bearer') return { kind: 'writer', csrf: null };
  return { kind: 'login', error: null };
}

/** Maps what `triggerManually` throws to a 4xx/502 (the message is the API's or ours, never a secret); anything else stays a 500. */
function triggerFailure(error: Error): Error {
  // The page has no override for a branch the schedule does not name (the CLI's --any-branch).
  if (
    error instanceof CodeshipCronError &&
    (error.code === 'ERR_BRANCH_INVALID' || error.code === 'ERR_BRANCH_NOT_IN_SCHEDULE')
  )
    return new HttpError(400, error.message);
  if (error instanceof CodeshipCronError && error.code === 'ERR_NOTHING_TO_TRIGGER')
    return new HttpError(409, error.message);
  if (error instanceof CodeshipError) return new HttpError(502, `Codeship: ${error.message}`);
  // A standby on a shared ledger sends nothing (README, "Several instances on PostgreSQL").
  if (error instanceof CodeshipCronError && error.code === 'ERR_LEDGER_NOT_LEADER')
    return new HttpError(
      409,
      `this instance is a standby: trigger on the leader (${error.message})`,
    );
  return error;
}

/**
 * The branch a trigger asks for: `branch`, or the page's free-text field `branch_other` (a branch
 * matching one of the schedule's globs) when the select says OTHER_BRANCH or is absent; none
 * (every branch) when both are empty.
 */
function branchOf(fields: Record<string, string>): string | undefined {
  const chosen = fields.branch?.trim() ?? '';
  const typed = fields.branch_other?.trim() ?? '';
  if (chosen !== '' && chosen !== OTHER_BRANCH) return chosen;
  if (typed !== '') return typed;
  if (chosen === OTHER_BRANCH) throw new HttpError(400, 'type a branch name to trigger');
  return undefined;
}

async function trigger(context: RequestContext): Promise<void> {
  const { req, res, deps } = context;
  // Cheap refusals first (read-only, wrong bearer), before reading a body.
  if (!deps.auth.enabled) deps.auth.requireWriter(req, undefined);
  deps.auth.identify(req);
  const fields = await readFields(req);
  const header = req.headers['x-csrf-token'];
  deps.auth.requireWriter(req, (Array.isArray(header) ? header[0] : header) ?? fields.csrf);
  const schedule = scheduleOf(context);
  const branch = branchOf(fields);
  const release = deps.guard.admit(schedule.name);
  let slots: ReturnType<typeof toStatusRow>[];
  try {
    const sent = await triggerManually(deps.rt, schedule, { branch, signal: deps.signal });
    slots = sent.map(toStatusRow);
  } catch (raw) {
    throw triggerFailure(coerceError(raw));
  } finally {
    release();
  }
  deps.logger.info(
    { schedule: schedule.name, slots: slots.length, branch: branch ?? null },
    'manual trigger from the dashboard',
  );
  if (isFormPost(req)) redirect(res, '/');
  else sendJson(res, 202, { slots });
}

export const dashboardRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/',
    handle: (context) => renderFor(context, accessOf(context)),
  },
  {
    method: 'GET',
    path: '/api/schedules',
    async handle(context) {
      const { res, url, deps } = context;
      const recent = intParam(url, 'recent', 5, MAX_RECENT);
      const now = deps.rt.clock.now();
      const projectName = projectNames(context);
      const query = parseScheduleQuery(url);
      const page = await selectSchedules(deps.rt.ledger, deps.schedules, query, now, projectName);
      sendJson(res, 200, {
        schedules: await scheduleViews(deps.rt.ledger, page.schedules, now, {
          recent,
          projectName,
          summaries: page.summaries,
          downstreams: (name) => deps.schedules.downstreams(name),
        }),
        total: page.total,
        next_cursor: page.nextCursor,
      });
    },
  },
  {
    method: 'GET',
    path: '/api/schedules/:name',
    async handle(context) {
      const recent = intParam(context.url, 'recent', 5, MAX_RECENT);
      const { deps } = context;
      const [view] = await scheduleViews(
        deps.rt.ledger,
        [scheduleOf(context)],
        deps.rt.clock.now(),
        {
          recent,
          projectName: projectNames(context),
          downstreams: (name) => deps.schedules.downstreams(name),
        },
      );
      sendJson(context.res, 200, view);
    },
  },
  {
    method: 'GET',
    path: '/api/slots',
    async handle({ res, url, deps }) {
      const limit = intParam(url, 'limit', 50, 1000);
      const schedule = url.searchParams.get('schedule') || null;
      if (schedule !== null && !NAME.test(schedule)) {
        throw new HttpError(400, 'schedule must be a schedule name ([A-Za-z0-9._-]+)');
      }
      const slots = await deps.rt.ledger.listSlots({ schedule, limit });
      sendJson(res, 200, { slots: slots.map(toStatusRow) });
    },
  },
  { method: 'POST', path: '/api/schedules/:name/trigger', handle: trigger },
  {
    method: 'POST',
    path: '/login',
    async handle(context) {
      const { req, res, deps } = context;
      const fields = await readFields(req);
      const session = deps.auth.login(fields.token ?? '', clientAddress(req));
      if (session === null) {
        if (isFormPost(req))
          await renderFor(context, { kind: 'login', error: 'wrong dashboard token' }, 401);
        else sendJson(res, 401, { error: 'wrong dashboard token' });
        return;
      }
      const cookie = { 'set-cookie': deps.auth.cookie(session) };
      if (isFormPost(req)) redirect(res, '/', cookie);
      else sendJson(res, 200, { status: 'logged in' }, cookie);
    },
  },
  {
    method: 'POST',
    path: '/logout',
    async handle({ req, res, deps }) {
      const fields = await readFields(req);
      const header = req.headers['x-csrf-token'];
      const principal = deps.auth.requireWriter(
        req,
        (Array.isArray(header) ? header[0] : header) ?? fields.csrf,
      );
      if (principal.kind === 'session') deps.auth.logout(principal.session);
      redirect(res, '/', { 'set-cookie': deps.auth.cookie(null) });
    },
  },
];
