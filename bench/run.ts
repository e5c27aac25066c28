/**
 * `npm run bench [-- --quick]`: runs every scenario in its own child process (3 times, or once
 * with --quick), takes the median of each figure, prints the tables (markdown, ready for the
 * README) and writes the results with the machine they come from: bench/results.json for a full
 * run, a temp file for --quick (CI's smoke run must not dirty the tree). Targets that are missed
 * are reported, never fatal: the exit code is non-zero only when a scenario fails to run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, type Figures, median, RESULT_PREFIX } from './common.ts';
import { type Row, rows } from './rows.ts';

interface Scenario {
  id: string;
  script: string;
  args: string[];
}

const SCENARIOS: Scenario[] = [
  { id: 'scale', script: 'scale.js', args: [] },
  { id: 'burst', script: 'burst.js', args: [] },
  { id: 'burst-pg', script: 'burst.js', args: ['--store', 'postgres'] },
  { id: 'nodecron-noop', script: 'node-cron-burst.js', args: ['--callback', 'noop'] },
  { id: 'nodecron-ledger', script: 'node-cron-burst.js', args: ['--callback', 'ledger'] },
  { id: 'economy-batch', script: 'economy.js', args: ['--pattern', 'batch'] },
  { id: 'economy-staggered', script: 'economy.js', args: ['--pattern', 'staggered'] },
  { id: 'drain', script: 'drain.js', args: [] },
  { id: 'drain-pg', script: 'drain.js', args: ['--store', 'postgres'] },
  { id: 'overload', script: 'overload.js', args: [] },
  { id: 'identity-other', script: 'identity.js', args: ['--names', 'other'] },
  { id: 'identity-same', script: 'identity.js', args: ['--names', 'same'] },
  { id: 'chains', script: 'chains.js', args: [] },
  { id: 'page', script: 'page.js', args: [] },
];

const here = fileURLToPath(new URL('.', import.meta.url));

function runScenario(scenario: Scenario, quick: boolean): Figures {
  const args = [join(here, scenario.script), ...scenario.args, ...(quick ? ['--quick'] : [])];
  const result = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  const line = result.stdout?.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (result.status !== 0 || line === undefined) {
    throw new Error(
      `scenario ${scenario.id} failed (exit ${result.status}): ${result.stdout?.slice(-2000) ?? ''}`,
    );
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as Figures;
}

/** Median of the numeric runs; the first run's value for labels. */
function combine(runs: readonly Figures[]): Figures {
  const out: Figures = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    const values = runs.map((r) => r[key]);
    const numbers = values.filter((v): v is number => typeof v === 'number');
    out[key] = numbers.length === values.length ? median(numbers) : (values[0] ?? null);
  }
  return out;
}

function formatValue(value: number | string | boolean | null | undefined, unit: string): string {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  const text = Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
  return unit ? `${text} ${unit}` : text;
}

function table(
  evaluated: (Row & { value: Figures[string]; pass: boolean | null; runs: Figures[string][] })[],
): string {
  const lines = [
    '| scenario | figure | median | runs | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of evaluated) {
    const result =
      r.pass === null
        ? ''
        : r.pass
          ? 'pass'
          : `**miss**${r.missBy ? ` (${r.missBy(r.value as number)})` : ''}`;
    lines.push(
      `| ${r.scenario} | ${r.label} | ${formatValue(r.value, r.unit)} | ${r.runs.map((v) => formatValue(v, '')).join(', ')} | ${r.target?.text ?? ''} | ${result} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const repeats = quick ? 1 : 3;
  const startedMs = Date.now();
  const machine = describeMachine();
  process.stderr.write(
    `codeship-cron bench (${quick ? 'quick' : 'full'}, ${repeats} run(s) each) on ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}\n`,
  );
  const byScenario = new Map<string, Figures[]>();
  let failed = false;
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    const runs: Figures[] = [];
    for (let i = 0; i < repeats; i += 1) {
      process.stderr.write(`${scenario.id} run ${i + 1}/${repeats}\n`);
      try {
        runs.push(runScenario(scenario, quick));
      } catch (error) {
        failed = true;
        process.stderr.write(`${(error as Error).message}\n`);
      }
    }
    if (runs.length > 0) byScenario.set(scenario.id, runs);
  }
  const medians = new Map([...byScenario].map(([id, runs]) => [id, combine(runs)]));
  const evaluated = rows(quick)
    .filter((r) => medians.has(r.source))
    .map((r) => {
      const value = medians.get(r.source)?.[r.key] ?? null;
      const pass =
        r.target && typeof value === 'number' ? r.target.check(value) : r.target ? false : null;
      return {
        ...r,
        value,
        pass,
        runs: (byScenario.get(r.source) ?? []).map((f) => f[r.key] ?? null),
      };
    });
  const elapsedS = Math.round((Date.now() - startedMs) / 1000);
  const heading = `Machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}. ${quick ? 'Quick mode (small sizes, 1 run)' : `Median of ${repeats} runs`}, ${new Date().toISOString().slice(0, 10)}, ${elapsedS} s.`;
  process.stdout.write(`\n${heading}\n\n${table(evaluated)}\n`);
  const out = quick
    ? join(os.tmpdir(), 'codeship-cron-bench-quick.json')
    : resolve(here, '../../bench/results.json');
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    runsPerScenario: repeats,
    elapsedSeconds: elapsedS,
    machine,
    figures: evaluated.map((r) => ({
      id: `${r.source}.${r.key}`,
      scenario: r.scenario,
      figure: r.label,
      unit: r.unit,
      median: r.value,
      runs: r.runs,
      target: r.target?.text ?? null,
      pass: r.pass,
    })),
    raw: Object.fromEntries(byScenario),
  };
  // `--only` on a full run updates those scenarios' figures in the results file and keeps the
  // others as they were measured (each figure says when).
  const stamped = results.figures.map((f) => ({ ...f, measuredAt: results.date }));
  let written: object = { ...results, figures: stamped };
  if (!quick && only && existsSync(out)) {
    const before = JSON.parse(readFileSync(out, 'utf8')) as {
      date: string;
      figures: { id: string; measuredAt?: string }[];
      raw?: Record<string, unknown>;
    };
    const kept = before.figures
      .filter((f) => !only.includes(f.id.split('.')[0] as string))
      .map((f) => ({ ...f, measuredAt: f.measuredAt ?? before.date }));
    written = {
      ...results,
      updated: only,
      figures: [...kept, ...stamped],
      raw: { ...before.raw, ...results.raw },
    };
  }
  writeFileSync(out, `${JSON.stringify(written, null, 2)}\n`);
  process.stdout.write(`\nwritten: ${out}\n`);
  const misses = evaluated.filter((r) => r.pass === false).length;
  process.stdout.write(
    `${misses === 0 ? 'every target met' : `${misses} target(s) missed`}${quick ? " (quick mode: sizes are not the contract's)" : ''}\n`,
  );
  process.exitCode = failed ? 1 : 0;
}

await main();
