/**
 * The status page's inline CSS and JS (no build step, no external assets). The script refreshes
 * the schedule list every 5 s by fetching the page itself and swapping `#schedules`, and turns the
 * "Trigger now" forms into fetch POSTs carrying the CSRF token; without JS the forms post and
 * redirect, and a meta refresh keeps the page current.
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
.pager a { color:var(--run); }
`;

export const PAGE_JS = `
(() => {
  let busy = false;
  async function refresh() {
    if (busy) return;
    try {
      const response = await fetch(location.pathname + location.search, { headers: { accept: 'text/html' }, cache: 'no-store' });
      if (!response.ok) return;
      const next = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const id of ['schedules', 'updated']) {
        const fresh = next.getElementById(id);
        const current = document.getElementById(id);
        if (fresh && current) current.replaceWith(fresh);
      }
    } catch { /* the daemon may be restarting: try again at the next refresh */ }
  }
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('form.trigger')) return;
    event.preventDefault();
    const button = form.querySelector('button');
    const flash = document.getElementById('flash');
    const name = form.dataset.schedule;
    busy = true;
    button.disabled = true;
    flash.className = 'flash';
    flash.textContent = name + ': triggering…';
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': form.elements.csrf.value },
        body: '{}',
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        const slots = body.slots || [];
        flash.textContent = name + ': triggered ' + slots.map((s) => s.branch + ' (' + s.state + ')').join(', ');
      } else {
        flash.className = 'flash error';
        flash.textContent = name + ': ' + (body.error || ('failed with HTTP ' + response.status));
      }
    } catch (error) {
      flash.className = 'flash error';
      flash.textContent = name + ': request failed: ' + error;
    } finally {
      button.disabled = false;
      busy = false;
      refresh();
    }
  });
  setInterval(refresh, ${REFRESH_MS});
})();
`;
