/**
 * The status page, rendered on the server as one HTML document. Everything that comes from
 * schedule files, the ledger or the API (names, reasons, errors, build statuses) goes through
 * `escapeHtml`; attribute values are quoted. Every time is shown in UTC with the schedule's own
 * wall time on hover (core/wall-time.ts). Only the "Trigger now" panels depend on who asks.
 */
import { isBranchGlob } from '../core/branch-glob.ts';
import { formatDuration } from '../core/time.ts';
import { formatInZone, formatUtc } from '../core/wall-time.ts';
import type { StatusRow } from '../daemon/status-view.ts';
import { FAVICON, PAGE_CSS, PAGE_JS, REFRESH_MS } from './page-assets.ts';
import { type CardView, HISTORY_WINDOW, SUCCESS_WINDOW } from './view.ts';

/** What the visitor may do: nothing (no token configured), log in, or trigger (with its CSRF token). */
export type PageAccess =
  | { kind: 'read-only' }
  | { kind: 'login'; error: string | null }
  | { kind: 'writer'; csrf: string | null };

/** The branch select's value for "a branch matching a glob", typed into `branch_other`. */
export const OTHER_BRANCH = '*other';

export interface PageModel {
  cards: readonly CardView[];
  /** Schedules loaded in total (the page may show fewer). */
  total: number;
  /** Schedules that match the filter (all pages); `total` when there is none. */
  matched?: number;
  /** Matching schedules before this page. */
  offset?: number;
  /** The filter as asked (`q`, `state`), echoed into the filter form and page links. */
  filter?: { q: string; state: string };
  /** Cursor of the next page of matching schedules; null on the last page. */
  nextCursor?: string | null;
  now: Date;
  access: PageAccess;
  /** Slots waiting to be sent (the send backlog); the header names them when there are any. */
  backlog?: number;
  /** Who leads a shared (PostgreSQL) ledger; absent on SQLite, whose one daemon always leads. */
  leadership?: { instance: string; leading: boolean; leader: string | null };
}

/** ` · leader: a (this instance)` or ` · standby b, leader: a` on a shared ledger. */
function leadershipNote(leadership: PageModel['leadership']): string {
  if (!leadership) return '';
  const text = leadership.leading
    ? `leader: ${leadership.instance} (this instance)`
    : `standby ${leadership.instance}, leader: ${leadership.leader ?? 'none yet'}`;
  return ` · <span class="leadership">${escapeHtml(text)}</span>`;
}

