/**
 * The status page's inline CSS, JS and favicon (no build step, no external assets, no library).
 * The script refreshes the schedule list every 5 s by fetching the page itself and swapping
 * `#schedules` (not while a "Trigger now" panel is open), turns the trigger forms into fetch POSTs
 * carrying the CSRF token and then waits on the ledger (`GET /api/slots`) until each triggered
 * slot has its outcome; without JS the forms post and redirect, and a meta refresh keeps the page
 * current. Below 640 px the slot table becomes stacked rows.
 */

/** Milliseconds between refreshes (the page says so too). */
export const REFRESH_MS = 5000;

export const PAGE_CSS = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --card:#fff;
  --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --run:#0969da; --run-bg:#ddf4ff;
  --skip:#59636e; --skip-bg:#eff2f5; --warn:#9a6700; --warn-bg:#fff8c5; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; justify-content:space-between;
  padding:14px 24px; background:#24292f; color:#fff; }
header h1 { margin:0; font-size:18px; font-weight:600; }
header .meta { color:#d1d9e0; font-size:13px; }
header form { display:flex; gap:6px; align-items:center; margin:0; }
header input { padding:5px 8px; border-radius:6px; border:1px solid #57606a; background:#fff; color:var(--fg); }
main { max-width:1200px; margin:0 auto; padding:20px 24px 40px; }
.notice { padding:8px 12px; border-radius:6px; margin-bottom:16px; background:var(--warn-bg); color:var(--warn); }
.notice.error { background:var(--bad-bg); color:var(--bad); }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:16px; overflow:hidden; }
.card-head { display:flex; flex-wrap:wrap; gap:10px 16px; align-items:flex-start; justify-content:space-between; padding:14px 16px; border-bottom:1px solid var(--line); }
.card-head h2 { margin:0 0 4px; font-size:16px; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; margin:0; color:var(--muted); }
.facts dt { font-weight:600; } .facts dd { margin:0; color:var(--fg); }
code { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12.5px; background:var(--bg); padding:1px 5px; border-radius:4px; }
.side { display:flex; flex-direction:column; align-items:flex-end; gap:8px; }
.success { font-size:13px; color:var(--muted); }
.success strong { font-size:15px; margin-right:4px; }
.rel { color:var(--muted); }
button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid rgba(31,35,40,.15); cursor:pointer; background:#f6f8fa; color:var(--fg); }
button.primary { background:#1f883d; border-color:#1a7f37; color:#fff; font-weight:600; }
button:disabled { opacity:.6; cursor:progress; }
.flash { padding:8px 12px; border-radius:6px; margin-bottom:16px; background:var(--run-bg); color:var(--run); }
.flash:empty { display:none; }
.flash.error { background:var(--bad-bg); color:var(--bad); }
table { width:100%; border-collapse:collapse; table-layout:fixed; }
th:nth-child(1) { width:30%; } th:nth-child(2) { width:14%; } th:nth-child(3) { width:11%; }
th:nth-child(5) { width:20%; } th:nth-child(6) { width:8%; }
th, td { text-align:left; padding:6px 16px; border-top:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; background:var(--bg); border-top:none; }
td.reason { color:var(--muted); max-width:380px; overflow-wrap:anywhere; }
.empty { padding:10px 16px; color:var(--muted); }
.chip { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; white-space:nowrap; }
.ok { color:var(--ok); background:var(--ok-bg); } .bad { color:var(--bad); background:var(--bad-bg); }
.run { color:var(--run); background:var(--run-bg); } .skip { color:var(--skip); background:var(--skip-bg); }
.warn { color:var(--warn); background:var(--warn-bg); }
.manual { font-size:11px; color:var(--muted); margin-left:4px; }
.claim { font-size:11px; color:var(--warn); margin-left:4px; }
form.filter { display:flex; gap:6px; margin:0 0 16px; }
form.filter input { flex:1; max-width:360px; padding:5px 8px; border-radius:6px; border:1px solid var(--line); }
form.filter select { padding:5px 8px; border-radius:6px; border:1px solid var(--line); background:#fff; }
form.filter { flex-wrap:wrap; }
.pager { margin:0 0 12px; color:var(--muted); }
.pager a { color:var(--run); }
.card[data-attention="failing"] { border-left:4px solid var(--bad); }
.card[data-attention="late"] { border-left:4px solid var(--warn); }
.title { min-width:0; flex:1 1 320px; }
.card-head h2 { display:inline; overflow-wrap:anywhere; }
.attention { margin-left:8px; vertical-align:2px; }
.facts { margin-top:6px; } .facts dd { min-width:0; overflow-wrap:anywhere; }
.strip { display:grid; grid-template-columns:repeat(30, minmax(0, 12px)); gap:2px; padding:10px 16px 0; }
.sq { display:block; height:12px; border-radius:2px; background:var(--run); }
.sq.ok { background:var(--ok); } .sq.bad { background:var(--bad); } .sq.skip { background:#c5ccd3; }
.sq.warn { background:#d4a72c; } .sq.run { background:var(--run); }
.strip + table, .strip + .empty { margin-top:10px; }
.spark { display:block; }
.spark polyline { fill:none; stroke:var(--run); stroke-width:1.5; stroke-linejoin:round; }
details.trigger { display:flex; flex-direction:column; align-items:flex-end; }
details.trigger summary { list-style:none; cursor:pointer; padding:5px 12px; border-radius:6px; background:#1f883d;
  border:1px solid #1a7f37; color:#fff; font-weight:600; }
details.trigger summary::-webkit-details-marker { display:none; }
details.trigger[open] summary { background:#f6f8fa; color:var(--fg); border-color:var(--line); }
form.trigger { display:flex; flex-direction:column; gap:6px; margin-top:8px; padding:10px; border:1px solid var(--line);
  border-radius:6px; background:var(--bg); max-width:100%; }
form.trigger label { display:flex; gap:6px; align-items:center; font-size:13px; color:var(--muted); }
form.trigger select, form.trigger input[type=text] { padding:4px 6px; border-radius:6px; border:1px solid var(--line); min-width:0; max-width:220px; }
form.trigger .confirm { display:flex; gap:6px; justify-content:flex-end; }
form.trigger .hidden-until-other { display:none; }
form.trigger[data-other] .hidden-until-other { display:flex; }
time { white-space:nowrap; }
.flash > div + div { margin-top:4px; }
.flash .done-ok { color:var(--ok); } .flash .done-bad { color:var(--bad); }
@media (max-width: 640px) {
  header { padding:10px 12px; }
  main { padding:12px 12px 32px; }
  .card-head { padding:12px; }
  .side { align-items:flex-start; width:100%; }
  details.trigger { align-items:flex-start; }
  .strip { padding:10px 12px 0; grid-template-columns:repeat(30, minmax(0, 1fr)); }
  table, thead, tbody, tr, td { display:block; width:auto; }
  thead { display:none; }
  tr { padding:8px 12px; border-top:1px solid var(--line); }
  td { display:flex; flex-wrap:wrap; align-items:baseline; gap:4px 8px; padding:2px 0; border:0; max-width:none; }
  td::before { content:attr(data-label); flex:0 0 5.5em; color:var(--muted); font-size:12px; font-weight:600; }
  td.reason:empty { display:none; }
  time { white-space:normal; }
  form.filter input { max-width:none; flex:1 1 100%; }
}
`;

/** A clock on a dark square, as an inline SVG (the CSP allows `data:` images). */
export const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%2324292f'/%3E%3Ccircle cx='8' cy='8' r='5' fill='none' stroke='%232da44e' stroke-width='2'/%3E%3Cpath d='M8 5.2V8h2.4' fill='none' stroke='%23fff' stroke-width='1.4' stroke-linecap='round'/%3E%3C/svg%3E";

export const PAGE_JS = `
(() => {
  let busy = 0;
  const holdRefresh = () =>
    busy > 0 || document.querySelector('details.trigger[open]') !== null;
  async function refresh() {
    if (holdRefresh()) return;
    try {
      const response = await fetch(location.pathname + location.search, { headers: { accept: 'text/html' }, cache: 'no-store' });
      if (!response.ok || holdRefresh()) return;
      const next = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const id of ['schedules', 'updated']) {
        const fresh = next.getElementById(id);
        const current = document.getElementById(id);
        if (fresh && current) current.replaceWith(fresh);
      }
    } catch { /* the daemon may be restarting: try again at the next refresh */ }
  }
  function line(name) {
    const flash = document.getElementById('flash');
    let el = [...flash.children].find((c) => c.dataset.schedule === name);
    if (!el) {
      el = document.createElement('div');
      el.dataset.schedule = name;
      flash.append(el);
    }
    return el;
  }
  function say(name, text, tone) {
    const el = line(name);
    el.textContent = name + ': ' + text;
    el.className = tone ? 'done-' + tone : '';
  }
  const FINAL = ['finished', 'failed', 'skipped'];
  function describe(row) {
    const build = row.build_uuid ? ', build ' + row.build_uuid.slice(0, 8) + (row.claim && row.claim !== 'exact' ? ' (' + row.claim + ')' : '') : '';
    const why = row.error || (row.reason && row.reason !== 'manual' ? row.reason : '');
    if (row.state === 'finished') return row.branch + ' finished: ' + (row.build_status || '?') + build;
    return row.branch + ' ' + row.state + (why ? ': ' + why : '') + build;
  }
  // Waits on the ledger (GET /api/slots) until every triggered slot has an outcome.
  async function follow(name, slots) {
    const wanted = slots.map((s) => s.slot + ' ' + s.branch);
    const until = Date.now() + 30 * 60 * 1000;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      let rows;
      try {
        const response = await fetch('/api/slots?schedule=' + encodeURIComponent(name) + '&limit=100', { cache: 'no-store' });
        if (!response.ok) continue;
        rows = (await response.json()).slots.filter((r) => wanted.includes(r.slot + ' ' + r.branch));
      } catch { continue; }
      if (rows.length === 0) continue;
      const done = rows.every((r) => FINAL.includes(r.state));
      const bad = rows.some((r) => r.state === 'failed' || (r.state === 'finished' && r.build_status !== 'success'));
      say(name, rows.map(describe).join('; '), done ? (bad ? 'bad' : 'ok') : '');
      if (done) { refresh(); return; }
    }
  }
  document.addEventListener('change', (event) => {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.form && target.form.matches('form.filter')) target.form.submit();
    if (target instanceof HTMLSelectElement && target.name === 'branch' && target.form) {
      target.form.toggleAttribute('data-other', target.value === '*other');
    }
  });
  document.addEventListener('click', (event) => {
    const cancel = event.target instanceof Element && event.target.closest('button.cancel');
    if (cancel) cancel.closest('details').open = false;
  });
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('form.trigger')) return;
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    const name = form.dataset.schedule;
    const body = {};
    if (form.elements.branch) body.branch = form.elements.branch.value;
    if (form.elements.branch_other) body.branch_other = form.elements.branch_other.value;
    busy += 1;
    button.disabled = true;
    say(name, 'triggering…');
    let slots = [];
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': form.elements.csrf.value },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        slots = answer.slots || [];
        say(name, 'triggered ' + slots.map((s) => s.branch + ' (' + s.state + ')').join(', '));
        form.closest('details').open = false;
      } else {
        say(name, answer.error || ('failed with HTTP ' + response.status), 'bad');
      }
    } catch (error) {
      say(name, 'request failed: ' + error, 'bad');
    } finally {
      button.disabled = false;
      busy -= 1;
    }
    refresh();
    if (slots.length > 0) follow(name, slots);
  });
  setInterval(refresh, ${REFRESH_MS});
})();
`;
