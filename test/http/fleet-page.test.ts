/**
 * The page and `GET /api/schedules` at fleet scale: "needs attention first" order, the filters,
 * search by name, project or branch, and what each card shows (strip, sparkline, reasons on
 * every row, UTC times). A real server over a temp-file ledger seeded through the port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SlotRecord } from '../../src/core/model.ts';
import { bearer, type HttpHarness, startHarness } from './harness.ts';

let harness: HttpHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const TOKEN = 'fleet-page-test-token';

// At 2026-03-01 12:00 UTC (the harness clock): quarter-hourly ones fire at 12:15, 12:30, 12:45;
// the daily ones tomorrow; `off` is disabled.
const YAML = `schedules:
  - { name: a-broken, cron: "0 3 * * *", project: acme/api, branch: main }
  - { name: b-late, cron: "45 * * * *", project: acme/api, branch: main }
  - { name: c-soon, cron: "15 * * * *", project: acme/web, branch: develop }
  - { name: d-later, cron: "30 * * * *", project: acme/web, branches: [main, "release/*"] }
  - { name: e-running, cron: "0 4 * * *", project: acme/docs, branch: main }
  - { name: f-skipped, cron: "0 5 * * *", project: acme/docs, branch: main }
  - { name: g-fine, cron: "0 6 * * *", project: acme/docs, branch: main }
  - { name: off, cron: "0 7 * * *", project: acme/docs, branch: main, enabled: false }
`;

type Page = {
  schedules: { name: string; attention: string }[];
  total: number;
  next_cursor: string | null;
};

function record(h: HttpHarness, schedule: string, minutesAgo: number, branch = 'main'): SlotRecord {
  const at = new Date(h.clock.now().getTime() - minutesAgo * 60_000);
  const [slot] = h.ledger.recordSlots(
    [{ schedule, slotAt: at, branch, project: 'acme/x', fireAt: at, state: 'pending' }],
    new Map(),
    h.clock.now(),
  );
  return slot!;
}

function finish(h: HttpHarness, slot: SlotRecord, status: string, minutes = 5): void {
  const queuedAt = new Date(slot.fireAt.getTime() + 1000);
  h.ledger.claimBuild(
    slot.id,
    {
      uuid: `${String(slot.id).padStart(8, '0')}-0000-4000-8000-000000000000`,
      commitSha: 'abcdef1234567',
      status,
      queuedAt,
      finishedAt: new Date(queuedAt.getTime() + minutes * 60_000),
      final: true,
    },
    h.clock.now(),
    'nearest of 2',
  );
}

/** A fleet where each schedule stands where its name says. */
async function seeded(): Promise<HttpHarness> {
  const h = await startHarness({ schedulesYaml: YAML, token: TOKEN });
  finish(h, record(h, 'a-broken', 600), 'success');
  finish(h, record(h, 'a-broken', 300), 'failed');
  record(h, 'b-late', 10); // pending 10 min after its fire time
  finish(h, record(h, 'c-soon', 200), 'success', 3);
  finish(h, record(h, 'c-soon', 100), 'success', 7);
  h.ledger.claimBuild(
    record(h, 'e-running', 3).id,
    {
      uuid: 'e0000000-0000-4000-8000-000000000000',
      status: 'testing',
      queuedAt: h.clock.now(),
      finishedAt: null,
      final: false,
    },
    h.clock.now(),
  );
  const skipped = record(h, 'f-skipped', 60);
  h.ledger.closeSlot(skipped.id, 'skipped', 'fresh (last built 2d ago)', h.clock.now());
  const stale = record(h, 'g-fine', 120);
  h.ledger.closeSlot(stale.id, 'skipped', 'placeholder', h.clock.now());
  return h;
}