/** ` · 3 slots waiting for the API budget` in the header while creates wait (README, "Overload"). */
function backlogNote(backlog: number | undefined): string {
  if (!backlog) return '';
  return ` · <span class="backlog">${backlog} slot${backlog === 1 ? '' : 's'} waiting for the API budget</span>`;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** `in 42 s`, `in 3 min`, `in 2 h 5 min`, `in 4 d`. */
export function relativeTime(fromMs: number, toMs: number): string {
  const s = Math.max(0, Math.round((toMs - fromMs) / 1000));
  if (s < 90) return `in ${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `in ${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `in ${h} h ${min % 60} min`;
  return `in ${Math.round(h / 24)} d`;
}

/** `42 s`, `3 min 20 s`, `1 h 5 min`: a build's duration. */
export function shortDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 === 0 ? `${min} min` : `${min} min ${s % 60} s`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** The colour class of a slot: green success, red failure, blue in progress, grey skipped. */
export function toneOf(
  row: Pick<StatusRow, 'state' | 'build_status' | 'error'>,
): 'ok' | 'bad' | 'run' | 'skip' | 'warn' {
  if (row.state === 'finished') return row.build_status === 'success' ? 'ok' : 'bad';
  if (row.state === 'failed') return 'bad';
  if (row.state === 'skipped') return 'skip';
  if (row.state === 'pending' && row.error) return 'warn';
  return 'run';
}

/** An instant in UTC, with the schedule's wall time on hover. */
function timeTag(iso: string, timezone: string): string {
  const at = new Date(iso);
  return `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(`${formatInZone(at, timezone)} (${timezone})`)}">${escapeHtml(formatUtc(at))}</time>`;
}

/** Why a slot is where it is: its error while pending, else its reason (finished ones too). */
function reasonOf(row: StatusRow): string {
  const reason = row.error ?? row.reason ?? '';
  const shown = reason === 'manual' ? '' : reason;
  if (!row.cause) return shown;
  // A chain's slot says which upstream build fired it.
  const cause = `after ${row.cause.project} ${row.cause.branch} ${row.cause.build_uuid.slice(0, 8)} (${row.cause.status})`;
  return shown ? `${shown}; ${cause}` : cause;
}

/** A link to another schedule's card (found by search, so it works on any page). */
function scheduleLink(name: string): string {
  return `<a class="chain-link" href="/?q=${encodeURIComponent(name)}#schedule-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
}

/** How a card fires: its cron expression, or its upstreams, linked. */
function whenOf(view: CardView): string {
  if (!view.after) {
    return `<dt>When</dt><dd><code>${escapeHtml(view.cron)}</code> ${escapeHtml(view.description)}</dd>`;
  }
  const upstreams = view.after.upstreams
    .map((u) =>
      'schedule' in u
        ? `${scheduleLink(u.schedule)} <span class="meta">(${escapeHtml(u.status)})</span>`
        : `<code>${escapeHtml(u.project)}</code> <code>${escapeHtml(u.branch)}</code> <span class="meta">(${escapeHtml(u.status)})</span>`,
    )
    .join(', ');
  const within =
    view.after.upstreams.length > 1
      ? ` <span class="meta">all within ${escapeHtml(formatDuration(view.after.withinMs))}</span>`
      : '';
  return `<dt>After</dt><dd class="upstreams">${upstreams}${within}</dd>`;
}

/** `build 1a2b3c4d at 89abcde, claim: exact` (or `claim not recorded`). */
function buildSummary(row: StatusRow): string {
  if (!row.build_uuid) return 'no build';
  const commit = row.commit_sha ? ` at ${row.commit_sha.slice(0, 7)}` : '';
  return `build ${row.build_uuid}${commit} (${row.build_status ?? '?'}), claim: ${row.claim ?? 'not recorded'}`;
}

/**
 * The build's short UUID; its full UUID, commit and how it was identified on hover, and an
 * ambiguous claim (`nearest of N`) spelled out, so an operator can audit it.
 */
function buildCode(row: StatusRow): string {
  const uuid = row.build_uuid ?? '';
  const commit = row.commit_sha ? ` at ${row.commit_sha.slice(0, 7)}` : '';
  const title = `${uuid}${commit}; claim: ${row.claim ?? 'not recorded'}`;
  const ambiguous =
    row.claim && row.claim !== 'exact'
      ? ` <span class="claim" data-claim="${escapeHtml(row.claim)}">${escapeHtml(row.claim)}</span>`
      : '';
  return `<code title="${escapeHtml(title)}" data-claim="${escapeHtml(row.claim ?? '')}">${escapeHtml(uuid.slice(0, 8))}</code>${ambiguous}`;
}

function slotRow(row: StatusRow, timezone: string): string {
  const tone = toneOf(row);
  const build = row.build_uuid
    ? `<span class="chip ${row.state === 'finished' ? tone : 'run'}" data-build-status="${escapeHtml(row.build_status)}">${escapeHtml(row.build_status ?? '?')}</span> ${buildCode(row)}`
    : '<span class="skip-text">—</span>';
  return `<tr data-slot-state="${escapeHtml(row.state)}"${row.manual ? ' data-manual="true"' : ''}>
<td data-label="Slot">${timeTag(row.slot, timezone)}${row.manual ? '<span class="manual">manual</span>' : ''}</td>
<td data-label="Branch"><code>${escapeHtml(row.branch)}</code></td>
<td data-label="State"><span class="chip ${tone}">${escapeHtml(row.state)}</span></td>
<td data-label="Reason" class="reason">${escapeHtml(reasonOf(row))}</td>
<td data-label="Build">${build}</td>
<td data-label="Attempts">${row.attempts}</td>
</tr>`;
}

/** The last HISTORY_WINDOW slots as squares, oldest left, each with its story on hover. */
function strip(card: CardView): string {
  if (card.history.length === 0) return '';
  const squares = [...card.history]
    .reverse()
    .map((row) => {
      const at = new Date(row.slot);
      const reason = reasonOf(row);
      const wall = card.timezone === 'UTC' ? '' : ` (${formatInZone(at, card.timezone)})`;
      const title = [
        `${formatUtc(at)}${wall}${row.manual ? ', manual' : ''}`,
        `${row.branch}: ${row.state}${reason ? ` (${reason})` : ''}`,
        buildSummary(row),
      ].join('\n');
      return `<span class="sq ${toneOf(row)}" data-state="${escapeHtml(row.state)}" title="${escapeHtml(title)}"></span>`;
    })
    .join('');
  return `<div class="strip" role="img" aria-label="last ${card.history.length} slots, oldest first">${squares}</div>`;
}

const SPARK_W = 120;
const SPARK_H = 28;

/** A polyline of the last builds' durations (queued → finished), scaled to the longest. */
function sparkline(durationsMs: readonly number[]): string {
  if (durationsMs.length < 2) return '';
  const max = Math.max(...durationsMs, 1);
  const step = SPARK_W / (durationsMs.length - 1);
  const points = durationsMs
    .map(
      (ms, i) =>
        `${(i * step).toFixed(1)},${(SPARK_H - 2 - (ms / max) * (SPARK_H - 4)).toFixed(1)}`,
    )
    .join(' ');
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const label = `build durations, last ${durationsMs.length}: median ${shortDuration(median)}, shortest ${shortDuration(sorted[0] as number)}, longest ${shortDuration(max)}`;
  return `<svg class="spark" viewBox="0 0 ${SPARK_W} ${SPARK_H}" width="${SPARK_W}" height="${SPARK_H}" role="img" aria-label="${escapeHtml(label)}"><title>${escapeHtml(label)}</title><polyline points="${points}"/></svg>`;
}

function successText(card: CardView): string {
  const rate = card.successRate;
  if (rate.percent === null) return `<span class="success">no outcomes yet</span>`;
  const tone = rate.percent >= 90 ? 'ok' : rate.percent >= 60 ? 'warn' : 'bad';
  return `<span class="success" title="last ${SUCCESS_WINDOW} slots with an outcome"><strong class="chip ${tone}">${rate.percent}%</strong> success (${rate.succeeded}/${rate.outcomes})</span>`;
}

/**
 * "Trigger now": a panel that opens on click (the confirmation step) with one branch to pick,
 * the schedule's named branches in a select and, for its globs, a branch typed in (the server
 * refuses one the schedule does not match). Works without JS as a plain form post.
 */
function triggerPanel(card: CardView, csrf: string): string {
  const action = `/api/schedules/${encodeURIComponent(card.name)}/trigger`;
  const named = card.branches.filter((b) => !isBranchGlob(b));
  const globs = card.branches.filter((b) => isBranchGlob(b));
  const options = named.map((b) => `<option value="${escapeHtml(b)}">${escapeHtml(b)}</option>`);
  if (globs.length > 0 && named.length > 0)
    options.push(
      `<option value="${OTHER_BRANCH}">other branch matching ${escapeHtml(globs.join(', '))}</option>`,
    );
  const select =
    named.length > 0
      ? `<label>Branch <select name="branch" aria-label="branch to trigger">${options.join('')}</select></label>`
      : '';
  const typed =
    globs.length > 0
      ? `<label class="other${named.length > 0 ? ' hidden-until-other' : ''}">${named.length > 0 ? 'Other' : 'Branch'} <input type="text" name="branch_other" placeholder="${escapeHtml(globs[0])}" aria-label="branch matching ${escapeHtml(globs.join(', '))}" maxlength="200"${named.length === 0 ? ' required' : ''}></label>`
      : '';
  return `<details class="trigger" data-schedule="${escapeHtml(card.name)}">
<summary>Trigger now</summary>
<form class="trigger" method="post" action="${escapeHtml(action)}" data-schedule="${escapeHtml(card.name)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">${select}${typed}
<div class="confirm"><button class="primary" type="submit">Confirm trigger</button><button type="button" class="cancel">Cancel</button></div>
</form>
</details>`;
}

const ATTENTION_CHIP = {
  failing: '<span class="chip bad attention">failing</span>',
  late: '<span class="chip warn attention">late</span>',
  ok: '',
} as const;

function card(view: CardView, model: PageModel): string {
  const next = view.nextFireAt
    ? `${timeTag(view.nextFireAt, view.timezone)} <span class="rel">(${escapeHtml(relativeTime(model.now.getTime(), Date.parse(view.nextFireAt)))})</span>`
    : view.enabled
      ? 'never again'
      : '<span class="chip skip">disabled</span>';
  const button = model.access.kind === 'writer' ? triggerPanel(view, model.access.csrf ?? '') : '';
  const project = view.projectName
    ? `<span title="${escapeHtml(view.project)}">${escapeHtml(view.projectName)}</span>`
    : escapeHtml(view.project);
  const rows = view.recent.map((row) => slotRow(row, view.timezone)).join('\n');
  return `<section class="card" id="schedule-${escapeHtml(view.name)}" data-schedule="${escapeHtml(view.name)}" data-attention="${view.attention}">
<div class="card-head">
<div class="title">
<h2>${escapeHtml(view.name)}</h2>${ATTENTION_CHIP[view.attention]}
<dl class="facts">
${whenOf(view)}${
  view.after
    ? ''
    : `
<dt>Zone</dt><dd>${escapeHtml(view.timezone)}</dd>
<dt>Next fire</dt><dd data-next-fire="${escapeHtml(view.nextFireAt)}">${next}</dd>`
}${
  view.downstreams.length > 0
    ? `
<dt>Then</dt><dd class="downstreams">${view.downstreams.map(scheduleLink).join(', ')}</dd>`
    : ''
}
<dt>Project</dt><dd>${project}</dd>
<dt>Branches</dt><dd>${view.branches.map((b) => `<code>${escapeHtml(b)}</code>`).join(' ')}</dd>
</dl>
</div>
<div class="side">${successText(view)}${sparkline(view.durationsMs)}${button}</div>
</div>
${strip(view)}
${
  rows
    ? `<table><thead><tr><th>Slot (UTC)</th><th>Branch</th><th>State</th><th>Reason</th><th>Build</th><th>Attempts</th></tr></thead><tbody>
${rows}
</tbody></table>`
    : '<div class="empty">no slots recorded yet</div>'
}
</section>`;
}

function accessBar(access: PageAccess): string {
  if (access.kind === 'read-only')
    return '<span class="meta">read-only: set DASHBOARD_TOKEN to enable "Trigger now"</span>';
  if (access.kind === 'login') {
    return `<form method="post" action="/login"><input type="password" name="token" placeholder="dashboard token" aria-label="dashboard token" autocomplete="current-password" required><button type="submit">Log in</button></form>`;
  }
  if (access.csrf === null) return '<span class="meta">authorized by bearer token</span>';
  return `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(access.csrf)}"><span class="meta">logged in</span><button type="submit">Log out</button></form>`;
}

/** The filters offered, in the order of the select (`state=` of the page and the API). */
const FILTER_OPTIONS: readonly (readonly [string, string])[] = [
  ['', 'all schedules'],
  ['failing', 'failing'],
  ['late', 'late'],
  ['running', 'running'],
  ['skipped', 'skipped'],
  ['chains', 'in a chain'],
  ['disabled', 'disabled'],
  ['pending', 'newest slot pending'],
  ['triggered', 'newest slot triggered'],
  ['finished', 'newest slot finished'],
  ['failed', 'newest slot failed'],
  ['none', 'no slot yet'],
];

/** The search and filter form (a plain GET, so URLs keep the query and work without JS). */
function filterBar(filter: { q: string; state: string }): string {
  const options = FILTER_OPTIONS.map(
    ([value, label]) =>
      `<option value="${value}"${value === filter.state ? ' selected' : ''}>${label}</option>`,
  ).join('');
  return `<form class="filter" method="get" action="/" role="search"><input type="search" name="q" value="${escapeHtml(filter.q)}" placeholder="name, project or branch" aria-label="search by name, project or branch" maxlength="200"><select name="state" aria-label="filter">${options}</select><button type="submit">Search</button></form>`;
}

/** `1–50 of 230 matching schedules (10,000 in all) · first page · next page` above the cards. */
function pager(model: PageModel): string {
  const matched = model.matched ?? model.total;
  const filter = model.filter ?? { q: '', state: '' };
  const filtered = filter.q !== '' || filter.state !== '';
  const offset = model.offset ?? 0;
  const parts: string[] = [];
  if (model.cards.length > 0 && (model.cards.length < matched || filtered)) {
    const what = filtered
      ? `${matched.toLocaleString('en-US')} matching schedules (${model.total.toLocaleString('en-US')} in all)`
      : `${matched.toLocaleString('en-US')} schedules`;
    parts.push(
      `<span class="range">${offset + 1}–${offset + model.cards.length} of ${what}</span>`,
    );
  }
  const params = new URLSearchParams();
  if (filter.q) params.set('q', filter.q);
  if (filter.state) params.set('state', filter.state);
  if (offset > 0) {
    const first = params.toString();
    parts.push(
      `<a class="first-page" href="/${first ? `?${escapeHtml(first)}` : ''}">first page</a>`,
    );
  }
  if (model.nextCursor) {
    params.set('cursor', model.nextCursor);
    parts.push(`<a class="next-page" href="/?${escapeHtml(params.toString())}">next page</a>`);
  }
  return parts.length > 0 ? `<nav class="pager" aria-label="pages">${parts.join(' · ')}</nav>` : '';
}

/** The whole page for `model`. */
export function renderPage(model: PageModel): string {
  const notices: string[] = [];
  if (model.access.kind === 'login' && model.access.error)
    notices.push(`<div class="notice error">${escapeHtml(model.access.error)}</div>`);
  const cards = model.cards.map((view) => card(view, model)).join('\n');
  const filter = model.filter ?? { q: '', state: '' };
  const filtered = filter.q !== '' || filter.state !== '';
  const empty = filtered
    ? '<div class="card empty">no schedule matches the filter</div>'
    : '<div class="card empty">no schedules loaded: check SCHEDULES_DIR and run codeship-cron validate</div>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codeship-cron status</title>
<link rel="icon" href="${FAVICON}">
<noscript><meta http-equiv="refresh" content="${REFRESH_MS / 1000}"></noscript>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<div><h1>codeship-cron</h1><div class="meta" id="updated">${model.total} schedules · updated ${escapeHtml(model.now.toISOString().replace('T', ' ').slice(0, 19))} UTC · refreshes every ${REFRESH_MS / 1000} s${backlogNote(model.backlog)}${leadershipNote(model.leadership)}</div></div>
${accessBar(model.access)}
</header>
<main>
${notices.join('\n')}
<div id="flash" class="flash" role="status" aria-live="polite"></div>
${filterBar(filter)}
<div id="schedules" data-history="${HISTORY_WINDOW}">
${pager(model)}
${cards || empty}
</div>
</main>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}
