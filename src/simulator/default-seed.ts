/**
 * The seed `codeship-cron simulate` and the demo start from: one organization `acme` with three
 * projects, five branches each, and ninety days of finished builds ending just before `nowMs`.
 */
import { commitSha, createPrng } from './ids.ts';
import type { SeedBuild, SeedProject, SimulatorSeed } from './types.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const DEMO_USERNAME = 'demo@example.com';
export const DEMO_PASSWORD = 'demo-password';

/** Branch -> days between builds and days since its newest build (release/1.0 is stale). */
const BRANCH_RHYTHM: Record<string, { everyDays: number; newestDaysAgo: number }> = {
  main: { everyDays: 1, newestDaysAgo: 0.5 },
  develop: { everyDays: 2, newestDaysAgo: 1 },
  'release/1.0': { everyDays: 9, newestDaysAgo: 40 },
  'release/2.0': { everyDays: 5, newestDaysAgo: 2 },
  'feature/login': { everyDays: 4, newestDaysAgo: 10 },
};
const BRANCHES = Object.keys(BRANCH_RHYTHM);

function history(projectName: string, nowMs: number): SeedBuild[] {
  const random = createPrng([...projectName].reduce((sum, c) => sum * 31 + c.charCodeAt(0), 7));
  const builds: SeedBuild[] = [];
  for (const branch of BRANCHES) {
    const { everyDays, newestDaysAgo } = BRANCH_RHYTHM[branch]!;
    for (let daysAgo = newestDaysAgo; daysAgo < 90; daysAgo += everyDays) {
      // Spread the start within a few hours so builds of different branches interleave.
      const queuedMs = Math.round(nowMs - daysAgo * DAY_MS - random() * 6 * HOUR_MS);
      const durationMs = Math.round(60_000 + random() * 7 * 60_000);
      const roll = random();
      const status = roll < 0.8 ? 'success' : roll < 0.95 ? 'error' : 'stopped';
      builds.push({
        branch,
        status,
        queuedAt: new Date(queuedMs).toISOString(),
        finishedAt: new Date(queuedMs + durationMs).toISOString(),
        commitSha: commitSha(`${projectName}/${branch}/${queuedMs}`),
        username: random() < 0.7 ? 'demo' : 'ci-bot',
      });
    }
  }
  return builds.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
}

/**
 * The default seed, deterministic for a given `nowMs`: user demo@example.com / demo-password in
 * org `acme` (projects acme/api pro, acme/web basic, acme/docs basic), and the 2FA user
 * twofactor@example.com / demo-password, whose /auth answers the two-factor error.
 */
export function defaultSeed(nowMs: number = Date.now()): SimulatorSeed {
  const project = (name: string, type: 'basic' | 'pro'): SeedProject => ({
    name,
    type,
    branches: [...BRANCHES],
    builds: history(name, nowMs),
  });
  return {
    users: [
      { username: DEMO_USERNAME, password: DEMO_PASSWORD, organizations: ['acme'] },
      {
        username: 'twofactor@example.com',
        password: DEMO_PASSWORD,
        twoFactor: true,
        organizations: ['acme'],
      },
    ],
    organizations: [
      {
        name: 'acme',
        scopes: ['project.read', 'project.write', 'build.read', 'build.write'],
        projects: [
          project('acme/api', 'pro'),
          project('acme/web', 'basic'),
          project('acme/docs', 'basic'),
        ],
      },
    ],
  };
}
