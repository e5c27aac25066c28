/**
 * The real page in headless Chromium (Debian's `chromium`, driven by playwright-core) against the
 * real service (`runService`: daemon loops, HTTP server, metrics) on the simulator with 1.5 s
 * builds: it sees the schedules, logs in with the token, presses "Trigger now" and sees the new
 * manual slot appear with its build's outcome. Saves `test-results/dashboard.png`.
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

it('shows the schedules, logs in, triggers a build and shows its outcome', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/`);
  await expect(page.title()).resolves.toBe('codeship-cron status');
  const names = await page.locator('section.card h2').allTextContents();
  expect(names).toEqual(['docs-failing', 'nightly-api', 'stale-releases']);
  const nightly = page.locator('section[data-schedule="nightly-api"]');
  await expect(nightly.locator('dd').first().textContent()).resolves.toBe('0 2 * * * At 02:00');
  expect(await page.locator('button', { hasText: 'Trigger now' }).count()).toBe(0);

  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button:has-text("Log in")')]);
  await page.locator('button:has-text("Log out")').waitFor();
  expect(await page.locator('button', { hasText: 'Trigger now' }).count()).toBe(3);

  await nightly.locator('button', { hasText: 'Trigger now' }).click();
  await expect(page.locator('#flash').textContent()).resolves.toMatch(/^nightly-api: trigger/);
  await page
    .locator('#flash', { hasText: 'nightly-api: triggered main (triggered)' })
    .waitFor({ timeout: 15_000 });
  // The follow-up reconciliation discovers the build and the 5 s refresh shows its outcome.
  const outcome = page.locator(
    'section[data-schedule="nightly-api"] tr[data-manual="true"] [data-build-status="success"]',
  );
  await outcome.waitFor({ timeout: 30_000 });
  const row = page.locator('section[data-schedule="nightly-api"] tr[data-manual="true"]');
  expect(await row.count()).toBe(1);
  await expect(row.locator('.chip').first().textContent()).resolves.toBe('finished');
  await expect(
    page.locator('section[data-schedule="nightly-api"] .success').textContent(),
  ).resolves.toBe('100% success (1/1)');

  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
}, 60_000);
