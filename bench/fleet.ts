/**
 * Deterministic benchmark fleets: projects `proj-000`…, cron expressions shaped like real fleets
 * (daily, weekday, weekly, monthly, every few hours, hourly, office hours) over five zones, the
 * schedule files that hold them, and the simulator seed in which their project names resolve.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nextFireAfter } from '../src/core/cron.ts';
import { zoneOffsetMs } from '../src/core/cron-zone.ts';
import { createPrng } from '../src/simulator/ids.ts';
import type { SeedBuild, SimulatorSeed } from '../src/simulator/types.ts';

export const BENCH_USERNAME = 'bench@example.com';
export const BENCH_PASSWORD = 'bench-password';
export const BENCH_ORG = 'bench';

/** Five zones on four continents, two of them with DST in opposite halves of the year. */
export const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Tokyo',
  'Australia/Sydney',
] as const;

export interface BenchSchedule {
  name: string;
  cron: string;
  timezone: string;
  project: string;
  branch: string;
}

/** `proj-000`, `proj-001`, … */
export function projectName(index: number): string {
  return `proj-${String(index).padStart(3, '0')}`;
}

/** One random expression of a realistic shape; `pick` draws integers in [0, n). */
function drawExpression(pick: (n: number) => number): string {
  const minute = pick(60);
  const hour = pick(24);
  switch (pick(9)) {
    case 0:
      return `${minute} ${hour} * * *`;
    case 1:
      return `${minute} ${hour} * * 1-5`;
    case 2:
      return `${minute} ${hour} * * ${pick(7)}`;
    case 3:
      return `${minute} ${hour} ${1 + pick(28)} * *`;
    case 4:
      return `${minute} ${hour},${(hour + 12) % 24} * * *`;
    case 5:
      return `${minute} */${[2, 3, 4, 6, 8, 12][pick(6)]} * * *`;
    case 6:
      return `${minute} * * * *`;
    case 7:
      return `${minute} ${Math.min(hour, 14)}-${Math.min(hour, 14) + 9} * * 1-5`;
    default:
      return `${minute} ${hour} * * 0,6`;
  }
}

/**
 * `count` distinct expressions from a fixed seed. An expression that would fire, in any of the
 * five zones, inside `quiet` (the idle measurement window) is replaced by the next draw, so the
 * idle figure measures an idle daemon; `redrawn` says how many were replaced.
 */
export function fleetExpressions(
  count: number,
  quiet: { fromMs: number; untilMs: number },
): { expressions: string[]; redrawn: number } {
  const random = createPrng(20_260_131);
  const pick = (n: number) => Math.floor(random() * n);
  const chosen = new Set<string>();
  let redrawn = 0;
  while (chosen.size < count) {
    const expression = drawExpression(pick);
    if (chosen.has(expression)) continue;
    const firesInWindow = ZONES.some((zone) => {
      const next = nextFireAfter(expression, zone, new Date(quiet.fromMs));
      return next !== null && next.getTime() <= quiet.untilMs;
    });
    if (firesInWindow) {
      redrawn += 1;
      continue;
    }
    chosen.add(expression);
  }
  return { expressions: [...chosen], redrawn };
}

/**
 * `count` schedules over `projects` projects: schedule i belongs to project i mod projects, and
 * draws its expression and its zone independently (as in a real fleet, so most (expression, zone)
 * pairs occur).
 */
export function fleetSchedules(
  count: number,
  projects: number,
  expressions: readonly string[],
): BenchSchedule[] {
  const random = createPrng(7_919);
  const pick = (n: number) => Math.floor(random() * n);
  return Array.from({ length: count }, (_, i) => ({
    name: `s-${String(i).padStart(5, '0')}`,
    cron: expressions[pick(expressions.length)] as string,
    timezone: ZONES[pick(ZONES.length)] as string,
    project: projectName(i % projects),
    branch: 'main',
  }));
}

