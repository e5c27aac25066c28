/**
 * The real page in headless Chromium (Debian's `chromium`, driven by playwright-core) against the
 * real service (`runService`: daemon loops, HTTP server, metrics) on the simulator with 1.5 s
 * builds: it sees the schedules, logs in with the token, opens "Trigger now" on a multi-branch
 * schedule, picks one branch, confirms, and sees that one slot's outcome arrive (the page waits on
 * the ledger). Saves `test-results/dashboard.png`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import { loadConfig } from '../../src/config.ts';
import { runService } from '../../src/daemon/service.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';

const TOKEN = 'browser-test-token';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SCHEDULES = `schedules:
  - name: nightly-api
    cron: "0 2 * * *"
    timezone: Europe/Berlin
    project: acme/api
    branch: main
  - name: docs-failing
    cron: "*/10 * * * * *"
    project: acme/docs
    branch: fail-fast
  - name: multi-branch
    cron: "0 4 * * *"
    project: acme/api
    branches: [main, develop, "release/*"]
  - name: stale-releases
    cron: "30 3 * * 1-5"
    timezone: America/New_York
    project: acme/web
    branches: ["release/*", main]
    stale: { older_than: 7d, max: 2 }
`;

let simulator: TestSimulator;
let browser: Browser;
let dir: string;
let url: string;
const stop = new AbortController();
let service: Promise<number>;

beforeAll(async () => {
  simulator = await startTestSimulator({ buildDurationMs: 1500 });
  dir = mkdtempSync(join(tmpdir(), 'ccron-browser-'));
  writeFileSync(join(dir, 'schedules.yaml'), SCHEDULES);
  const config = loadConfig({
    CODESHIP_API_URL: simulator.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    CODESHIP_ORGANIZATION: 'acme',
    SCHEDULES_DIR: dir,
    DATABASE_PATH: join(dir, 'ledger.sqlite'),
    HTTP_ADDR: '127.0.0.1:0',
    DASHBOARD_TOKEN: TOKEN,
  });
  // The server's address (port 0) is learnt from its log line, as an operator would read it.
  const listening = new Promise<string>((resolve) => {
    const lines = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) {
          if (line.includes('"http server listening"')) resolve(JSON.parse(line).url as string);
        }
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: lines });
    service = runService({ config, env: {}, signal: stop.signal, onReload: () => {}, logger });
  });
  url = await listening;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  stop.abort();
  expect(await service).toBe(0);
  await simulator?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('shows the schedules, logs in, triggers one chosen branch after confirming and shows its outcome', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/`);
  await expect(page.title()).resolves.toBe('codeship-cron status');
  const names = await page.locator('section.card h2').allTextContents();
  // Nothing failed yet: soonest next fire first (docs-failing fires every 10 s).
  expect(names[0]).toBe('docs-failing');
  expect([...names].sort()).toEqual([
    'docs-failing',
    'multi-branch',
    'nightly-api',
    'stale-releases',
  ]);
  const nightly = page.locator('section[data-schedule="nightly-api"]');
  await expect(nightly.locator('dd').first().textContent()).resolves.toBe('0 2 * * * At 02:00');
  expect(await page.locator('summary', { hasText: 'Trigger now' }).count()).toBe(0);

  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button:has-text("Log in")')]);
  await page.locator('button:has-text("Log out")').waitFor();
  expect(await page.locator('summary', { hasText: 'Trigger now' }).count()).toBe(4);

  const multi = page.locator('section[data-schedule="multi-branch"]');
  // Creates other than docs-failing's own (it fires every 10 s on fail-fast).
  const creates = () =>
    simulator
      .requests()
      .filter(
        (r) =>
          r.method === 'POST' &&
          r.path.endsWith('/builds') &&
          (r.body as { ref?: string } | null)?.ref !== 'heads/fail-fast',
      );
  const before = creates().length;
  // The first click only opens the panel: nothing is sent before the confirmation.
  await multi.locator('summary', { hasText: 'Trigger now' }).click();
  const confirm = multi.locator('button', { hasText: 'Confirm trigger' });
  await confirm.waitFor();
  expect(await multi.locator('select[name="branch"] option').allTextContents()).toEqual([
    'main',
    'develop',
    'other branch matching release/*',
  ]);
  // "other" reveals the text input for a branch matching the glob.
  const other = multi.locator('input[name="branch_other"]');
  expect(await other.isVisible()).toBe(false);
  await multi.locator('select[name="branch"]').selectOption('*other');
  expect(await other.isVisible()).toBe(true);
  await multi.locator('select[name="branch"]').selectOption('develop');
  // The 5 s refresh does not close an open panel.
  await page.waitForTimeout(5500);
  expect(await confirm.isVisible()).toBe(true);
  expect(creates().length - before).toBe(0);
  await confirm.click();
  const flash = page.locator('#flash [data-schedule="multi-branch"]');
  await flash.filter({ hasText: /^multi-branch: triggered develop/ }).waitFor({ timeout: 15_000 });
  // The page follows the slot in the ledger until its build's outcome is there.
  await flash
    .filter({ hasText: /^multi-branch: develop finished: success, build [0-9a-f]{8}$/ })
    .waitFor({ timeout: 30_000 });
  const sent = creates().slice(before);
  expect(sent).toHaveLength(1);
  expect(sent[0]!.body).toMatchObject({ ref: 'heads/develop' });
  await multi
    .locator('tr[data-manual="true"] [data-build-status="success"]')
    .waitFor({ timeout: 15_000 });
  expect(await multi.locator('tr[data-manual="true"]').count()).toBe(1);
  await expect(multi.locator('.success').textContent()).resolves.toBe('100% success (1/1)');
  expect(await multi.locator('.strip .sq.ok').count()).toBe(1);

  // A refused branch says why.
  await multi.locator('summary', { hasText: 'Trigger now' }).click();
  await multi.locator('select[name="branch"]').selectOption('*other');
  await multi.locator('input[name="branch_other"]').fill('hotfix/1');
  await multi.locator('button', { hasText: 'Confirm trigger' }).click();
  await flash
    .filter({
      hasText: `multi-branch: branch "hotfix/1" does not match schedule multi-branch's branches`,
    })
    .waitFor({ timeout: 10_000 });

  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
}, 90_000);