describe('needs attention first', () => {
  it('sorts failing, then late, then the rest by next fire (disabled last), then name', async () => {
    harness = await seeded();
    const page = (await harness.request('/api/schedules')).json as Page;
    expect(page.schedules.map((s) => [s.name, s.attention])).toEqual([
      ['a-broken', 'failing'],
      ['b-late', 'late'],
      ['c-soon', 'ok'], // 12:15
      ['d-later', 'ok'], // 12:30
      ['e-running', 'ok'], // 04:00 tomorrow
      ['f-skipped', 'ok'],
      ['g-fine', 'ok'],
      ['off', 'ok'], // never fires
    ]);
    // The order holds across pages: the cursor is the last card's sort key.
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = (
        await harness.request(`/api/schedules?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json as Page;
      names.push(...answer.schedules.map((s) => s.name));
      cursor = answer.next_cursor;
    } while (cursor !== null);
    expect(names).toEqual(page.schedules.map((s) => s.name));
    // A late slot that finally fails moves its schedule to the top group.
    const late = (await harness.ledger.listSlots({ schedule: 'b-late', limit: 1 }))[0]!;
    harness.ledger.closeSlot(late.id, 'failed', 'HTTP 422: branch not found', harness.clock.now());
    const after = (await harness.request('/api/schedules?limit=2')).json as Page;
    expect(after.schedules.map((s) => [s.name, s.attention])).toEqual([
      ['b-late', 'failing'], // fires at 12:45
      ['a-broken', 'failing'], // tomorrow
    ]);
  });

  it('filters: failing, late, running, skipped, chains, disabled, and search by name, project or branch', async () => {
    harness = await seeded();
    const names = async (query: string) =>
      ((await harness!.request(`/api/schedules?${query}`)).json as Page).schedules.map(
        (s) => s.name,
      );
    expect(await names('state=failing')).toEqual(['a-broken']);
    expect(await names('state=late')).toEqual(['b-late']);
    expect(await names('state=running')).toEqual(['e-running']);
    expect(await names('state=skipped')).toEqual(['f-skipped', 'g-fine']);
    expect(await names('state=chains')).toEqual([]);
    expect(await names('state=disabled')).toEqual(['off']);
    expect(await names('state=none')).toEqual(['d-later', 'off']);
    expect(await names('q=release')).toEqual(['d-later']); // a branch glob
    expect(await names('q=DEVELOP')).toEqual(['c-soon']);
    expect(await names('q=acme/web')).toEqual(['c-soon', 'd-later']);
    expect(await names('q=acme/docs&state=skipped')).toEqual(['f-skipped', 'g-fine']);
    // The page keeps the query in its form and links.
    const page = await harness.request('/?q=acme%2Fdocs&state=skipped');
    expect(page.text).toContain('value="acme/docs"');
    expect(page.text).toContain('<option value="skipped" selected>skipped</option>');
    expect(page.text).toContain('1–2 of 2 matching schedules (8 in all)');
    expect(page.text.match(/<section class="card"/g)).toHaveLength(2);
  });
});

describe('a card', () => {
  it('shows the strip, the sparkline, the reason on finished rows and UTC times with the zone on hover', async () => {
    harness = await seeded();
    const page = await harness.request('/');
    const card = page.text.slice(
      page.text.indexOf('data-schedule="c-soon"'),
      page.text.indexOf('data-schedule="d-later"'),
    );
    expect(card.match(/<span class="sq ok"/g)).toHaveLength(2);
    // Oldest first: the slot 200 min ago, then the one 100 min ago.
    expect(card).toMatch(
      /title="2026-03-01 08:40:00 UTC\nmain: finished\nbuild 0000000\d-0000-4000-8000-000000000000 at abcdef1 \(success\), claim: nearest of 2"/,
    );
    expect(card).toContain('claim: nearest of 2');
    expect(card).toContain('<svg class="spark"');
    expect(card).toContain('build durations, last 2: median 7 min, shortest 3 min, longest 7 min');
    expect(card).toContain('<strong class="chip ok">100%</strong> success (2/2)');
    const failing = page.text.slice(page.text.indexOf('data-schedule="a-broken"'));
    expect(failing).toContain('data-attention="failing"');
    expect(failing).toContain('<span class="chip bad attention">failing</span>');
    const skipped = page.text.slice(page.text.indexOf('data-schedule="f-skipped"'));
    expect(skipped).toContain(
      '<td data-label="Reason" class="reason">fresh (last built 2d ago)</td>',
    );
    expect(page.text).toContain('<link rel="icon" href="data:image/svg+xml,');
    expect(page.text).not.toMatch(/<script[^>]+src=/);
  });

  it('offers one branch to trigger: the named ones in a select, a glob typed in, checked by the server', async () => {
    harness = await seeded();
    const page = await harness.request('/', { headers: { authorization: `Bearer ${TOKEN}` } });
    const card = page.text.slice(page.text.indexOf('data-schedule="d-later"'));
    expect(card).toContain(
      '<select name="branch" aria-label="branch to trigger"><option value="main">main</option><option value="*other">other branch matching release/*</option></select>',
    );
    expect(card).toContain('name="branch_other" placeholder="release/*"');
    const trigger = (body: object) =>
      harness!.request('/api/schedules/d-later/trigger', {
        method: 'POST',
        headers: bearer(TOKEN),
        body: JSON.stringify(body),
      });
    expect(await trigger({ branch: '*other', branch_other: 'hotfix/1' })).toMatchObject({
      status: 400,
      json: {
        error: `branch "hotfix/1" does not match schedule d-later's branches (main, release/*)`,
      },
    });
    expect(await trigger({ branch: '*other', branch_other: '' })).toMatchObject({
      status: 400,
      json: { error: 'type a branch name to trigger' },
    });
    const ok = await harness.drive(trigger({ branch: '*other', branch_other: 'release/2.0' }));
    expect(ok.status).toBe(202);
    expect((ok.json as { slots: { branch: string }[] }).slots.map((s) => s.branch)).toEqual([
      'release/2.0',
    ]);
  });
});