/** Writes the schedules as `files` YAML files of (about) equal size into `dir`. */
export function writeScheduleFiles(
  dir: string,
  schedules: readonly BenchSchedule[],
  files: number,
): void {
  const perFile = Math.ceil(schedules.length / files);
  for (let f = 0; f < files; f += 1) {
    const part = schedules.slice(f * perFile, (f + 1) * perFile);
    if (part.length === 0) break;
    const lines = ['schedules:'];
    for (const s of part) {
      lines.push(
        `  - name: ${s.name}`,
        `    cron: "${s.cron}"`,
        `    timezone: ${s.timezone}`,
        `    project: ${s.project}`,
        `    branch: ${s.branch}`,
      );
    }
    writeFileSync(join(dir, `fleet-${String(f).padStart(2, '0')}.yaml`), `${lines.join('\n')}\n`);
  }
}

/**
 * A simulator seed with one user and organization `bench` holding `projects` projects, each with
 * `historyPerProject` finished builds on `main` in the day before `nowMs` (so build lists are not
 * empty, as in a real account).
 */
export function fleetSeed(projects: number, nowMs: number, historyPerProject = 0): SimulatorSeed {
  const history = (p: number): SeedBuild[] =>
    Array.from({ length: historyPerProject }, (_, i) => {
      const queuedMs =
        nowMs - 86_400_000 + (i * 86_400_000) / Math.max(1, historyPerProject) + p * 1000;
      return {
        branch: 'main',
        status: 'success',
        queuedAt: new Date(queuedMs).toISOString(),
        finishedAt: new Date(queuedMs + 300_000).toISOString(),
      };
    });
  return {
    users: [{ username: BENCH_USERNAME, password: BENCH_PASSWORD, organizations: [BENCH_ORG] }],
    organizations: [
      {
        name: BENCH_ORG,
        projects: Array.from({ length: projects }, (_, p) => ({
          name: projectName(p),
          type: 'basic' as const,
          branches: ['main'],
          builds: history(p),
        })),
      },
    ],
  };
}

/** The wall-clock fields of `at` in `zone` (24-hour). */
export function wallFields(
  at: Date,
  zone: string,
): { second: number; minute: number; hour: number; day: number; month: number; weekday: number } {
  // The wall time read as if it were UTC.
  const wall = new Date(at.getTime() + zoneOffsetMs(zone, at.getTime()));
  return {
    second: wall.getUTCSeconds(),
    minute: wall.getUTCMinutes(),
    hour: wall.getUTCHours(),
    day: wall.getUTCDate(),
    month: wall.getUTCMonth() + 1,
    weekday: wall.getUTCDay(),
  };
}

/**
 * Forty distinct 6-field expressions per zone whose next fire after `after` is exactly `at`
 * (second, minute, hour and day fields written in different ways), keyed by zone.
 */
export function burstExpressions(at: Date, after: Date): Map<string, string[]> {
  const byZone = new Map<string, string[]>();
  for (const zone of ZONES) {
    const f = wallFields(at, zone);
    const seconds = [`${f.second}`, `${f.second}-59/7`];
    const hours = [
      `${f.hour}`,
      '*',
      `${f.hour},${(f.hour + 12) % 24}`,
      `${Math.max(0, f.hour - 1)}-${f.hour}`,
      `*/1`,
    ];
    const days = ['* * *', `* * ${f.weekday}`, `${f.day} * *`, `* ${f.month} *`];
    const list: string[] = [];
    for (const s of seconds)
      for (const h of hours) for (const d of days) list.push(`${s} ${f.minute} ${h} ${d}`);
    for (const expression of list) {
      const next = nextFireAfter(expression, zone, after);
      if (next?.getTime() !== at.getTime()) {
        throw new Error(
          `burst expression "${expression}" in ${zone} fires at ${next?.toISOString()}, not ${at.toISOString()}`,
        );
      }
    }
    byZone.set(zone, list);
  }
  return byZone;
}

/** `count` burst schedules over `projects` projects, cycling through zones and expressions. */
export function burstSchedules(
  count: number,
  projects: number,
  byZone: ReadonlyMap<string, string[]>,
): BenchSchedule[] {
  return Array.from({ length: count }, (_, i) => {
    const zone = ZONES[i % ZONES.length] as string;
    const list = byZone.get(zone) as string[];
    return {
      name: `b-${String(i).padStart(5, '0')}`,
      cron: list[Math.floor(i / ZONES.length) % list.length] as string,
      timezone: zone,
      project: projectName(i % projects),
      branch: 'main',
    };
  });
}
