/**
 * Help as an operator meets it: `codeship-cron --help` lists every command, `CMD --help` prints
 * the command's full usage (every flag) and exits 0, and the README's command section says
 * exactly what the built CLI prints.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_SPECS } from '../src/commands/usage.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const NAMES = Object.keys(COMMAND_SPECS);

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Command line'),
  readme.indexOf('\n## ', readme.indexOf('## Command line') + 3),
);

describe('codeship-cron --help', () => {
  it('lists every command with its summary, exit 0; no command at all is a usage error', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const name of NAMES) expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(cli(['help']).stdout).toBe(help.stdout);
    const none = cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(help.stdout);
  });

  it.each(NAMES)('%s --help prints its full usage and exits 0', (name) => {
    const result = cli([name, '--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const spec = COMMAND_SPECS[name as keyof typeof COMMAND_SPECS];
    const [usage] = result.stdout.split('\n');
    expect(usage).toMatch(new RegExp(`^usage: codeship-cron ${name}\\b`));
    for (const [flag, option] of Object.entries(spec.options)) {
      // In the usage line and explained on a line of its own.
      const shown = option.type === 'string' ? `--${flag} ${option.value}` : `--${flag}`;
      expect(usage).toContain(option.required ? ` ${shown}` : `[${shown}]`);
      expect(result.stdout).toMatch(new RegExp(`^  ${shown} +\\S`, 'm'));
    }
    for (const variable of spec.env) expect(result.stdout).toContain(variable);
    expect(cli([name, '-h']).stdout).toBe(result.stdout);
    expect(cli(['help', name]).stdout).toBe(result.stdout);
  });

  it('lists the flags the issue named: trigger --wait/--json, reconcile --json, demo flags and DEMO_DATABASE_PATH', () => {
    expect(cli(['trigger', '--help']).stdout).toMatch(
      /^usage: codeship-cron trigger NAME \[--branch B\] \[--any-branch\] \[--wait DURATION\] \[--json\]$/m,
    );
    expect(cli(['reconcile', '--help']).stdout).toMatch(
      /^usage: codeship-cron reconcile \[--json\]$/m,
    );
    const demo = cli(['demo', '--help']).stdout;
    expect(demo).toMatch(
      /^usage: codeship-cron demo \[--http-port P\] \[--build-seconds S\] \[--port P\]$/m,
    );
    expect(demo).toContain('DEMO_DATABASE_PATH');
  });

  it('answers a usage error with the usage line and where the help is, exit 2', () => {
    const result = cli(['status', '--limt', '3']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: unknown option --limt\n/);
    expect(result.stderr).toContain(
      '\n\nusage: codeship-cron status [NAME] [--limit N] [--json]\n(codeship-cron status --help explains every option)\n',
    );
    const unknown = cli(['stauts']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^error: unknown command "stauts"\n\nusage: codeship-cron <command>/,
    );
  });

  it.each([
    [
      ['status', '--limit', '-1'],
      'error: --limit needs a value (for one that starts with "-", write --limit=VALUE)',
    ],
    [['status', '--limit'], 'error: --limit needs a value'],
    [['status', '--json=yes'], 'error: --json takes no value'],
    [['run', '-x'], 'error: unknown option -x'],
  ])('%j is a usage error in one line naming the option', (args, message) => {
    const result = cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(message);
  });
});

describe('the README command section', () => {
  it('shows exactly what codeship-cron --help prints', () => {
    const block = /```\n\$ codeship-cron --help\n([\s\S]*?)```/.exec(section);
    expect(block, 'a ``` block starting with "$ codeship-cron --help"').not.toBeNull();
    expect(block?.[1]).toBe(cli(['--help']).stdout);
  });

  it('has one table row per command whose usage is the usage line of its --help', () => {
    const rows = [...section.matchAll(/^\| `([a-z]+[^`]*)` \|/gm)].map((m) => m[1]);
    const usages = NAMES.map((name) =>
      (cli([name, '--help']).stdout.split('\n')[0] as string).replace('usage: codeship-cron ', ''),
    );
    expect(rows).toEqual(usages);
  });
});
