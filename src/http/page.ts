/**
 * The status page, rendered on the server as one HTML document. Everything that comes from
 * schedule files, the ledger or the API (names, reasons, errors, build statuses) goes through
 * `escapeHtml`; attribute values are quoted. Only the "Trigger now" forms depend on who asks.
 */
import type { StatusRow } from '../daemon/status-view.ts';
import { PAGE_CSS, PAGE_JS, REFRESH_MS } from './page-assets.ts';
import { formatInZone, type ScheduleView, SUCCESS_WINDOW } from './view.ts';

/** What the visitor may do: nothing (no token configured), log in, or trigger (with its CSRF token). */
export type PageAccess =
  | { kind: 'read-only' }
  | { kind: 'login'; error: string | null }
  | { kind: 'writer'; csrf: string | null };

export interface PageModel {
  views: readonly ScheduleView[];
  /** Schedules loaded in total (the page may show fewer). */
  total: number;
  /** Schedules that match the filter (all pages); `total` when there is none. */
  matched?: number;
  /** The filter as asked (`q`, `state`), echoed into the filter form and page links. */
  filter?: { q: string; state: string };
  /** Cursor of the next page of matching schedules; null on the last page. */
  nextCursor?: string | null;
  now: Date;
  access: PageAccess;
  /** Slots waiting to be sent (the send backlog); the header names them when there are any. */
  backlog?: number;
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
  const reason = row.state === 'finished' ? '' : (row.error ?? row.reason ?? '');
  return `<tr data-slot-state="${escapeHtml(row.state)}"${row.manual ? ' data-manual="true"' : ''}>
<td>${escapeHtml(formatInZone(new Date(row.slot), timezone))}${row.manual ? '<span class="manual">manual</span>' : ''}</td>
<td><code>${escapeHtml(row.branch)}</code></td>
<td><span class="chip ${tone}">${escapeHtml(row.state)}</span></td>
<td class="reason">${escapeHtml(reason === 'manual' ? '' : reason)}</td>
<td>${build}</td>
<td>${row.attempts}</td>
</tr>`;
}

function successText(view: ScheduleView): string {
  const rate = view.successRate;
  if (rate.percent === null) return `<span class="success">no outcomes yet</span>`;
  const tone = rate.percent >= 90 ? 'ok' : rate.percent >= 60 ? 'warn' : 'bad';
  return `<span class="success" title="last ${SUCCESS_WINDOW} slots with an outcome"><strong class="chip ${tone}">${rate.percent}%</strong> success (${rate.succeeded}/${rate.outcomes})</span>`;
}

function card(view: ScheduleView, model: PageModel): string {
  const next = view.nextFireAt
    ? `${escapeHtml(view.nextFireLocal)} <span class="rel">(${escapeHtml(relativeTime(model.now.getTime(), Date.parse(view.nextFireAt)))})</span>`
    : view.enabled
      ? 'never again'
      : '<span class="chip skip">disabled</span>';
  const action = `/api/schedules/${encodeURIComponent(view.name)}/trigger`;
  const button =
    model.access.kind === 'writer'
      ? `<form class="trigger" method="post" action="${escapeHtml(action)}" data-schedule="${escapeHtml(view.name)}">
<input type="hidden" name="csrf" value="${escapeHtml(model.access.csrf ?? '')}"><button class="primary" type="submit">Trigger now</button></form>`
      : '';
  const rows = view.recent.map((row) => slotRow(row, view.timezone)).join('\n');
  return `<section class="card" data-schedule="${escapeHtml(view.name)}">
<div class="card-head">
<div>
<h2>${escapeHtml(view.name)}</h2>
<dl class="facts">
<dt>When</dt><dd><code>${escapeHtml(view.cron)}</code> ${escapeHtml(view.description)}</dd>
<dt>Zone</dt><dd>${escapeHtml(view.timezone)}</dd>
<dt>Next fire</dt><dd data-next-fire="${escapeHtml(view.nextFireAt)}">${next}</dd>
<dt>Project</dt><dd>${escapeHtml(view.project)}</dd>
<dt>Branches</dt><dd>${view.branches.map((b) => `<code>${escapeHtml(b)}</code>`).join(' ')}</dd>
</dl>
</div>
<div class="side">${successText(view)}${button}</div>
</div>
${
  rows
    ? `<table><thead><tr><th>Slot (${escapeHtml(view.timezone)})</th><th>Branch</th><th>State</th><th>Reason</th><th>Build</th><th>Attempts</th></tr></thead><tbody>
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

const STATE_OPTIONS = ['pending', 'triggered', 'running', 'finished', 'skipped', 'failed', 'none'];

/** The filter form (a plain GET, so it works without JS). */
function filterBar(filter: { q: string; state: string }): string {
  const options = ['', ...STATE_OPTIONS]
    .map(
      (state) =>
        `<option value="${state}"${state === filter.state ? ' selected' : ''}>${state === '' ? 'any newest state' : `newest ${state}`}</option>`,
    )
    .join('');
  return `<form class="filter" method="get" action="/"><input type="search" name="q" value="${escapeHtml(filter.q)}" placeholder="name or project" aria-label="filter by name or project" maxlength="200"><select name="state" aria-label="filter by the newest slot's state">${options}</select><button type="submit">Filter</button></form>`;
}

/** `showing 100 of 10000 schedules · next page` under the filter. */
function pager(model: PageModel): string {
  const matched = model.matched ?? model.total;
  const filter = model.filter ?? { q: '', state: '' };
  const filtered = filter.q !== '' || filter.state !== '';
  const parts: string[] = [];
  if (model.views.length < matched || filtered) {
    const what = filtered
      ? `${matched} matching schedules (${model.total} in all)`
      : `${matched} schedules`;
    parts.push(`showing ${model.views.length} of ${what}`);
  }
  if (model.nextCursor) {
    const params = new URLSearchParams();
    if (filter.q) params.set('q', filter.q);
    if (filter.state) params.set('state', filter.state);
    params.set('cursor', model.nextCursor);
    parts.push(`<a class="next-page" href="/?${escapeHtml(params.toString())}">next page</a>`);
  }
  return parts.length > 0 ? `<div class="notice pager">${parts.join(' · ')}</div>` : '';
}

/** The whole page for `model`. */
export function renderPage(model: PageModel): string {
  const notices: string[] = [];
  if (model.access.kind === 'login' && model.access.error)
    notices.push(`<div class="notice error">${escapeHtml(model.access.error)}</div>`);
  const cards = model.views.map((view) => card(view, model)).join('\n');
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
<noscript><meta http-equiv="refresh" content="${REFRESH_MS / 1000}"></noscript>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<div><h1>codeship-cron</h1><div class="meta" id="updated">${model.total} schedules · updated ${escapeHtml(model.now.toISOString().replace('T', ' ').slice(0, 19))} UTC · refreshes every ${REFRESH_MS / 1000} s${backlogNote(model.backlog)}</div></div>
${accessBar(model.access)}
</header>
<main>
${notices.join('\n')}
<div id="flash" class="flash" role="status"></div>
${filterBar(filter)}
<div id="schedules">
${pager(model)}
${cards || empty}
</div>
</main>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}
