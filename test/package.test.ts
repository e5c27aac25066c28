/**
 * What `npm pack` ships: the daemon, the CLI, the demo's schedules, the schema and the unit;
 * no benchmark and no benchmark-only dependency (README, "Development").
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('packs what runs, not what measures', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const paths = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  expect(paths).toEqual(
    expect.arrayContaining([
      'dist/cli.js',
      'dist/commands/demo.js',
      'demo/schedules/demo.yaml',
      'schedules.schema.json',
      'deploy/codeship-cron.service',
      'package.json',
      'README.md',
    ]),
  );
  expect(
    paths.filter((p) => /(^|\/)bench(\/|$)|dist-bench|manual-clock|(^|\/)test\//.test(p)),
  ).toEqual([]);
  const shipped = paths.filter((p) => p.endsWith('.js'));
  const cron = shipped.filter((p) => readFileSync(p, 'utf8').includes("from 'node-cron'"));
  expect(cron).toEqual([]);
});
